"""OTLP over HTTP with the JSON encoding (`protocol = "http/json"`, the default).

    span_json / encode_spans   the router's own spans (router.observe.otel) written as OTLP/JSON
                               text directly (their repeating part kept encoded: SpanTails), and
                               a batch of them put in one body (router.observe.span_export's
                               thread posts them: `post_spans`)
    OtlpJsonExporter           also an SDK SpanExporter (`export` of ReadableSpans), for the SDK's
                               processors

Why not the SDK's http/protobuf exporter: its encoder (opentelemetry.exporter.otlp.proto.common's
encode_spans) costs ~110 µs a span, on the batch processor's thread, which is the router's CPU
too: with every request traced that doubled a small request's cost. Here the router's spans
are text formatted once each (their repeating part encoded once per combination; text, not
bytes, because their ids are hex text already written once for the `traceparent` header), and
a batch of them is joined and encoded once into one body; an SDK span becomes Structs encoded
the same way (~12 µs). Every OTLP receiver (the OTel Collector, Jaeger, Tempo) accepts the JSON encoding
on the same `/v1/traces` path.

The OTLP/JSON rules followed (opentelemetry-proto docs/specification.md, "JSON Protobuf
Encoding"): field names in lowerCamelCase; trace and span ids as lower-case hex (not proto3
JSON's base64); 64-bit integers (times, intValue) as decimal strings; enums as integers.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import msgspec
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Link, SpanContext, SpanKind, StatusCode
from opentelemetry.util.re import parse_env_headers

from router.observe.otlp_post import TRANSPORT_ERRORS, Poster

log = logging.getLogger("router.observe.otlp_json")
TRACES_PATH = "/v1/traces"
DEFAULT_ENDPOINT = "http://localhost:4318"  # the SDK's default OTLP/HTTP receiver
TIMEOUT_SECONDS = 10.0  # the SDK's default; OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT in seconds, as the SDK reads it
# Answers that say "later" (OTLP/HTTP's retryable ones), retried after these pauses, then the batch is dropped.
RETRYABLE = frozenset({429, 502, 503, 504})
RETRY_PAUSES = (1.0, 2.0, 4.0)
SERVER, CLIENT = 2, 3  # OTLP's SpanKind numbers (SPAN_KIND_UNSPECIFIED is 0)
_ERROR_STATUS = {"code": 2, "message": ""}  # STATUS_CODE_ERROR
# Span.flags: bit 8 says whether bit 9 (the parent is remote) is known; the SDK's encoder sets both so.
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200
_SAMPLED_FLAGS = 0x01 | _HAS_IS_REMOTE  # the router records sampled spans only
_ROUTER_SCOPE = {"name": "router"}
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}
_encode = msgspec.json.Encoder().encode
Json = dict[str, Any]
Tail = TypeVar("Tail", str, tuple[str, str])


def traces_url(endpoint: str | None, environ: Mapping[str, str]) -> str:
    """Where the batches go, found as the SDK's OTLP/HTTP exporter finds it: the table's endpoint
    (with `/v1/traces` added unless there), else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is,
    else OTEL_EXPORTER_OTLP_ENDPOINT with `/v1/traces`, else localhost:4318."""
    if endpoint is None:
        signal = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        if signal:
            return signal
        endpoint = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or DEFAULT_ENDPOINT
    base = endpoint.rstrip("/")
    return base if base.endswith(TRACES_PATH) else base + TRACES_PATH


def export_headers(headers: Mapping[str, str] | None, environ: Mapping[str, str]) -> dict[str, str]:
    """OTEL_EXPORTER_OTLP_[TRACES_]HEADERS, then the table's (which win), as the SDK merges them."""
    from_environment = (environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
                        or environ.get("OTEL_EXPORTER_OTLP_HEADERS", ""))
    merged = {name.lower(): value for name, value in parse_env_headers(from_environment, liberal=True).items()}
    merged.update({name.lower(): value for name, value in (headers or {}).items()})
    merged["content-type"] = "application/json"
    return merged


def export_timeout(environ: Mapping[str, str]) -> float:
    """OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, else OTEL_EXPORTER_OTLP_TIMEOUT, in seconds (as the SDK's
    own OTLP exporters read them), else 10."""
    raw = environ.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or environ.get("OTEL_EXPORTER_OTLP_TIMEOUT")
    try:
        timeout = float(raw) if raw else TIMEOUT_SECONDS
    except ValueError:
        log.warning("OTEL_EXPORTER_OTLP_TIMEOUT %r is not a number of seconds: %s s", raw, TIMEOUT_SECONDS)
        return TIMEOUT_SECONDS
    return timeout if timeout > 0 else TIMEOUT_SECONDS


