"""The /v1/messages handler in-process, with the upstream mocked by respx: what goes upstream
(converted body, credentials in a header, never the URL), and how every failure comes back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
import respx
from litestar.testing import AsyncTestClient

from router.config.load import load_config_text
from router.gateway.state import open_state
from router.routing.lookup import build_table
from router.server.app import create_app

UPSTREAM_KEY = "sk-unit-upstream-key-0123456789"
ROUTES = """
[upstreams.up]
kind = "openai"
base-url = "https://llm.example/v1"
api-key = "env:UP_KEY"
headers = { "X-Extra" = "yes" }
supports = { max-output-tokens = 1000 }

[[routes]]
name = "claude"
models = ["claude-*"]
to = "up/target-model"
retry = { attempts = 1 }   # failures map 1:1 here; failover has its own tests
request = [{ op = "rename", field = "max_tokens", to = "max_completion_tokens" }]
"""
URL = "https://llm.example/v1/chat/completions"
BODY = {"model": "claude-x", "max_tokens": 5000, "messages": [{"role": "user", "content": "hi"}]}
COMPLETION = {"id": "c1", "model": "target-model", "choices": [
    {"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1}}


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    loaded = load_config_text(ROUTES, filename="routes.toml", environ={"UP_KEY": UPSTREAM_KEY})
    # respx intercepts httpx's own transport, so the tests use it instead of router.upstream.http1.
    state = open_state(build_table(loaded), transport=lambda name, upstream: httpx.AsyncHTTPTransport())
    async with AsyncTestClient(app=create_app(state)) as test_client:
        yield test_client


@respx.mock
async def test_request_is_converted_and_authenticated_upstream(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    route = respx.post(URL).mock(return_value=httpx.Response(200, json=COMPLETION))
    response = await client.post("/v1/messages?beta=true", json=BODY)
    assert response.status_code == 200
    assert response.json()["content"] == [{"type": "text", "text": "hello"}]
    sent = route.calls.last.request
    assert sent.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert sent.headers["x-extra"] == "yes"
    assert UPSTREAM_KEY not in str(sent.url)
    upstream_body = msgspec.json.decode(sent.content)
    assert upstream_body["model"] == "target-model"
    assert upstream_body["max_completion_tokens"] == 1000 and "max_tokens" not in upstream_body
    assert response.headers["x-router-route"] == "claude"


@respx.mock
@pytest.mark.parametrize(
    ("upstream", "status", "kind"),
    [
        (httpx.Response(429), 429, "rate_limit_error"),
        (httpx.Response(503, text="busy"), 529, "overloaded_error"),
        (httpx.Response(500, json={"error": {"message": "boom"}}), 500, "api_error"),
        (httpx.ConnectTimeout("slow"), 504, "timeout_error"),
        (httpx.ReadTimeout("slow"), 504, "timeout_error"),
        (httpx.ConnectError("refused"), 502, "api_error"),
        (httpx.Response(200, text="<html>not json</html>"), 502, "api_error"),
    ],
)
async def test_upstream_failures_map_to_anthropic_errors(
    client: AsyncTestClient, upstream: object, status: int, kind: str  # type: ignore[type-arg]
) -> None:
    respx.post(URL).mock(side_effect=[upstream] if isinstance(upstream, Exception) else None,
                         return_value=upstream if isinstance(upstream, httpx.Response) else None)
    response = await client.post("/v1/messages", json=BODY)
    assert response.status_code == status
    assert response.json() == {"type": "error", "error": {"type": kind, "message": response.json()["error"]["message"]}}
    if status == 429:
        assert response.headers["retry-after"] == "5"  # the upstream sent none; clients need one


@respx.mock
async def test_stream_error_status_before_first_byte_is_plain_json(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    respx.post(URL).mock(return_value=httpx.Response(429, headers={"retry-after": "12"}))
    response = await client.post("/v1/messages", json={**BODY, "stream": True})
    assert response.status_code == 429 and response.headers["retry-after"] == "12"
    assert response.headers["content-type"].startswith("application/json")


@respx.mock
async def test_stream_over_respx(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    sse = (b'data: {"choices":[{"index":0,"delta":{"content":"he"}}]}\n\n'
           b'data: {"choices":[{"index":0,"delta":{"content":"llo"},"finish_reason":"stop"}]}\n\n'
           b"data: [DONE]\n\n")
    respx.post(URL).mock(return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse))
    response = await client.post("/v1/messages", json={**BODY, "stream": True})
    events = [line[7:] for line in response.text.splitlines() if line.startswith("event: ")]
    assert events == ["message_start", "content_block_start", "content_block_delta", "content_block_delta",
                      "content_block_stop", "message_delta", "message_stop"]


async def test_unknown_model_and_unknown_path(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.post("/v1/messages", json={**BODY, "model": "gpt-nothing"})
    assert response.status_code == 404 and response.json()["error"]["type"] == "not_found_error"
    missing = await client.get("/v2/nothing")
    assert missing.status_code == 404 and missing.json()["type"] == "error"


async def test_unknown_fields_are_ignored_not_rejected(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(200, json=COMPLETION))
        response = await client.post("/v1/messages", json={**BODY, "future_field": {"x": 1}, "container": "c"})
    assert response.status_code == 200


async def test_auth_token_only_for_loopback_peers() -> None:
    loaded = load_config_text(ROUTES, filename="routes.toml", environ={"UP_KEY": UPSTREAM_KEY})
    state = open_state(build_table(loaded), generated_key="rk-generated", generated_key_hashes={})
    async with AsyncTestClient(app=create_app(state)) as test_client:
        # The test client's peer is "testclient", not a loopback address: refused.
        assert (await test_client.get("/auth-token")).status_code == 404
