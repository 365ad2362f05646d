"""A spoke: one wire protocol, as its clients speak it and as its upstreams speak it.

Anthropic Messages is the hub every conversion passes through (router.hub):

    client request  ──client: to hub──────►  hub request  ──upstream: from hub──►  upstream request
    upstream answer ──upstream: to hub────►  hub answer   ──client: from hub────►  client answer
    upstream stream ──upstream: to hub────►  hub events   ──client: from hub────►  client stream

The hub's own spoke converts nothing (its tables and stream factories are None), so a pair with
the hub on one side is one stage, and a pair of two other spokes is two stages composed in
memory (router.routing.compose). The same protocol on both sides is passthrough, which needs only
the spoke's `PassthroughRules`.

Everything protocol-specific the rest of the router needs is asked of a spoke here: how to
decode a request, its error shapes, its usage, how a stream ends, the upstream's URL and
credentials. No module outside a spoke's own package branches on a protocol's name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol

from router.config.schema import Upstream
from router.config.target import TargetContext
from router.core.errors import RouterError
from router.core.sse import SSEEvent
from router.core.stream import StreamMachine
from router.core.usage import Tokens
from router.hub.messages import RoutingFields
from router.spokes.history import History

Values = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True, slots=True, eq=False)  # identity: hashable, so parsed specs cache by table
class FieldTable:
    """A side's field table (schemas/<name>.toml): its `[request]` and `[response]` sections and
    the functions each may call. Compiled per route target by router.routing.compose."""

    name: str
    request_functions: Mapping[str, Callable[..., Any]]
    response_functions: Mapping[str, Callable[..., Any]]
    # section → the Struct it converts from: every field of it is mapped, handled or dropped
    # (router.mapping.accounting, tests/test_field_accounting.py).
    inputs: Mapping[str, type[Any]]
    # [variants.*] may name these
    variant_functions: Mapping[str, Callable[..., Any]] = field(default_factory=lambda: MappingProxyType({}))
    # section → what it converts, for people
    directions: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


class ClientStreamFactory(Protocol):
    """Hub events (Anthropic SSE data) → the client's stream, one machine per request. `src` is
    the client's decoded request (an OpenAI client's `stream_options` decide the usage chunk)."""

    def __call__(self, ctx: TargetContext, model: str, src: Any, values: Values) -> StreamMachine: ...


class HubStreamFactory(Protocol):
    """The upstream's stream → hub events (Anthropic SSE bytes), one machine per request."""

    def __call__(self, ctx: TargetContext, model: str, values: Values) -> StreamMachine: ...


@dataclass(frozen=True, slots=True)
class PassthroughRules:
    """How a stream of this protocol ends, pings and fails, for same-protocol passthrough.

    done_marker: a data payload that ends the stream and carries nothing (OpenAI's `[DONE]`).
    end_events: event names that end the stream (Anthropic's `message_stop`, `error`).
    ends: does this event's data (valid JSON) end the stream (a finish_reason, an error chunk)?
    """

    done_marker: bytes | None
    end_events: frozenset[str]
    ends: Callable[[bytes], bool]
    ping: bytes
    # (error, the first event's data, the last event's data) → the events that end a broken
    # stream, for protocols whose failure depends on what went before (Responses numbers its
    # events and ends a failed response with `response.failed`). None: the spoke's error_event.
    failure: Callable[[RouterError, bytes | None, bytes | None], bytes] | None = None


@dataclass(frozen=True, slots=True)
class RequestView:
    """What route conditions ask of a client's decoded request (router.routing.facts)."""

    thinking: Callable[[Any], bool]
    images: Callable[[Any], bool]
    tools: Callable[[Any], bool]
    # Input tokens, counted as the hub request it is or converts to, by the one estimator
    # (router.hub.tokens) routing, limits and /v1/messages/count_tokens all use.
    input_tokens: Callable[[Any], int]


class HeaderForwarding(Protocol):
    """Which of the client's headers an upstream gets, besides its own."""

    def pick(self, incoming: Mapping[str, str]) -> dict[str, str]: ...


@dataclass(frozen=True, slots=True)
class PathCall:
    """What a URL path says where a protocol puts the model and the method there, not in the
    body (Gemini: `/v1beta/models/{model}:streamGenerateContent?alt=sse`)."""

    model: str
    method: Literal["generate", "stream", "count_tokens"]
    sse: bool = True  # a stream as server-sent events; False: the protocol's other framing


