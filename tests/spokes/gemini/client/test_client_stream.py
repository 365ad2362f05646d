"""GeminiStreamFromHub: hub events → Gemini SSE chunks.

The oracle: a hub answer streamed the way Anthropic streams it, folded the way Google's SDKs
accumulate a stream (parts concatenated: consecutive text parts of one kind merged, as
google-genai's chat history does), equals the unary conversion of the same answer. Every chunk is
a `data:` line of one GenerateContentResponse (the SDK's model validates it), nothing else.
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

import pytest
from google.genai import types

from router.config.target import Capabilities, TargetContext
from router.core.errors import RateLimited, UpstreamProtocolError, UpstreamStatusError
from router.core.usage import Tokens
from router.spokes.gemini.client.signature import thinking_blocks
from router.spokes.gemini.client.stream import GeminiStreamFromHub, stream_from_hub
from router.spokes.tables import read_pair_text
from tests.spokes.gemini.client.client_table import decode, to_response
from tests.support.hub_streams import (
    message,
    redacted,
    sse,
    stream_of,
    text,
    thinking,
    tool_use,
)
from tests.support.streamcases import one_byte_pieces, translate, two_piece_splits

CTX = TargetContext(route="t", upstream="up", model="claude-test", caps=Capabilities())
VALUES: dict[str, dict[str, str]] = tomllib.loads(read_pair_text("gemini.client"))["values"]
PLAIN = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
THOUGHTS = {**PLAIN, "generationConfig": {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 2048}}}
JSON_ANSWER = {**PLAIN, "generationConfig": {"responseMimeType": "application/json",
                                              "responseJsonSchema": {"type": "object"}}}


def machine(body: dict[str, Any] | None = None) -> GeminiStreamFromHub:
    made = stream_from_hub(CTX, "claude-test", decode(body or PLAIN), VALUES)
    assert isinstance(made, GeminiStreamFromHub)
    return made


def chunks(out: bytes) -> list[dict[str, Any]]:
    """Every event a `data: ` line of one JSON object, ended by a blank line (\\r\\n\\r\\n)."""
    assert out.endswith(b"\r\n\r\n") or not out
    events = out.split(b"\r\n\r\n")[:-1]
    parsed = []
    for event in events:
        assert event.startswith(b"data: ") and b"\n" not in event, event
        parsed.append(json.loads(event[len(b"data: "):]))
    return parsed


def run(hub: list[dict[str, Any]] | bytes, body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    data = hub if isinstance(hub, bytes) else sse(hub)
    return chunks(translate(machine(body), [data]))


def fold(stream: list[dict[str, Any]]) -> dict[str, Any]:
    """The chunks accumulated: parts in order, text parts of one kind with no signature between
    them merged; finishReason and usage from the last chunk, which alone has them."""
    parts: list[dict[str, Any]] = []
    for chunk in stream:
        types.GenerateContentResponse.model_validate(chunk)  # what the SDK makes of it
        assert chunk["modelVersion"] == "claude-test" and chunk["responseId"] == "msg_01abc"
        candidate = chunk["candidates"][0]
        for part in (candidate.get("content") or {}).get("parts", []):
            last = parts[-1] if parts else None
            if (last is not None and "text" in part and "text" in last and "thoughtSignature" not in part
                    and last.get("thought") == part.get("thought")):
                last["text"] += part["text"]
            else:
                parts.append(dict(part))
    *body, last = stream
    assert all("finishReason" not in chunk["candidates"][0] and "usageMetadata" not in chunk for chunk in body)
    candidate = last["candidates"][0]
    return {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": candidate["finishReason"],
                            "index": 0}],
            "usageMetadata": last["usageMetadata"], "modelVersion": last["modelVersion"],
            "responseId": last["responseId"]}


ANSWERS = {
    "text": message(text("Hello there, world.")),
    "two texts": message(text("One. "), text("Two.")),
    "thinking then text": message(thinking("Let me think about it.", "sig-1"), text("Answer.")),
    "thinking then call": message(thinking("Weather needed.", "sig-2"), tool_use("get_weather", {"city": "Paris"}),
                                  stop_reason="tool_use"),
    "two calls": message(tool_use("a", {"x": 1}, "toolu_a"), tool_use("b", {}, "toolu_b"), stop_reason="tool_use"),
    "redacted then text": message(redacted(), text("Done.")),
    "thinking last": message(thinking("cut", "sig-3"), stop_reason="max_tokens"),
    "refusal": message(text("I can't."), stop_reason="refusal"),
    "empty": message(),
}


@pytest.mark.parametrize("body", [PLAIN, THOUGHTS], ids=["thoughts hidden", "thoughts shown"])
@pytest.mark.parametrize("name", list(ANSWERS))
def test_the_stream_folds_to_the_unary_answer(name: str, body: dict[str, Any]) -> None:
    answer = ANSWERS[name]
    assert fold(run(stream_of(answer), body)) == to_response(answer, body)


def test_structured_output_streams_as_text() -> None:
    answer = message(tool_use("json_response", {"city": "Paris", "days": 2}), stop_reason="tool_use")
    stream = run(stream_of(answer), JSON_ANSWER)
    assert fold(stream) == to_response(answer, JSON_ANSWER)
    assert "".join(p["text"] for c in stream for p in (c["candidates"][0].get("content") or {}).get("parts", [])) \
        == '{"city":"Paris","days":2}'


def test_a_call_goes_out_whole_with_the_signature_of_the_thinking_before_it() -> None:
    answer = ANSWERS["thinking then call"]
    stream = run(stream_of(answer, size=2), THOUGHTS)
    calls = [part for chunk in stream for part in (chunk["candidates"][0].get("content") or {}).get("parts", [])
             if "functionCall" in part]
    assert calls == [{"functionCall": {"id": "toolu_1", "name": "get_weather", "args": {"city": "Paris"}},
                      "thoughtSignature": calls[0]["thoughtSignature"]}]
    assert thinking_blocks(calls[0]["thoughtSignature"]) == [thinking("Weather needed.", "sig-2")]
    assert stream[-1]["candidates"][0]["finishReason"] == "STOP"


def test_thought_parts_only_when_asked() -> None:
    answer = ANSWERS["thinking then text"]
    hidden = run(stream_of(answer), PLAIN)
    shown = run(stream_of(answer), THOUGHTS)
    assert not any(p.get("thought") for c in hidden for p in (c["candidates"][0].get("content") or {}).get("parts", []))
    assert any(p.get("thought") for c in shown for p in (c["candidates"][0].get("content") or {}).get("parts", []))


def test_usage_on_the_last_chunk() -> None:
    last = run(stream_of(ANSWERS["text"]))[-1]
    assert last["usageMetadata"] == {"promptTokenCount": 117, "candidatesTokenCount": 5, "totalTokenCount": 122,
                                     "cachedContentTokenCount": 100}
    assert machine().tokens() is None
    counted = machine()
    translate(counted, [sse(stream_of(ANSWERS["text"]))])
    assert counted.tokens() == Tokens(117, 5, cache_read=100, cache_write=7)


@pytest.mark.parametrize("name", ["thinking then call", "text"])
def test_byte_splits_change_nothing(name: str) -> None:
    data = sse(stream_of(ANSWERS[name]))
    whole = translate(machine(THOUGHTS), [data])
    assert translate(machine(THOUGHTS), one_byte_pieces(data)) == whole
    for first, second in list(two_piece_splits(data))[::7]:
        assert translate(machine(THOUGHTS), [first, second]) == whole


def test_no_event_lines_and_no_pings() -> None:
    out = translate(machine(), [sse(stream_of(ANSWERS["two texts"]))])
    assert b"event:" not in out
    assert machine().ping() == b"" and machine().start() == b""


def test_a_stream_cut_before_message_stop_is_an_upstream_error() -> None:
    made = machine()
    for event in stream_of(ANSWERS["text"])[:-1]:
        made.on_data(json.dumps(event).encode())
    with pytest.raises(UpstreamProtocolError):
        made.finish()


def test_an_error_event_fails_the_stream() -> None:
    made = machine()
    for event in stream_of(ANSWERS["text"])[:3]:
        made.on_data(json.dumps(event).encode())
    error = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}}
    with pytest.raises(UpstreamStatusError) as caught:
        made.on_data(json.dumps(error).encode())
    assert caught.value.status == 429


def test_fail_writes_googles_error_chunk_once() -> None:
    made = machine()
    out = made.fail(RateLimited("too many"))
    assert chunks(out) == [{"error": {"code": 429, "message": "too many", "status": "RESOURCE_EXHAUSTED"}}]
    assert out.startswith(b'data: {"error":')  # the SDK raises only on a chunk that starts so
    assert made.fail(RateLimited("again")) == b""
