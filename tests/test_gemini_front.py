"""The Gemini front door, in-process: what the gateway adds around the conversion.

- the URL names the model and the method: generateContent, streamGenerateContent (`alt=sse`:
  only `data: ` lines; without: one JSON array), countTokens; also under /v1/
- the key as `x-goog-api-key`, `?key=` (never in the access log) or Bearer; errors in Google's
  shape with Google's status names
- GET lists the models this front door serves, or describes one
- a Gemini upstream gets the model in its URL, the key in a header, and no `model` in the body
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
from router.config.schema import MockUpstream, Upstream
from router.gateway.state import open_state
from router.routing.lookup import build_table
from router.server.app import create_app
from router.upstream.client import default_transport

CLIENT_KEY = "client-key-0123456789"
UPSTREAM_KEY = "AIza-upstream-0123456789"
ROUTES = """
[auth]
keys = ["env:CLIENT_KEY"]

[upstreams.local]
kind = "mock"

[upstreams.google]
kind = "gemini"
base-url = "https://gemini.example/v1beta"
api-key = "env:UPSTREAM_KEY"

[[routes]]
name = "demo"
models = ["demo"]
to = "local"

[[routes]]
name = "gemini"
models = ["gemini-*"]
to = "google"
retry = { attempts = 1 }
"""
CONTENTS = {"contents": [{"role": "user", "parts": [{"text": "hello there"}]}]}
GEMINI_ANSWER = {
    "candidates": [{"content": {"role": "model", "parts": [{"text": "Hi."}]}, "finishReason": "STOP", "index": 0}],
    "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5},
    "modelVersion": "gemini-2.5-flash", "responseId": "r1",
}


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    loaded = load_config_text(ROUTES, filename="routes.toml",
                              environ={"CLIENT_KEY": CLIENT_KEY, "UPSTREAM_KEY": UPSTREAM_KEY})
    state = open_state(build_table(loaded), transport=_transport)
    async with AsyncTestClient(app=create_app(state)) as test_client:
        yield test_client


def _transport(name: str, upstream: Upstream) -> httpx.AsyncBaseTransport:
    """The built-in mock in process; httpx's own transport elsewhere, which respx intercepts."""
    return default_transport(name, upstream) if isinstance(upstream, MockUpstream) else httpx.AsyncHTTPTransport()


def _auth() -> dict[str, str]:
    return {"x-goog-api-key": CLIENT_KEY}


def _text(answer: dict[str, Any]) -> str:
    parts = answer["candidates"][0].get("content", {}).get("parts", [])  # a last chunk may carry only the finish
    return "".join(part.get("text", "") for part in parts if not part.get("thought"))


