"""The OpenTelemetry side of traces (imported only when they are on: router.observe.tracing).

    Tracing       what the SDK resolved at start (sampler, resource, ids: a TracerProvider made
                  from `[telemetry]` and OTEL_*) and where finished spans go: by default (OTLP/JSON)
                  made as OTLP Structs (router.observe.otlp_json.otlp_span) and batched to one
                  export thread (router.observe.span_export); for the SDK's exporters (protobuf,
                  gRPC) and processors (tests' in-memory one), as ReadableSpans
    RequestSpan   one model request: a SERVER span, child of the client's `traceparent` when it
                  sent one, and a CLIENT span per upstream attempt whose id goes upstream in
                  `traceparent`. Driven by the Exchange's hooks; attributes follow the GenAI
                  semantic conventions.

Why not the SDK's live spans (tracer.start_span): each costs ~15 µs here (sampler, context,
locks, attribute validation at every set), two per request ~15 % of a small request's CPU. A
request's spans are instead noted as ids and times while it runs and handed to the processor
as finished spans when it ends, which is all an exporter ever sees. The sampler is the SDK's
(parent-based: a client's sampled flag decides, else the ratio), asked once per request with a
parent; without one, a ratio the table set is applied as TraceIdRatioBased does (the trace id's
low 64 bits under its bound) without the SDK's call chain; an unsampled request records nothing
and still passes its trace on.

Spans never carry a key (only its name) nor, unless the route opts in (`trace-content`, or
`[telemetry] record-content`), a prompt or an answer.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import msgspec
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, TraceIdRatioBased
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from router.config.envref import resolve
from router.config.schema import Config, Telemetry, Upstream
from router.config.telemetry import protocol_of, provider_name, server_address
from router.core.errors import RouterError
from router.core.stream import StreamMachine
from router.core.usage import Tokens
from router.hub.finish import finish_reasons
from router.observe.otlp_json import (
    CLIENT,
    SERVER,
    OtlpJsonExporter,
    SpanTails,
    attributes_of,
    export_headers,
    export_timeout,
    int_attributes,
    request_spans_json,
    span_json,
    span_tail,
    traces_url,
)
from router.observe.request_params import Fields, parameters_key, request_parameters
from router.observe.span_export import SpanExport

log = logging.getLogger("router.observe.otel")
Attributes = dict[str, AttributeValue]
OPERATION = "chat"  # every model request is a chat completion in GenAI terms (count_tokens is not traced)
# Where the conversation is in each client protocol's request (Anthropic and OpenAI Chat
# `messages`, Responses `input`, Gemini `contents`) and its instructions.
CONVERSATION_FIELDS = ("system", "instructions", "systemInstruction", "system_instruction", "messages", "input",
                       "contents")
_TRACE_HEADERS = (b"traceparent", b"tracestate")
_W3C = TraceContextTextMapPropagator()
_SCOPE = InstrumentationScope("router")
_OK = Status(StatusCode.UNSET)
_ERROR = Status(StatusCode.ERROR)
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
# Token counts differ from request to request: formatted into each span, never kept.
_TOKENS = int_attributes("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens")
_decode_object = msgspec.json.Decoder(dict[str, Any]).decode
_random_bits = random.getrandbits  # RandomIdGenerator's source of ids
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
    """Made once at start; `shutdown` at the end exports what is still held. Spans go to `export`
    (OTLP Structs, the default) or, when it is None, to the SDK `processor` (ReadableSpans)."""

    __slots__ = ("_config_now", "_exporter", "_tails", "_targets", "export", "new_span_id",
                 "new_trace_id", "processor", "provider", "record_content", "request_fields", "root_bound")

    def __init__(self, provider: TracerProvider, processor: SpanProcessor | None, config_now: Callable[[], Config],
                 record_content: bool, export: tuple[SpanExport[Any], OtlpJsonExporter] | None = None,
                 root_bound: int | None = None) -> None:
        self.provider = provider  # the SDK's resolution of sampler, resource and id generator
        self.processor = processor
        self.export: SpanExport[Any] | None = export[0] if export is not None else None
        self._exporter: OtlpJsonExporter | None = export[1] if export is not None else None
        # The repeating part of spans to `export`, encoded once each, for the table in use.
        self._tails: tuple[Config | None, SpanTails] = (None, SpanTails())
        generator = provider.id_generator
        self.new_trace_id: Callable[[], int] = generator.generate_trace_id
        self.new_span_id: Callable[[], int] = generator.generate_span_id
        if type(generator) is RandomIdGenerator:  # the default: the same ids, minus a call each
            self.new_trace_id, self.new_span_id = _random_trace_id, _random_span_id
        # A trace without a parent is sampled when its id's low 64 bits are under this (the
        # table's ratio, as TraceIdRatioBased decides); None: ask the SDK's sampler
        self.root_bound = root_bound
        self.record_content = record_content
        self._config_now = config_now
        # What spans read from the table, remade when a reload brings another one.
        self._targets: tuple[Config | None, dict[str, Attributes]] = (None, {})
        # Which fields of each request Struct type may hold a sampling parameter (request_params).
        self.request_fields: dict[type, Fields] = {}

    def request_span(self, scope: Mapping[str, Any]) -> RequestSpan:
        """The request's SERVER span, a child of the client's trace when it sent `traceparent`."""
        headers = dict(scope.get("headers", ()))  # in C: most requests come without a trace
        parent = _client_parent(headers) if b"traceparent" in headers else None
        if parent is None:
            trace_id = self.new_trace_id()
            if self.root_bound is not None:
                return RequestSpan(self, trace_id, None, trace_id & TraceIdRatioBased.TRACE_ID_LIMIT < self.root_bound)
        else:
            trace_id = parent.trace_id
        context = trace.set_span_in_context(trace.NonRecordingSpan(parent)) if parent is not None else None
        decision = self.provider.sampler.should_sample(context, trace_id, OPERATION, SpanKind.SERVER).decision
        return RequestSpan(self, trace_id, parent, decision is Decision.RECORD_AND_SAMPLE)

    def tails(self) -> SpanTails:
        """The span tails kept for the table in use: a reload may move an upstream (its
        server.address, its provider), so a new table starts them over."""
        config = self._config_now()
        if self._tails[0] is not config:
            self._tails = (config, SpanTails())
        return self._tails[1]

    def target_attributes(self, target: str) -> Attributes:
        """gen_ai.provider.name and server.address of a target (`upstream/model`), read from the
        table once per target and table."""
        config = self._config_now()
        if self._targets[0] is not config:
            self._targets = (config, {})
        known = self._targets[1]
        attributes = known.get(target)
        if attributes is None:
            attributes = known[target] = _upstream_attributes(config.upstreams.get(target.partition("/")[0]))
        return attributes

    def shutdown(self) -> None:
        """Blocking (the last export): call it off the event loop."""
        if self.export is not None and self._exporter is not None:
            self.export.close()
            self._exporter.shutdown()
        if self.processor is not None:
            self.processor.shutdown()
        self.provider.shutdown()


# How an attempt ended: its last attributes, as (key, value) pairs (a tuple: part of a cache key).
Outcome = tuple[tuple[str, AttributeValue], ...]
_ANSWERED: Outcome = (("http.response.status_code", 200),)
_NOT_CLOSED: Outcome = (("error.type", "_OTHER"),)  # an attempt the hooks did not close (never expected)
_REQUEST_ENDED: Outcome = (("error.type", "cancelled"),)  # still open when the request ended
_STREAM_CANCELLED: Outcome = (("error.type", "cancelled"), ("http.response.status_code", 200))


class _Attempt:
    """One upstream attempt's CLIENT span, noted while it runs (its end set when it ends)."""

    __slots__ = ("end", "failed", "model", "outcome", "span_id", "start", "target")
    end: int
    failed: bool
    outcome: Outcome

    def __init__(self, span_id: int, target: str, model: str, start: int) -> None:
        self.span_id = span_id
        self.target = target
        self.model = model
        self.start = start

    def attributes(self, tracing: Tracing) -> Attributes:
        return {"gen_ai.operation.name": OPERATION, "gen_ai.request.model": self.model, "router.target": self.target,
                **tracing.target_attributes(self.target), **dict(self.outcome)}

    def tail(self, tracing: Tracing, trace_state: str) -> bytes:
        return span_tail(f"{OPERATION} {self.model}", CLIENT, False, trace_state, self.failed, self.attributes(tracing))

    def span(self, tracing: Tracing, tails: SpanTails, trace_id: int, parent_id: int, trace_state: str) -> bytes:
        """This attempt's span, one of several a request made (one alone is written with the request's)."""
        made_of = (self.target, self.model, self.outcome, self.failed, trace_state)
        tail = tails.kept.get(made_of) or tails.keep(made_of, self.tail(tracing, trace_state))
        return span_json(trace_id, self.span_id, parent_id, self.start, self.end, tail)