class OtlpJsonExporter(SpanExporter):
    """POSTs each batch as one ExportTraceServiceRequest in JSON, on one kept-alive connection
    (router.observe.otlp_post).
    Called from one thread (router.observe.span_export's, or an SDK processor's); never raises (a
    failed batch is dropped), retries answers that ask for it (429, 502, 503, 504) and refused
    connections after RETRY_PAUSES, and logs once per outage, not once per batch."""

    def __init__(self, url: str, headers: Mapping[str, str], timeout: float = TIMEOUT_SECONDS,
                 retry_pauses: Sequence[float] = RETRY_PAUSES, resource: Mapping[str, Any] | None = None) -> None:
        self.url = url
        self._poster = Poster(url, headers, timeout)
        self._retry_pauses = tuple(retry_pauses)
        self._closing = threading.Event()  # set by shutdown: a pause before a retry ends at once
        self._failing = False
        self._closed = False
        # Every body of the router's own spans (`post_spans`) up to its first span: the resource's part.
        self._spans_head = spans_head({"attributes": attributes_of(resource)})

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._closed:
            return SpanExportResult.FAILURE
        try:
            body = encode_request(spans)
        except Exception as error:  # noqa: BLE001 - the processor's thread must never see an exception
            self._failed(f"{type(error).__name__}: {error}")
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS if self.post(body) else SpanExportResult.FAILURE

    def post_spans(self, spans: list[str]) -> bool:
        """The router's own spans (`span_json`), in one body, posted: False when dropped."""
        if self._closed:
            return False
        try:
            body = encode_spans(self._spans_head, spans)
        except Exception as error:  # noqa: BLE001 - the export thread must never see an exception
            return self._failed(f"{type(error).__name__}: {error}")
        return self.post(body)

    def post(self, body: bytes) -> bool:
        """One batch's body sent, retried while the receiver asks for it (or refuses the connection)."""
        pauses = iter(self._retry_pauses)
        while True:
            try:
                status = self._poster.post(body)
            except Exception as error:  # noqa: BLE001 - the exporting thread must never see an exception
                reason, retry = f"{type(error).__name__}: {error}", isinstance(error, TRANSPORT_ERRORS)
            else:
                if 200 <= status < 300:
                    return self._succeeded()
                reason, retry = f"HTTP {status}", status in RETRYABLE
            pause = next(pauses, None) if retry else None
            if pause is None or self._closing.wait(pause):
                return self._failed(reason)

    def _succeeded(self) -> bool:
        if self._failing:
            self._failing = False
            log.info("traces are exported to %s again", self.url)
        return True

    def _failed(self, reason: str) -> bool:
        if not self._failing:
            self._failing = True  # logged again only after a success
            log.warning("exporting traces to %s failed (%s): spans are dropped until it answers", self.url, reason)
        return False

    def shutdown(self) -> None:
        self._closing.set()
        self._closed = True
        self._poster.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # nothing is held here: each export is sent when called


def encode_request(spans: Sequence[ReadableSpan]) -> bytes:
    """The batch as an OTLP/JSON ExportTraceServiceRequest, spans grouped by resource then scope
    (by identity: a batch's spans share a few objects, and Resource's own hash dumps it whole)."""
    resources: dict[int, tuple[Json, dict[int, Json]]] = {}
    for span in spans:
        resource = span.resource
        group = resources.get(id(resource))
        if group is None:
            group = resources[id(resource)] = ({"resource": {"attributes": attributes_of(resource.attributes)},
                                                "scopeSpans": []}, {})
        scope = span.instrumentation_scope
        scope_spans = group[1].get(id(scope))
        if scope_spans is None:
            scope_spans = group[1][id(scope)] = {"scope": _scope(scope), "spans": []}
            group[0]["scopeSpans"].append(scope_spans)
        scope_spans["spans"].append(encode_span(span))
    return _encode({"resourceSpans": [group[0] for group in resources.values()]})


def spans_head(resource: Json) -> str:
    """A body of the router's own spans up to its first span (`encode_spans`): one resource, one scope."""
    head = _encode({"resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": _ROUTER_SCOPE, "spans": []}]}]})
    assert head.endswith(_SPANS_TAIL)
    return head[:-len(_SPANS_TAIL)].decode() + "["


