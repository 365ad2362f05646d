"""A protocol whose upstreams take the model (and streaming) in the URL path, as Gemini's
`/models/{model}:generateContent` does, gets its URL per request from its spoke; protocols with
one endpoint per upstream keep the URL made once. Shown with the OpenAI spoke given a model-in-
path URL, so the request, its conversion and its answer are otherwise the real ones."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar.testing import AsyncTestClient

from router.config.load import load_config_text
from router.gateway.state import RouterState, open_state
from router.routing.lookup import build_table
from router.server.app import create_app
from router.spokes.registry import SPOKES, spoke_for_kind
from router.spokes.spoke import Spoke
from router.upstream import client as upstream_client
from tests.bench.run import completion_json, stream_sse

ROUTES = """
[upstreams.up]
kind = "openai"
base-url = "http://models.invalid/v1beta"
api-key = "env:UP_KEY"

[[routes]]
name = "fixed"
models = ["fixed"]
to = "up/gemini-x"

[[routes]]
name = "as-asked"
models = ["g-*"]
to = "up"
"""


def model_in_path(base: str, model: str, stream: bool) -> str:
    return f"{base}/models/{model}:{'streamGenerateContent?alt=sse' if stream else 'generateContent'}"


PATHED = dataclasses.replace(SPOKES["openai"], upstream_side=dataclasses.replace(
    SPOKES["openai"].upstream, url=model_in_path, model_in_url=True))


class Recording(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.urls: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.urls.append(str(request.url))
        assert "sk-secret" not in str(request.url), "keys never travel in URLs"
        if b'"stream":true' in request.content:
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=stream_sse().encode())
        return httpx.Response(200, headers={"content-type": "application/json"}, content=completion_json().encode())


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Recording:
    def pathed(kind: str) -> Spoke:
        return PATHED if kind == "openai" else spoke_for_kind(kind)

    monkeypatch.setattr(upstream_client, "spoke_for_kind", pathed)
    return Recording()


@pytest.fixture
async def client(recording: Recording) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    loaded = load_config_text(ROUTES, filename="routes.toml", environ={"UP_KEY": "sk-secret"})
    state: RouterState = open_state(build_table(loaded), transport=lambda name, upstream: recording)
    async with AsyncTestClient(app=create_app(state)) as test_client:
        yield test_client


async def _ask(client: AsyncTestClient, model: str, stream: bool = False) -> httpx.Response:  # type: ignore[type-arg]
    body = {"model": model, "max_tokens": 16, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    return await client.post("/v1/messages", json=body)


async def test_the_targets_model_goes_in_the_path(client: AsyncTestClient, recording: Recording) -> None:  # type: ignore[type-arg]
    answer = await _ask(client, "fixed")
    assert answer.status_code == 200, answer.text
    assert recording.urls == ["http://models.invalid/v1beta/models/gemini-x:generateContent"]


async def test_the_clients_model_goes_in_the_path_when_the_route_keeps_it(client: AsyncTestClient, recording: Recording) -> None:  # type: ignore[type-arg]
    assert (await _ask(client, "g-flash")).status_code == 200
    assert (await _ask(client, "g-pro")).status_code == 200
    assert recording.urls == ["http://models.invalid/v1beta/models/g-flash:generateContent",
                              "http://models.invalid/v1beta/models/g-pro:generateContent"]


async def test_a_stream_gets_the_streaming_endpoint(client: AsyncTestClient, recording: Recording) -> None:  # type: ignore[type-arg]
    answer = await _ask(client, "fixed", stream=True)
    assert answer.status_code == 200 and "message_stop" in answer.text
    assert recording.urls == ["http://models.invalid/v1beta/models/gemini-x:streamGenerateContent?alt=sse"]


def test_one_endpoint_protocols_make_their_url_once() -> None:
    for spoke in SPOKES.values():
        assert spoke.upstream.model_in_url == (spoke.name in ("gemini", "bedrock")), spoke.name
    made = upstream_client.make_client("up", build_table(load_config_text(
        ROUTES, filename="routes.toml", environ={"UP_KEY": "k"})).loaded.config.upstreams["up"], "k")
    assert made.url_for is None and str(made.url) == "http://models.invalid/v1beta/chat/completions"


async def test_a_url_is_made_once_per_model_and_mode(client: AsyncTestClient, recording: Recording) -> None:  # type: ignore[type-arg]
    """Each URL is parsed into an httpx.URL once (a cost per request otherwise), and the cache
    keeps models and streaming apart."""
    for model, stream in [("g-one", False), ("g-two", False), ("g-one", True), ("g-one", False)]:
        assert (await _ask(client, model, stream)).status_code == 200
    assert recording.urls == [
        "http://models.invalid/v1beta/models/g-one:generateContent",
        "http://models.invalid/v1beta/models/g-two:generateContent",
        "http://models.invalid/v1beta/models/g-one:streamGenerateContent?alt=sse",
        "http://models.invalid/v1beta/models/g-one:generateContent",
    ]
    made = upstream_client.make_client("up", build_table(load_config_text(
        ROUTES, filename="routes.toml", environ={"UP_KEY": "k"})).loaded.config.upstreams["up"], "k")
    assert made.url_for is not None
    assert made.url_for("m", False) is made.url_for("m", False)
    assert made.url_for("m", True) is not made.url_for("m", False)
