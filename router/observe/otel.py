"""The OpenTelemetry side of traces (imported only when they are on: router.observe.tracing).

    Tracing       the process's tracer provider (OTLP exporter behind a BatchSpanProcessor, so
                  exports are batched on the SDK's own thread) and what spans read from the table
    RequestSpan   one model request: a SERVER span, child of the client's `traceparent` when it
                  sent one, and a CLIENT span per upstream attempt whose context goes upstream in
                  `traceparent`. Driven by the Exchange's hooks; attributes follow the GenAI
                  semantic conventions and are set in one call per span, at its end.

Spans never carry a key (only its name) nor, unless the route opts in (`trace-content`, or
`[telemetry] record-content`), a prompt or an answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import msgspec
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from router.config.envref import resolve
from router.config.schema import Config, Telemetry, Upstream
from router.config.telemetry import protocol_of
from router.core.errors import RouterError
from router.core.usage import Tokens

log = logging.getLogger("router.observe.otel")
Attributes = dict[str, AttributeValue]
OPERATION = "chat"  # every model request is a chat completion in GenAI terms (count_tokens is not traced)
# gen_ai.provider.name per upstream kind (the semantic conventions' well-known values).
PROVIDERS = {
    "anthropic": "anthropic", "openai": "openai", "responses": "openai", "gemini": "gcp.gemini",
    "bedrock": "aws.bedrock", "azure": "azure.ai.openai", "mock": "router.mock",
}
# Hosts of upstreams whose base-url may be left out.
DEFAULT_HOSTS = {"anthropic": "api.anthropic.com", "gemini": "generativelanguage.googleapis.com"}
# Where the conversation is in each client protocol's request (Anthropic and OpenAI Chat
# `messages`, Responses `input`, Gemini `contents`) and its instructions.
CONVERSATION_FIELDS = ("system", "instructions", "systemInstruction", "system_instruction", "messages", "input",
                       "contents")
_TRACE_HEADERS = (b"traceparent", b"tracestate")
_decode_object = msgspec.json.Decoder(dict[str, Any]).decode
_encode = msgspec.json.Encoder().encode


class Record(Protocol):
    """What a request span reads of the request's record at its end (router.observe.exchange's
    Exchange, which imports this module: a protocol, not an import, keeps them acyclic)."""

    model: str | None
    route: str | None
    key: str | None
    target: str | None
    attempts: list[str]
    tokens: Tokens | None
    request_body: bytes | None

    def response_bytes(self) -> bytes: ...


class Tracing:
    """Made once at start; `shutdown` at the end flushes what the batch processor still holds."""

    __slots__ = ("_config_now", "_content_routes", "_upstreams", "provider", "record_content", "tracer")

    def __init__(self, provider: TracerProvider, config_now: Callable[[], Config], record_content: bool) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("router")
        self.record_content = record_content
        self._config_now = config_now
        # What spans read from the table, remade when a reload brings another one.
        self._content_routes: tuple[Config | None, frozenset[str]] = (None, frozenset())
        self._upstreams: tuple[Config | None, dict[str, Upstream]] = (None, {})

    def request_span(self, scope: Mapping[str, Any]) -> RequestSpan:
        """The request's SERVER span, a child of the client's trace when it sent `traceparent`.
        Named `chat` until routing knows the model."""
        parent = _client_context(scope.get("headers", ()))
        span = self.tracer.start_span(OPERATION, context=parent, kind=SpanKind.SERVER)
        return RequestSpan(self, span)

    def content_for(self, route: str) -> bool:
        if self.record_content:
            return True
        config = self._config_now()
        if self._content_routes[0] is not config:
            self._content_routes = (config, frozenset(r.name for r in config.routes if r.trace_content))
        return route in self._content_routes[1]

    def upstream_attributes(self, target: str) -> Attributes:
        """gen_ai.provider.name and server.address of a target (`upstream/model`)."""
        config = self._config_now()
        if self._upstreams[0] is not config:
            self._upstreams = (config, dict(config.upstreams))
        upstream = self._upstreams[1].get(target.partition("/")[0])
        if upstream is None:
            return {}
        kind = str(upstream.__struct_config__.tag)  # the `kind` tag of the upstream's struct
        vertex = getattr(upstream, "vertex", None) is not None
        attributes: Attributes = {"gen_ai.provider.name": "gcp.vertex_ai" if vertex else PROVIDERS.get(kind, kind)}
        base_url: str | None = getattr(upstream, "base_url", None)
        host = urlsplit(base_url).hostname if base_url else None if vertex else DEFAULT_HOSTS.get(kind)
        if host:
            attributes["server.address"] = host
        return attributes

    def shutdown(self) -> None:
        """Blocking (the last export): call it off the event loop."""
        self.provider.shutdown()


class RequestSpan:
    """One model request's spans. Every method is called from the Exchange's hooks, which run
    in the request path: none may raise into it (failures are logged)."""

    __slots__ = ("_attempt", "_attempt_model", "_context", "_tracing", "cache", "content", "span")

    def __init__(self, tracing: Tracing, span: Span) -> None:
        self._tracing = tracing
        self.span = span
        self._context = trace.set_span_in_context(span)
        self._attempt: Span | None = None
        self._attempt_model: str | None = None
        self.cache: str | None = None  # x-router-cache of the answer
        self.content = False

    def routed(self, route: str, model: str) -> None:
        self.span.update_name(f"{OPERATION} {model}")
        self.content = self._tracing.content_for(route)

    def attempting(self, target: str, model: str) -> None:
        """A CLIENT span for this attempt at `target`, named for the model asked of it."""
        self._end_attempt({}, failed=False)  # a previous attempt the hooks did not close (never expected)
        target_model = target.partition("/")[2]
        self._attempt_model = model if target_model in ("", "*") else target_model
        attributes: Attributes = {"gen_ai.operation.name": OPERATION, "gen_ai.request.model": self._attempt_model,
                                  "router.target": target, **self._tracing.upstream_attributes(target)}
        self._attempt = self._tracing.tracer.start_span(
            f"{OPERATION} {self._attempt_model}", context=self._context, kind=SpanKind.CLIENT, attributes=attributes)

    def upstream_headers(self, headers: Mapping[str, str]) -> Mapping[str, str]:
        """The upstream request's headers with this attempt's `traceparent` (and `tracestate`)."""
        if self._attempt is None:
            return headers
        carrier: MutableMapping[str, str] = dict(headers)
        propagate.inject(carrier, context=trace.set_span_in_context(self._attempt))
        return carrier

    def attempt_failed(self, error: RouterError | None) -> None:
        attributes: Attributes = {"error.type": type(error).__name__ if error is not None else "_OTHER"}
        status = getattr(error, "upstream_status", None)
        if isinstance(status, int):
            attributes["http.response.status_code"] = status
        self._end_attempt(attributes, failed=True)

    def answered(self, stream: bool) -> None:
        """A unary answer is in hand (the attempt is over); a stream's attempt lasts to its end."""
        if not stream:
            self._end_attempt({"http.response.status_code": 200}, failed=False)

    def stream_ended(self, error: RouterError | None, completed: bool) -> None:
        if error is not None:
            self._end_attempt({"error.type": error.error_type, "http.response.status_code": 200}, failed=True)
        elif not completed:
            self._end_attempt({"error.type": "cancelled", "http.response.status_code": 200}, failed=True)
        else:
            self._end_attempt({"http.response.status_code": 200}, failed=False)

    def response_started(self, message: Mapping[str, Any]) -> bool:
        """Reads the answer's cache header; True when the answer's body is wanted (content)."""
        for name, value in message.get("headers", ()):
            if name == b"x-router-cache":
                self.cache = value.decode("latin-1")
                break
        return self.content

    def finish(self, exchange: Record, status: int, error: str | None) -> None:
        """The request is over: its attributes, in one call, and the end of its span."""
        try:
            self._end_attempt({"error.type": "cancelled"}, failed=True)  # still open: the request ended first
            span = self.span
            span.set_attributes(self._attributes(exchange, status, error))
            if error is not None:
                span.set_status(Status(StatusCode.ERROR))
            span.end()
        except Exception:
            log.exception("ending the request's span failed")

    def _attributes(self, exchange: Record, status: int, error: str | None) -> Attributes:
        attributes: Attributes = {"gen_ai.operation.name": OPERATION, "http.response.status_code": status,
                                  "router.attempts": len(exchange.attempts)}
        if exchange.model is not None:
            attributes["gen_ai.request.model"] = exchange.model
        if exchange.route is not None:
            attributes["router.route"] = exchange.route
        if exchange.key is not None:
            attributes["router.key_name"] = exchange.key  # the key's name; the key itself is never kept
        if exchange.target is not None:
            attributes["router.target"] = exchange.target
            attributes.update(self._tracing.upstream_attributes(exchange.target))
            if self._attempt_model is not None:
                attributes["gen_ai.response.model"] = self._attempt_model
        if exchange.attempts:
            attributes["router.attempt_outcomes"] = list(exchange.attempts)
        tokens = exchange.tokens
        if tokens is not None:
            attributes["gen_ai.usage.input_tokens"] = tokens[0]
            attributes["gen_ai.usage.output_tokens"] = tokens[1]
        if self.cache is not None:
            attributes["router.cache"] = self.cache
        if error is not None:
            attributes["error.type"] = error
        if self.content:
            attributes.update(_content(exchange.request_body, exchange.response_bytes()))
        return attributes

    def _end_attempt(self, attributes: Attributes, failed: bool) -> None:
        attempt = self._attempt
        if attempt is None:
            return
        self._attempt = None
        try:
            if attributes:
                attempt.set_attributes(attributes)
            if failed:
                attempt.set_status(Status(StatusCode.ERROR))
            attempt.end()
        except Exception:
            log.exception("ending an attempt's span failed")


