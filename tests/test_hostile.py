"""Hostile upstreams and hostile clients, in-process (respx upstreams, every pair): the holes of
issue 13, each proved closed. Each test here failed on the code before its fix.

- an upstream key echoed mid-stream, converted or passed through, never reaches a client
- deeply nested JSON is a 400 in the client's shape, not a 500
- passthrough never relays a body or an event a client SDK cannot parse
- statuses are the client protocol's own (OpenAI clients never see 529)
- required fields are required (`max_tokens`, `messages`, and not empty)
- a request to a path not served gets its access-log line and a 404 naming what is served
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from litestar.testing import AsyncTestClient

from router.config.load import load_config_text
from router.gateway.state import open_state
from router.routing.lookup import build_table
from router.server.app import create_app

OAI_KEY = "sk-oai-upstream-secret-0123456789abcdef"
ANTH_KEY = "sk-ant-upstream-secret-fedcba9876543210"
ROUTES = """
[upstreams.oai]
kind = "openai"
base-url = "https://oai.example/v1"
api-key = "env:OAI_KEY"

[upstreams.anth]
kind = "anthropic"
base-url = "https://anth.example"
api-key = "env:ANTH_KEY"

[[routes]]
name = "anthropic-to-openai"
clients = ["anthropic"]
models = ["c-oai"]
to = "oai/m"
retry = { attempts = 1 }

[[routes]]
name = "anthropic-passthrough"
clients = ["anthropic"]
models = ["c-anth"]
to = "anth"
retry = { attempts = 1 }

[[routes]]
name = "anthropic-passthrough-retried"
clients = ["anthropic"]
models = ["c-anth-retried"]
to = "anth"
retry = { attempts = 2, backoff = 0.0 }

[[routes]]
name = "openai-to-anthropic"
clients = ["openai"]
models = ["g-anth"]
to = "anth/claude-x"
retry = { attempts = 1 }

[[routes]]
name = "openai-passthrough"
clients = ["openai"]
models = ["g-oai"]
to = "oai"
retry = { attempts = 1 }
"""
OAI_URL = "https://oai.example/v1/chat/completions"
ANTH_URL = "https://anth.example/v1/messages"
# (client protocol, model) for each pair, and the upstream it reaches.
PAIRS = {
    "anthropic__openai": ("anthropic", "c-oai", OAI_URL, OAI_KEY),
    "anthropic__anthropic": ("anthropic", "c-anth", ANTH_URL, ANTH_KEY),
    "openai__anthropic": ("openai", "g-anth", ANTH_URL, ANTH_KEY),
    "openai__openai": ("openai", "g-oai", OAI_URL, OAI_KEY),
}
PATHS = {"anthropic": "/v1/messages", "openai": "/v1/chat/completions"}


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    loaded = load_config_text(ROUTES, filename="routes.toml", environ={"OAI_KEY": OAI_KEY, "ANTH_KEY": ANTH_KEY})
    state = open_state(build_table(loaded), transport=lambda name, upstream: httpx.AsyncHTTPTransport())
    async with AsyncTestClient(app=create_app(state)) as test_client:
        yield test_client


def _body(protocol: str, model: str, stream: bool = False, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    if protocol == "anthropic":
        body["max_tokens"] = 64
    return {**body, **extra}


def _sse(*events: tuple[str | None, str]) -> bytes:
    return b"".join(
        (f"event: {name}\n" if name else "").encode() + f"data: {data}\n\n".encode() for name, data in events
    )


def _openai_chunk(text: str) -> str:
    return json.dumps({"id": "c", "object": "chat.completion.chunk", "model": "m",
                       "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})


def _anthropic_start() -> tuple[str, str]:
    return "message_start", json.dumps({"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "content": [],
        "stop_reason": None, "usage": {"input_tokens": 3, "output_tokens": 1}}})


def _anthropic_text(text: str) -> list[tuple[str, str]]:
    return [
        ("content_block_start", json.dumps({"type": "content_block_start", "index": 0,
                                            "content_block": {"type": "text", "text": ""}})),
        ("content_block_delta", json.dumps({"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "text_delta", "text": text}})),
    ]


def _echoing_stream(url: str, key: str) -> bytes:
    """A stream that starts well, then fails with an error quoting our request's credentials."""
    if url == OAI_URL:
        error = {"error": {"message": f"bad request; headers were authorization: Bearer {key}", "type": "server_error"}}
        return _sse((None, _openai_chunk("Hel")), (None, json.dumps(error)))
    error = {"type": "error", "error": {"type": "api_error", "message": f"bad request; x-api-key: {key}"}}
    return _sse(_anthropic_start(), *_anthropic_text("Hel"), ("error", json.dumps(error)))


