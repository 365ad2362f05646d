"""OpenTelemetry traces, checked with the SDK's in-memory exporter: the request span's GenAI and
router attributes, a CLIENT span per upstream attempt (a retry makes two), `traceparent` taken
from the client and sent upstream with the attempt's span id, a stream's usage at its end,
content only where a route opts in, no key anywhere, `router check` on `[telemetry]`, and a router
with traces off that never imports OpenTelemetry."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from litestar.testing import AsyncTestClient
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from router.config.load import load_config_text
from router.config.schema import Telemetry
from router.config.telemetry import tracing_on
from router.gateway.state import RouterState, open_state
from router.observe.otel import open_tracing
from router.observe.otlp_json import OtlpJsonExporter
from router.routing.lookup import build_table
from router.server.app import create_app
from tests.support.config_checks import hide_module, problems
from tests.test_otlp_json import otlp_json_to_proto

KEY = "sk-router-test-secret-0123456789"
ROUTES = """
[telemetry]
service-name = "router-test"

[auth]
keys = [{ name = "team-a", key = "env:ROUTER_TEST_KEY" }]

[upstreams.a]
kind = "openai"
base-url = "https://a.example/v1"

[upstreams.b]
kind = "openai"
base-url = "https://b.example/v1"

[[routes]]
name = "pair"
models = ["m"]
to = ["a/ma", "b/mb"]
retry = { attempts = 2, backoff = 0.001 }

[upstreams.h]
kind = "anthropic"
base-url = "https://h.example"

[[routes]]
name = "hub"
models = ["h"]
to = "h/mh"

[[routes]]
name = "cached"
models = ["c"]
to = "h/mh"
cache = { ttl = 600, keep-truncated = true }  # the answer below stops at max_tokens

