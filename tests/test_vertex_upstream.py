"""Claude on Vertex AI through the real app: the endpoint per model (`:rawPredict`,
`:streamRawPredict`), the body Vertex AI takes (`anthropic_version`, no `model`), Google Cloud
credentials from a generated service-account key and a fake token endpoint on loopback, and what
the client sees when they fail. The upstream is a recording httpx transport; no network."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar.testing import AsyncTestClient

from router.config.load import load_config_text
from router.gateway.state import RouterState, open_state
from router.routing.lookup import build_table
from router.server.app import create_app
from tests.support.fake_google import TokenEndpoint, new_private_key, token_endpoint, write_key_file

MODEL = "claude-sonnet-4@20250514"
VERTEX_MODELS = "http://vertex.invalid/v1/projects/test-project/locations/us-east5/publishers/anthropic/models"
BACKUP_KEY = "sk-ant-backup-0123456789abcdef"

ROUTES = f"""
[upstreams.claude-vertex]
kind = "anthropic"
base-url = "http://vertex.invalid"
beta = ["context-1m-2025-08-07"]
vertex = {{ project = "test-project", location = "us-east5", credentials = "env:VERTEX_KEY_FILE" }}

[upstreams.backup]
kind = "anthropic"
base-url = "http://backup.invalid"
api-key = "env:BACKUP_KEY"

[[routes]]
name = "vertex"
models = ["claude-*"]
to = "claude-vertex/{MODEL}"
retry = {{ attempts = 1 }}

[[routes]]
name = "with-backup"
models = ["fallback"]
to = ["claude-vertex/{MODEL}", "backup/claude-sonnet-4"]
retry = {{ attempts = 2, backoff = 0 }}
"""

ANSWER = {
    "id": "msg_vertex_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4",
    "content": [{"type": "text", "text": "Hello from Vertex"}], "stop_reason": "end_turn",
    "stop_sequence": None, "usage": {"input_tokens": 9, "output_tokens": 4},
}


def _sse(events: list[tuple[str, dict[str, Any]]]) -> bytes:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()


STREAM = _sse([
    ("message_start", {"type": "message_start", "message": {**ANSWER, "content": [], "stop_reason": None,
                                                            "usage": {"input_tokens": 9, "output_tokens": 1}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "text_delta", "text": "Hello from Vertex"}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                       "usage": {"output_tokens": 4}}),
    ("message_stop", {"type": "message_stop"}),
])


class Upstreams(httpx.AsyncBaseTransport):
    """Both upstreams: records each request; `echo_auth` makes Vertex answer 401 repeating the
    bearer token it got, as a careless upstream might."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.bodies: list[dict[str, Any]] = []
        self.echo_auth = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(await request.aread())
        self.requests.append(request)
        self.bodies.append(body)
        if self.echo_auth and "vertex.invalid" in str(request.url):
            message = f"Request had invalid authentication credentials: {request.headers.get('authorization')}"
            error = {"error": {"code": 401, "message": message, "status": "UNAUTHENTICATED"}}
            return httpx.Response(401, json=error)
        if body.get("stream"):
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=STREAM)
        return httpx.Response(200, json=ANSWER)


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return new_private_key()


@pytest.fixture
def endpoint(private_key: rsa.RSAPrivateKey) -> Iterator[TokenEndpoint]:
    with token_endpoint(private_key) as running:
        yield running


@pytest.fixture
def upstreams() -> Upstreams:
    return Upstreams()


@pytest.fixture
async def client(tmp_path: Path, private_key: rsa.RSAPrivateKey, endpoint: TokenEndpoint,
                 upstreams: Upstreams) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    key_file = write_key_file(tmp_path / "sa.json", private_key, endpoint.url)
    environ = {"VERTEX_KEY_FILE": str(key_file), "BACKUP_KEY": BACKUP_KEY}
    loaded = load_config_text(ROUTES, filename="routes.toml", environ=environ)
    state: RouterState = open_state(build_table(loaded), transport=lambda name, upstream: upstreams)
    async with AsyncTestClient(app=create_app(state)) as test_client:
        yield test_client


def _messages(stream: bool = False, model: str = "claude-sonnet") -> dict[str, Any]:
    return {"model": model, "max_tokens": 64, "stream": stream,
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]}],
            "metadata": {"user_id": "u-1"}, "some_future_field": {"kept": True}}