def _byte_by_byte(data: bytes) -> Iterator[bytes]:
    return (data[i:i + 1] for i in range(len(data)))


def _assert_no_secret(text: str, key: str) -> None:
    for piece in (key, key[: len(key) // 2], key[len(key) // 2:]):
        assert piece not in text


# --- 1. an upstream key reaches no client, whatever the pair -------------------------------------


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("split", [False, True], ids=["whole", "byte-by-byte"])
@respx.mock
async def test_a_mid_stream_error_echoing_our_key_is_scrubbed(client: AsyncTestClient, pair: str, split: bool) -> None:  # type: ignore[type-arg]
    protocol, model, url, key = PAIRS[pair]
    sse = _echoing_stream(url, key)
    stream = httpx.ByteStream(sse) if not split else _IterStream(_byte_by_byte(sse))
    respx.post(url).mock(return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream))
    response = await client.post(PATHS[protocol], json=_body(protocol, model, stream=True))
    assert response.status_code == 200
    _assert_no_secret(response.text, key)
    assert "[redacted]" in response.text
    assert "message_stop" not in response.text and "[DONE]" not in response.text


class _IterStream(httpx.AsyncByteStream):
    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._pieces:
            yield piece


@pytest.mark.parametrize("pair", PAIRS)
@respx.mock
async def test_an_error_body_and_header_echoing_our_key_are_scrubbed(client: AsyncTestClient, pair: str) -> None:  # type: ignore[type-arg]
    protocol, model, url, key = PAIRS[pair]
    respx.post(url).mock(return_value=httpx.Response(
        429, headers={"retry-after": f"3 {key}"}, json={"error": {"message": f"Incorrect API key: {key}"}}))
    response = await client.post(PATHS[protocol], json=_body(protocol, model))
    assert response.status_code == 429
    _assert_no_secret(response.text + json.dumps(dict(response.headers)), key)
    assert response.headers["retry-after"] == "5"  # not a retry-after: ours instead, not the junk
    assert response.headers["x-router-attempts"].endswith("=429")


@pytest.mark.parametrize("pair", ["openai__anthropic", "openai__openai"])
@respx.mock
async def test_attempts_name_the_upstreams_status_and_the_client_gets_its_own(client: AsyncTestClient, pair: str) -> None:  # type: ignore[type-arg]
    protocol, model, url, _ = PAIRS[pair]
    respx.post(url).mock(return_value=httpx.Response(529, json={"error": {"message": "busy"}}))
    response = await client.post(PATHS[protocol], json=_body(protocol, model))
    assert response.status_code == 503 and response.headers["x-router-attempts"].endswith("=529")


@respx.mock
async def test_an_openai_error_chunk_ends_a_passthrough_stream_without_a_second_one(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    error = json.dumps({"error": {"message": "overloaded", "type": "server_error"}})
    sse = _sse((None, _openai_chunk("Hel")), (None, error))
    respx.post(OAI_URL).mock(return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse))
    response = await client.post("/v1/chat/completions", json=_body("openai", "g-oai", stream=True))
    assert response.text.count('"error"') == 1 and response.text == sse.decode()


@pytest.mark.parametrize("pair", PAIRS)
@respx.mock
async def test_a_unary_answer_echoing_our_key_is_scrubbed(client: AsyncTestClient, pair: str) -> None:  # type: ignore[type-arg]
    protocol, model, url, key = PAIRS[pair]
    respx.post(url).mock(return_value=httpx.Response(200, json=_answer(url, f"your key is {key}")))
    response = await client.post(PATHS[protocol], json=_body(protocol, model))
    assert response.status_code == 200
    _assert_no_secret(response.text, key)


def _answer(url: str, text: str) -> dict[str, Any]:
    if url == OAI_URL:
        return {"id": "c1", "object": "chat.completion", "model": "m", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 3, "output_tokens": 2}}


# --- 2. deep nesting is the client's 400 ---------------------------------------------------------

DEEP = "[" * 10_000 + "]" * 10_000


