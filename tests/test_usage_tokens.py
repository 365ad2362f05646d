"""Token counts by kind (router.core.usage.Tokens): merge, and each protocol's cache reads and
writes read from its usage, unary and stream, where a spoke's own tests do not already check them
(Gemini, Responses and Bedrock do: tests/spokes/*)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from router.core.usage import Tokens, merge
from router.hub.usage import answer_tokens
from router.hub.usage import read_usage as read_hub_usage
from router.spokes.openai.client.stream import OpenAIStreamFromAnthropic
from router.spokes.openai.upstream.stream import AnthropicStreamFromOpenAI
from router.spokes.openai.usage import read_usage as read_openai_usage
from router.spokes.passthrough import PassthroughStream
from router.spokes.registry import spoke_named
from tests.support.hub_streams import USAGE, message, sse, stream_of, text
from tests.support.streamcases import CTX, FINISH_VALUES, translate

# --- Tokens and merge ------------------------------------------------------------------------------


def test_tokens_name_their_kinds_and_default_the_cache_to_none() -> None:
    tokens = Tokens(120, 30)
    assert (tokens.input, tokens.output, tokens.cache_read, tokens.cache_write) == (120, 30, 0, 0)
    assert Tokens(120, 30, cache_write=5) == (120, 30, 0, 5)


def test_merge_keeps_each_fields_latest_non_zero_value() -> None:
    start = Tokens(117, 1, cache_read=100, cache_write=7)
    delta = Tokens(0, 5)
    assert merge(start, delta) == Tokens(117, 5, 100, 7)
    assert merge(start, Tokens(120, 6, 90, 0)) == Tokens(120, 6, 90, 7)
    assert merge(None, delta) is delta and merge(start, None) is start and merge(None, None) is None
    merged = merge(start, delta)
    assert isinstance(merged, Tokens)


# --- Anthropic (the hub; Bedrock's InvokeModel speaks it) --------------------------------------------


def test_anthropic_input_adds_the_cache_back_and_keeps_it_apart() -> None:
    answer = {"type": "message", "usage": USAGE}
    assert read_hub_usage(json.dumps(answer).encode()) == Tokens(117, 5, cache_read=100, cache_write=7)
    assert answer_tokens(answer) == Tokens(117, 5, 100, 7)
    start = {"type": "message_start", "message": {"usage": {**USAGE, "output_tokens": 1}}}
    assert read_hub_usage(json.dumps(start).encode()) == Tokens(117, 1, 100, 7)
    assert read_hub_usage(b'{"type":"message_delta","usage":{"output_tokens":5}}') == Tokens(0, 5)
    assert read_hub_usage(b'{"usage":{"input_tokens":4,"output_tokens":2}}') == Tokens(4, 2)


def test_a_hub_stream_read_by_a_client_machine_counts_the_cache() -> None:
    """HubEventReader (every client spoke's stream machine from the hub) merges message_start's
    and message_delta's usage."""
    made = OpenAIStreamFromAnthropic(CTX, completion_id="chatcmpl-1", model="claude-test", include_usage=True,
                                     finish_values={"end_turn": "stop"})
    translate(made, [sse(stream_of(message(text("x"))))])
    assert made.tokens() == Tokens(117, 5, cache_read=100, cache_write=7)


# --- OpenAI Chat ----------------------------------------------------------------------------------------


def _usage(**usage: Any) -> bytes:
    return json.dumps({"choices": [], "usage": usage}).encode()


def test_openai_cached_tokens_are_cache_reads_within_the_prompt() -> None:
    assert read_openai_usage(_usage(prompt_tokens=120, completion_tokens=30,
                                    prompt_tokens_details={"cached_tokens": 100})) == Tokens(120, 30, cache_read=100)
    assert read_openai_usage(_usage(prompt_tokens=12, completion_tokens=3)) == Tokens(12, 3)
    assert read_openai_usage(_usage(prompt_tokens=12, completion_tokens=3, prompt_tokens_details=None)) == Tokens(12, 3)


def test_openai_compatible_cache_fields() -> None:
    """DeepSeek's prompt_cache_hit_tokens; OpenRouter's cache_write_tokens."""
    assert read_openai_usage(_usage(prompt_tokens=50, completion_tokens=2, prompt_cache_hit_tokens=40)) == Tokens(50, 2, 40)
    written = _usage(prompt_tokens=50, completion_tokens=2,
                     prompt_tokens_details={"cached_tokens": 0, "cache_write_tokens": 45})
    assert read_openai_usage(written) == Tokens(50, 2, cache_write=45)


def _chunk(finish: str | None = None, usage: dict[str, Any] | None = None, **delta: Any) -> dict[str, Any]:
    chunk: dict[str, Any] = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if usage is None else []}
    if usage is not None:
        chunk["usage"] = usage
    return chunk


OPENAI_USAGE = {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150,
                "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 15}}
OPENAI_STREAM = b"".join(b"data: " + json.dumps(chunk).encode() + b"\n\n"
                         for chunk in (_chunk(content="x"), _chunk("stop"), _chunk(usage=OPENAI_USAGE))) + b"data: [DONE]\n\n"


def test_openai_upstream_stream_counts_the_cache() -> None:
    made = AnthropicStreamFromOpenAI(CTX, message_id="msg_1", model="m", input_tokens=None, finish_values=FINISH_VALUES)
    translate(made, [OPENAI_STREAM])
    assert made.tokens() == Tokens(120, 30, cache_read=100, cache_write=15)


# --- passthrough streams: each spoke's read_usage, merged across events -----------------------------------


GEMINI_STREAM = b"".join(
    b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n" for chunk in (
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "x"}]}}],
         "usageMetadata": {"promptTokenCount": 120, "cachedContentTokenCount": 100}},
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "y"}]}, "finishReason": "STOP"}],
         "usageMetadata": {"promptTokenCount": 120, "candidatesTokenCount": 30, "cachedContentTokenCount": 100}},
    ))
RESPONSES_STREAM = (
    b"event: response.created\ndata: " + json.dumps({"type": "response.created", "response": {"usage": None}}).encode()
    + b"\n\nevent: response.completed\ndata: " + json.dumps({"type": "response.completed", "response": {"usage": {
        "input_tokens": 120, "output_tokens": 30, "input_tokens_details": {"cached_tokens": 100}}}}).encode() + b"\n\n")


@pytest.mark.parametrize(("spoke", "stream", "expected"), [
    ("anthropic", sse(stream_of(message(text("x")))), Tokens(117, 5, cache_read=100, cache_write=7)),
    ("openai", OPENAI_STREAM, Tokens(120, 30, cache_read=100, cache_write=15)),
    ("gemini", GEMINI_STREAM, Tokens(120, 30, cache_read=100)),
    ("responses", RESPONSES_STREAM, Tokens(120, 30, cache_read=100)),
])
def test_passthrough_streams_count_the_cache(spoke: str, stream: bytes, expected: Tokens) -> None:
    made = PassthroughStream(spoke_named(spoke), "up")
    translate(made, [stream])
    assert made.tokens() == expected
