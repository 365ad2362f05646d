"""OTLP over HTTP with the JSON encoding (`protocol = "http/json"`, the default).

    otlp_span / encode_spans   the router's own spans (router.observe.otel) made as OTLP Structs
                               directly, and a batch of them encoded in one msgspec call
                               (router.observe.span_export's thread posts them: `post_spans`)
    OtlpJsonExporter           also an SDK SpanExporter (`export` of ReadableSpans), for the SDK's
                               processors

Why not the SDK's http/protobuf exporter: its encoder (opentelemetry.exporter.otlp.proto.common's
encode_spans) costs ~110 µs a span, on the batch processor's thread, which is the router's CPU
too: with every request traced that doubled a small request's cost. Here a batch is plain dicts
and lists encoded once by msgspec (a few µs a span). Every OTLP receiver (the OTel Collector,
Jaeger, Tempo) accepts the JSON encoding on the same `/v1/traces` path.

The OTLP/JSON rules followed (opentelemetry-proto docs/specification.md, "JSON Protobuf
Encoding"): field names in lowerCamelCase; trace and span ids as lower-case hex (not proto3
JSON's base64); 64-bit integers (times, intValue) as decimal strings; enums as integers.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import msgspec
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Link, SpanContext, SpanKind, StatusCode
from opentelemetry.util.re import parse_env_headers

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
    """POSTs each batch as one ExportTraceServiceRequest in JSON, on one kept-alive connection.
    Called from one thread (router.observe.span_export's, or an SDK processor's); never raises (a
    failed batch is dropped), retries answers that ask for it (429, 502, 503, 504) and refused
    connections after RETRY_PAUSES, and logs once per outage, not once per batch."""

    def __init__(self, url: str, headers: Mapping[str, str], timeout: float = TIMEOUT_SECONDS,
                 retry_pauses: Sequence[float] = RETRY_PAUSES, resource: Mapping[str, Any] | None = None) -> None:
        self.url = url
        self._client = httpx.Client(headers=dict(headers), timeout=timeout)
        self._retry_pauses = tuple(retry_pauses)
        self._closing = threading.Event()  # set by shutdown: a pause before a retry ends at once
        self._failing = False
        self._closed = False
        # The resource's part of every body the router's own spans go in (`post_spans`).
        self._resource: Json = {"attributes": attributes_of(resource)}

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._closed:
            return SpanExportResult.FAILURE
        try:
            body = encode_request(spans)
        except Exception as error:  # noqa: BLE001 - the processor's thread must never see an exception
            self._failed(f"{type(error).__name__}: {error}")
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS if self.post(body) else SpanExportResult.FAILURE

    def post_spans(self, spans: list[_Span]) -> bool:
        """The router's own spans (`otlp_span`), encoded and posted: False when dropped."""
        if self._closed:
            return False
        try:
            body = encode_spans(self._resource, spans)
        except Exception as error:  # noqa: BLE001 - the export thread must never see an exception
            return self._failed(f"{type(error).__name__}: {error}")
        return self.post(body)

    def post(self, body: bytes) -> bool:
        """One batch's body sent, retried while the receiver asks for it (or refuses the connection)."""
        pauses = iter(self._retry_pauses)
        while True:
            try:
                response = self._client.post(self.url, content=body)
            except Exception as error:  # noqa: BLE001 - the exporting thread must never see an exception
                reason, retry = f"{type(error).__name__}: {error}", isinstance(error, httpx.TransportError)
            else:
                if response.is_success:
                    return self._succeeded()
                reason, retry = f"HTTP {response.status_code}", response.status_code in RETRYABLE
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
        self._client.close()

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


def encode_spans(resource: Json, spans: list[_Span]) -> bytes:
    """The router's own spans (one resource, one scope) as an ExportTraceServiceRequest."""
    return _encode({"resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": _ROUTER_SCOPE, "spans": spans}]}]})


def otlp_span(trace_id: str, span_id: int, parent: tuple[int, bool] | None, trace_state: str, name: str, kind: int,
              start: int, end: int, failed: bool, attributes: Sequence[KeyValue]) -> _Span:
    """One of the router's spans, made as OTLP wants it (no ReadableSpan between): `parent` is the
    parent span's id and whether it is remote (the client's), `kind` SERVER or CLIENT, `failed` the
    ERROR status (else UNSET); `trace_id` in hex."""
    span = _Span(trace_id, f"{span_id:016x}", name, kind, str(start), str(end), attributes, _SAMPLED_FLAGS)
    if parent is not None:
        span.parent_span_id = f"{parent[0]:016x}"
        if parent[1]:
            span.flags = _SAMPLED_FLAGS | _IS_REMOTE
    if trace_state:
        span.trace_state = trace_state
    if failed:
        span.status = _ERROR_STATUS
    return span


class KeyValues:
    """Attributes as OTLP KeyValues, each (key, value) pair made and encoded once and then reused
    as its JSON (msgspec.Raw, copied as it is into every body: a quarter of the encoding time): a
    request span's values repeat from request to request (its model, route, key name, target,
    status, finish reasons), and a KeyValue with its AnyValue is two Structs and a type test to
    make. Bounded: past MAX_KEPT pairs it starts over; long strings (prompts, answers) are never
    kept. Used on the event loop only."""

    MAX_KEPT = 4096
    LONGEST_KEPT = 256  # characters of a string value

    __slots__ = ("_made", "runs")

    def __init__(self) -> None:
        self._made: dict[tuple[str, Any], msgspec.Raw] = {}
        # Whole runs of attributes, encoded, by what they were made of (a caller's tuple: `keep`).
        # Tuples: the cyclic collector stops tracking a tuple of Raws, where a list stays tracked.
        self.runs: dict[tuple[Any, ...], tuple[KeyValue, ...]] = {}

    def keep(self, made_of: tuple[Any, ...], attributes: Mapping[str, Any]) -> tuple[KeyValue, ...]:
        """`attributes` encoded, kept as the run `made_of` describes (a prompt or an answer never)."""
        run = tuple(self(attributes))
        if len(self.runs) >= self.MAX_KEPT:
            self.runs.clear()
        self.runs[made_of] = run
        return run

    def __call__(self, attributes: Mapping[str, Any]) -> list[KeyValue]:
        made = self._made  # a Raw of a KeyValue is never empty, so true: `or` makes only what is missing
        return [made.get(item) or self._make(item) for item in attributes.items()]

    def _make(self, item: tuple[str, Any]) -> KeyValue:
        key, value = item
        made = _KeyValue(key, any_value(value))
        if type(value) is str and len(value) > self.LONGEST_KEPT:
            return made
        if len(self._made) >= self.MAX_KEPT:
            self._made.clear()
        encoded = self._made[item] = msgspec.Raw(_encode(made))
        return encoded


def int_template(key: str) -> bytes:
    """A KeyValue of an integer attribute, its value left as a %d (`int_key_value`)."""
    return _encode(_KeyValue(key, _Int("%d")))  # intValue is a string in proto3 JSON: "%d" stays quoted


def int_key_value(template: bytes, value: int) -> msgspec.Raw:
    """An integer attribute (`int_template`) encoded without a Struct: a token count."""
    return msgspec.Raw(template % value)


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
    attributes: Sequence[KeyValue]
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


KeyValue = _KeyValue | msgspec.Raw  # a KeyValue, or one already encoded (KeyValues)


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


def attributes_of(attributes: Mapping[str, Any] | None) -> list[KeyValue]:
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
