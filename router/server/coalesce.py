"""uvicorn's httptools protocol with a client transport that joins the writes of one event-loop
iteration into one.

uvicorn writes a response's status line and headers as soon as the app sends
`http.response.start`, and its body with the next message: two send() syscalls per response. On
loopback and in VMs a send is the most expensive thing a small request does (the kernel delivers
to the receiver, and wakes it, inside the sender's call): in the benchmark three writes per
request (two to the client, one upstream) were about 30% of the router's CPU. Writes made in the
same loop iteration (the head and body of a unary answer, the head and the whole of a stream
that is already in) now reach the socket in one write: when the response is complete, or at the
end of the iteration for the parts of a stream. Nothing waits longer than that; a large write goes
out at once, and closing the connection writes first.

`router serve` passes CoalescingHttpToolsProtocol to uvicorn as its `http` protocol class, an
extension point uvicorn offers (`--http module:Class`).

The same class bounds the request head (BoundedHeadProtocol): httptools has no limit of its own,
so without one a client could send megabytes of headers and the server would hold them all (and
httptools joins a header's pieces by copying, so a huge header also costs quadratic time). A
head over `[server] max-header-bytes` or `max-headers` is answered 431 in the client's protocol.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from router.config.schema import Server
from router.core.answer import Unary
from router.core.errors import InvalidRequest
from router.gateway.endpoint import new_request_id
from router.gateway.send import error_answer, send_unary
from router.observe.exchange import access_log_of, record_unrouted
from router.spokes.registry import spoke_for_path

# Pending bytes past which a write goes out at once: big bodies gain nothing from waiting.
FLUSH_AT = 64 * 1024
# After refusing a head that never ended, seconds to go on reading (and dropping) what the
# client still sends before closing: closing a socket with unread data resets the connection,
# and a client still writing its head would then never read the 431.
LINGER_SECONDS = 2.0
# Where serve.app_factory leaves the limits in the app's state, read when `router serve` starts.
HEAD_LIMITS_KEY = "head_limits"


class CoalescingTransport(asyncio.Transport):
    """Wraps the connection's transport; writes are held until the end of the loop iteration.
    Everything else is the wrapped transport's, and every call that must see the bytes in order
    (close, write_eof) writes what is held first."""

    __slots__ = ("_held", "_held_size", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] | None = None
        self._held_size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        held = self._held
        if held is None:
            held = self._held = []
            self._loop.call_soon(self.flush)
        held.append(bytes(data))
        self._held_size += len(data)
        if self._held_size >= FLUSH_AT:
            self.flush()

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Write what is held (a no-op when nothing is)."""
        held = self._held
        if held is None:
            return
        self._held = None
        self._held_size = 0
        if self._transport.is_closing():
            # The peer went away between the write and this flush (the flush is scheduled):
            # no one is left to read it, and uvloop raises on a write to a closed handle.
            return
        self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None  # abort discards unsent data, held or buffered
        self._held_size = 0
        self._transport.abort()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._held_size

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)


@dataclass(frozen=True, slots=True)
class HeadLimits:
    """`[server] max-header-bytes` and `max-headers`."""

    max_bytes: int = Server().max_header_bytes
    max_count: int = Server().max_headers

    @classmethod
    def of(cls, server: Server) -> HeadLimits:
        return cls(server.max_header_bytes, server.max_headers)


@dataclass(frozen=True, slots=True)
class AppSettings:
    """What a connection needs from the app it serves: the head limits and the router state
    (for the access log), both None-safe for a plain ASGI app (tests)."""

    limits: HeadLimits
    router_state: Any


def app_settings(app: Any) -> AppSettings:
    """Finds the Litestar app inside uvicorn's middleware (each wrapper keeps the next in `.app`)
    and reads its state; defaults when there is none."""
    for _ in range(8):
        state = getattr(app, "state", None)
        if isinstance(state, Mapping) and "router" in state:
            limits = state.get(HEAD_LIMITS_KEY)
            return AppSettings(limits if isinstance(limits, HeadLimits) else HeadLimits(), state["router"])
        app = getattr(app, "app", None)
        if app is None:
            break
    return AppSettings(HeadLimits(), None)


def head_refusal(url: bytes, limits: HeadLimits, too_many: bool) -> Unary:
    """The 431 in the shape of the protocol the URL's path belongs to; the message names the
    limit and the setting that raises it."""
    if too_many:
        message = f"more than {limits.max_count} request headers ([server] max-headers)"
    else:
        message = f"request head (URL and headers) larger than {limits.max_bytes} bytes ([server] max-header-bytes)"
    error = InvalidRequest(message)
    error.status = 431
    return error_answer(error, spoke_for_path(path_of(url)), new_request_id())


def path_of(url: bytes) -> str:
    """The path of a request-target that may have been cut short: "/" when nothing parses."""
    try:
        path = httptools.parse_url(url).path if url[:1] != b"/" else url.split(b"?", 1)[0]
    except httptools.HttpParserError:
        return "/"
    return (path or b"/").decode("latin-1")


def parseable_url(url: bytes) -> bytes:
    """`url` when httptools can parse it, else "/": uvicorn parses the URL of every request it
    starts, and a refused request's URL may have been cut at the limit."""
    try:
        httptools.parse_url(url)
    except httptools.HttpParserError:
        return b"/"
    return url