@pytest.mark.parametrize("pair", PAIRS)
@respx.mock
async def test_deeply_nested_json_is_a_400_naming_the_field(client: AsyncTestClient, pair: str) -> None:  # type: ignore[type-arg]
    protocol, model, url, _ = PAIRS[pair]
    upstream = respx.post(url).mock(return_value=httpx.Response(200, json=_answer(url, "ok")))
    body = json.dumps(_body(protocol, model))[:-1] + f', "metadata": {DEEP}}}'
    response = await client.post(PATHS[protocol], content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    _assert_error_shape(protocol, response, "metadata")
    assert not upstream.called
    healthy = await client.post(PATHS[protocol], json=_body(protocol, model))
    assert healthy.status_code == 200


@pytest.mark.parametrize("depth", [200, 600, 950, 990])
@respx.mock
async def test_a_tool_schema_nested_near_the_decoders_limit_is_never_a_500(client: AsyncTestClient, depth: int) -> None:  # type: ignore[type-arg]
    respx.post(OAI_URL).mock(return_value=httpx.Response(200, json=_answer(OAI_URL, "ok")))
    schema = '{"type": "object", "properties": {"x": ' + "[" * depth + "]" * depth + "}}"
    body = json.dumps(_body("anthropic", "c-oai"))[:-1] + f', "tools": [{{"name": "t", "input_schema": {schema}}}]}}'
    response = await client.post("/v1/messages", content=body, headers={"content-type": "application/json"})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        _assert_error_shape("anthropic", response, "nested")


@respx.mock
async def test_an_upstream_answer_nested_too_deeply_is_a_502(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    respx.post(OAI_URL).mock(return_value=httpx.Response(
        200, content=b'{"choices": [], "x": ' + DEEP.encode() + b"}", headers={"content-type": "application/json"}))
    response = await client.post("/v1/messages", json=_body("anthropic", "c-oai"))
    assert response.status_code == 502
    _assert_error_shape("anthropic", response, "could not be read")


# --- 4. passthrough relays nothing a client cannot parse -----------------------------------------


@pytest.mark.parametrize("pair", ["anthropic__anthropic", "openai__openai"])
@pytest.mark.parametrize("broken", [b'{"id": "msg_1", "content": [{"type": "te', b"<html>oops</html>", b"[1, 2]", b""])
@respx.mock
async def test_a_broken_unary_body_on_passthrough_is_a_502(client: AsyncTestClient, pair: str, broken: bytes) -> None:  # type: ignore[type-arg]
    protocol, model, url, _ = PAIRS[pair]
    respx.post(url).mock(return_value=httpx.Response(200, content=broken, headers={"content-type": "application/json"}))
    response = await client.post(PATHS[protocol], json=_body(protocol, model))
    assert response.status_code == 502
    _assert_error_shape(protocol, response, "could not be read")


@respx.mock
async def test_a_broken_unary_body_is_retried_like_any_upstream_fault(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    respx.post(ANTH_URL).mock(side_effect=[
        httpx.Response(200, content=b'{"id": "msg_1", "conte', headers={"content-type": "application/json"}),
        httpx.Response(200, json=_answer(ANTH_URL, "second time")),
    ])
    response = await client.post("/v1/messages", json=_body("anthropic", "c-anth-retried"))
    assert response.status_code == 200
    assert response.json()["content"][0]["text"] == "second time"
    assert response.headers["x-router-attempts"] == "anth/*=502, anth/*=200"


@pytest.mark.parametrize("pair", ["anthropic__anthropic", "openai__openai"])
@respx.mock
async def test_a_malformed_data_line_on_passthrough_ends_in_the_error_event(client: AsyncTestClient, pair: str) -> None:  # type: ignore[type-arg]
    protocol, model, url, _ = PAIRS[pair]
    if url == OAI_URL:
        sse = _sse((None, _openai_chunk("Hel")), (None, '{"choices": [{"delta": {"content": "lo'), (None, "[DONE]"))
    else:
        sse = _sse(_anthropic_start(), *_anthropic_text("Hel"), ("content_block_delta", "{not json"),
                   ("message_stop", '{"type": "message_stop"}'))
    respx.post(url).mock(return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse))
    response = await client.post(PATHS[protocol], json=_body(protocol, model, stream=True))
    assert response.status_code == 200
    assert "Hel" in response.text  # what came before the bad line still went out
    assert "{not json" not in response.text and '"lo' not in response.text
    assert "message_stop" not in response.text and "[DONE]" not in response.text
    last = [line for line in response.text.splitlines() if line.startswith("data:")][-1]
    error = json.loads(last[5:])["error"]
    assert "not a JSON object" in error["message"]


@respx.mock
async def test_passthrough_keeps_unknown_fields_and_event_types(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    novel = ("content_block_start", json.dumps({"type": "content_block_start", "index": 0,
                                                 "content_block": {"type": "future_block", "x": [1, {"y": None}]}}))
    sse = _sse(_anthropic_start(), novel, ("brand_new_event", '{"type": "brand_new_event", "z": 1}'),
               ("message_stop", '{"type": "message_stop"}'))
    respx.post(ANTH_URL).mock(return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse))
    response = await client.post("/v1/messages", json=_body("anthropic", "c-anth", stream=True))
    assert response.text == sse.decode()


# --- 5. statuses per client protocol -------------------------------------------------------------


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("upstream_status", [503, 529])
@respx.mock
async def test_an_overloaded_upstream_is_each_protocols_own_status(client: AsyncTestClient, pair: str, upstream_status: int) -> None:  # type: ignore[type-arg]
    protocol, model, url, _ = PAIRS[pair]
    respx.post(url).mock(return_value=httpx.Response(upstream_status, json={"error": {"message": "busy"}}))
    response = await client.post(PATHS[protocol], json=_body(protocol, model))
    if protocol == "anthropic":
        assert response.status_code == 529
        assert response.json()["error"]["type"] == "overloaded_error"
    else:
        assert response.status_code == 503
        assert response.json()["error"]["type"] == "server_error"


# --- 6. required fields --------------------------------------------------------------------------


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("mutation", ["no-messages", "empty-messages", "null-messages", "no-max-tokens", "zero-max-tokens"])
@respx.mock
async def test_required_fields_are_required(client: AsyncTestClient, pair: str, mutation: str) -> None:  # type: ignore[type-arg]
    protocol, model, url, _ = PAIRS[pair]
    upstream = respx.post(url).mock(return_value=httpx.Response(200, json=_answer(url, "ok")))
    body = _body(protocol, model)
    field = "max_tokens" if "max-tokens" in mutation else "messages"
    if protocol == "openai" and field == "max_tokens":
        body.pop("max_tokens", None)  # optional for OpenAI clients: still answered
        response = await client.post(PATHS[protocol], json=body)
        assert response.status_code == 200
        return
    if mutation.startswith("no-"):
        del body[field]
    else:
        body[field] = {"empty-messages": [], "null-messages": None, "zero-max-tokens": 0}[mutation]
    response = await client.post(PATHS[protocol], json=body)
    assert response.status_code == 400
    _assert_error_shape(protocol, response, field)
    assert not upstream.called


@pytest.mark.parametrize("pair", PAIRS)
@respx.mock
async def test_unknown_fields_still_pass(client: AsyncTestClient, pair: str) -> None:  # type: ignore[type-arg]
    protocol, model, url, _ = PAIRS[pair]
    respx.post(url).mock(return_value=httpx.Response(200, json=_answer(url, "ok")))
    response = await client.post(PATHS[protocol], json=_body(protocol, model, brand_new_option={"a": [1]}))
    assert response.status_code == 200


async def test_count_tokens_needs_no_max_tokens(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.post("/v1/messages/count_tokens", json={"model": "c-oai", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 200 and response.json()["input_tokens"] > 0


# --- also: unserved paths are logged and answered with what is served ----------------------------


@pytest.mark.parametrize(("path", "protocol"), [("/v1/completions", "openai"),
                                                ("/v1/embeddings", "openai"), ("/v2/messages", "anthropic")])
async def test_an_unserved_path_gets_its_access_log_line_and_a_helpful_404(
    client: AsyncTestClient, caplog: pytest.LogCaptureFixture, path: str, protocol: str,  # type: ignore[type-arg]
) -> None:
    with caplog.at_level(logging.INFO, logger="router.access"):
        response = await client.post(path, json={"model": "x"})
        await client.get("/health")
    assert response.status_code == 404
    _assert_error_shape(protocol, response, "POST /v1/messages")
    assert "POST /v1/chat/completions" in response.text
    lines = [json.loads(record.getMessage()) for record in caplog.records if record.name == "router.access"]
    [line] = lines  # the probe is not logged
    assert line["path"] == path and line["status"] == 404 and line["error"] == "not_found_error"
    assert line["request_id"] == response.headers["request-id"]


def _assert_error_shape(protocol: str, response: httpx.Response, needle: str) -> None:
    body = response.json()
    if protocol == "anthropic":
        assert body["type"] == "error" and set(body["error"]) == {"type", "message"}
    else:
        assert set(body["error"]) == {"message", "type", "param", "code"}
    assert needle in body["error"]["message"], body


@pytest.mark.parametrize(("finish_reason", "clean"), [("stop", True), (None, False)])
@respx.mock
async def test_an_openai_passthrough_stream_without_done_ends_as_the_converted_one_does(
    client: AsyncTestClient, finish_reason: str | None, clean: bool,  # type: ignore[type-arg]
) -> None:
    """A finish_reason makes the answer whole (the converting machine ends cleanly on it too);
    without one the upstream died mid-answer: the error chunk."""
    last = json.dumps({"id": "c", "object": "chat.completion.chunk", "model": "m",
                       "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]})
    sse = _sse((None, _openai_chunk("Hel")), (None, last))
    respx.post(OAI_URL).mock(return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse))
    response = await client.post("/v1/chat/completions", json=_body("openai", "g-oai", stream=True))
    assert ('"error"' not in response.text) is clean