HEADERS = {"anthropic-version": "2023-06-01", "anthropic-beta": "context-1m-2025-08-07,fine-grained-tool-streaming-2025-05-14"}


async def test_unary_goes_to_raw_predict_with_a_bearer_token(
    client: AsyncTestClient, upstreams: Upstreams, endpoint: TokenEndpoint  # type: ignore[type-arg]
) -> None:
    answer = await client.post("/v1/messages", json=_messages(), headers=HEADERS)
    assert answer.status_code == 200, answer.text
    assert answer.json()["content"] == ANSWER["content"]
    [request] = upstreams.requests
    assert str(request.url) == f"{VERTEX_MODELS}/{MODEL}:rawPredict"
    assert request.headers["authorization"] == f"Bearer {endpoint.issued[0]}"
    assert "x-api-key" not in request.headers and "anthropic-version" not in request.headers
    assert request.headers["anthropic-beta"] == "context-1m-2025-08-07"  # per the upstream's beta policy


async def test_the_body_has_the_vertex_version_and_no_model_and_keeps_the_rest(
    client: AsyncTestClient, upstreams: Upstreams  # type: ignore[type-arg]
) -> None:
    assert (await client.post("/v1/messages", json=_messages(), headers=HEADERS)).status_code == 200
    [body] = upstreams.bodies
    assert "model" not in body
    assert body["anthropic_version"] == "vertex-2023-10-16"
    sent = _messages()
    del sent["model"]
    assert {key: body[key] for key in sent} == sent  # passthrough: cache_control, unknown fields


async def test_a_stream_goes_to_stream_raw_predict(
    client: AsyncTestClient, upstreams: Upstreams, endpoint: TokenEndpoint  # type: ignore[type-arg]
) -> None:
    answer = await client.post("/v1/messages", json=_messages(stream=True), headers=HEADERS)
    assert answer.status_code == 200, answer.text
    assert "Hello from Vertex" in answer.text and "message_stop" in answer.text
    [request] = upstreams.requests
    assert str(request.url) == f"{VERTEX_MODELS}/{MODEL}:streamRawPredict"
    assert request.headers["authorization"] == f"Bearer {endpoint.issued[0]}"
    assert upstreams.bodies[0]["stream"] is True and "model" not in upstreams.bodies[0]


async def test_one_token_serves_many_requests(
    client: AsyncTestClient, upstreams: Upstreams, endpoint: TokenEndpoint  # type: ignore[type-arg]
) -> None:
    for stream in (False, True, False):
        assert (await client.post("/v1/messages", json=_messages(stream=stream))).status_code == 200
    assert len(endpoint.issued) == 1
    assert {r.headers["authorization"] for r in upstreams.requests} == {f"Bearer {endpoint.issued[0]}"}


