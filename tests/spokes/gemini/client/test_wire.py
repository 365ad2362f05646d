"""The Gemini spoke's small pieces: the routing decode, errors, usage, the stream's end, the JSON
array framing, the model list."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import msgspec
import pytest

from router.core.answer import FinalChunk
from router.core.errors import (
    AuthenticationFailed,
    InvalidRequest,
    ModelNotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    UpstreamStatusError,
    UpstreamTimeout,
)
from router.core.usage import Tokens
from router.spokes.gemini.client.array_stream import json_array
from router.spokes.gemini.client.models import model_info, model_list
from router.spokes.gemini.errors import error_body, error_event, error_status
from router.spokes.gemini.request_wire import (
    GenerateContentRequest,
    count_tokens_request,
    decode_routing,
)
from router.spokes.gemini.stream_end import ends
from router.spokes.gemini.usage import read_usage

# --- the first decode --------------------------------------------------------------------------------


def test_routing_reads_no_model_from_the_body() -> None:
    routing = decode_routing(b'{"contents": [{"parts": [{"text": "hi"}]}]}')
    assert routing.model == "" and routing.stream is False


@pytest.mark.parametrize(("body", "said"), [
    (b"{}", "contents: required"),
    (b'{"contents": {}}', "Expected `array`, got `object`"),
    (b'{"contents": "hi"}', "Expected `array`, got `str`"),
    (b'{"contents": [ ]}', "at least one content"),
])
def test_routing_requires_contents(body: bytes, said: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode_routing(body)
    assert said in caught.value.message and caught.value.message.endswith("`$.contents`")


def test_the_request_takes_camel_and_snake_case_and_ignores_unknown_fields() -> None:
    src = msgspec.json.decode(b'{"contents": [], "generation_config": {"temperature": 0.5}, "future": 1}',
                              type=GenerateContentRequest)
    assert src.generation_config_snake is not None and src.generation_config_snake.temperature == 0.5
    assert (src.model, src.stream, src.sse) == ("", False, True)


def test_count_tokens_takes_contents_or_a_whole_request() -> None:
    assert count_tokens_request(b'{"contents": [{"parts": [{"text": "a"}]}]}').contents == [{"parts": [{"text": "a"}]}]
    whole = count_tokens_request(b'{"generateContentRequest": {"contents": [], "systemInstruction": {"parts": []}}}')
    assert whole.system_instruction == {"parts": []}
    with pytest.raises(InvalidRequest):
        count_tokens_request(b"{}")


# --- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("error", "code", "status"), [
    (InvalidRequest("bad"), 400, "INVALID_ARGUMENT"),
    (AuthenticationFailed("who"), 401, "UNAUTHENTICATED"),
    (PermissionDenied("no"), 403, "PERMISSION_DENIED"),
    (ModelNotFound("none"), 404, "NOT_FOUND"),
    (PayloadTooLarge("big"), 400, "INVALID_ARGUMENT"),
    (RateLimited("slow"), 429, "RESOURCE_EXHAUSTED"),
    (UpstreamStatusError(503, "busy"), 503, "UNAVAILABLE"),
    (UpstreamStatusError(500, "oops"), 500, "INTERNAL"),
    (UpstreamTimeout("late"), 504, "DEADLINE_EXCEEDED"),
])
def test_errors_in_googles_shape(error: Exception, code: int, status: str) -> None:
    assert isinstance(error, InvalidRequest | AuthenticationFailed | PermissionDenied | ModelNotFound | PayloadTooLarge
                      | RateLimited | UpstreamStatusError | UpstreamTimeout)
    assert error_status(error) == code
    assert json.loads(error_body(error)) == {"error": {"code": code, "message": error.message, "status": status}}
    assert error_event(error) == b"data: " + error_body(error) + b"\r\n\r\n"


def test_a_rate_limit_keeps_its_retry_after() -> None:
    error = UpstreamStatusError(429, "slow", retry_after="7")
    assert error.headers["retry-after"] == "7" and error_status(error) == 429


# --- usage and the stream's end ----------------------------------------------------------------------


def test_usage_counts_thoughts_as_output_and_cached_content_as_cache_reads() -> None:
    raw = b'{"usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 3, "thoughtsTokenCount": 4, "cachedContentTokenCount": 10}}'
    assert read_usage(raw) == Tokens(20, 7, cache_read=10)
    assert read_usage(b'{"usageMetadata": {"promptTokenCount": 20}}') == Tokens(20, 0)
    assert read_usage(b'{"candidates": []}') is None
    with pytest.raises(msgspec.DecodeError):
        read_usage(b"not json")


@pytest.mark.parametrize(("data", "ended"), [
    (b'{"candidates": [{"content": {"parts": [{"text": "finishReason"}]}}]}', False),
    (b'{"candidates": [{"content": {"parts": []}, "finishReason": "STOP"}]}', True),
    (b'{"error": {"code": 500, "message": "x", "status": "INTERNAL"}}', True),
    (b'{"error": null, "candidates": []}', False),
    (b'{"candidates": [{"index": 0}]}', False),
])
def test_ends(data: bytes, ended: bool) -> None:
    assert ends(data) is ended


# --- the JSON array framing --------------------------------------------------------------------------


async def _pieces(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


def _collect(*pieces: bytes) -> list[bytes]:
    async def run() -> list[bytes]:
        return [piece async for piece in json_array(_pieces(*pieces))]
    return asyncio.run(run())


def test_events_become_one_array() -> None:
    out = _collect(b"", b'data: {"a":1}\r\n\r\ndata: {"b":2}\r\n\r\n', b'data: {"c"', b':3}\r\n\r\n')
    body = b"".join(out)
    assert body == b'[{"a":1}\r\n,{"b":2}\r\n,{"c":3}\r\n]'
    assert json.loads(body) == [{"a": 1}, {"b": 2}, {"c": 3}]
    assert isinstance(out[-1], FinalChunk) and len(out) == 5  # one piece out per piece in, then the end


def test_a_final_chunk_closes_the_array_in_the_same_piece() -> None:
    out = _collect(b'data: {"a":1}\n\n', FinalChunk(b'data: {"error":{"code":500}}\n\n'))
    assert out[-1] == b',{"error":{"code":500}}\r\n]' and isinstance(out[-1], FinalChunk)


def test_an_empty_stream_is_an_empty_array() -> None:
    assert b"".join(_collect()) == b"[]"


# --- models ------------------------------------------------------------------------------------------


def test_models_in_the_sdks_shape() -> None:
    listed = model_list(["a", "models/b"])
    assert [entry["name"] for entry in listed["models"]] == ["models/a", "models/b"]
    info = model_info("a")
    assert info["name"] == "models/a" and info["displayName"] == "a"
    assert info["supportedGenerationMethods"] == ["generateContent", "streamGenerateContent", "countTokens"]