async def test_generate_content_through_a_converting_target(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.post("/v1beta/models/demo:generateContent", json=CONTENTS, headers=_auth())
    assert response.status_code == 200, response.text
    answer = response.json()
    assert "hello there" in _text(answer)
    assert answer["candidates"][0]["finishReason"] == "STOP"
    assert answer["usageMetadata"]["totalTokenCount"] > 0
    assert response.headers["x-router-route"] == "demo"


async def test_the_v1_prefix_serves_the_same(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.post("/v1/models/demo:generateContent", json=CONTENTS, headers=_auth())
    assert response.status_code == 200, response.text
    assert "hello there" in _text(response.json())


async def test_stream_with_alt_sse_has_only_data_lines(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.post("/v1beta/models/demo:streamGenerateContent?alt=sse", json=CONTENTS, headers=_auth())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    lines = [line for line in response.text.splitlines() if line.strip()]
    assert lines and all(line.startswith("data: ") for line in lines), lines
    chunks = [json.loads(line[len("data: "):]) for line in lines]
    assert "hello there" in "".join(_text(chunk) for chunk in chunks if chunk.get("candidates"))
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"


async def test_stream_without_alt_is_one_json_array(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.post("/v1beta/models/demo:streamGenerateContent", json=CONTENTS, headers=_auth())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    chunks = json.loads(response.text)
    assert isinstance(chunks, list) and len(chunks) > 1
    assert "hello there" in "".join(_text(chunk) for chunk in chunks if chunk.get("candidates"))


async def test_count_tokens(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.post("/v1beta/models/demo:countTokens", json=CONTENTS, headers=_auth())
    assert response.status_code == 200, response.text
    assert response.json()["totalTokens"] > 0
    wrapped = {"generateContentRequest": {"model": "models/demo", **CONTENTS}}
    again = await client.post("/v1beta/models/demo:countTokens", json=wrapped, headers=_auth())
    assert again.json()["totalTokens"] == response.json()["totalTokens"]


@pytest.mark.parametrize("how", ["query", "bearer", "x-goog-api-key"])
async def test_every_way_gemini_clients_send_the_key(client: AsyncTestClient, how: str) -> None:  # type: ignore[type-arg]
    path, headers = "/v1beta/models/demo:generateContent", {}
    if how == "query":
        path += f"?key={CLIENT_KEY}"
    elif how == "bearer":
        headers = {"authorization": f"Bearer {CLIENT_KEY}"}
    else:
        headers = _auth()
    response = await client.post(path, json=CONTENTS, headers=headers)
    assert response.status_code == 200, response.text


async def test_a_key_in_the_query_is_never_logged(client: AsyncTestClient, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[type-arg]
    with caplog.at_level(logging.DEBUG):
        await client.post(f"/v1beta/models/demo:generateContent?key={CLIENT_KEY}", json=CONTENTS)
        await client.post("/v1beta/models/demo:generateContent?key=wrong-key-987654", json=CONTENTS)
        await client.post("/v1beta/models/nope:generateContent?key=wrong-key-987654", json=CONTENTS)
    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    assert CLIENT_KEY not in logged and "wrong-key-987654" not in logged


async def test_errors_are_in_googles_shape(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    missing_key = await client.post("/v1beta/models/demo:generateContent", json=CONTENTS)
    assert missing_key.status_code == 401
    assert missing_key.json()["error"]["status"] == "UNAUTHENTICATED"
    assert missing_key.json()["error"]["code"] == 401
    unknown = await client.post("/v1beta/models/nope:generateContent", json=CONTENTS, headers=_auth())
    assert unknown.status_code == 404 and unknown.json()["error"]["status"] == "NOT_FOUND"
    no_contents = await client.post("/v1beta/models/demo:generateContent", json={"contents": []}, headers=_auth())
    assert no_contents.status_code == 400 and no_contents.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "contents" in no_contents.json()["error"]["message"]
    method = await client.post("/v1beta/models/demo:embedContent", json=CONTENTS, headers=_auth())
    assert method.status_code == 404 and method.json()["error"]["status"] == "NOT_FOUND"
    not_json = await client.post("/v1beta/models/demo:generateContent", content=b"{", headers=_auth())
    assert not_json.status_code == 400 and not_json.json()["error"]["status"] == "INVALID_ARGUMENT"


async def test_a_path_that_only_starts_like_the_prefix_is_not_served(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/v1beta/modelsX", headers=_auth())
    assert response.status_code == 404


async def test_model_listing_and_one_model(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    listing = await client.get("/v1beta/models", headers=_auth())
    assert listing.status_code == 200, listing.text
    names = [model["name"] for model in listing.json()["models"]]
    assert "models/demo" in names and not any("*" in name for name in names)
    one = await client.get("/v1beta/models/demo", headers=_auth())
    assert one.status_code == 200 and one.json()["name"] == "models/demo"
    globbed = await client.get("/v1beta/models/gemini-2.5-flash", headers=_auth())
    assert globbed.status_code == 200
    unknown = await client.get("/v1beta/models/nope", headers=_auth())
    assert unknown.status_code == 404 and unknown.json()["error"]["status"] == "NOT_FOUND"
    refused = await client.get("/v1beta/models")
    assert refused.status_code == 401
    wrong_method = await client.post("/v1beta/models", json={}, headers=_auth())
    assert wrong_method.status_code == 405


async def test_v1_models_in_geminis_shape_for_google_clients(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    google = await client.get("/v1/models", headers={**_auth(), "x-goog-api-client": "google-genai-sdk/1.0"})
    assert "models" in google.json(), google.text
    openai = await client.get("/v1/models", headers={"authorization": f"Bearer {CLIENT_KEY}"})
    assert openai.json()["object"] == "list"
    posted = await client.post("/v1/models", json={}, headers={"authorization": f"Bearer {CLIENT_KEY}"})
    assert posted.status_code == 405 and posted.headers["allow"] == "GET"
    assert posted.json()["error"]["type"] == "invalid_request_error"


@respx.mock(assert_all_called=False)
async def test_a_gemini_upstream_gets_the_model_in_its_url_and_the_key_in_a_header(
        client: AsyncTestClient, respx_mock: respx.MockRouter) -> None:  # type: ignore[type-arg]
    route = respx_mock.post("https://gemini.example/v1beta/models/gemini-2.5-flash:generateContent").mock(
        return_value=httpx.Response(200, json=GEMINI_ANSWER))
    response = await client.post("/v1beta/models/gemini-2.5-flash:generateContent", json=CONTENTS, headers=_auth())
    assert response.status_code == 200, response.text
    assert _text(response.json()) == "Hi."
    sent = route.calls.last.request
    assert sent.headers["x-goog-api-key"] == UPSTREAM_KEY
    assert UPSTREAM_KEY not in str(sent.url) and CLIENT_KEY not in str(sent.url)
    body = json.loads(sent.content)
    assert "model" not in body and body["contents"] == CONTENTS["contents"]


@respx.mock(assert_all_called=False)
async def test_a_gemini_upstream_error_reaches_the_client_in_googles_shape(
        client: AsyncTestClient, respx_mock: respx.MockRouter) -> None:  # type: ignore[type-arg]
    error = {"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}}
    respx_mock.post("https://gemini.example/v1beta/models/gemini-2.5-flash:generateContent").mock(
        return_value=httpx.Response(429, json=error, headers={"retry-after": "7"}))
    response = await client.post("/v1beta/models/gemini-2.5-flash:generateContent", json=CONTENTS, headers=_auth())
    assert response.status_code == 429
    assert response.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert response.headers["retry-after"] == "7"