class RequestSpan:
    """One model request's spans. Every method is called from the Exchange's hooks, which run
    in the request path: none may raise into it (`finish` logs its own failures).

    Each request makes one, traced or not, so it is kept small: what most requests leave as it
    was is a class attribute until set (no __slots__, which would need every one set per
    request), and what a span says is worked out at its end, once, from what was noted."""

    _attempt: _Attempt | None = None
    _done: list[_Attempt] | None = None  # the attempts ended, when sampled
    _model: str | None = None  # the model asked of the last attempt's target
    _request: Any = None  # the first attempt's request as decoded (its sampling parameters)
    cache: str | None = None  # x-router-cache of the answer (Exchange.cache_answered)
    # Prompts and answers go on the spans: `[telemetry] record-content`, or the route's
    # `trace-content` (Exchange.routed, from the table's plan: no look-up per request).
    content = False
    # gen_ai.response.finish_reasons (router.hub.finish), set by whatever read the answer:
    # dispatch (unary), the stream's machine (stream_ended), the cache (a hit)
    finish_reasons: tuple[str, ...] = ()

    def __init__(self, tracing: Tracing, trace_id: int, parent: SpanContext | None, sampled: bool) -> None:
        self._tracing = tracing
        self._trace_id = trace_id
        self._parent = parent
        self.sampled = sampled
        self._start = time.time_ns()  # its id is drawn at the end, when it is sampled
        if tracing.record_content:
            self.content = sampled

    def attempting(self, target: str, model: str) -> None:
        """A CLIENT span for this attempt at `target`, named for the model asked of it."""
        if self._attempt is not None:
            self._end_attempt(_NOT_CLOSED, failed=True)
        target_model = target.partition("/")[2]
        if target_model not in ("", "*"):
            model = target_model
        self._model = model
        self._attempt = _Attempt(self._tracing.new_span_id(), target, model, time.time_ns())

    def requested(self, request: Any) -> None:
        """The request as decoded for a target: its sampling parameters are read at the end
        (router.observe.request_params)."""
        if self._request is None and self.sampled:
            self._request = request

    def cache_hit(self, stop_reason: object) -> None:
        """The kept hub answer's stop_reason."""
        self.finish_reasons = finish_reasons(stop_reason if isinstance(stop_reason, str) else None)

    def upstream_headers(self, headers: Mapping[str, str]) -> Mapping[str, str]:
        """The upstream request's headers with this attempt's `traceparent` (and the client's
        `tracestate`)."""
        attempt = self._attempt
        if attempt is None:
            return headers
        flags = "01" if self.sampled else "00"
        sent = {**headers, "traceparent": f"00-{self._trace_id:032x}-{attempt.span_id:016x}-{flags}"}
        parent = self._parent
        if parent is not None and parent.trace_state:
            sent["tracestate"] = parent.trace_state.to_header()
        return sent

    def attempt_failed(self, error: RouterError | None) -> None:
        outcome: Outcome = (("error.type", type(error).__name__ if error is not None else "_OTHER"),)
        status = getattr(error, "upstream_status", None)
        if isinstance(status, int):
            outcome += (("http.response.status_code", status),)
        self._end_attempt(outcome, failed=True)

    def answered(self, stream: bool) -> None:
        """A unary answer is in hand (the attempt is over); a stream's attempt lasts to its end."""
        if not stream:
            self._end_attempt(_ANSWERED, failed=False)

    def stream_ended(self, error: RouterError | None, completed: bool, machine: StreamMachine | None = None) -> None:
        if machine is not None and self.sampled:
            try:
                self.finish_reasons = machine.finish_reasons()
            except Exception:
                log.exception("reading the stream's finish reasons failed")
        if error is not None:
            self._end_attempt((("error.type", error.error_type), *_ANSWERED), failed=True)
        elif not completed:
            self._end_attempt(_STREAM_CANCELLED, failed=True)
        else:
            self._end_attempt(_ANSWERED, failed=False)

    def finish(self, record: Record, status: int, error: str | None) -> None:
        """The request is over: its spans, finished, to the processor."""
        if self._attempt is not None:
            self._end_attempt(_REQUEST_ENDED, failed=True)
        if not self.sampled:
            return
        try:
            self._emit(record, status, error)
        except Exception:
            log.exception("recording the request's spans failed")

    def _emit(self, record: Record, status: int, error: str | None) -> None:
        tracing, end = self._tracing, time.time_ns()
        span_id = tracing.new_span_id()
        export = tracing.export
        if export is None:
            attributes = {**self._profile_attributes(record, status, error), **self._own_attributes(record)}
            self._emit_readable(tracing, span_id, _span_name(record.model), attributes, error, end)
            return
        parent, tails = self._parent, tracing.tails()
        trace_state = parent.trace_state.to_header() if parent is not None and parent.trace_state else ""
        done = self._done
        attempt = done[0] if done is not None and len(done) == 1 else None  # most requests make one
        # All but ids, times, token counts and content repeat from one request to the next: the
        # spans' tails are encoded once per combination of what they are made of (a lone
        # attempt's with the request's: its target and model are the request's last).
        made_of = (status, error, record.model, record.route, record.key, record.target, self._model,
                   tuple(record.attempts), self.finish_reasons, self.cache, parent is not None, trace_state,
                   attempt is None or (attempt.outcome, attempt.failed), self._parameters_key())
        try:
            kept = tails.kept.get(made_of)
        except TypeError:  # the parameters' key holds a value that cannot hash (a Gemini config, a stray list)
            made_of = (*made_of[:-1], tuple(self._parameters().items()))  # it is last: their items instead
            kept = tails.kept.get(made_of)
        if kept is None:
            kept = tails.keep(made_of, self._tails(record, status, error, trace_state, attempt))
        tokens = record.tokens
        more = b"" if tokens is None else _TOKENS % (tokens[0], tokens[1])
        if self.content:
            more += b"".join(b"," + _encode(value) for value in attributes_of(
                _content(record.request_body, record.response_bytes())))
        trace_id, parent_id = self._trace_id, parent.span_id if parent is not None else None
        if attempt is not None:  # a request's spans go as one item: its attempt's, then its own
            export.add(request_spans_json(trace_id, span_id, parent_id, self._start, end, kept[1], more, attempt.span_id,
                                          attempt.start, attempt.end, kept[0]), 2)
            return
        spans = span_json(trace_id, span_id, parent_id, self._start, end, kept[1], more)
        if done is None:
            export.add(spans, 1)
            return
        export.add(b",".join([*(attempt.span(tracing, tails, trace_id, span_id, trace_state) for attempt in done),
                              spans]), 1 + len(done))

    def _tails(self, record: Record, status: int, error: str | None, trace_state: str, attempt: _Attempt | None
               ) -> tuple[bytes, bytes]:
        """The spans' tails (`span_tail`): a lone attempt's (else empty), the request's."""
        remote = self._parent is not None
        tail = span_tail(_span_name(record.model), SERVER, remote, trace_state, error is not None,
                         self._profile_attributes(record, status, error))
        if attempt is None:
            return b"", tail
        return attempt.tail(self._tracing, trace_state), tail

    def _parameters_key(self) -> Any:
        """What the request's sampling parameters follow from (router.observe.request_params)."""
        request = self._request
        return None if request is None else parameters_key(request, self._tracing.request_fields)

    def _parameters(self) -> dict[str, int | float]:
        request = self._request
        return {} if request is None else request_parameters(request, self._tracing.request_fields)

    def _emit_readable(self, tracing: Tracing, span_id: int, name: str, attributes: Attributes, error: str | None,
                       end: int) -> None:
        """The spans as the SDK's ReadableSpans, to its processor (protobuf, gRPC, tests)."""
        processor = tracing.processor
        assert processor is not None  # a Tracing has an export or a processor
        resource = tracing.provider.resource
        context = SpanContext(self._trace_id, span_id, False, _SAMPLED,
                              self._parent.trace_state if self._parent is not None else None)
        for attempt in self._done or ():
            processor.on_end(ReadableSpan(
                name=f"{OPERATION} {attempt.model}",
                context=SpanContext(self._trace_id, attempt.span_id, False, _SAMPLED, context.trace_state),
                parent=context, resource=resource, attributes=attempt.attributes(tracing), kind=SpanKind.CLIENT,
                status=_ERROR if attempt.failed else _OK, start_time=attempt.start, end_time=attempt.end,
                instrumentation_scope=_SCOPE))
        processor.on_end(ReadableSpan(
            name=name, context=context, parent=self._parent, resource=resource,
            attributes=attributes, kind=SpanKind.SERVER,
            status=_OK if error is None else _ERROR, start_time=self._start, end_time=end,
            instrumentation_scope=_SCOPE))

    def _profile_attributes(self, record: Record, status: int, error: str | None) -> Attributes:
        """The request span's attributes that are the same for every request with the same
        status, error, models, route, key name, target, outcomes, finish reasons, cache and
        request parameters."""
        attributes: Attributes = {"gen_ai.operation.name": OPERATION, "http.response.status_code": status,
                                  "router.attempts": len(record.attempts)}
        if record.model is not None:
            attributes["gen_ai.request.model"] = record.model
        if record.route is not None:
            attributes["router.route"] = record.route
        if record.key is not None:
            attributes["router.key_name"] = record.key  # the key's name; the key itself is never kept
        if record.target is not None:
            attributes["router.target"] = record.target
            attributes.update(self._tracing.target_attributes(record.target))
            if self._model is not None:
                attributes["gen_ai.response.model"] = self._model
        if record.attempts:
            attributes["router.attempt_outcomes"] = tuple(record.attempts)
        if self.finish_reasons:
            attributes["gen_ai.response.finish_reasons"] = self.finish_reasons
        if self.cache is not None:
            attributes["router.cache"] = self.cache
        if error is not None:
            attributes["error.type"] = error
        attributes.update(self._parameters())
        return attributes

    def _own_attributes(self, record: Record) -> Attributes:
        """The request span's attributes of this request alone: tokens, content."""
        attributes: Attributes = {}
        tokens = record.tokens
        if tokens is not None:
            attributes["gen_ai.usage.input_tokens"] = tokens[0]
            attributes["gen_ai.usage.output_tokens"] = tokens[1]
        if self.content:
            attributes.update(_content(record.request_body, record.response_bytes()))
        return attributes

    def _end_attempt(self, outcome: Outcome, failed: bool) -> None:
        attempt = self._attempt
        if attempt is None:
            return
        self._attempt = None
        if self.sampled:
            attempt.end, attempt.failed, attempt.outcome = time.time_ns(), failed, outcome
            if self._done is None:
                self._done = [attempt]
            else:
                self._done.append(attempt)