def _client_context(headers: Any) -> Context | None:
    """The client's trace context, when its request carried `traceparent`."""
    carrier = {name.decode("latin-1"): value.decode("latin-1") for name, value in headers if name in _TRACE_HEADERS}
    return propagate.extract(carrier) if carrier else None


def _content(request: bytes | None, response: bytes) -> Attributes:
    """The prompt (the conversation fields of the client's request, as the client sent them) and
    the answer (the client's unary body, or its event stream's text)."""
    attributes: Attributes = {}
    if request:
        try:
            body = _decode_object(request)
        except msgspec.DecodeError:
            body = {}
        conversation = {name: body[name] for name in CONVERSATION_FIELDS if name in body}
        attributes["gen_ai.input.messages"] = _encode(conversation).decode()
    if response:
        attributes["gen_ai.output.messages"] = response.decode("utf-8", "replace")
    return attributes


def open_tracing(telemetry: Telemetry | None, environ: Mapping[str, str], config_now: Callable[[], Config],
                 processor: SpanProcessor | None = None) -> Tracing:
    """The tracer provider `[telemetry]` describes (OTEL_* variables for what it leaves out);
    `processor`: instead of the OTLP exporter's batch processor (tests' in-memory exporter)."""
    ratio = telemetry.sampling_ratio if telemetry is not None else None
    provider = TracerProvider(
        # None: the SDK's own choice from OTEL_TRACES_SAMPLER (parent-based, always on by default)
        sampler=None if ratio is None else ParentBased(TraceIdRatioBased(ratio)),
        resource=Resource.create({"service.name": _service_name(telemetry, environ)}),
        shutdown_on_exit=False,  # the server's lifespan shuts it down (router.server.app)
    )
    provider.add_span_processor(processor or BatchSpanProcessor(_exporter(telemetry, environ)))
    return Tracing(provider, config_now, telemetry is not None and telemetry.record_content)


def _service_name(telemetry: Telemetry | None, environ: Mapping[str, str]) -> str:
    if telemetry is not None and telemetry.service_name:
        return telemetry.service_name
    return environ.get("OTEL_SERVICE_NAME") or "router"


def _exporter(telemetry: Telemetry | None, environ: Mapping[str, str]) -> SpanExporter:
    """OTLP over http/protobuf (the `otel` extra) or gRPC (its own package). Left to the SDK when
    None: the endpoint (OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT) and headers (..._HEADERS)."""
    endpoint = telemetry.endpoint if telemetry is not None else None
    headers = None
    if telemetry is not None and telemetry.headers:
        # `router check` made sure each is an env: reference to a set variable
        headers = {name: resolve(value, environ) or "" for name, value in telemetry.headers.items()}
    if protocol_of(telemetry, environ) == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
            OTLPSpanExporter as GrpcExporter,
        )

        exporter: SpanExporter = GrpcExporter(endpoint=endpoint, headers=headers)
        return exporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    if endpoint is not None and not endpoint.rstrip("/").endswith("/v1/traces"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    return OTLPSpanExporter(endpoint=endpoint, headers=headers)
