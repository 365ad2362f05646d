"""End to end: the anthropic SDK → a real `router serve` configured by `[telemetry]` → a real
OTLP/HTTP receiver started here, on loopback, which decodes each ExportTraceServiceRequest with
opentelemetry-proto's generated classes (from OTLP/JSON, the default protocol, or from protobuf).
The same little server is the router's OpenAI-compatible upstream, so the `traceparent` the router sent can be compared with the spans it exported."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anthropic
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from tests.conftest import RouterFactory
from tests.test_otlp_json import otlp_json_to_proto

CLIENT_KEY = "test-client-key-otlp-0123456789"
EXPORT_TOKEN = "otlp-token-secret-abc"
CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN = "b7ad6b7169203331"
ROUTES = """
[telemetry]
endpoint = "http://127.0.0.1:{port}"
{protocol}
headers = {{ authorization = "env:OTLP_TEST_AUTH" }}
service-name = "router-e2e"

[auth]
keys = [{{ name = "e2e", key = "env:ROUTER_TEST_KEY" }}]

[upstreams.up]
kind = "openai"
base-url = "http://127.0.0.1:{port}/v1"

[[routes]]
name = "claude"
models = ["claude-*"]
to = "up/mock-model"
"""
ANSWER = {"id": "c1", "model": "mock-model", "choices": [
    {"index": 0, "message": {"role": "assistant", "content": "hello from upstream"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}}


@dataclass
class Span:
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    service: str


@dataclass
class Received:
    spans: list[Span] = field(default_factory=list)
    export_headers: list[dict[str, str]] = field(default_factory=list)
    upstream_headers: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    return getattr(value, kind) if kind else None


def _spans(request: ExportTraceServiceRequest) -> Iterator[Span]:
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield Span(span.name, span.kind, span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex(),
                           {a.key: _value(a.value) for a in span.attributes}, str(resource.get("service.name")))


def _handler(received: Received) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server calls it by this name
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            if self.path == "/v1/traces":
                if headers.get("content-type") == "application/json":  # http/json, the default
                    request = otlp_json_to_proto(body)
                else:
                    request = ExportTraceServiceRequest()
                    request.ParseFromString(body)
                with received.lock:
                    received.export_headers.append(headers)
                    received.spans.extend(_spans(request))
                self._answer("application/x-protobuf", ExportTraceServiceResponse().SerializeToString())
            elif self.path == "/v1/chat/completions":
                with received.lock:
                    received.upstream_headers.append(headers)
                self._answer("application/json", json.dumps(ANSWER).encode())
            else:
                self.send_error(404)

        def _answer(self, content_type: str, body: bytes) -> None:
            self.send_response(200)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: no line per request on stderr
            return

    return Handler


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[int, Received]]:
    received = Received()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(received))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()


def _wait_for(received: Received, trace_id: str, count: int, timeout: float = 20.0) -> list[Span]:
    """The spans of one trace, once `count` of them arrived (the batch processor exports every
    OTEL_BSP_SCHEDULE_DELAY ms); bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with received.lock:
            spans = [span for span in received.spans if span.trace_id == trace_id]
        if len(spans) >= count:
            return spans
        time.sleep(0.05)
    raise AssertionError(f"{count} spans of trace {trace_id} not received in {timeout}s: {received.spans}")


@pytest.mark.parametrize("protocol", ["", 'protocol = "http/protobuf"'], ids=["http/json (default)", "http/protobuf"])
def test_a_real_router_exports_its_spans_to_an_otlp_receiver(start_router: RouterFactory,
                                                           receiver: tuple[int, Received], protocol: str) -> None:
    port, received = receiver
    with received.lock:  # the receiver serves every protocol's run: only this run's requests count
        received.spans.clear()
        received.export_headers.clear()
        received.upstream_headers.clear()
    base_url = start_router(ROUTES.format(port=port, protocol=protocol), env={
        "ROUTER_TEST_KEY": CLIENT_KEY, "OTLP_TEST_AUTH": f"Bearer {EXPORT_TOKEN}", "OTEL_BSP_SCHEDULE_DELAY": "100",
    })
    with anthropic.Anthropic(base_url=base_url, api_key=CLIENT_KEY, max_retries=0) as sdk:
        message = sdk.messages.create(
            model="claude-e2e", max_tokens=20, messages=[{"role": "user", "content": "a private prompt"}],
            extra_headers={"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"})
    assert message.content[0].text == "hello from upstream"  # type: ignore[union-attr]

    spans = _wait_for(received, CLIENT_TRACE, 2)
    [server] = [span for span in spans if span.kind == 2]  # SPAN_KIND_SERVER
    [attempt] = [span for span in spans if span.kind == 3]  # SPAN_KIND_CLIENT
    assert server.parent_span_id == CLIENT_SPAN and attempt.parent_span_id == server.span_id
    assert server.name == "chat claude-e2e" and attempt.name == "chat mock-model"
    assert server.service == "router-e2e"
    assert server.attributes["gen_ai.operation.name"] == "chat"
    assert server.attributes["gen_ai.request.model"] == "claude-e2e"
    assert server.attributes["gen_ai.response.model"] == "mock-model"
    assert server.attributes["gen_ai.provider.name"] == "openai"
    assert server.attributes["gen_ai.usage.input_tokens"] == 9
    assert server.attributes["gen_ai.usage.output_tokens"] == 4
    assert server.attributes["router.route"] == "claude" and server.attributes["router.key_name"] == "e2e"
    assert server.attributes["http.response.status_code"] == 200
    assert attempt.attributes["server.address"] == "127.0.0.1"
    # the upstream got the attempt's span as its parent
    [upstream] = [headers for headers in received.upstream_headers if CLIENT_TRACE in headers.get("traceparent", "")]
    assert upstream["traceparent"] == f"00-{CLIENT_TRACE}-{attempt.span_id}-01"
    # the export carried the header from the environment; no span carries a secret or the prompt
    assert any(headers.get("authorization") == f"Bearer {EXPORT_TOKEN}" for headers in received.export_headers)
    content_type = "application/x-protobuf" if protocol else "application/json"
    assert any(headers.get("content-type") == content_type for headers in received.export_headers)
    text = json.dumps([span.attributes for span in spans])
    assert CLIENT_KEY not in text and EXPORT_TOKEN not in text and "a private prompt" not in text