def encode_spans(head: str, spans: list[str]) -> bytes:
    """The router's own spans (`span_json`s, or several of them joined by commas) after `head`
    (`spans_head`), as one ExportTraceServiceRequest: head, span, comma, span, ..., the end,
    joined in C and encoded once (the JSON encoder's growing buffer copied a batch ~3 times)."""
    if not spans:
        return (head + _SPANS_END).encode()
    parts = [","] * (2 * len(spans) + 1)
    parts[0] = head
    parts[1::2] = spans
    parts[-1] = _SPANS_END
    return "".join(parts).encode()


_SPANS_TAIL = b"[]}]}]}"  # what follows the spans of `encode_spans` (an empty array's brackets first)
_SPANS_END = _SPANS_TAIL[1:].decode()


# Ids as OTLP/JSON and traceparent write them: hex text, written once per id.
TRACE_ID = "%032x"
SPAN_ID = "%016x"


def span_json(trace_id: str, span_id: str, parent_id: str | None, start: int, end: int, tail: str,
              more: str = "") -> str:
    """One of the router's spans, written as OTLP/JSON at once (one f-string: no ReadableSpan,
    no Struct, nothing left for the export thread but joining; an f-string because it formats
    a span in ~60 % of the time `%` takes): ids as hex text (TRACE_ID, SPAN_ID), times, then
    `tail` from `span_tail` (name, kind, flags, trace state, status, attributes), kept for spans
    alike but for ids, times and `more` (`,` then more encoded KeyValues: token counts), which
    closes the attributes' array."""
    parent = "" if parent_id is None else f'"parentSpanId":"{parent_id}",'
    return (f'{{"traceId":"{trace_id}","spanId":"{span_id}",{parent}"startTimeUnixNano":"{start}",'
            f'"endTimeUnixNano":"{end}",{tail}{more}]}}')


def request_spans_json(trace_id: str, span_id: str, parent_id: str | None, start: int, end: int, tail: str,
                       more: str, attempt_id: str, attempt_start: int, attempt_end: int, attempt_tail: str) -> str:
    """A request's span and its lone attempt's (`span_json` of each: the attempt's, its parent
    the request's span, a comma, the request's) in one f-string."""
    parent = "" if parent_id is None else f'"parentSpanId":"{parent_id}",'
    return (f'{{"traceId":"{trace_id}","spanId":"{attempt_id}","parentSpanId":"{span_id}",'
            f'"startTimeUnixNano":"{attempt_start}","endTimeUnixNano":"{attempt_end}",{attempt_tail}]}},'
            f'{{"traceId":"{trace_id}","spanId":"{span_id}",{parent}"startTimeUnixNano":"{start}",'
            f'"endTimeUnixNano":"{end}",{tail}{more}]}}')


def span_tail(name: str, kind: int, remote_parent: bool, trace_state: str, failed: bool,
              attributes: Mapping[str, Any]) -> str:
    """What follows a span's times (`span_json`), its attributes array left open. `kind` SERVER
    or CLIENT; `remote_parent`: the client's span is the parent; `failed`: the ERROR status."""
    head: Json = {"name": name, "kind": kind, "flags": _SAMPLED_FLAGS | _IS_REMOTE if remote_parent else _SAMPLED_FLAGS}
    if trace_state:
        head["traceState"] = trace_state
    if failed:
        head["status"] = _ERROR_STATUS
    head["attributes"] = attributes_of(attributes)
    encoded = _encode(head)
    assert encoded.endswith(b"]}")
    return encoded[1:-2].decode()  # `"name":…,"attributes":[…` (never empty: the router's spans have attributes)


class SpanTails:
    """Span tails (`span_tail`) kept by what they are made of (a caller's tuple): a request span's
    name, status and attributes but its tokens repeat from request to request (its models, route,
    key name, target, outcomes, finish reasons), so each combination is encoded once. Bounded:
    past MAX_KEPT it starts over. Used on the event loop only."""

    MAX_KEPT = 4096

    __slots__ = ("kept",)

    def __init__(self) -> None:
        # A tail, or a request's tails with its lone attempt's (router.observe.otel: their keys differ in length).
        self.kept: dict[tuple[Any, ...], Any] = {}

    def keep(self, made_of: tuple[Any, ...], tail: Tail) -> Tail:
        if len(self.kept) >= self.MAX_KEPT:
            self.kept.clear()
        self.kept[made_of] = tail
        return tail


def _scope(scope: Any) -> Json:
    if scope is None:
        return {}
    encoded: Json = {"name": scope.name}
    if scope.version:
        encoded["version"] = scope.version
    return encoded