def _span_name(model: str | None) -> str:
    """A request span's name: the operation and the model the client asked for, once routed."""
    return OPERATION if model is None else f"{OPERATION} {model}"


def _random_trace_id() -> int:
    return _random_bits(128) or 1  # 0 is the invalid id (RandomIdGenerator draws again; 1 in 2**128)


def _random_span_id() -> int:
    return _random_bits(64) or 1


def _upstream_attributes(upstream: Upstream | None) -> Attributes:
    if upstream is None:
        return {}
    attributes: Attributes = {"gen_ai.provider.name": provider_name(upstream)}
    host = server_address(upstream)
    if host:
        attributes["server.address"] = host
    return attributes


def _client_parent(headers: Mapping[bytes, bytes]) -> SpanContext | None:
    """The client's span, when its request carried a valid `traceparent` (W3C trace context)."""
    carrier = {name.decode("latin-1"): headers[name].decode("latin-1") for name in _TRACE_HEADERS if name in headers}
    parent = trace.get_current_span(_W3C.extract(carrier)).get_span_context()
    return parent if parent.is_valid else None


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
    root = None if ratio is None else TraceIdRatioBased(ratio)
    provider = TracerProvider(
        # None: the SDK's own choice from OTEL_TRACES_SAMPLER (parent-based, always on by default)
        sampler=None if root is None else ParentBased(root),
        resource=Resource.create({"service.name": _service_name(telemetry, environ)}),
        shutdown_on_exit=False,  # the server's lifespan shuts it down (router.server.app)
    )
    record_content = telemetry is not None and telemetry.record_content
    root_bound = None if root is None else root.bound
    if processor is not None:
        return Tracing(provider, processor, config_now, record_content, root_bound=root_bound)
    exporter = _exporter(telemetry, environ, provider.resource)
    if isinstance(exporter, OtlpJsonExporter):  # the router's own spans, batched to its own thread
        export = SpanExport.from_environment(exporter.post_spans, environ)
        return Tracing(provider, None, config_now, record_content, (export, exporter), root_bound)
    # Not added to the provider: spans reach it finished (RequestSpan._emit), never started.
    return Tracing(provider, BatchSpanProcessor(exporter), config_now, record_content, root_bound=root_bound)


