"""Route overrides beyond the request body: upstream header set/remove and ops on the answer,
for converted and passthrough pairs, and `router check` on response fields."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from litestar.testing import AsyncTestClient

from router.config.load import load_config_text
from router.core.errors import ConfigError
from router.gateway.state import open_state
from router.routing.lookup import build_table
from router.server.app import create_app

ROUTES = """
[upstreams.up]
kind = "openai"
base-url = "https://up.example/v1"
headers = { "X-Team" = "ours", "X-Drop" = "gone" }

[[routes]]
name = "converted"
clients = ["anthropic"]
models = ["c"]
to = "up/m"
headers = [{ op = "set", name = "X-Team", value = "router" }, { op = "remove", name = "x-drop" }]
response = [{ op = "set", field = "model", value = "public-name" }, { op = "drop", field = "stop_sequence" }]

[[routes]]
name = "passthrough"
clients = ["openai"]
models = ["p"]
to = "up/m"
response = [{ op = "drop", field = "system_fingerprint" }, { op = "set", field = "service_tier", value = "default" }]
"""
URL = "https://up.example/v1/chat/completions"
COMPLETION = {"id": "c1", "model": "m", "system_fingerprint": "fp", "choices": [
    {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    loaded = load_config_text(ROUTES, filename="routes.toml", environ={})
    state = open_state(build_table(loaded), transport=lambda name, upstream: httpx.AsyncHTTPTransport())
    async with AsyncTestClient(app=create_app(state)) as test_client:
        yield test_client


@respx.mock
async def test_header_ops_and_response_ops_on_a_converted_pair(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    route = respx.post(URL).mock(return_value=httpx.Response(200, json=COMPLETION))
    response = await client.post("/v1/messages", json={"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
    sent = route.calls.last.request.headers
    assert sent["x-team"] == "router" and "x-drop" not in sent
    body = response.json()
    assert body["model"] == "public-name" and "stop_sequence" not in body and body["content"][0]["text"] == "hi"


@respx.mock
async def test_response_ops_on_a_passthrough_answer(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    respx.post(URL).mock(return_value=httpx.Response(200, json=COMPLETION))
    response = await client.post("/v1/chat/completions", json={"model": "p", "messages": [{"role": "user", "content": "x"}]})
    body = response.json()
    assert "system_fingerprint" not in body and body["service_tier"] == "default"
    assert body["choices"][0]["message"]["content"] == "hi"


def test_check_rejects_an_unknown_response_field() -> None:
    bad = ROUTES.replace('{ op = "drop", field = "stop_sequence" }', '{ op = "drop", field = "stop_sequnce" }')
    with pytest.raises(ConfigError) as caught:
        load_config_text(bad, filename="routes.toml", environ={})
    rendered = "\n".join(problem.render() for problem in caught.value.problems)  # type: ignore[attr-defined]
    assert 'response has no field "stop_sequnce"' in rendered and 'did you mean "stop_sequence"' in rendered