@dataclass(frozen=True, slots=True)
class ModelPaths:
    """The front door of a protocol whose URL names the model and the method (router.gateway.
    model_paths serves it): under each prefix, POST `<prefix>/<model>:<method>`, GET
    `<prefix>/<model>` (one model) and GET `<prefix>` (the list, in `ClientSide.model_list`)."""

    prefixes: tuple[str, ...]
    # (the path after `<prefix>/`, the query string) → the call; None: no method of this API.
    call: Callable[[str, str], PathCall | None]
    model_info: Callable[[str], dict[str, Any]]  # GET `<prefix>/<model>`, for a model served here
    # The token-count method: its body → the client request whose input is counted (by the
    # spoke's RequestView.input_tokens), and the count → its answer.
    count_request: Callable[[bytes], Any]
    count_answer: Callable[[int], dict[str, Any]]
    # A stream for a call with `sse` False: the spoke's SSE bytes → the other framing, and its
    # content type (Gemini without `alt=sse`: one JSON array, written as it grows).
    reframe: Callable[[AsyncIterator[bytes]], AsyncIterator[bytes]]
    reframed_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class ClientSide:
    """The protocol as clients speak it: the front door's half of the spoke."""

    paths: tuple[str, ...]  # the model endpoints clients POST to
    # The first decode: routing fields and what every model request must carry (a
    # ModelRequestRouting when it is a `messages` array, checked non-empty by the gateway).
    routing_decoder: Callable[[bytes], RoutingFields]
    request_decoder: Callable[[bytes], Any]  # the whole request, for converting pairs
    view: RequestView
    table: FieldTable | None  # None: the hub's own requests and answers need no conversion
    stream_from_hub: ClientStreamFactory | None
    error_body: Callable[[RouterError], bytes]
    error_event: Callable[[RouterError], bytes]
    status: Callable[[RouterError], int]  # the HTTP status an error is answered with
    passthrough: PassthroughRules
    example: Callable[[str], dict[str, Any]]  # the smallest request for a model (router explain)
    model_list: Callable[[Sequence[str]], dict[str, Any]]  # GET /v1/models in this shape
    # A header only this protocol's clients send: GET /v1/models answers in the shape of the
    # spoke whose header came (None: the shape for clients that send no such header).
    marker_header: str | None = None
    # Other paths of the same vendor's API, served or not: a 404 or 405 there is in this shape.
    error_paths: tuple[str, ...] = ()
    # (converted answer, the client's decoded request) → the answer: what only the request
    # knows, for a converted unary answer (Responses: which tool calls were custom or
    # namespaced, the request's settings echoed). None: the table's answer is the whole answer.
    complete_answer: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None
    # What a converting pair leaves out of this decoded request that the client should hear
    # of (Responses' built-in tools for a target that cannot run them): names, for the
    # `x-router-dropped` header and the log. None: nothing is dropped that way.
    dropped: Callable[[Any], tuple[str, ...]] | None = None
    # A protocol whose API keeps answers for later (Responses' `store`, `previous_response_id`
    # and GET/DELETE by id): router.spokes.history. None: its answers are never kept.
    history: History | None = None
    # A protocol whose URL names the model and the method (Gemini); its `paths` are then empty.
    model_paths: ModelPaths | None = None
    # Where else its clients put their key, besides `x-api-key` and `Authorization: Bearer`: a
    # header (Gemini's `x-goog-api-key`) and a query parameter (Gemini's `?key=`; accepted,
    # never logged: access-log lines and error messages carry the path without the query).
    key_header: str | None = None
    key_query: str | None = None