def _service_name(telemetry: Telemetry | None, environ: Mapping[str, str]) -> str:
    if telemetry is not None and telemetry.service_name:
        return telemetry.service_name
    return environ.get("OTEL_SERVICE_NAME") or "router"


def _exporter(telemetry: Telemetry | None, environ: Mapping[str, str], resource: Resource | None = None) -> SpanExporter:
    """OTLP over http/json (router.observe.otlp_json, the default), http/protobuf (the `otel`
    extra) or gRPC (its own package). Left to the SDK when None: the endpoint
    (OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT) and headers (..._HEADERS)."""
    endpoint = telemetry.endpoint if telemetry is not None else None
    headers = None
    if telemetry is not None and telemetry.headers:
        # `router check` made sure each is an env: reference to a set variable
        headers = {name: resolve(value, environ) or "" for name, value in telemetry.headers.items()}
    protocol = protocol_of(telemetry, environ)
    if protocol == "http/json":
        return OtlpJsonExporter(traces_url(endpoint, environ), export_headers(headers, environ),
                                export_timeout(environ), resource=resource.attributes if resource else None)
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
            OTLPSpanExporter as GrpcExporter,
        )

        exporter: SpanExporter = GrpcExporter(endpoint=endpoint, headers=headers)
        return exporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    if endpoint is not None and not endpoint.rstrip("/").endswith("/v1/traces"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    return OTLPSpanExporter(endpoint=endpoint, headers=headers)