class _Span(msgspec.Struct, gc=False, omit_defaults=True, rename="camel"):
    """An OTLP Span (Structs: faster to make and encode than dicts, and never tracked by the cyclic
    collector)."""

    trace_id: str
    span_id: str
    name: str
    kind: int
    start_time_unix_nano: str
    end_time_unix_nano: str
    attributes: list[_KeyValue]
    flags: int
    parent_span_id: str = ""
    trace_state: str = ""
    status: Json | None = None
    events: list[Json] | None = None
    links: list[Json] | None = None
    dropped_attributes_count: int = 0


class _KeyValue(msgspec.Struct, gc=False):
    key: str
    value: Any


# AnyValue, one Struct per case (the case is the field's name).
class _String(msgspec.Struct, gc=False, rename="camel"):
    string_value: str


class _Bool(msgspec.Struct, gc=False, rename="camel"):
    bool_value: bool


class _Int(msgspec.Struct, gc=False, rename="camel"):
    int_value: str  # int64: a string in proto3 JSON


class _Double(msgspec.Struct, gc=False, rename="camel"):
    double_value: float | str  # "NaN", "Infinity" and "-Infinity" as strings


class _Array(msgspec.Struct, gc=False, rename="camel"):
    array_value: Json


class _Bytes(msgspec.Struct, gc=False, rename="camel"):
    bytes_value: bytes  # msgspec writes bytes as base64, as proto3 JSON does


_KINDS = {kind: kind.value + 1 for kind in SpanKind}  # OTLP's SpanKind counts SPAN_KIND_UNSPECIFIED first
_STATUS_CODES = {code: code.value for code in StatusCode}  # the same numbers in the SDK and in OTLP


def encode_span(span: ReadableSpan) -> _Span:
    context = span.context
    assert context is not None  # a ReadableSpan made by the SDK or by RequestSpan always has one
    parent = span.parent
    flags = context.trace_flags | _HAS_IS_REMOTE
    encoded = _Span(f"{context.trace_id:032x}", f"{context.span_id:016x}", span.name, _KINDS[span.kind],
                    str(span.start_time or 0), str(span.end_time or 0), attributes_of(span.attributes), flags)
    if parent is not None:
        encoded.parent_span_id = f"{parent.span_id:016x}"
        if parent.is_remote:
            encoded.flags = flags | _IS_REMOTE
    if context.trace_state:
        encoded.trace_state = context.trace_state.to_header()
    status = span.status
    code = _STATUS_CODES[status.status_code]
    if code or status.description:
        encoded.status = {"code": code, "message": status.description or ""}
    if span.events:
        encoded.events = [{"timeUnixNano": str(event.timestamp), "name": event.name,
                           "attributes": attributes_of(event.attributes)} for event in span.events]
    if span.links:
        encoded.links = [_link(link) for link in span.links]
    if span.dropped_attributes:
        encoded.dropped_attributes_count = span.dropped_attributes
    return encoded


def _link(link: Link) -> Json:
    context: SpanContext = link.context
    encoded: Json = {"traceId": f"{context.trace_id:032x}", "spanId": f"{context.span_id:016x}",
                     "attributes": attributes_of(link.attributes)}
    if context.trace_state:
        encoded["traceState"] = context.trace_state.to_header()
    return encoded


def attributes_of(attributes: Mapping[str, Any] | None) -> list[_KeyValue]:
    if not attributes:
        return []
    # str first, without a call: most of a request span's attributes are
    return [_KeyValue(key, _String(value) if type(value) is str else any_value(value))
            for key, value in attributes.items()]


def any_value(value: Any) -> Any:
    """An AnyValue; bool before int (a bool is an int in Python)."""
    kind = type(value)
    if kind is str:
        return _String(value)
    if kind is int:
        return _Int(str(value))
    if kind is float:
        return _Double(value if math.isfinite(value) else _NON_FINITE.get(value, "NaN"))
    if kind is bool:
        return _Bool(value)
    if isinstance(value, (tuple, list)):
        return _Array({"values": [any_value(item) for item in value]})
    if isinstance(value, bytes):
        return _Bytes(value)
    return _any_subclass(value)


def _any_subclass(value: Any) -> Any:
    """A value whose type subclasses bool, int, float or str (an enum member): as its base type."""
    if isinstance(value, bool):
        return _Bool(bool(value))
    if isinstance(value, int):
        return _Int(str(int(value)))
    if isinstance(value, float):
        return any_value(float(value))
    if isinstance(value, str):
        return _String(str.__str__(value))
    return _String(str(value))