class Reframer(Protocol):
    """One stream's bytes in another framing (split anywhere) → the events they carry, as the
    stream machine reads them (never written out as SSE text to be parsed again)."""

    @property
    def failure(self) -> RouterError | None:
        """The error the stream carried or broke with, once it has; `feed` returns nothing after it."""
        ...

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events the bytes so far complete; on an error, those before it (and `failure` set)."""
        ...

    def end(self) -> None:
        """The body is over: raises `failure`, or an error when it stopped inside a frame."""
        ...


@dataclass(frozen=True, slots=True)
class StreamFraming:
    """A protocol whose streams are not server-sent events (Bedrock's binary AWS event stream):
    its content type, and a reframer per stream that turns the raw bytes into the events its
    stream machine reads (the relay ends the client's stream with its error event on a failure)."""

    content_type: str
    reframer: Callable[[str], Reframer]  # the upstream's name → a new stream's reframer


@dataclass(frozen=True, slots=True)
class UpstreamFault:
    """What a protocol's error answer says beyond its status and message (UpstreamSide.fault)."""

    status: int | None = None  # the status to treat it as (Bedrock's ModelNotReady is a 429 that means overloaded)
    retry_after: str | None = None  # seconds, for an answer that says when only in its body
    hint: str | None = None  # what to fix, for people: appended to the message
    detail: str | None = None  # the message to show instead of the body's own


@dataclass(frozen=True, slots=True)
class UpstreamSide:
    """The protocol as upstreams speak it: the back door's half of the spoke."""

    kinds: tuple[str, ...]  # the routes.toml upstream kinds that speak it
    table: FieldTable | None  # None: the hub's own requests and answers need no conversion
    answer_decoder: Callable[[bytes], Any] | None  # the upstream's unary answer, for its table
    stream_to_hub: HubStreamFactory | None
    # (base URL, model, stream) → the endpoint. Where the protocol puts the model (or streaming)
    # in the path, `model_in_url` says so and the URL is made per request; otherwise it is made
    # once per upstream and the model and stream arguments are ignored.
    url: Callable[[str, str, bool], str]
    headers: Callable[[Upstream, str | None], dict[str, str]]  # ours, credentials included
    forwarding: Callable[[Upstream], HeaderForwarding | None]
    count_tokens_url: Callable[[str], str | None]  # a native token counter, when it has one
    model_in_url: bool = False
    # The side one upstream of these kinds speaks instead, when its settings make it another
    # dialect of the protocol (Claude on Vertex AI: the model in the URL, Google credentials,
    # no token counter); None from it, or no `variant`: this side.
    variant: Callable[[Upstream], UpstreamSide | None] | None = None
    # An edit of the converted request just before it is encoded, for a dialect whose body
    # differs from the protocol's own (Vertex AI: no `model`, an `anthropic_version`; Bedrock:
    # the `anthropic-beta` header's flags as `anthropic_beta`). Given the headers that go too.
    body_edit: Callable[[dict[str, Any], Mapping[str, str]], dict[str, Any]] | None = None
    # (status, headers, body) of an error answer → what it says beyond the status and message:
    # when to retry where a protocol says so in the body (Google's RetryInfo), the status it
    # means (Bedrock's error type header), what to fix. None: nothing more.
    fault: Callable[[int, Mapping[str, str], bytes], UpstreamFault | None] | None = None
    # A protocol whose streams are not server-sent events; None: `text/event-stream`.
    stream_framing: StreamFraming | None = None
    # (upstream, client protocol, the target's model, or the route's model patterns for a
    # target that sends the client's name) → the spoke another API of the same upstream speaks
    # for this target (Bedrock: Claude's InvokeModel speaks Anthropic Messages); None: this one.
    # The routing table asks once per route target, at load.
    speaks: Callable[[Upstream, str, Sequence[str]], str | None] | None = None
    # Every spoke `speaks` may name → the side of this upstream's other API that speaks its
    # protocol (made here, since the other spoke knows nothing of this upstream's URLs).
    also_speaks: Mapping[str, UpstreamSide] = field(default_factory=lambda: MappingProxyType({}))
    # Headers a route target adds to each request, from its context (Bedrock's guardrail on
    # InvokeModel, which takes it in headers).
    target_headers: Callable[[TargetContext], Mapping[str, str]] | None = None

    def for_upstream(self, upstream: Upstream) -> UpstreamSide:
        """The side `upstream` speaks: its variant's, or this one."""
        if self.variant is None:
            return self
        return self.variant(upstream) or self


def no_finish(_data: bytes) -> tuple[str, ...]:
    """The finish reasons of a protocol with no reader: none."""
    return ()


@dataclass(frozen=True, slots=True)
class Spoke:
    """A protocol may have only one side (Bedrock has upstreams, no clients): the other is None,
    and the registry offers it only where that side is asked for."""

    name: str  # as routes.toml names it (`clients = [...]`) and pair names use it
    title: str  # for people: "OpenAI Chat Completions"
    # The usage in one JSON document of this protocol (a unary answer, a stream event's data),
    # None when it has none. Raises msgspec.DecodeError (or RecursionError) when it is not one
    # JSON object: reading it whole is also what proves a passed-through answer can be parsed.
    read_usage: Callable[[bytes], Tokens | None]
    client_side: ClientSide | None = None
    # Why the model stopped, in one such JSON document (router.hub.finish's values), for traces
    # of a passthrough answer or stream; read only when the request is traced. Raises as
    # read_usage does. The default: a protocol never passed through (Bedrock has no clients).
    read_finish: Callable[[bytes], tuple[str, ...]] = no_finish
    upstream_side: UpstreamSide | None = None
    is_hub: bool = False

    @property
    def client(self) -> ClientSide:
        """Its client side; asked only of spokes that clients speak (routes.toml checks `clients`)."""
        if self.client_side is None:
            raise LookupError(f"no client speaks {self.title}")
        return self.client_side

    @property
    def upstream(self) -> UpstreamSide:
        """Its upstream side; asked only of spokes an upstream kind speaks."""
        if self.upstream_side is None:
            raise LookupError(f"no upstream speaks {self.title}")
        return self.upstream_side
