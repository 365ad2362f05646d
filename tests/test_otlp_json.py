"""router.observe.otlp_json: spans made by the SDK encoded as OTLP/JSON (checked field by field,
then parsed into opentelemetry-proto's ExportTraceServiceRequest), exported to a receiver on
loopback with the configured headers, and a refused connection that is a FAILURE, not an
exception. Also where the exporter sends (the SDK's endpoint rules) and the http/json default."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from router.config.schema import Telemetry
from router.config.telemetry import protocol_of
from router.observe.otel import _exporter
from router.observe.otlp_json import (
    CLIENT,
    SERVER,
    SPAN_ID,
    TRACE_ID,
    OtlpJsonExporter,
    SpanTails,
    attributes_of,
    encode_request,
    encode_spans,
    export_headers,
    export_timeout,
    span_json,
    span_tail,
    spans_head,
    traces_url,
)

PARENT = SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, True, TraceFlags(1),
                     TraceState([("vendor", "value")]))
ATTRIBUTES: dict[str, Any] = {
    "text": "héllo \"quoted\"", "flag": True, "count": 7, "big": 2**62, "ratio": 0.25,
    "words": ("a", "b"), "numbers": (1, 2), "ratios": (0.5, 1.5), "flags": (True, False),
}
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def otlp_json_to_proto(body: bytes) -> ExportTraceServiceRequest:
    """An OTLP/JSON body as the proto message. OTLP/JSON writes ids in hex where proto3's JSON
    mapping (json_format) expects base64: the ids are converted first, all else is parsed as is."""
    def ids_as_base64(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: base64.b64encode(bytes.fromhex(value)).decode() if key in _ID_FIELDS else ids_as_base64(value)
                    for key, value in node.items()}
        if isinstance(node, list):
            return [ids_as_base64(item) for item in node]
        return node

    request = ExportTraceServiceRequest()
    json_format.ParseDict(ids_as_base64(json.loads(body)), request)
    return request


def _sdk_spans() -> list[ReadableSpan]:
    """A SERVER span, child of a remote parent, with every attribute type, an event and an error
    status, and its CLIENT child: made by the SDK's own tracer."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "router-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("router", "1.2.3")
    with tracer.start_as_current_span("chat m", context=set_span_in_context(NonRecordingSpan(PARENT)),
                                      kind=SpanKind.SERVER, attributes=ATTRIBUTES) as server:
        server.add_event("retry", {"attempt": 2})
        server.set_status(Status(StatusCode.ERROR, "upstream failed"))
        with tracer.start_as_current_span("chat mm", kind=SpanKind.CLIENT):
            pass
    return list(exporter.get_finished_spans())


def test_spans_are_encoded_by_the_otlp_json_rules_field_by_field() -> None:
    client, server = _sdk_spans()
    body = json.loads(encode_request([server, client]))
    [resource_spans] = body["resourceSpans"]
    resource = {a["key"]: a["value"] for a in resource_spans["resource"]["attributes"]}
    assert resource["service.name"] == {"stringValue": "router-test"}
    [scope_spans] = resource_spans["scopeSpans"]
    assert scope_spans["scope"] == {"name": "router", "version": "1.2.3"}
    encoded_server, encoded_client = scope_spans["spans"]

    assert server.context is not None and client.context is not None
    assert encoded_server["traceId"] == "0af7651916cd43dd8448eb211c80319c"  # hex, lower case, not base64
    assert encoded_server["spanId"] == f"{server.context.span_id:016x}" and len(encoded_server["spanId"]) == 16
    assert encoded_server["parentSpanId"] == "b7ad6b7169203331"
    assert encoded_client["parentSpanId"] == encoded_server["spanId"]
    assert encoded_server["traceState"] == "vendor=value"
    assert encoded_server["name"] == "chat m" and encoded_client["name"] == "chat mm"
    assert encoded_server["kind"] == 2 and encoded_client["kind"] == 3  # SPAN_KIND_SERVER, SPAN_KIND_CLIENT
    assert encoded_server["startTimeUnixNano"] == str(server.start_time)
    assert encoded_server["endTimeUnixNano"] == str(server.end_time)
    assert encoded_server["flags"] == 0x301 and encoded_client["flags"] == 0x101  # sampled; remote parent known
    assert encoded_server["status"] == {"code": 2, "message": "upstream failed"}
    assert "status" not in encoded_client  # unset: proto3 leaves defaults out
    assert {a["key"]: a["value"] for a in encoded_server["attributes"]} == {
        "text": {"stringValue": "héllo \"quoted\""},
        "flag": {"boolValue": True},
        "count": {"intValue": "7"},
        "big": {"intValue": str(2**62)},  # int64 as a decimal string
        "ratio": {"doubleValue": 0.25},
        "words": {"arrayValue": {"values": [{"stringValue": "a"}, {"stringValue": "b"}]}},
        "numbers": {"arrayValue": {"values": [{"intValue": "1"}, {"intValue": "2"}]}},
        "ratios": {"arrayValue": {"values": [{"doubleValue": 0.5}, {"doubleValue": 1.5}]}},
        "flags": {"arrayValue": {"values": [{"boolValue": True}, {"boolValue": False}]}},
    }
    [event] = encoded_server["events"]
    assert event["name"] == "retry" and event["timeUnixNano"] == str(server.events[0].timestamp)
    assert event["attributes"] == [{"key": "attempt", "value": {"intValue": "2"}}]
    assert encoded_client["attributes"] == [] and "events" not in encoded_client


