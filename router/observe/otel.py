"""The OpenTelemetry side of traces (imported only when they are on: router.observe.tracing).

    Tracing       what the SDK resolved at start (sampler, resource, ids: a TracerProvider made
                  from `[telemetry]` and OTEL_*) and where finished spans go: by default (OTLP/JSON)
                  written as text (router.observe.otlp_json.request_spans_json) and batched to one
                  export thread (router.observe.span_export); for the SDK's exporters (protobuf,
                  gRPC) and processors (tests' in-memory one), as ReadableSpans
    RequestSpan   one model request: a SERVER span, child of the client's `traceparent` when it
                  sent one, and a CLIENT span per upstream attempt whose id goes upstream in
                  `traceparent`. Made at the request's first attempt (or its end, when it made
                  none) and driven by the Exchange's hooks; attributes follow the GenAI semantic
                  conventions.

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
from typing import Any, Final, Protocol

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
    SPAN_ID,
    TRACE_ID,
    OtlpJsonExporter,
    SpanTails,
    attributes_of,
    export_headers,
    export_timeout,
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
_TRACE_ID_LIMIT = TraceIdRatioBased.TRACE_ID_LIMIT  # a ratio sampler compares the id's bits under it
_W3C = TraceContextTextMapPropagator()
_SCOPE = InstrumentationScope("router")
_OK = Status(StatusCode.UNSET)
_ERROR = Status(StatusCode.ERROR)
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
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
    (OTLP/JSON text, the default) or, when it is None, to the SDK `processor` (ReadableSpans)."""

    __slots__ = ("_config_now", "_exporter", "_parameters", "_tails", "_targets", "export", "new_span_id",
                 "new_trace_id", "processor", "provider", "random_ids", "record_content", "request_fields",
                 "root_bound")

    def __init__(self, provider: TracerProvider, processor: SpanProcessor | None, config_now: Callable[[], Config],
                 record_content: bool, exporter: OtlpJsonExporter | None = None,
                 root_bound: int | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.provider = provider  # the SDK's resolution of sampler, resource and id generator
        self.processor = processor
        self._exporter = exporter
        # Ended requests' spans, written, batched to the export thread, which posts them.
        self.export: SpanExport[str] | None = None
        if exporter is not None:
            self.export = SpanExport.from_environment(exporter.post_spans, environ or {})
        # The repeating part of spans to `export`, encoded once each, for the table in use.
        self._tails: tuple[Config | None, SpanTails] = (None, SpanTails())
        generator = provider.id_generator
        self.new_trace_id: Callable[[], int] = generator.generate_trace_id
        self.new_span_id: Callable[[], int] = generator.generate_span_id
        # The default generator: its ids are drawn in line (`_random_bits`), the same ids minus a call each.
        self.random_ids = type(generator) is RandomIdGenerator
        # A trace without a parent is sampled when its id's low 64 bits are under this (the
        # table's ratio, as TraceIdRatioBased decides); None: ask the SDK's sampler
        self.root_bound = root_bound
        self.record_content = record_content
        self._config_now = config_now
        # What spans read from the table, remade when a reload brings another one.
        self._targets: tuple[Config | None, dict[str, Attributes]] = (None, {})
        # Which fields of each request Struct type may hold a sampling parameter (request_params).
        self.request_fields: dict[type, Fields] = {}
        # The sampling parameters of each combination of them seen (`parameters`), on the event loop.
        self._parameters: dict[Any, tuple[Any, dict[str, int | float]]] = {}

    def parameters(self, request: Any) -> tuple[Any, dict[str, int | float]]:
        """A token for the combination of sampling parameters `request` sets, and those
        parameters (request_params), found once per combination. The token is an object, part
        of the span tails' key (hashed by its identity: cheaper than the values each time)."""
        fields = self.request_fields.get(type(request))
        if fields is not None and fields.values is not None:  # parameters_key of a known Struct type, in line
            values = fields.values(request)
            key = values + tuple(map(type, values))
        else:
            key = parameters_key(request, self.request_fields)
        known = self._parameters
        try:
            found = known.get(key)
        except TypeError:  # a value that cannot hash (a Gemini config, a client's stray list): the items
            parameters = request_parameters(request, self.request_fields)
            return tuple(parameters.items()), parameters
        if found is None:
            if len(known) >= SpanTails.MAX_KEPT:
                known.clear()
            # the combination's token: an object, hashed by identity where the span tails' key holds it
            found = known[key] = (object(), request_parameters(request, self.request_fields))
        return found

    def request_span(self, headers: Mapping[str, str], started: float, content: bool) -> RequestSpan:
        """The request's SERVER span, a child of the client's trace when `headers` (the
        client's, lower-case names) carry `traceparent`; `started`: when the request came
        (time.perf_counter); `content`: its route puts prompts and answers on its spans."""
        parent = _client_parent(headers) if "traceparent" in headers else None
        start = time.time_ns() - int((time.perf_counter() - started) * 1e9)  # made at its first attempt
        if parent is None:
            # 0 is the invalid id (RandomIdGenerator draws again; here 1, once in 2**128 draws)
            trace_id = (_random_bits(128) or 1) if self.random_ids else self.new_trace_id()
            if self.root_bound is not None:
                return RequestSpan(self, trace_id, None, trace_id & _TRACE_ID_LIMIT < self.root_bound, start, content)
        else:
            trace_id = parent.trace_id
        context = trace.set_span_in_context(trace.NonRecordingSpan(parent)) if parent is not None else None
        decision = self.provider.sampler.should_sample(context, trace_id, OPERATION, SpanKind.SERVER).decision
        return RequestSpan(self, trace_id, parent, decision is Decision.RECORD_AND_SAMPLE, start, content)

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


# What a request span says of its request, noted at its end (a tuple: made in one step): status,
# error type, the model asked, route, key name, target, attempt outcomes, tokens.
Facts = tuple[int, str | None, str | None, str | None, str | None, str | None, tuple[str, ...], Tokens | None]
_FACT_ERROR: Final = 1
_FACT_MODEL: Final = 2
_FACT_TOKENS: Final = 7
# An attempt that ended, as noted (a tuple: made in one step, read by position): its span id
# (hex), start, end, target, the model asked of it, how it ended, whether it failed.
Ended = tuple[str, int, int, str, str, Outcome, bool]
_ID: Final = 0
_START: Final = 1
_END: Final = 2
_TARGET: Final = 3
_MODEL: Final = 4
_OUTCOME: Final = 5


def _attempt_attributes(tracing: Tracing, attempt: Ended) -> Attributes:
    return {"gen_ai.operation.name": OPERATION, "gen_ai.request.model": attempt[_MODEL],
            "router.target": attempt[_TARGET], **tracing.target_attributes(attempt[_TARGET]), **dict(attempt[_OUTCOME])}


def _attempt_tail(tracing: Tracing, attempt: Ended, trace_state: str) -> str:
    return span_tail(f"{OPERATION} {attempt[_MODEL]}", CLIENT, False, trace_state, attempt[-1],
                     _attempt_attributes(tracing, attempt))


def _attempt_span(tracing: Tracing, tails: SpanTails, attempt: Ended, trace_id: str, parent_id: str,
                  trace_state: str) -> str:
    """An attempt's span, one of several a request made (one alone is written with the request's)."""
    made_of = (*attempt[_TARGET:], trace_state)
    tail = tails.kept.get(made_of) or tails.keep(made_of, _attempt_tail(tracing, attempt, trace_state))
    return span_json(trace_id, attempt[_ID], parent_id, attempt[_START], attempt[_END], tail)


class RequestSpan:
    """One model request's spans. Every method is called from the Exchange's hooks, which run
    in the request path: none may raise into it (`finish` logs its own failures).

    Each request makes one, traced or not, so it is kept small and its steps few: what most
    requests leave as it was is a class attribute until set (no __slots__, which would need every
    one set per request), the open attempt is noted on the span itself and an ended one as a
    tuple, ids are hex text written once each (for `traceparent` and the span alike), and what a
    span says is worked out at its end, once, from what was noted."""

    _attempt_id = ""  # the open attempt's span id (hex); "": none is open
    _attempt_start = 0
    _attempt_target = ""
    _done: list[Ended] | None = None  # the attempts ended, when sampled
    _model: str | None = None  # the model asked of the last attempt's target
    # The first attempt's request's sampling parameters (request_params), read while it is at
    # hand and its fields in cache, and what they follow from (part of the kept tails' key).
    _parameters: dict[str, int | float] = {}  # noqa: RUF012 - never mutated: replaced
    _parameters_key: Any = None
    cache: str | None = None  # x-router-cache of the answer (Exchange.cache_answered)
    # Prompts and answers go on the spans: `[telemetry] record-content`, or the route's
    # `trace-content` (Exchange.routed, from the table's plan: no look-up per request).
    content = False
    # gen_ai.response.finish_reasons (router.hub.finish), set by whatever read the answer:
    # dispatch (unary), the stream's machine (stream_ended), the cache (a hit)
    finish_reasons: tuple[str, ...] = ()

    def __init__(self, tracing: Tracing, trace_id: int, parent: SpanContext | None, sampled: bool, start: int,
                 content: bool = False) -> None:
        self._tracing = tracing
        self._trace_id = TRACE_ID % trace_id
        self._parent = parent
        self.sampled = sampled
        self._start = start  # its own id is drawn at the end, when it is sampled
        if content or tracing.record_content:
            self.content = sampled

    def attempt_headers(self, target: str, model: str, request: Any, headers: Mapping[str, str]
                        ) -> Mapping[str, str]:
        """An attempt at `target` starts: its CLIENT span, named for `model` (the model asked
        of the target), whose id goes upstream in `traceparent` (with the client's
        `tracestate`) added to `headers`. `request`: the request as decoded for the target, the
        first attempt's read for its sampling parameters (Tracing.parameters). One hook for
        the three: each separate call was a share of a small request's CPU."""
        if self._attempt_id:
            self._end_attempt(_NOT_CLOSED, failed=True)
        tracing = self._tracing
        attempt_id = self._attempt_id = SPAN_ID % ((_random_bits(64) or 1) if tracing.random_ids
                                                    else tracing.new_span_id())
        self._attempt_start = time.time_ns()
        self._attempt_target = target
        self._model = model
        if self.sampled:
            if self._parameters_key is None:
                self._parameters_key, self._parameters = tracing.parameters(request)
            sent = {**headers, "traceparent": f"00-{self._trace_id}-{attempt_id}-01"}
        else:
            sent = {**headers, "traceparent": f"00-{self._trace_id}-{attempt_id}-00"}
        parent = self._parent
        if parent is not None and parent.trace_state:
            sent["tracestate"] = parent.trace_state.to_header()
        return sent

    def cache_hit(self, stop_reason: object) -> None:
        """The attempt was answered from the response cache (its kept hub answer's stop_reason)."""
        self.finish_reasons = finish_reasons(stop_reason if isinstance(stop_reason, str) else None)
        self._end_attempt(_ANSWERED, failed=False)

    def answered(self) -> None:
        """A unary answer is in hand: the attempt is over."""
        self._end_attempt(_ANSWERED, failed=False)

    def attempt_failed(self, error: RouterError | None) -> None:
        outcome: Outcome = (("error.type", type(error).__name__ if error is not None else "_OTHER"),)
        status = getattr(error, "upstream_status", None)
        if isinstance(status, int):
            outcome += (("http.response.status_code", status),)
        self._end_attempt(outcome, failed=True)

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
        """The request is over: its spans, written, to the export (the SDK's processor when it
        has none)."""
        if not self.sampled:
            return
        try:
            end = time.time_ns()
            if self._attempt_id:  # the request's end cut it short
                self._end_attempt(_REQUEST_ENDED, failed=True, end=end)
            facts = (status, error, record.model, record.route, record.key, record.target, tuple(record.attempts),
                     record.tokens)
            content = _content(record.request_body, record.response_bytes()) if self.content else None
            export = self._tracing.export
            if export is None:
                self._emit_readable(facts, content, end)
                return
            done = self._done
            export.add(self._json(facts, end, content), 1 if done is None else 1 + len(done))
        except Exception:
            log.exception("recording the request's spans failed")

    def _json(self, facts: Facts, end: int, content: Attributes | None) -> str:
        """The request's spans as OTLP/JSON, one item of a batch: its attempts', then its own.
        (Written here, not on the export thread: there a batch's writing competed with the
        event loop for the GIL and cost more than here, 1.24 against 1.16 of an untraced
        small request's CPU.)"""
        tracing = self._tracing
        tails = tracing.tails()
        status, error, model, route, key, target, attempts, tokens = facts
        span_id = SPAN_ID % ((_random_bits(64) or 1) if tracing.random_ids else tracing.new_span_id())
        parent = self._parent
        trace_state = parent.trace_state.to_header() if parent is not None and parent.trace_state else ""
        done = self._done
        attempt = done[0] if done is not None and len(done) == 1 else None  # most requests make one
        # All but ids, times, token counts and content repeat from one request to the next: the
        # spans' tails are encoded once per combination of what they are made of (a lone
        # attempt's with the request's: its target and model are the request's last).
        made_of = (status, error, model, route, key, target, self._model, attempts, self.finish_reasons, self.cache,
                   parent is not None, trace_state, attempt is None or attempt[_OUTCOME:], self._parameters_key)
        kept = tails.kept.get(made_of)
        if kept is None:
            kept = tails.keep(made_of, self._tails(facts, trace_state, attempt))
        # Token counts differ from request to request: written into each span, never kept (int64 as text).
        more = "" if tokens is None else (
            f',{{"key":"gen_ai.usage.input_tokens","value":{{"intValue":"{tokens[0]}"}}}}'
            f',{{"key":"gen_ai.usage.output_tokens","value":{{"intValue":"{tokens[1]}"}}}}')
        if content is not None:
            more += "".join("," + _encode(value).decode() for value in attributes_of(content))
        trace_id, parent_id = self._trace_id, None if parent is None else SPAN_ID % parent.span_id
        if attempt is not None:
            return request_spans_json(trace_id, span_id, parent_id, self._start, end, kept[1], more,
                                      attempt[_ID], attempt[_START], attempt[_END], kept[0])
        spans = span_json(trace_id, span_id, parent_id, self._start, end, kept[1], more)
        if done is None:
            return spans
        return ",".join([*(_attempt_span(tracing, tails, ended, trace_id, span_id, trace_state) for ended in done),
                         spans])

    def _tails(self, facts: Facts, trace_state: str, attempt: Ended | None) -> tuple[str, str]:
        """The spans' tails (`span_tail`): a lone attempt's (else empty), the request's."""
        remote = self._parent is not None
        tail = span_tail(_span_name(facts[_FACT_MODEL]), SERVER, remote, trace_state, facts[_FACT_ERROR] is not None,
                         self._profile_attributes(facts))
        if attempt is None:
            return "", tail
        return _attempt_tail(self._tracing, attempt, trace_state), tail

    def _emit_readable(self, facts: Facts, content: Attributes | None, end: int) -> None:
        """The spans as the SDK's ReadableSpans, to its processor (protobuf, gRPC, tests)."""
        tracing = self._tracing
        span_id = SPAN_ID % ((_random_bits(64) or 1) if tracing.random_ids else tracing.new_span_id())
        attributes = {**self._profile_attributes(facts), **self._own_attributes(facts, content)}
        name, error = _span_name(facts[_FACT_MODEL]), facts[_FACT_ERROR]
        processor = tracing.processor
        assert processor is not None  # a Tracing has an export or a processor
        resource = tracing.provider.resource
        trace_id = int(self._trace_id, 16)
        context = SpanContext(trace_id, int(span_id, 16), False, _SAMPLED,
                              self._parent.trace_state if self._parent is not None else None)
        for attempt in self._done or ():
            processor.on_end(ReadableSpan(
                name=f"{OPERATION} {attempt[_MODEL]}",
                context=SpanContext(trace_id, int(attempt[_ID], 16), False, _SAMPLED, context.trace_state),
                parent=context, resource=resource, attributes=_attempt_attributes(tracing, attempt),
                kind=SpanKind.CLIENT, status=_ERROR if attempt[-1] else _OK, start_time=attempt[_START],
                end_time=attempt[_END], instrumentation_scope=_SCOPE))
        processor.on_end(ReadableSpan(
            name=name, context=context, parent=self._parent, resource=resource,
            attributes=attributes, kind=SpanKind.SERVER,
            status=_OK if error is None else _ERROR, start_time=self._start, end_time=end,
            instrumentation_scope=_SCOPE))

    def _profile_attributes(self, facts: Facts) -> Attributes:
        """The request span's attributes that are the same for every request with the same
        status, error, models, route, key name, target, outcomes, finish reasons, cache and
        request parameters."""
        status, error, model, route, key, target, attempts, _ = facts
        attributes: Attributes = {"gen_ai.operation.name": OPERATION, "http.response.status_code": status,
                                  "router.attempts": len(attempts)}
        if model is not None:
            attributes["gen_ai.request.model"] = model
        if route is not None:
            attributes["router.route"] = route
        if key is not None:
            attributes["router.key_name"] = key  # the key's name; the key itself is never kept
        if target is not None:
            attributes["router.target"] = target
            attributes.update(self._tracing.target_attributes(target))
            if self._model is not None:
                attributes["gen_ai.response.model"] = self._model
        if attempts:
            attributes["router.attempt_outcomes"] = attempts
        if self.finish_reasons:
            attributes["gen_ai.response.finish_reasons"] = self.finish_reasons
        if self.cache is not None:
            attributes["router.cache"] = self.cache
        if error is not None:
            attributes["error.type"] = error
        attributes.update(self._parameters)
        return attributes

    @staticmethod
    def _own_attributes(facts: Facts, content: Attributes | None) -> Attributes:
        """The request span's attributes of this request alone: tokens, content."""
        attributes: Attributes = {}
        tokens = facts[_FACT_TOKENS]
        if tokens is not None:
            attributes["gen_ai.usage.input_tokens"] = tokens[0]
            attributes["gen_ai.usage.output_tokens"] = tokens[1]
        if content is not None:
            attributes.update(content)
        return attributes

    def _end_attempt(self, outcome: Outcome, failed: bool, end: int | None = None) -> None:
        attempt_id = self._attempt_id
        if not attempt_id:
            return
        self._attempt_id = ""
        if self.sampled:
            ended = (attempt_id, self._attempt_start, time.time_ns() if end is None else end, self._attempt_target,
                     self._model or "", outcome, failed)
            if self._done is None:
                self._done = [ended]
            else:
                self._done.append(ended)


def _span_name(model: str | None) -> str:
    """A request span's name: the operation and the model the client asked for, once routed."""
    return OPERATION if model is None else f"{OPERATION} {model}"


def _upstream_attributes(upstream: Upstream | None) -> Attributes:
    if upstream is None:
        return {}
    attributes: Attributes = {"gen_ai.provider.name": provider_name(upstream)}
    host = server_address(upstream)
    if host:
        attributes["server.address"] = host
    return attributes


def _client_parent(headers: Mapping[str, str]) -> SpanContext | None:
    """The client's span, when its request carried a valid `traceparent` (W3C trace context)."""
    carrier = {name: headers[name] for name in ("traceparent", "tracestate") if name in headers}
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
        return Tracing(provider, None, config_now, record_content, exporter, root_bound, environ)
    # Not added to the provider: spans reach it finished (RequestSpan.finish), never started.
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
