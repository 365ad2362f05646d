"""One long-lived client per upstream, and the two ways a request goes out: unary and stream.

httpx is the interface (tests inject httpx transports, respx mocks them); the transport is chosen
per upstream by measurement (issue 7): our own HTTP/1.1 pool (router.upstream.http1, ~30 µs of CPU
per call where httpx over aiohttp took ~180) for real providers, which the client calls natively
rather than through httpx's Request/Response objects; httpx's own transport when the environment
names a proxy for the upstream (HTTPS_PROXY and friends, NO_PROXY honoured); the in-process mock
for `kind = "mock"`. Non-2xx answers and transport exceptions become `UpstreamError` here and
nowhere else.
"""

from __future__ import annotations

import asyncio
import email.utils
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import httpx

from router.config.schema import (
    AnthropicUpstream,
    AzureUpstream,
    base_url_of,
    BedrockUpstream,
    Entra,
    GeminiUpstream,
    HttpUpstream,
    MockUpstream,
    Timeouts,
    Upstream,
    Vertex,
)
from router.core.errors import UpstreamError, UpstreamStatusError
from router.spokes.registry import spoke_for_kind
from router.spokes.spoke import HeaderForwarding, Reframer, Spoke, UpstreamFault, UpstreamSide
from router.upstream.errors import map_transport_error
from router.upstream.google_credentials import GoogleTokenSource
from router.upstream.request_auth import BearerAuth, RequestAuth
from router.upstream.http1 import Http1Pool, Http1Transport
from router.upstream.mock import MockTransport
from router.upstream.scrub import Scrubber, upstream_error_message

TransportFactory = Callable[[str, Upstream], httpx.AsyncBaseTransport]

# Upstream error bodies can be large HTML pages; the client needs the gist, not megabytes.
MAX_ERROR_BODY = 64 * 1024