def test_the_body_is_a_valid_export_trace_service_request() -> None:
    client, server = _sdk_spans()
    request = otlp_json_to_proto(encode_request([server, client]))
    proto_server = request.resource_spans[0].scope_spans[0].spans[0]
    assert server.context is not None and server.start_time is not None
    assert proto_server.trace_id.hex() == f"{server.context.trace_id:032x}"
    assert proto_server.parent_span_id.hex() == "b7ad6b7169203331"
    assert proto_server.start_time_unix_nano == server.start_time
    assert proto_server.kind == proto_server.SPAN_KIND_SERVER
    assert proto_server.status.code == proto_server.status.STATUS_CODE_ERROR
    values = {a.key: a.value for a in proto_server.attributes}
    assert values["big"].int_value == 2**62 and values["ratio"].double_value == 0.25
    assert [v.string_value for v in values["words"].array_value.values] == ["a", "b"]


def test_non_finite_doubles_are_proto3_json_strings() -> None:
    span = ReadableSpan(name="s", context=SpanContext(1, 2, False, TraceFlags(1)),
                        attributes={"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")})
    request = otlp_json_to_proto(encode_request([span]))
    values = {a.key: a.value.double_value for a in request.resource_spans[0].scope_spans[0].spans[0].attributes}
    assert values["inf"] == float("inf") and values["ninf"] == float("-inf") and values["nan"] != values["nan"]