[[routes]]
name = "open-book"
models = ["talk"]
to = "b/mb"
trace-content = true
"""
A, B = "https://a.example/v1/chat/completions", "https://b.example/v1/chat/completions"
OK = {"id": "c", "model": "mb", "choices": [{"index": 0, "message": {"role": "assistant", "content": "from b"},
                                             "finish_reason": "stop"}],
      "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}}
BODY = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "a secret prompt"}]}
SSE = (b'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'
       b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
       b'data: {"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":2,"total_tokens":13}}\n\n'
       b"data: [DONE]\n\n")
H = "https://h.example/v1/messages"
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
HEADERS = {"x-api-key": KEY}


def _state() -> RouterState:
    loaded = load_config_text(ROUTES, filename="routes.toml", environ={"ROUTER_TEST_KEY": KEY})
    return open_state(build_table(loaded), transport=lambda name, upstream: httpx.AsyncHTTPTransport())


@pytest.fixture
async def traced() -> AsyncIterator[tuple[AsyncTestClient, InMemorySpanExporter]]:  # type: ignore[type-arg]
    state = _state()
    exporter = InMemorySpanExporter()
    tracing = open_tracing(state.table.loaded.config.telemetry, {}, lambda: state.table.loaded.config,
                           processor=SimpleSpanProcessor(exporter))
    async with AsyncTestClient(app=create_app(state, tracing=tracing)) as client:
        yield client, exporter


def _spans(exporter: InMemorySpanExporter) -> tuple[ReadableSpan, list[ReadableSpan]]:
    spans = exporter.get_finished_spans()
    servers = [span for span in spans if span.kind is SpanKind.SERVER]
    assert len(servers) == 1, spans
    return servers[0], sorted((span for span in spans if span.kind is SpanKind.CLIENT), key=lambda s: s.start_time or 0)


def _no_secret(spans: tuple[ReadableSpan, ...]) -> None:
    for span in spans:
        text = json.dumps({key: str(value) for key, value in (span.attributes or {}).items()})
        assert KEY not in text and "ROUTER_TEST_KEY" not in text


@respx.mock
async def test_a_unary_request_is_one_server_span_with_genai_attributes_and_one_attempt(traced) -> None:  # type: ignore[no-untyped-def]
    client, exporter = traced
    respx.post(A).mock(return_value=httpx.Response(200, json=OK))
    response = await client.post("/v1/messages", json=BODY, headers=HEADERS)
    assert response.status_code == 200
    server, attempts = _spans(exporter)
    assert server.name == "chat m"
    attributes = dict(server.attributes or {})
    assert attributes == {
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "m", "gen_ai.response.model": "ma",
        "gen_ai.provider.name": "openai", "server.address": "a.example",
        "gen_ai.usage.input_tokens": 7, "gen_ai.usage.output_tokens": 3,
        "http.response.status_code": 200, "router.route": "pair", "router.target": "a/ma",
        "router.attempts": 1, "router.attempt_outcomes": ("a/ma=200",), "router.key_name": "team-a",
        "gen_ai.response.finish_reasons": ("stop",), "gen_ai.request.max_tokens": 5,
    }
    assert server.status.status_code is StatusCode.UNSET
    assert server.resource.attributes["service.name"] == "router-test"
    [attempt] = attempts
    assert attempt.name == "chat ma" and attempt.parent is not None
    assert attempt.parent.span_id == server.context.span_id
    assert dict(attempt.attributes or {}) == {
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "ma", "gen_ai.provider.name": "openai",
        "server.address": "a.example", "router.target": "a/ma", "http.response.status_code": 200,
    }
    _no_secret(exporter.get_finished_spans())
    # The request span starts before its attempt and ends after it (its start is read off the
    # request's own clock, the attempt's end off the upstream's time: both in wall time).
    assert (server.start_time or 0) <= (attempt.start_time or 0) < (attempt.end_time or 0) <= (server.end_time or 0)


@respx.mock
async def test_a_clients_traceparent_is_the_parent_and_the_upstream_gets_the_attempts(traced) -> None:  # type: ignore[no-untyped-def]
    client, exporter = traced
    upstream = respx.post(A).mock(return_value=httpx.Response(200, json=OK))
    traceparent = f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"
    response = await client.post("/v1/messages", json=BODY,
                                 headers={**HEADERS, "traceparent": traceparent, "tracestate": "vendor=1"})
    assert response.status_code == 200
    server, [attempt] = _spans(exporter)
    assert format(server.context.trace_id, "032x") == CLIENT_TRACE
    assert server.parent is not None and format(server.parent.span_id, "016x") == CLIENT_SPAN
    sent = upstream.calls.last.request.headers
    assert sent["traceparent"] == f"00-{CLIENT_TRACE}-{format(attempt.context.span_id, '016x')}-01"
    assert sent["tracestate"] == "vendor=1"


@respx.mock
async def test_a_failed_attempt_and_its_retry_are_two_client_spans(traced) -> None:  # type: ignore[no-untyped-def]
    client, exporter = traced
    first = respx.post(A).mock(return_value=httpx.Response(503, json={"error": {"message": "busy"}}))
    second = respx.post(B).mock(return_value=httpx.Response(200, json=OK))
    response = await client.post("/v1/messages", json=BODY, headers=HEADERS)
    assert response.status_code == 200
    server, [failed, answered] = _spans(exporter)
    assert failed.name == "chat ma" and failed.status.status_code is StatusCode.ERROR
    assert failed.attributes is not None and failed.attributes["http.response.status_code"] == 503
    assert failed.attributes["error.type"]
    assert answered.name == "chat mb" and answered.status.status_code is StatusCode.UNSET
    assert {failed.parent.span_id, answered.parent.span_id} == {server.context.span_id}  # type: ignore[union-attr]
    # each upstream saw its own attempt's span id
    assert format(failed.context.span_id, "016x") in first.calls.last.request.headers["traceparent"]
    assert format(answered.context.span_id, "016x") in second.calls.last.request.headers["traceparent"]
    assert server.attributes is not None
    assert server.attributes["router.attempts"] == 2 and server.attributes["router.target"] == "b/mb"
    assert server.attributes["gen_ai.response.model"] == "mb"


@respx.mock
async def test_a_request_that_fails_is_an_error_span(traced) -> None:  # type: ignore[no-untyped-def]
    client, exporter = traced
    respx.post(A).mock(return_value=httpx.Response(500))
    respx.post(B).mock(return_value=httpx.Response(500))
    response = await client.post("/v1/messages", json=BODY, headers=HEADERS)
    assert response.status_code >= 500
    server, attempts = _spans(exporter)
    assert len(attempts) == 2 and all(a.status.status_code is StatusCode.ERROR for a in attempts)
    assert server.status.status_code is StatusCode.ERROR
    assert server.attributes is not None and server.attributes["error.type"] == "api_error"
    assert server.attributes["http.response.status_code"] == response.status_code


@respx.mock
async def test_a_streams_usage_is_on_its_span_when_it_ends(traced) -> None:  # type: ignore[no-untyped-def]
    client, exporter = traced
    respx.post(A).mock(return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, content=SSE))
    response = await client.post("/v1/messages", json={**BODY, "stream": True}, headers=HEADERS)
    assert response.status_code == 200 and "message_stop" in response.text
    server, [attempt] = _spans(exporter)
    assert server.attributes is not None
    assert server.attributes["gen_ai.usage.input_tokens"] == 11
    assert server.attributes["gen_ai.usage.output_tokens"] == 2
    assert attempt.status.status_code is StatusCode.UNSET and (attempt.end_time or 0) <= (server.end_time or 0)
    assert "gen_ai.output.messages" not in server.attributes


def _finish_and_parameters(exporter: InMemorySpanExporter) -> dict[str, object]:
    server, _ = _spans(exporter)
    exporter.clear()
    return {name: value for name, value in (server.attributes or {}).items()
            if name == "gen_ai.response.finish_reasons" or name.startswith("gen_ai.request.") and name != "gen_ai.request.model"}


def _anthropic_sse(stop_reason: str) -> bytes:
    events = [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "mh", "content": [],
            "stop_reason": None, "usage": {"input_tokens": 4, "output_tokens": 0}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                           "usage": {"output_tokens": 2}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events)


def _anthropic_answer(stop_reason: str) -> dict[str, object]:
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "mh",
            "content": [{"type": "text", "text": "hi"}], "stop_reason": stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": 4, "output_tokens": 2}}


STREAMED = {"content-type": "text/event-stream"}
CHAT = {"model": "m", "max_completion_tokens": 9, "temperature": 0.5, "top_p": 1,
        "messages": [{"role": "user", "content": "hi"}]}


@respx.mock
async def test_finish_reasons_and_request_parameters_of_unary_answers(traced) -> None:  # type: ignore[no-untyped-def]
    client, exporter = traced
    length = {**OK, "choices": [{**OK["choices"][0], "finish_reason": "length"}]}  # type: ignore[index]
    tool = {**OK, "choices": [{"index": 0, "message": {"role": "assistant", "tool_calls": [
        {"id": "t", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}, "finish_reason": "tool_calls"}]}
    respx.post(A).mock(side_effect=[httpx.Response(200, json=length), httpx.Response(200, json=tool)])
    # converting (anthropic → openai): the hub's stop_reason max_tokens, in the conventions' terms
    await client.post("/v1/messages", json={**BODY, "temperature": 0.2, "top_p": 0.9}, headers=HEADERS)
    assert _finish_and_parameters(exporter) == {
        "gen_ai.response.finish_reasons": ("length",), "gen_ai.request.max_tokens": 5,
        "gen_ai.request.temperature": 0.2, "gen_ai.request.top_p": 0.9}
    # passthrough (openai → openai): read from the answer as it came
    await client.post("/v1/chat/completions", json=CHAT, headers={"authorization": f"Bearer {KEY}"})
    assert _finish_and_parameters(exporter) == {
        "gen_ai.response.finish_reasons": ("tool_call",), "gen_ai.request.max_tokens": 9,
        "gen_ai.request.temperature": 0.5, "gen_ai.request.top_p": 1.0}
    # the hub upstream, converted for an openai client, and passed through for an anthropic one
    respx.post(H).mock(side_effect=[httpx.Response(200, json=_anthropic_answer("end_turn")),
                                    httpx.Response(200, json=_anthropic_answer("refusal"))])
    await client.post("/v1/chat/completions", json={**CHAT, "model": "h"}, headers={"authorization": f"Bearer {KEY}"})
    assert _finish_and_parameters(exporter)["gen_ai.response.finish_reasons"] == ("stop",)
    await client.post("/v1/messages", json={**BODY, "model": "h"}, headers=HEADERS)
    assert _finish_and_parameters(exporter) == {"gen_ai.response.finish_reasons": ("content_filter",),
                                                "gen_ai.request.max_tokens": 5}


@respx.mock
async def test_finish_reasons_of_streams(traced) -> None:  # type: ignore[no-untyped-def]
    client, exporter = traced
    respx.post(A).mock(side_effect=[httpx.Response(200, headers=STREAMED, content=SSE) for _ in range(2)])
    respx.post(H).mock(side_effect=[httpx.Response(200, headers=STREAMED, content=_anthropic_sse(reason))
                                    for reason in ("max_tokens", "tool_use")])
    bearer = {"authorization": f"Bearer {KEY}"}
    cases = [
        ("/v1/messages", {**BODY, "stream": True}, HEADERS, "stop"),  # openai upstream → hub machine
        ("/v1/chat/completions", {**CHAT, "stream": True}, bearer, "stop"),  # passthrough: the finish chunk
        ("/v1/chat/completions", {**CHAT, "model": "h", "stream": True}, bearer, "length"),  # hub → openai machine
        ("/v1/messages", {**BODY, "model": "h", "stream": True}, HEADERS, "tool_call"),  # passthrough: message_delta
    ]
    for path, body, headers, reason in cases:
        response = await client.post(path, json=body, headers=headers)
        assert response.status_code == 200, response.text
        assert _finish_and_parameters(exporter)["gen_ai.response.finish_reasons"] == (reason,), path


@respx.mock
async def test_a_cache_hit_has_the_kept_answers_finish_reasons(traced) -> None:  # type: ignore[no-untyped-def]
    client, exporter = traced
    upstream = respx.post(H).mock(return_value=httpx.Response(200, json=_anthropic_answer("max_tokens")))
    body = {**BODY, "model": "c"}
    for stream in (False, False, True):
        response = await client.post("/v1/messages", json={**body, "stream": stream}, headers=HEADERS)
        assert response.status_code == 200
        server, _ = _spans(exporter)
        exporter.clear()
        assert server.attributes is not None
        assert server.attributes["gen_ai.response.finish_reasons"] == ("length",)
    assert server.attributes["router.cache"] == "hit" and upstream.call_count == 1


@respx.mock
async def test_content_is_recorded_only_where_the_route_opts_in(traced) -> None:  # type: ignore[no-untyped-def]
    client, exporter = traced
    respx.post(A).mock(return_value=httpx.Response(200, json=OK))
    respx.post(B).mock(return_value=httpx.Response(200, json=OK))
    await client.post("/v1/messages", json=BODY, headers=HEADERS)
    closed, _ = _spans(exporter)
    assert closed.attributes is not None
    assert not any("a secret prompt" in str(value) or "from b" in str(value) for value in closed.attributes.values())
    exporter.clear()
    await client.post("/v1/messages", json={**BODY, "model": "talk"}, headers=HEADERS)
    opened, _ = _spans(exporter)
    assert opened.attributes is not None
    assert json.loads(str(opened.attributes["gen_ai.input.messages"])) == {"messages": BODY["messages"]}
    assert "from b" in str(opened.attributes["gen_ai.output.messages"])
    _no_secret(exporter.get_finished_spans())


@respx.mock
async def test_record_content_puts_every_routes_content_on_its_spans() -> None:
    """`[telemetry] record-content` is every route's `trace-content`; a reload that opts a route
    in or out changes its next request (the route's plan carries it)."""
    state = _state()
    exporter = InMemorySpanExporter()
    telemetry = Telemetry(service_name="router-test", record_content=True)
    tracing = open_tracing(telemetry, {}, lambda: state.table.loaded.config, processor=SimpleSpanProcessor(exporter))
    respx.post(A).mock(return_value=httpx.Response(200, json=OK))
    async with AsyncTestClient(app=create_app(state, tracing=tracing)) as client:
        await client.post("/v1/messages", json=BODY, headers=HEADERS)  # a route without trace-content
        span, _ = _spans(exporter)
        assert span.attributes is not None
        assert json.loads(str(span.attributes["gen_ai.input.messages"])) == {"messages": BODY["messages"]}
        _no_secret(exporter.get_finished_spans())
        exporter.clear()
        loaded = load_config_text(ROUTES.replace("trace-content = true", "trace-content = false"),
                                  filename="routes.toml", environ={"ROUTER_TEST_KEY": KEY})
        state.table = build_table(loaded)
        tracing.record_content = False
        respx.post(B).mock(return_value=httpx.Response(200, json=OK))
        await client.post("/v1/messages", json={**BODY, "model": "talk"}, headers=HEADERS)
        span, _ = _spans(exporter)
        assert span.attributes is not None and "gen_ai.input.messages" not in span.attributes


@respx.mock
async def test_an_unsampled_request_records_nothing_and_still_passes_its_trace_on() -> None:
    state = _state()
    exporter = InMemorySpanExporter()
    never = load_config_text(ROUTES.replace('service-name = "router-test"', "sampling-ratio = 0.0"),
                             filename="routes.toml", environ={"ROUTER_TEST_KEY": KEY}).config.telemetry
    tracing = open_tracing(never, {}, lambda: state.table.loaded.config, processor=SimpleSpanProcessor(exporter))
    upstream = respx.post(A).mock(return_value=httpx.Response(200, json=OK))
    async with AsyncTestClient(app=create_app(state, tracing=tracing)) as client:
        assert (await client.post("/v1/messages", json=BODY, headers=HEADERS)).status_code == 200
        unsampled = upstream.calls.last.request.headers["traceparent"]
        # parent-based: a client's sampled trace is followed whatever the ratio
        await client.post("/v1/messages", json=BODY, headers={**HEADERS, "traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"})
    assert unsampled.startswith("00-") and unsampled.endswith("-00")
    server, [attempt] = _spans(exporter)
    assert format(server.context.trace_id, "032x") == CLIENT_TRACE
    assert upstream.calls.last.request.headers["traceparent"].endswith(f"{attempt.context.span_id:016x}-01")


async def test_a_refused_request_has_a_span_without_a_model_or_key() -> None:
    state = _state()
    exporter = InMemorySpanExporter()
    tracing = open_tracing(None, {}, lambda: state.table.loaded.config, processor=SimpleSpanProcessor(exporter))
    async with AsyncTestClient(app=create_app(state, tracing=tracing)) as client:
        response = await client.post("/v1/messages", json=BODY, headers={"x-api-key": "wrong"})
        assert response.status_code == 401
        assert (await client.get("/health")).status_code == 200  # probes are not traced
    server, attempts = _spans(exporter)
    assert attempts == [] and server.name == "chat"
    assert server.attributes is not None and server.attributes["http.response.status_code"] == 401
    assert "router.key_name" not in server.attributes
    _no_secret(exporter.get_finished_spans())


def test_traces_are_on_with_the_table_or_the_standard_variables() -> None:
    telemetry = load_config_text(ROUTES, filename="routes.toml", environ={"ROUTER_TEST_KEY": KEY}).config.telemetry
    assert tracing_on(telemetry, {}) and not tracing_on(telemetry, {"OTEL_SDK_DISABLED": "true"})
    assert not tracing_on(None, {})
    assert tracing_on(None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing_on(None, {"OTEL_TRACES_EXPORTER": "otlp"}) and not tracing_on(None, {"OTEL_TRACES_EXPORTER": "none"})


CHECKED = """
[telemetry]
endpoint = "http://collector:4318"
headers = { authorization = "env:OTLP_AUTH" }

[upstreams.local]
kind = "mock"

[[routes]]
name = "rest"
models = ["*"]
to = "local"
"""


def test_check_says_what_a_telemetry_table_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    [unset] = problems(CHECKED)
    assert "OTLP_AUTH is not set" in unset.message
    [literal] = problems(CHECKED.replace("env:OTLP_AUTH", "Bearer abc123"))
    assert "not an environment reference" in literal.message and "abc123" not in literal.render()
    [endpoint] = problems(CHECKED.replace("http://collector:4318", "collector"), {"OTLP_AUTH": "t"})
    assert "not an http(s) URL" in endpoint.message
    [ratio] = problems(CHECKED.replace("[telemetry]\n", "[telemetry]\nsampling-ratio = 1.5\n"), {"OTLP_AUTH": "t"})
    assert "sampling-ratio" in ratio.render()
    hide_module(monkeypatch, "opentelemetry.exporter.otlp.proto.grpc")
    [grpc] = problems(CHECKED.replace("[telemetry]\n", '[telemetry]\nprotocol = "grpc"\n'), {"OTLP_AUTH": "t"})
    assert "opentelemetry-exporter-otlp-proto-grpc" in grpc.message
    hide_module(monkeypatch, "opentelemetry.sdk")
    [extra] = problems(CHECKED, {"OTLP_AUTH": "t"})
    assert "otel extra" in extra.message and "router[otel]" in extra.fix


OFF = textwrap.dedent("""
    import sys, asyncio
    sys.modules["opentelemetry"] = None  # importing it, or anything under it, now fails
    import httpx, respx
    from litestar.testing import AsyncTestClient
    from router.config.load import load_config_text
    from router.gateway.state import open_state
    from router.observe.tracing import start_tracing
    from router.routing.lookup import build_table
    from router.server.app import create_app

    ROUTES = '''
    [upstreams.a]
    kind = "openai"
    base-url = "https://a.example/v1"
    [[routes]]
    name = "r"
    models = ["m"]
    to = "a/ma"
    '''
    OK = {"id": "c", "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}

    async def main():
        loaded = load_config_text(ROUTES, filename="routes.toml", environ={})
        state = open_state(build_table(loaded), transport=lambda name, upstream: httpx.AsyncHTTPTransport())
        tracing = start_tracing(loaded.config.telemetry, {}, lambda: state.table.loaded.config)
        assert tracing is None
        with respx.mock:
            upstream = respx.post("https://a.example/v1/chat/completions").mock(return_value=httpx.Response(200, json=OK))
            async with AsyncTestClient(app=create_app(state, tracing=tracing)) as client:
                response = await client.post("/v1/messages", json={"model": "m", "max_tokens": 5,
                                             "messages": [{"role": "user", "content": "hi"}]},
                                             headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
                assert response.status_code == 200, response.text
            # traces off: a client's traceparent is the client's business (forwarded or not by the
            # upstream's policy), the router adds none of its own
            assert "traceparent" not in upstream.calls.last.request.headers
        assert not [name for name in sys.modules if name.startswith("opentelemetry") and sys.modules[name] is not None]
        print("off ok")

    asyncio.run(main())
""")


def test_traces_off_import_nothing_and_add_no_header() -> None:
    result = subprocess.run([sys.executable, "-c", OFF], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "off ok" in result.stdout


def test_an_environment_asking_for_traces_without_the_extra_is_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_module(monkeypatch, "opentelemetry.sdk")
    text = CHECKED.split("[upstreams.local]")[1]
    loaded = load_config_text("[upstreams.local]" + text, filename="routes.toml",
                              environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert any("otel extra is not installed" in warning.message for warning in loaded.warnings)


def test_each_protocols_finish_reader_speaks_the_conventions_values() -> None:
    from router.hub.finish import read_finish as hub
    from router.spokes.gemini.finish import read_finish as gemini
    from router.spokes.openai.finish import read_finish as chat
    from router.spokes.responses.finish import read_finish as responses

    assert hub(b'{"stop_reason":"stop_sequence"}') == ("stop",)
    assert hub(b'{"type":"message_delta","delta":{"stop_reason":"pause_turn"}}') == ("pause_turn",)  # no value of theirs
    assert hub(b'{"type":"message_stop"}') == ()
    assert chat(b'{"choices":[{"finish_reason":"stop"},{"finish_reason":"length"}]}') == ("stop", "length")
    assert chat(b'{"choices":[],"usage":{"prompt_tokens":1}}') == ()
    assert gemini(b'{"candidates":[{"finishReason":"MAX_TOKENS"},{"finishReason":"SAFETY"}]}') == ("length", "content_filter")
    assert gemini(b'{"candidates":[{"finishReason":"OTHER"}]}') == ("OTHER",)
    assert responses(b'{"object":"response","status":"completed","output":[{"type":"message"}]}') == ("stop",)
    assert responses(b'{"type":"response.completed","response":{"status":"completed",'
                     b'"output":[{"type":"reasoning"},{"type":"function_call"}]}}') == ("tool_call",)
    assert responses(b'{"type":"response.incomplete","response":{"status":"incomplete",'
                     b'"incomplete_details":{"reason":"max_output_tokens"}}}') == ("length",)
    assert responses(b'{"type":"response.failed","response":{"status":"failed"}}') == ("error",)
    assert responses(b'{"type":"response.output_text.delta","delta":"hi"}') == ()


def test_request_parameters_are_read_from_every_protocols_request() -> None:
    from router.observe.request_params import Fields, request_parameters
    from router.spokes.gemini.spoke import SPOKE as GEMINI

    assert request_parameters({"max_output_tokens": 7, "temperature": 1, "top_p": 0.5}) == {
        "gen_ai.request.max_tokens": 7, "gen_ai.request.temperature": 1.0, "gen_ai.request.top_p": 0.5}
    assert request_parameters({"generationConfig": {"maxOutputTokens": 3, "topP": 0.25}}) == {
        "gen_ai.request.max_tokens": 3, "gen_ai.request.top_p": 0.25}
    gemini = GEMINI.client.request_decoder(json.dumps({
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generation_config": {"max_output_tokens": 4, "temperature": 0.1}}).encode())
    assert request_parameters(gemini) == {"gen_ai.request.max_tokens": 4, "gen_ai.request.temperature": 0.1}
    assert request_parameters({"temperature": True, "max_tokens": "9"}) == {}  # not numbers: left out
    # The first spelling set wins; a Struct type's fields are looked at once and kept in `known`.
    assert request_parameters({"max_completion_tokens": 5, "max_tokens": 6}) == {"gen_ai.request.max_tokens": 6}
    known: dict[type, Fields] = {}
    for _ in range(2):
        assert request_parameters(gemini, known) == {"gen_ai.request.max_tokens": 4, "gen_ai.request.temperature": 0.1}
    assert type(gemini) in known


def _plain(value: AnyValue) -> object:
    """An OTLP AnyValue as the SDK's attribute value."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return tuple(_plain(item) for item in value.array_value.values)
    return getattr(value, kind or "string_value")


async def _requests(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    respx.post(A).mock(return_value=httpx.Response(500, json={"error": {"message": "down"}}))
    respx.post(B).mock(return_value=httpx.Response(200, json=OK))
    await client.post("/v1/messages", json=BODY, headers={**HEADERS, "traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"})
    await client.post("/v1/messages", json={**BODY, "model": "talk"}, headers=HEADERS)


def _posted_bodies(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bodies the OTLP/JSON exporter posts from now on, kept instead of sent."""
    bodies: list[bytes] = []

    def posted(self: OtlpJsonExporter, body: bytes) -> bool:
        bodies.append(body)
        return True

    monkeypatch.setattr(OtlpJsonExporter, "post", posted)
    return bodies


def _exported(bodies: list[bytes]) -> list[Any]:
    """The spans of posted OTLP/JSON bodies, as protobuf Spans."""
    return [span for body in bodies for group in otlp_json_to_proto(body).resource_spans
            for scope in group.scope_spans for span in scope.spans]


@respx.mock
async def test_the_default_exports_spans_are_the_sdk_paths_spans(monkeypatch: pytest.MonkeyPatch) -> None:
    """The OTLP/JSON path (spans written by the router, batched to its export thread) says what
    the SDK path (ReadableSpans, checked by every test above) says, span for span."""
    state = _state()
    exporter = InMemorySpanExporter()
    sdk = open_tracing(state.table.loaded.config.telemetry, {}, lambda: state.table.loaded.config,
                       processor=SimpleSpanProcessor(exporter))
    async with AsyncTestClient(app=create_app(state, tracing=sdk)) as client:
        await _requests(client)
    bodies = _posted_bodies(monkeypatch)
    state = _state()
    own = open_tracing(state.table.loaded.config.telemetry, {}, lambda: state.table.loaded.config)
    async with AsyncTestClient(app=create_app(state, tracing=own)) as client:
        await _requests(client)
    own.shutdown()  # what the batch holds goes to the export thread, then `post`
    exported = _exported(bodies)
    expected = exporter.get_finished_spans()
    assert len(exported) == len(expected) == 5  # two attempts and a request span, an attempt and a request span
    made_index = {span.span_id.hex(): index for index, span in enumerate(exported)}
    sdk_index = {f"{span.context.span_id:016x}": index for index, span in enumerate(expected) if span.context}
    for made, sdk_span in zip(exported, expected, strict=True):
        assert made.name == sdk_span.name and made.kind == sdk_span.kind.value + 1
        assert {a.key: _plain(a.value) for a in made.attributes} == dict(sdk_span.attributes or {})
        assert (made.status.code == 2) == (sdk_span.status.status_code is StatusCode.ERROR)
        parent = f"{sdk_span.parent.span_id:016x}" if sdk_span.parent is not None else ""
        # ids are new in each run: the same parent is the same span of the run, or the client's
        assert made_index.get(made.parent_span_id.hex(), made.parent_span_id.hex()) == sdk_index.get(parent, parent)
        assert (made.trace_id.hex() == CLIENT_TRACE) == (sdk_span.context is not None
                                                         and f"{sdk_span.context.trace_id:032x}" == CLIENT_TRACE)
        assert bool(made.flags & 0x200) == (parent == CLIENT_SPAN)  # the parent is remote


def test_a_request_without_a_parent_is_sampled_as_the_sdks_sampler_would() -> None:
    state = _state()
    tracing = open_tracing(Telemetry(sampling_ratio=0.5), {}, lambda: state.table.loaded.config,
                           processor=SimpleSpanProcessor(InMemorySpanExporter()))
    ids = iter(range(1, 2**64, 2**57 + 12345))
    tracing.new_trace_id, tracing.random_ids = lambda: next(ids), False
    decisions = []
    for trace_id in range(1, 2**64, 2**57 + 12345):
        sdk = tracing.provider.sampler.should_sample(None, trace_id, "chat").decision.is_sampled()
        decisions.append((tracing.request_span({}, time.perf_counter(), False).sampled, sdk))
    assert all(ours == sdk for ours, sdk in decisions) and {sdk for _, sdk in decisions} == {True, False}


def test_kept_span_tails_start_over_with_a_new_table() -> None:
    """A reload may move an upstream (server.address): tails kept for the old table are not reused."""
    tables = [_state().table.loaded.config]
    tracing = open_tracing(None, {}, lambda: tables[-1], processor=SimpleSpanProcessor(InMemorySpanExporter()))
    kept = tracing.tails()
    kept.keep(("made", "of"), "tail")
    assert tracing.tails() is kept
    tables.append(_state().table.loaded.config)
    assert tracing.tails() is not kept and not tracing.tails().kept


@respx.mock
async def test_the_default_exports_spans_tell_apart_requests_kept_tails_would_confuse(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The OTLP/JSON path encodes a request span's tail once per combination of what it says:
    requests that differ only in a sampling parameter (or whose parameter is no JSON number, a
    list that cannot even be a key) each get their own."""
    bodies = _posted_bodies(monkeypatch)
    state = _state()
    own = open_tracing(state.table.loaded.config.telemetry, {}, lambda: state.table.loaded.config)
    respx.post(A).mock(return_value=httpx.Response(200, json=OK))
    chat = {"authorization": f"Bearer {KEY}"}
    async with AsyncTestClient(app=create_app(state, tracing=own)) as client:
        # passthrough (the body's dict); 1 and true are one key unless their types are in it
        for temperature in (0.5, 0.7, [1], 0.5, 1, True):
            await client.post("/v1/chat/completions", json={**CHAT, "temperature": temperature}, headers=chat)
        for top_p in (0.9, 0.8):  # converting: the Anthropic request's Struct
            await client.post("/v1/messages", json={**BODY, "top_p": top_p}, headers=HEADERS)
    own.shutdown()
    servers = [span for span in _exported(bodies) if span.kind == 2]
    asked = [{a.key: _plain(a.value) for a in span.attributes if a.key.startswith("gen_ai.request.")
              and a.key != "gen_ai.request.model"} for span in servers]
    assert asked == [
        {"gen_ai.request.max_tokens": 9, "gen_ai.request.temperature": 0.5, "gen_ai.request.top_p": 1.0},
        {"gen_ai.request.max_tokens": 9, "gen_ai.request.temperature": 0.7, "gen_ai.request.top_p": 1.0},
        {"gen_ai.request.max_tokens": 9, "gen_ai.request.top_p": 1.0},
        {"gen_ai.request.max_tokens": 9, "gen_ai.request.temperature": 0.5, "gen_ai.request.top_p": 1.0},
        {"gen_ai.request.max_tokens": 9, "gen_ai.request.temperature": 1.0, "gen_ai.request.top_p": 1.0},
        {"gen_ai.request.max_tokens": 9, "gen_ai.request.top_p": 1.0},
        {"gen_ai.request.max_tokens": 5, "gen_ai.request.top_p": 0.9},
        {"gen_ai.request.max_tokens": 5, "gen_ai.request.top_p": 0.8},
    ]