def raw_response(answer: Unary, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """A whole HTTP/1.1 response that closes the connection, for a head refused before it ended
    (no ASGI cycle exists for it); `default_headers` are uvicorn's (date, server)."""
    headers = {"content-type": "application/json", "content-length": str(len(answer.body)),
               **answer.headers, "connection": "close"}
    lines = [name + b": " + value + b"\r\n" for name, value in default_headers]
    lines += [f"{name}: {value}\r\n".encode("latin-1") for name, value in headers.items()]
    return STATUS_LINE[answer.status] + b"".join(lines) + b"\r\n" + answer.body


class BoundedHeadProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bound on the request head.

    Sizes are counted as httptools reports them: each piece of the URL as it arrives, each
    header when it is whole. A head found too large once it has ended gets its 431 through an
    ordinary request cycle, so the connection stays usable (the refused request's body is read
    and dropped as for any early answer). But httptools holds a header until it ends, so the
    bytes of a head that has not ended yet are also counted as they arrive (every chunk read
    wholly inside the head): past the limit the server answers 431 at once, closes its side,
    and drops what else the client sends until it closes or LINGER_SECONDS pass."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = app_settings(self.app)
        self.head_limits = settings.limits
        self.router_state = settings.router_state
        self.in_head = False  # between a message's first byte and the end of its headers
        self.head_began = False  # a message began during the data_received call under way
        self.head_bytes = 0  # URL, names and values counted from the parser's callbacks
        self.head_read = 0  # bytes read in chunks that lay wholly inside the current head
        self.header_count = 0
        self.refusal: Unary | None = None  # set once the current head is over a limit
        self.dropping = False  # the head was refused before it ended: nothing more is parsed

    def data_received(self, data: bytes) -> None:
        if self.dropping:
            return
        inside = self.in_head
        self.head_began = False
        super().data_received(data)
        if inside and self.in_head and not self.head_began:
            self.head_read += len(data)
            if self.head_read > self.head_limits.max_bytes and not self.dropping:
                self.refuse_unfinished_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head = self.head_began = True
        self.head_bytes = self.head_read = self.header_count = 0
        self.refusal = None

    def on_url(self, url: bytes) -> None:
        self.head_bytes += len(url)
        if self.refusal is None and self.head_bytes > self.head_limits.max_bytes:
            self.url = (self.url + url)[: self.head_limits.max_bytes]  # enough for the path
            self.refusal = head_refusal(self.url, self.head_limits, too_many=False)
        if self.refusal is None:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.in_head:  # a chunked body's trailers
            super().on_header(name, value)
            return
        self.head_bytes += len(name) + len(value) + 4  # ": " and CRLF
        self.header_count += 1
        if self.refusal is None:
            too_many = self.header_count > self.head_limits.max_count
            if too_many or self.head_bytes > self.head_limits.max_bytes:
                self.refusal = head_refusal(self.url, self.head_limits, too_many)
        if self.refusal is None:  # past a limit, headers are counted, not kept
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.in_head = False
        refusal = self.refusal
        if refusal is None:
            super().on_headers_complete()
            return
        # uvicorn starts `self.app` for the request it has just parsed; this one gets the 431.
        self.url = parseable_url(self.url)
        app = self.app
        self.app = self.refusing_app(refusal)
        try:
            super().on_headers_complete()
        finally:
            self.app = app

    def refusing_app(self, refusal: Unary) -> Any:
        """An ASGI app answering `refusal`, behind the same proxy-headers middleware as the real
        one (so the access log shows the client a trusted balancer names)."""
        log = access_log_of(self.router_state) if self.router_state is not None else None

        async def refuse(scope: Any, receive: Any, send: Any) -> None:
            await send_unary(refusal, send)
            record_unrouted(scope, refusal.status, refusal.headers.get("request-id", ""), log)

        if self.config.proxy_headers:
            return ProxyHeadersMiddleware(refuse, trusted_hosts=self.config.forwarded_allow_ips)
        return refuse

    def refuse_unfinished_head(self) -> None:
        """The head went past the limit and has not ended: parse nothing more. With nothing
        being answered on the connection the 431 goes out now; while an earlier request is still
        being answered, the connection closes after that answer instead (a 431 now would land
        in the middle of it)."""
        self.dropping = True
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.keep_alive = False
            return
        refusal = self.refusal or head_refusal(self.url, self.head_limits, too_many=False)
        self.transport.write(raw_response(refusal, self.server_state.default_headers))
        scope = {**self.scope, "method": method_of(self.parser), "path": path_of(self.url)}
        log = access_log_of(self.router_state) if self.router_state is not None else None
        record_unrouted(scope, refusal.status, refusal.headers.get("request-id", ""), log)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()


def method_of(parser: httptools.HttpRequestParser) -> str:
    """The request's method, once the parser has read it."""
    try:
        return parser.get_method().decode("ascii")
    except (httptools.HttpParserError, UnicodeDecodeError):
        return ""


class CoalescingHttpToolsProtocol(BoundedHeadProtocol):
    """uvicorn's httptools protocol (with a bounded head), writing through a CoalescingTransport."""

    transport: CoalescingTransport

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))

    def on_response_complete(self) -> None:
        # A whole answer goes out now: the handler's bookkeeping after its last send (the access
        # log, metrics, closing the upstream) must not delay it to the end of the iteration.
        self.transport.flush()
        super().on_response_complete()