class _Receiver:
    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        self.statuses: list[int] = []  # the answers to the first posts (then 200)
        received, statuses = self.posts, self.statuses

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server calls it by this name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(statuses.pop(0) if statuses else 200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture
def receiver() -> Iterator[tuple[int, _Receiver]]:
    receiver = _Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver.server.server_address[1], receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def test_export_posts_one_json_body_with_the_headers(receiver: tuple[int, _Receiver]) -> None:
    port, received = receiver
    exporter = OtlpJsonExporter(traces_url(f"http://127.0.0.1:{port}", {}),
                                export_headers({"Authorization": "Bearer t0ken"}, {}))
    spans = _sdk_spans()
    try:
        assert exporter.export(spans) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    [(path, headers, body)] = received.posts
    assert path == "/v1/traces"
    assert headers["content-type"] == "application/json" and headers["authorization"] == "Bearer t0ken"
    assert len(otlp_json_to_proto(body).resource_spans[0].scope_spans[0].spans) == 2
    assert exporter.export(spans) is SpanExportResult.FAILURE  # shut down: nothing more is sent
    assert len(received.posts) == 1


def test_a_refused_connection_is_a_failure_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    exporter = OtlpJsonExporter(f"http://127.0.0.1:{port}/v1/traces", export_headers(None, {}), retry_pauses=())
    with caplog.at_level(logging.WARNING, logger="router.observe.otlp_json"):
        assert exporter.export(_sdk_spans()) is SpanExportResult.FAILURE
        assert exporter.export(_sdk_spans()) is SpanExportResult.FAILURE
    exporter.shutdown()
    assert len([r for r in caplog.records if "failed" in r.getMessage()]) == 1


def test_where_batches_go_follows_the_sdks_rules() -> None:
    assert traces_url("http://c:4318", {}) == "http://c:4318/v1/traces"
    assert traces_url("http://c:4318/", {}) == "http://c:4318/v1/traces"
    assert traces_url("http://c:4318/v1/traces", {}) == "http://c:4318/v1/traces"
    assert traces_url(None, {}) == "http://localhost:4318/v1/traces"
    assert traces_url(None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://e:4318"}) == "http://e:4318/v1/traces"
    signal = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://e:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t/x"}
    assert traces_url(None, signal) == "http://t/x"  # the signal's own variable is used as it is
    assert traces_url("http://c:4318", signal) == "http://c:4318/v1/traces"  # the table wins
    environment = {"OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20e,x-a=1"}
    assert export_headers({"X-A": "2"}, environment) == {
        "authorization": "Bearer e", "x-a": "2", "content-type": "application/json"}


def test_http_json_is_the_default_and_each_protocol_can_be_chosen() -> None:
    assert protocol_of(None, {}) == "http/json"
    assert protocol_of(None, {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}) == "http/protobuf"
    assert protocol_of(None, {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json",
                              "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}) == "http/json"
    telemetry = Telemetry(protocol="http/protobuf")
    assert protocol_of(telemetry, {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}) == "http/protobuf"
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    assert isinstance(_exporter(telemetry, {}), OTLPSpanExporter)
    default = Telemetry(endpoint="http://c:4318")
    exporter = _exporter(default, {})
    assert isinstance(exporter, OtlpJsonExporter) and exporter.url == "http://c:4318/v1/traces"
    exporter.shutdown()


def test_the_routers_own_spans_are_encoded_as_the_sdks_would_be() -> None:
    tokens = ',{"key":"in","value":{"intValue":"%d"}},{"key":"out","value":{"intValue":"%d"}}'  # as otel writes them
    trace_id = TRACE_ID % PARENT.trace_id
    server = span_json(trace_id, SPAN_ID % 0x1111, SPAN_ID % PARENT.span_id, 5, 9,
                       span_tail("chat m", SERVER, True, "vendor=value", True, ATTRIBUTES), tokens % (3, 2**40))
    client = span_json(trace_id, SPAN_ID % 0x2222, SPAN_ID % 0x1111, 6, 8,
                       span_tail("chat mm", CLIENT, False, "", False, {"text": "héllo \"quoted\" 100%"}))
    resource = {"attributes": attributes_of({"service.name": "router-test"})}
    head = spans_head(resource)
    body = encode_spans(head, [server, client])
    assert encode_spans(head, [server + "," + client]) == body  # a request's spans go as one item
    assert json.loads(encode_spans(head, []))["resourceSpans"][0]["scopeSpans"][0]["spans"] == []
    request = otlp_json_to_proto(body)
    [resource_spans] = request.resource_spans
    assert resource_spans.resource.attributes[0].value.string_value == "router-test"
    [scope_spans] = resource_spans.scope_spans
    assert scope_spans.scope.name == "router"
    first, second = scope_spans.spans
    assert first.trace_id.hex() == f"{PARENT.trace_id:032x}" and first.parent_span_id.hex() == f"{PARENT.span_id:016x}"
    assert first.span_id.hex() == "0000000000001111" and first.name == "chat m"
    assert first.flags == 0x301 and first.trace_state == "vendor=value" and first.kind == 2
    assert first.status.code == 2 and (first.start_time_unix_nano, first.end_time_unix_nano) == (5, 9)
    values = {a.key: a.value for a in first.attributes}
    assert values["text"].string_value == ATTRIBUTES["text"] and values["big"].int_value == 2**62
    assert values["flag"].bool_value is True and values["ratio"].double_value == 0.25
    assert [v.string_value for v in values["words"].array_value.values] == ["a", "b"]
    assert values["in"].int_value == 3 and values["out"].int_value == 2**40
    assert second.parent_span_id.hex() == "0000000000001111" and second.flags == 0x101 and second.status.code == 0
    assert second.kind == 3 and [(a.key, a.value.string_value) for a in second.attributes] == [
        ("text", 'héllo "quoted" 100%')]
    tails = SpanTails()
    tail = tails.keep(("made", "of"), '"name":"x"')
    assert tails.kept[("made", "of")] is tail


def test_a_receiver_that_asks_for_a_retry_gets_the_batch_again(receiver: tuple[int, _Receiver]) -> None:
    port, received = receiver
    received.statuses[:] = [503, 429]
    exporter = OtlpJsonExporter(traces_url(f"http://127.0.0.1:{port}", {}), export_headers(None, {}),
                                retry_pauses=(0.01, 0.01))
    span = span_json(TRACE_ID % 1, SPAN_ID % 2, None, 1, 2, span_tail("chat m", SERVER, False, "", False, {"a": 1}))
    try:
        assert exporter.post_spans([span]) is True
        assert len(received.posts) == 3
        received.statuses[:] = [503, 503, 503]  # more than the pauses allow: dropped
        assert exporter.post_spans([span]) is False
        received.statuses[:] = [400]  # not retryable
        assert exporter.post_spans([span]) is False
    finally:
        exporter.shutdown()
    assert len(received.posts) == 7


def test_the_export_timeout_is_read_as_the_sdk_reads_it() -> None:
    assert export_timeout({}) == 10.0
    assert export_timeout({"OTEL_EXPORTER_OTLP_TIMEOUT": "3"}) == 3.0
    assert export_timeout({"OTEL_EXPORTER_OTLP_TIMEOUT": "3", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "0.5"}) == 0.5
    assert export_timeout({"OTEL_EXPORTER_OTLP_TIMEOUT": "soon"}) == 10.0