class UpstreamResponse(Protocol):
    """What a sent request gives back, from either kind of transport (httpx.Response is one)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    async def aread(self) -> bytes: ...
    def aiter_bytes(self) -> AsyncIterator[bytes]: ...
    async def aclose(self) -> None: ...


def default_transport(name: str, upstream: Upstream) -> httpx.AsyncBaseTransport:
    if isinstance(upstream, MockUpstream):
        return MockTransport(delay=upstream.delay)
    url = httpx.URL(_endpoint(upstream))
    limits, timeouts = upstream.limits, upstream.timeout
    proxy = environment_proxy(url)
    if proxy is not None:
        return httpx.AsyncHTTPTransport(proxy=proxy, limits=httpx.Limits(
            max_connections=limits.max_connections, max_keepalive_connections=limits.max_keepalive,
            keepalive_expiry=limits.keepalive_expiry))
    return Http1Transport(Http1Pool(
        url, max_connections=limits.max_connections, max_keepalive=limits.max_keepalive,
        keepalive_expiry=limits.keepalive_expiry, connect_timeout=timeouts.connect,
        read_timeout=timeouts.read, write_timeout=timeouts.write,
    ))


def environment_proxy(url: httpx.URL) -> str | None:
    """The proxy the environment names for `url` (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY; NO_PROXY
    exempts hosts), as curl and httpx read them; None to go direct."""
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    # proxy_bypass_environment is undocumented stdlib, absent from typeshed's urllib.request stub
    if not proxy or urllib.request.proxy_bypass_environment(url.host, proxies):  # type: ignore[attr-defined]
        return None
    return proxy


@dataclass(frozen=True, slots=True)
class UpstreamClient:
    """Everything needed to call one upstream; built once, shared by all requests.

    Requests go straight to the client's transport as `httpx.Request`s: the AsyncClient layer
    above it (URL merging, cookie jar, redirects, auth flows, event hooks) is work we never need
    and cost a third of the router's CPU per request in profiles. `http` owns the transport's
    lifetime."""

    name: str
    http: httpx.AsyncClient
    url: httpx.URL
    headers: Mapping[str, str]
    timeouts: Timeouts
    scrubber: Scrubber
    forwarding: HeaderForwarding | None = None  # the client headers the upstream's spoke passes on
    count_tokens_url: httpx.URL | None = None  # the upstream's native token counter, if it has one
    # (model, stream) → the endpoint, for protocols with the model in the path; None: `url` always.
    url_for: Callable[[str, bool], httpx.URL] | None = None
    transport: httpx.AsyncBaseTransport | None = None
    extensions: Mapping[str, object] | None = None  # per-request timeouts, as httpx passes them
    direct: Http1Pool | None = None  # our own pool, called without httpx's objects in between
    # Credentials added per request, last: OAuth tokens (Vertex AI, Entra ID), SigV4 signatures.
    auth: RequestAuth | None = None
    # The spoke's edit of the converted request before it is encoded (UpstreamSide.body_edit).
    body_edit: Callable[[dict[str, Any], Mapping[str, str]], dict[str, Any]] | None = None
    # What an error answer says beyond its status and message (UpstreamSide.fault).
    fault: Callable[[int, Mapping[str, str], bytes], UpstreamFault | None] | None = None
    stream_type: str = "text/event-stream"  # what a stream answer's content type must say
    # A new stream's reframer from the protocol's framing to the events its machine reads
    # (UpstreamSide.stream_framing), given the upstream's name; None: SSE already.
    reframer: Callable[[str], Reframer] | None = None
    # The same upstream's clients for the other APIs it serves (Bedrock's InvokeModel, which
    # speaks Anthropic Messages), by spoke name; they share this one's connections and auth.
    dialects: Mapping[str, UpstreamClient] = field(default_factory=dict)

    def speaking(self, spoke: str) -> UpstreamClient:
        """This upstream's client for the API that speaks `spoke`'s protocol."""
        return self.dialects.get(spoke, self) if self.dialects else self

    def forwarded(self, incoming: Mapping[str, str]) -> Mapping[str, str]:
        """The request's headers: ours, plus what the upstream's policy lets through."""
        if self.forwarding is None:
            return self.headers
        return {**self.headers, **self.forwarding.pick(incoming)}

    async def open_stream(self, body: bytes, headers: Mapping[str, str] | None = None, url: httpx.URL | None = None) -> UpstreamResponse:
        """Send and return the response with a 2xx status and an unread body (the caller closes it)."""
        sent = headers or self.headers
        url = url or self.url
        if self.auth is not None:  # raises its own UpstreamError when it has no credentials
            sent = await self.auth.sign("POST", url, sent, body)
        try:
            response = await self._send(body, sent, url)
        except Exception as exc:  # noqa: BLE001 - the one boundary: every failure is mapped
            raise map_transport_error(exc, self.name) from None
        if response.status_code >= 300:
            raise await self._status_error(response)
        return response

    async def call(self, body: bytes, headers: Mapping[str, str] | None = None, url: httpx.URL | None = None) -> bytes:
        """A unary call: the whole body, bounded by the `total` timeout when one is set."""
        try:
            if self.timeouts.total is None:
                return await self._read_all(body, headers, url)
            async with asyncio.timeout(self.timeouts.total):
                return await self._read_all(body, headers, url)
        except UpstreamError:
            raise
        except Exception as exc:  # noqa: BLE001 - the one boundary
            raise map_transport_error(exc, self.name) from None

    async def _send(self, body: bytes, headers: Mapping[str, str], url: httpx.URL) -> UpstreamResponse:
        if self.direct is not None:
            return await self.direct.request("POST", url.raw_path.decode("ascii"), headers.items(), body)
        request = httpx.Request("POST", url, content=body, headers=headers, extensions=self.extensions)
        if self.transport is None:
            return await self.http.send(request, stream=True)
        return await self.transport.handle_async_request(request)

    async def _read_all(self, body: bytes, headers: Mapping[str, str] | None, url: httpx.URL | None) -> bytes:
        response = await self.open_stream(body, headers, url)
        try:
            return await response.aread()
        finally:
            await response.aclose()

    async def _status_error(self, response: UpstreamResponse) -> UpstreamError:
        try:
            raw = await _read_bounded(response)
        except Exception:  # noqa: BLE001 - the status alone is enough to answer the client
            raw = b""
        finally:
            await response.aclose()
        status = response.status_code
        fault = self.fault(status, response.headers, raw) if self.fault is not None else None
        if fault is None:
            fault = UpstreamFault()
        message = upstream_error_message(self.name, status, raw, self.scrubber, fault.detail, fault.hint)
        said = retry_after(response.headers.get("retry-after")) or fault.retry_after
        return UpstreamStatusError(fault.status or status, message, retry_after=said)


def retry_after(value: str | None) -> str | None:
    """The upstream's `retry-after` when it is one (seconds or an HTTP date), else None:
    the header is passed on to the client, and anything else in it is junk at best (an upstream
    that echoes our request could put anything there)."""
    if value is None:
        return None
    value = value.strip()
    if value.replace(".", "", 1).isdigit() or _is_http_date(value):  # some APIs send "1.5"
        return value
    return None


def _is_http_date(value: str) -> bool:
    try:
        return email.utils.parsedate_to_datetime(value) is not None
    except (TypeError, ValueError, IndexError):
        return False


async def _read_bounded(response: UpstreamResponse) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        parts.append(chunk)
        size += len(chunk)
        if size >= MAX_ERROR_BODY:
            break
    return b"".join(parts)[:MAX_ERROR_BODY]


def make_client(
    name: str, upstream: Upstream, api_key: str | None, transport: TransportFactory = default_transport
) -> UpstreamClient:
    timeouts = upstream.timeout if isinstance(upstream, HttpUpstream) else Timeouts()
    timeout = httpx.Timeout(connect=timeouts.connect, read=timeouts.read, write=timeouts.write, pool=timeouts.connect)
    chosen = transport(name, upstream)
    key = api_key if _vertex_of(upstream) is None else None  # on Vertex AI, "api_key" is the key file's path
    scrubber = Scrubber.for_secrets([key] if key else [])
    shared = _Shared(
        name, upstream, key, httpx.AsyncClient(transport=chosen, timeout=timeout), timeouts, scrubber, chosen,
        {"timeout": timeout.as_dict()}, chosen.pool if isinstance(chosen, Http1Transport) else None,
        _auth_for(name, upstream, api_key, scrubber),
    )
    spoke = _spoke_of(upstream)
    dialects = {other: _client_for(shared, side) for other, side in spoke.upstream.also_speaks.items()}
    return _client_for(shared, spoke.upstream.for_upstream(upstream), dialects)


@dataclass(frozen=True, slots=True)
class _Shared:
    """What an upstream's clients for each of its APIs share: one connection pool, one scrubber,
    one source of credentials."""

    name: str
    upstream: Upstream
    key: str | None
    http: httpx.AsyncClient
    timeouts: Timeouts
    scrubber: Scrubber
    transport: httpx.AsyncBaseTransport
    extensions: Mapping[str, object]
    direct: Http1Pool | None
    auth: RequestAuth | None


def _client_for(shared: _Shared, side: UpstreamSide, dialects: Mapping[str, UpstreamClient] | None = None) -> UpstreamClient:
    upstream, base_url = shared.upstream, _base_url(shared.upstream)
    count_url = side.count_tokens_url(base_url)
    framing = side.stream_framing
    return UpstreamClient(
        name=shared.name,
        http=shared.http,
        url=httpx.URL(side.url(base_url, "", False)),
        headers=side.headers(upstream, shared.key),
        timeouts=shared.timeouts,
        scrubber=shared.scrubber,
        forwarding=side.forwarding(upstream),  # which client headers go on (Anthropic's version, betas)
        count_tokens_url=None if count_url is None else httpx.URL(count_url),
        url_for=_per_request_url(side, base_url) if side.model_in_url else None,
        transport=shared.transport,
        extensions=shared.extensions,
        direct=shared.direct,
        auth=shared.auth,
        body_edit=side.body_edit,
        fault=side.fault,
        stream_type="text/event-stream" if framing is None else framing.content_type,
        reframer=None if framing is None else framing.reframer,
        dialects=dialects or {},
    )


def _auth_for(name: str, upstream: Upstream, api_key: str | None, scrubber: Scrubber) -> RequestAuth | None:
    """Credentials made per request: Google Cloud tokens on Vertex AI (`api_key` is then the key
    file's path), Entra ID tokens, SigV4 signatures for Bedrock without an API key."""
    if _vertex_of(upstream) is not None:
        return BearerAuth(GoogleTokenSource(name, api_key, on_token=scrubber.remember))
    if isinstance(upstream, BedrockUpstream) and not api_key:
        from router.upstream.aws_credentials import AwsSigner  # botocore's world, only when used

        return AwsSigner(name, upstream.region, upstream.profile, on_secret=scrubber.remember)
    entra = _entra_of(upstream)
    if entra is not None:
        from router.upstream.azure_credentials import AzureTokenSource, entra_scope

        scope = entra.scope or entra_scope(upstream)
        return BearerAuth(AzureTokenSource(name, scope, entra.client_id, on_token=scrubber.remember))
    return None


def _entra_of(upstream: Upstream) -> Entra | None:
    return upstream.entra if isinstance(upstream, AzureUpstream | AnthropicUpstream) else None


# The built-in mock's base URL: never dialled (its transport answers in process), but requests
# need a URL and the spoke makes the endpoint from it like any other.
MOCK_BASE_URL = "http://mock.invalid/v1"


def _spoke_of(upstream: Upstream) -> Spoke:
    return spoke_for_kind(str(type(upstream).__struct_config__.tag))


def _side_of(upstream: Upstream) -> UpstreamSide:
    """The upstream side its spoke speaks to it, dialect included (Claude on Vertex AI)."""
    return _spoke_of(upstream).upstream.for_upstream(upstream)


def _vertex_of(upstream: Upstream) -> Vertex | None:
    """Its Vertex AI settings: such an upstream is called with Google Cloud access tokens."""
    return upstream.vertex if isinstance(upstream, GeminiUpstream | AnthropicUpstream) else None


def _base_url(upstream: Upstream) -> str:
    return MOCK_BASE_URL if isinstance(upstream, MockUpstream) else base_url_of(upstream)


def _endpoint(upstream: Upstream) -> str:
    """The upstream's endpoint, or for a protocol with the model in the path the one its
    connection pool (host, port) is made for."""
    return _side_of(upstream).url(_base_url(upstream), "", False)


# URLs an upstream client keeps made: a route table names a handful of models, and a client's own
# model names (routes without a model) are few too; past that the least recent are made again.
_URLS_KEPT = 256


def _per_request_url(side: UpstreamSide, base_url: str) -> Callable[[str, bool], httpx.URL]:
    """The client's `url_for`. Each URL is made once: parsing one into an httpx.URL (checking every
    character of it) cost as much as a quarter of a Bedrock request's signing."""
    @lru_cache(maxsize=_URLS_KEPT)
    def url_for(model: str, stream: bool) -> httpx.URL:
        return httpx.URL(side.url(base_url, model, stream))
    return url_for


@dataclass(frozen=True, slots=True)
class ClientSpec:
    """What one upstream's client is made from: its settings and resolved key (for a Vertex AI
    upstream, the path of its credentials file; None: Application Default Credentials). Equal
    specs make interchangeable clients, so a reload keeps the client (and its warm connections)
    whenever the spec is unchanged, instead of reconnecting to every upstream at once."""

    upstream: Upstream
    api_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class PoolChange:
    """What renewing a pool did. `retired` clients are no longer the pool's answer for their
    name; they stay open until requests that already took them have finished."""

    pool: UpstreamPool
    kept: tuple[str, ...]
    created: tuple[str, ...]
    retired: tuple[UpstreamClient, ...]


class UpstreamPool:
    """The clients of all upstreams of a table, by name.

    A name the table just dropped still answers (with its retiring client) until that client
    is closed: a request that started on the old table may look its upstream up again on a
    retry after the swap."""

    def __init__(
        self,
        clients: Mapping[str, UpstreamClient],
        specs: Mapping[str, ClientSpec] | None = None,
        retiring: Mapping[str, UpstreamClient] | None = None,
    ) -> None:
        self._clients = dict(clients)
        self._specs = dict(specs or {})
        self._retiring = dict(retiring or {})

    @classmethod
    def open(cls, specs: Mapping[str, ClientSpec], transport: TransportFactory = default_transport) -> UpstreamPool:
        clients = {name: make_client(name, spec.upstream, spec.api_key, transport) for name, spec in specs.items()}
        return cls(clients, specs)

    def get(self, name: str) -> UpstreamClient:
        client = self._clients.get(name)
        return client if client is not None else self._retiring[name]

    def names(self) -> tuple[str, ...]:
        return tuple(self._clients)

    def renewed(self, specs: Mapping[str, ClientSpec], transport: TransportFactory = default_transport) -> PoolChange:
        """A new pool for `specs`, keeping every client whose spec is unchanged. This pool is
        left as it was, so whoever still holds it keeps working."""
        kept = {name: self._clients[name] for name, spec in specs.items() if self._specs.get(name) == spec}
        created = {
            name: make_client(name, spec.upstream, spec.api_key, transport)
            for name, spec in specs.items() if name not in kept
        }
        clients = {name: kept[name] if name in kept else created[name] for name in specs}
        retired = tuple(client for name, client in self._clients.items() if name not in kept)
        retiring = {name: c for name, c in {**self._retiring, **self._clients}.items() if name not in specs}
        pool = UpstreamPool(clients, specs, retiring)
        return PoolChange(pool, tuple(kept), tuple(created), retired)

    def forget(self, clients: Iterable[UpstreamClient]) -> None:
        """Stop answering with these retiring clients (they are being closed)."""
        closing = {id(client) for client in clients}
        self._retiring = {name: c for name, c in self._retiring.items() if id(c) not in closing}

    async def aclose(self) -> None:
        await close_clients([*self._clients.values(), *self._retiring.values()])


async def close_clients(clients: Iterable[UpstreamClient]) -> None:
    """Close each client once, whatever the others do."""
    unique = {id(client): client for client in clients}.values()
    await asyncio.gather(*(client.http.aclose() for client in unique), return_exceptions=True)
