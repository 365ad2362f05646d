"""A Responses client at the front door, in-process (respx upstreams): what the gateway adds around
the conversion.

- a built-in tool (web_search) a Chat target cannot run is left out, said in `x-router-dropped`
  and its access log line; a passthrough Responses target runs it, so nothing is said
- a request the converter cannot read is a 400 in the Responses error shape, naming the field
- an upstream's 429 reaches the client with `retry-after` (Codex retries only with one)
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from litestar.testing import AsyncTestClient

from router.config.load import load_config_text
from router.gateway.state import open_state
from router.routing.lookup import build_table
from router.server.app import create_app

KEY = "sk-upstream-0123456789abcdef"
ROUTES = """
[upstreams.oai]
kind = "openai"
base-url = "https://oai.example/v1"
api-key = "env:UP_KEY"

[upstreams.resp]
kind = "responses"
base-url = "https://resp.example/v1"
api-key = "env:UP_KEY"

[[routes]]
name = "responses-on-chat"
clients = ["responses"]
models = ["on-chat"]
to = "oai/gpt-test"
retry = { attempts = 1 }

[[routes]]
name = "responses-passthrough"
clients = ["responses"]
models = ["on-responses"]
to = "resp"
retry = { attempts = 1 }
"""
CHAT_URL = "https://oai.example/v1/chat/completions"
RESPONSES_URL = "https://resp.example/v1/responses"
PATH = "/v1/responses"
CHAT_ANSWER = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "gpt-test",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi."}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
}
RESPONSES_ANSWER = {
    "id": "resp_upstream", "object": "response", "created_at": 1700000000, "status": "completed", "model": "gpt-test",
    "output": [{"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": "Hi.", "annotations": []}]}],
    "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7},
}
WEB_SEARCH = [{"type": "web_search"}, {"type": "function", "name": "now", "parameters": {"type": "object", "properties": {}}}]


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    loaded = load_config_text(ROUTES, filename="routes.toml", environ={"UP_KEY": KEY})
    state = open_state(build_table(loaded), transport=lambda name, upstream: httpx.AsyncHTTPTransport())
    async with AsyncTestClient(app=create_app(state)) as test_client:
        yield test_client


def _body(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "input": "hi", "store": False, **extra}


# --- built-in tools --------------------------------------------------------------------------------


@respx.mock
async def test_web_search_on_a_chat_target_is_dropped_and_said(
    client: AsyncTestClient, caplog: pytest.LogCaptureFixture  # type: ignore[type-arg]
) -> None:
    upstream = respx.post(CHAT_URL).mock(return_value=httpx.Response(200, json=CHAT_ANSWER))
    with caplog.at_level(logging.INFO, logger="router.access"):
        response = await client.post(PATH, json=_body("on-chat", tools=WEB_SEARCH))
    assert response.status_code == 200
    assert response.headers["x-router-dropped"] == "web_search"
    lines = [json.loads(record.getMessage()) for record in caplog.records if record.name == "router.access"]
    assert [line.get("dropped") for line in lines] == ["web_search"]  # the request's access log line says it
    sent = upstream.calls.last.request.read()
    assert b"web_search" not in sent and b'"now"' in sent  # the function tool beside it still goes
    answer = response.json()
    assert answer["object"] == "response" and answer["output"][0]["content"][0]["text"] == "Hi."
    assert answer["tools"] == WEB_SEARCH  # the response repeats the request's tools as declared


@respx.mock
async def test_no_built_in_tool_no_header(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    respx.post(CHAT_URL).mock(return_value=httpx.Response(200, json=CHAT_ANSWER))
    response = await client.post(PATH, json=_body("on-chat", tools=WEB_SEARCH[1:]))
    assert response.status_code == 200
    assert "x-router-dropped" not in response.headers


@respx.mock
async def test_a_passthrough_responses_target_runs_web_search_and_says_nothing(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    upstream = respx.post(RESPONSES_URL).mock(return_value=httpx.Response(200, json=RESPONSES_ANSWER))
    response = await client.post(PATH, json=_body("on-responses", tools=WEB_SEARCH))
    assert response.status_code == 200
    assert "x-router-dropped" not in response.headers
    assert b"web_search" in upstream.calls.last.request.read()


# --- bad input -------------------------------------------------------------------------------------


def _assert_responses_error(response: httpx.Response, *named: str) -> None:
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    for name in named:
        assert name in error["message"], error["message"]


@pytest.mark.parametrize("given", [42, {"role": "user", "content": "hi"}, True], ids=["int", "object", "bool"])
@respx.mock
async def test_input_neither_string_nor_array_is_a_400(client: AsyncTestClient, given: Any) -> None:  # type: ignore[type-arg]
    upstream = respx.post(CHAT_URL).mock(return_value=httpx.Response(200, json=CHAT_ANSWER))
    body = _body("on-chat")
    body["input"] = given
    response = await client.post(PATH, json=body)
    _assert_responses_error(response, "input")
    assert not upstream.called


@pytest.mark.parametrize(
    ("item", "named"),
    [
        ({"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{not json"}, "$.input[0].arguments"),
        ({"type": "function_call", "call_id": "c1", "name": "f", "arguments": "[1, 2]"}, "$.input[0].arguments"),
        ({"type": "function_call", "name": "f", "arguments": "{}"}, "call_id"),
        ({"role": "robot", "content": "hi"}, "$.input[0].role"),
        ({"role": "user", "content": [{"type": "input_image", "image_url": "data:image/png,raw"}]}, "$.input[0].content[0].image_url"),
    ],
    ids=["arguments-not-json", "arguments-not-object", "call-without-call_id", "unknown-role", "image-not-base64"],
)
@respx.mock
async def test_an_item_the_converter_cannot_read_is_a_400_naming_it(
    client: AsyncTestClient, item: dict[str, Any], named: str  # type: ignore[type-arg]
) -> None:
    upstream = respx.post(CHAT_URL).mock(return_value=httpx.Response(200, json=CHAT_ANSWER))
    response = await client.post(PATH, json=_body("on-chat", input=[item]))
    _assert_responses_error(response, named)
    assert not upstream.called


@respx.mock
async def test_an_unknown_reasoning_effort_is_a_400_naming_it(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    respx.post(CHAT_URL).mock(return_value=httpx.Response(200, json=CHAT_ANSWER))
    response = await client.post(PATH, json=_body("on-chat", reasoning={"effort": "extreme"}))
    _assert_responses_error(response, "$.reasoning.effort")


@respx.mock
async def test_unknown_fields_and_items_are_not_a_400(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    respx.post(CHAT_URL).mock(return_value=httpx.Response(200, json=CHAT_ANSWER))
    body = _body("on-chat", input=[{"type": "future_item", "x": 1}, {"role": "user", "content": "hi"}], future_field=[1])
    response = await client.post(PATH, json=body)
    assert response.status_code == 200


# --- rate limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "url"), [("on-chat", CHAT_URL), ("on-responses", RESPONSES_URL)], ids=["converted", "passthrough"])
@respx.mock
async def test_an_upstream_429_reaches_the_client_with_retry_after(client: AsyncTestClient, model: str, url: str) -> None:  # type: ignore[type-arg]
    respx.post(url).mock(return_value=httpx.Response(
        429, headers={"retry-after": "7"}, json={"error": {"message": "slow down", "type": "rate_limit_exceeded"}}))
    response = await client.post(PATH, json=_body(model))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    error = response.json()["error"]
    assert error["type"] == "rate_limit_exceeded" or error["code"] == "rate_limit_exceeded"


@respx.mock
async def test_an_upstream_429_without_retry_after_still_gets_one(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    """Codex gives up at once on a 429 without `retry-after`: the gateway always sends one."""
    respx.post(CHAT_URL).mock(return_value=httpx.Response(429, json={"error": {"message": "slow down"}}))
    response = await client.post(PATH, json=_body("on-chat"))
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