async def test_an_openai_client_reaches_claude_on_vertex(
    client: AsyncTestClient, upstreams: Upstreams  # type: ignore[type-arg]
) -> None:
    body = {"model": "claude-sonnet", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 64}
    answer = await client.post("/v1/chat/completions", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == "Hello from Vertex"
    assert "model" not in upstreams.bodies[0] and upstreams.bodies[0]["anthropic_version"] == "vertex-2023-10-16"
    assert str(upstreams.requests[0].url).endswith(":rawPredict")


async def test_count_tokens_is_answered_here(
    client: AsyncTestClient, upstreams: Upstreams  # type: ignore[type-arg]
) -> None:
    body = {"model": "claude-sonnet", "messages": [{"role": "user", "content": "hello there"}]}
    answer = await client.post("/v1/messages/count_tokens", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["input_tokens"] > 0
    assert upstreams.requests == []  # Vertex AI has no Messages token counter


async def test_a_token_endpoint_failure_is_a_502_in_the_clients_shape(
    client: AsyncTestClient, upstreams: Upstreams, endpoint: TokenEndpoint  # type: ignore[type-arg]
) -> None:
    endpoint.fail_with = (400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
    answer = await client.post("/v1/messages", json=_messages())
    assert answer.status_code == 502
    error = answer.json()
    assert error["type"] == "error" and error["error"]["type"] == "api_error"
    assert "'claude-vertex'" in error["error"]["message"] and "invalid_grant" in error["error"]["message"]
    chat = await client.post("/v1/chat/completions", json={"model": "claude-sonnet", "messages": [{"role": "user", "content": "hi"}]})
    assert chat.status_code == 502 and "'claude-vertex'" in chat.json()["error"]["message"]
    assert upstreams.requests == []


async def test_a_token_endpoint_failure_fails_over_to_the_next_target(
    client: AsyncTestClient, upstreams: Upstreams, endpoint: TokenEndpoint  # type: ignore[type-arg]
) -> None:
    endpoint.fail_with = (503, {"error": "temporarily_unavailable"})
    answer = await client.post("/v1/messages", json=_messages(model="fallback"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-router-target"] == "backup/claude-sonnet-4"
    [request] = upstreams.requests
    assert request.headers["x-api-key"] == BACKUP_KEY and "authorization" not in request.headers
    assert upstreams.bodies[0]["model"] == "claude-sonnet-4" and "anthropic_version" not in upstreams.bodies[0]


async def test_the_token_never_reaches_the_client_or_the_log(
    client: AsyncTestClient, upstreams: Upstreams, endpoint: TokenEndpoint,  # type: ignore[type-arg]
    caplog: pytest.LogCaptureFixture,
) -> None:
    upstreams.echo_auth = True
    with caplog.at_level(logging.DEBUG):
        answer = await client.post("/v1/messages", json=_messages())
        streamed = await client.post("/v1/messages", json=_messages(stream=True))
    assert answer.status_code == 502 and streamed.status_code == 502
    [token] = endpoint.issued
    for text in (answer.text, streamed.text, caplog.text):
        assert token not in text and token[: len(token) // 2] not in text and token[len(token) // 2:] not in text
    assert "invalid authentication credentials" in answer.json()["error"]["message"]
    assert "[redacted]" in answer.json()["error"]["message"]


# Gemini on Vertex AI: the same credentials, Google's publisher path, the Gemini spoke's URL.
GEMINI_ROUTES = """
[upstreams.gemini-vertex]
kind = "gemini"
base-url = "http://vertex.invalid"
vertex = { project = "test-project", location = "us-central1", credentials = "env:VERTEX_KEY_FILE" }

[[routes]]
name = "gemini"
models = ["gemini-*"]
to = "gemini-vertex/gemini-2.5-flash"
retry = { attempts = 1 }
"""
GEMINI_MODELS = "http://vertex.invalid/v1/projects/test-project/locations/us-central1/publishers/google/models"
GEMINI_ANSWER = {
    "candidates": [{"content": {"role": "model", "parts": [{"text": "Hello from Gemini"}]}, "finishReason": "STOP"}],
    "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 4, "totalTokenCount": 7},
    "modelVersion": "gemini-2.5-flash", "responseId": "resp-1",
}


class GeminiUpstream(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        if ":streamGenerateContent" in str(request.url):
            data = f"data: {json.dumps(GEMINI_ANSWER)}\r\n\r\n".encode()
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=data)
        return httpx.Response(200, json=GEMINI_ANSWER)


def _gemini_registered() -> bool:
    from router.spokes.registry import BY_KIND

    return "gemini" in BY_KIND


@pytest.mark.skipif(not _gemini_registered(), reason="the gemini spoke is not registered yet")
@pytest.mark.parametrize("stream", [False, True])
async def test_gemini_on_vertex_gets_the_bearer_token(
    tmp_path: Path, private_key: rsa.RSAPrivateKey, endpoint: TokenEndpoint, stream: bool
) -> None:
    key_file = write_key_file(tmp_path / "sa.json", private_key, endpoint.url)
    loaded = load_config_text(GEMINI_ROUTES, filename="routes.toml", environ={"VERTEX_KEY_FILE": str(key_file)})
    upstream = GeminiUpstream()
    state = open_state(build_table(loaded), transport=lambda name, settings: upstream)
    async with AsyncTestClient(app=create_app(state)) as client:
        answer = await client.post("/v1/messages", json=_messages(stream=stream, model="gemini-flash"))
    assert answer.status_code == 200, answer.text
    assert "Hello from Gemini" in answer.text
    [request] = upstream.requests
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    assert str(request.url) == f"{GEMINI_MODELS}/gemini-2.5-flash:{method}"
    assert request.headers["authorization"] == f"Bearer {endpoint.issued[0]}"
    assert "x-goog-api-key" not in request.headers
