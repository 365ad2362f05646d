"""HubStreamFromGemini: Gemini SSE chunks → hub (Anthropic) events, at every split, folded and
compared with the unary conversion of the same parts; then the edge cases."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from router.core.errors import UpstreamProtocolError, UpstreamStatusError
from router.core.usage import Tokens
from router.spokes.gemini.upstream.signature import signature_for, thought_signature
from router.spokes.gemini.upstream.stream import stream_to_hub
from tests.spokes.gemini.upstream.upstream_table import (
    CTX,
    STOP_VALUES,
    machine,
    sse,
    to_hub,
)
from tests.support.streamcases import (
    Event,
    fold_anthropic,
    one_byte_pieces,
    parse_events,
    translate,
)

FIXTURES = Path(__file__).resolve().parents[4].parent / "shared" / "fixtures" / "gemini-cli"
RECORDED = {f"cli-{p.parent.name}-{p.stem[:4]}": p for p in sorted(FIXTURES.glob("*/*stream*.json"))} \
    if FIXTURES.is_dir() else {}

USAGE = {"promptTokenCount": 120, "candidatesTokenCount": 30, "thoughtsTokenCount": 12,
         "cachedContentTokenCount": 100, "totalTokenCount": 162}


def pieces(text: str, size: int = 5) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def chunks(parts: list[dict[str, Any]], finish: str | None = "STOP", usage: dict[str, Any] | None = None
           ) -> list[dict[str, Any]]:
    """A stream of `parts` the way Gemini sends one: text split across chunks (a thought's
    signature on its last piece, a text's on its first), a call whole, the finish reason and
    usage on the last chunk."""
    out: list[dict[str, Any]] = []
    for part in parts:
        if "text" in part and len(part["text"]) > 5:
            split = pieces(part["text"])
            for number, piece in enumerate(split):
                signed_piece = len(split) - 1 if part.get("thought") else 0
                extra = {k: v for k, v in part.items() if k != "text"} if number == signed_piece else \
                    ({"thought": True} if part.get("thought") else {})
                out.append(_chunk([{"text": piece, **extra}]))
        else:
            out.append(_chunk([part]))
    last = out[-1] if out else _chunk([])
    if not out:
        out.append(last)
    last["candidates"][0]["finishReason"] = finish
    if finish is None:
        del last["candidates"][0]["finishReason"]
    if usage is not None:
        last["usageMetadata"] = usage
    return out


def _chunk(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}],
            "modelVersion": "gemini-up", "responseId": "r1"}


def unary(parts: list[dict[str, Any]], finish: str = "STOP", usage: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish,
                                              "index": 0}], "modelVersion": "gemini-up", "responseId": "r1"}
    if usage is not None:
        answer["usageMetadata"] = usage
    return answer


CALL = {"functionCall": {"id": "c1", "name": "ls", "args": {"path": "/tmp", "q": "a\"b"}}, "thoughtSignature": "U0lH"}
CASES: dict[str, tuple[list[dict[str, Any]], str]] = {
    "text": ([{"text": "Hello there, how are you today?"}], "STOP"),
    "thought_then_text": ([{"text": "Let me think about it.", "thought": True}, {"text": "The answer is 42."}], "STOP"),
    "thought_then_signed_call": ([{"text": "I should list.", "thought": True}, CALL], "STOP"),
    "signed_call_alone": ([CALL], "STOP"),
    "text_then_calls": ([{"text": "Checking."}, CALL, {"functionCall": {"id": "c2", "name": "cat", "args": {}}}],
                        "STOP"),
    "signed_thought": ([{"text": "Deep thought here.", "thought": True, "thoughtSignature": "VEg="},
                        {"text": "Answer."}], "STOP"),
    "text_signature_on_last_empty_part": ([{"text": "All done now."}, {"text": "", "thoughtSignature": "RU5E"}], "STOP"),
    "text_signature_mid_text": ([{"text": "First half. "}, {"text": "Second half.", "thoughtSignature": "TUlE"}],
                                "STOP"),
    "max_tokens": ([{"text": "Cut sho"}], "MAX_TOKENS"),
    "safety": ([{"text": "Hm"}], "SAFETY"),
    "unicode": ([{"text": "naïve \u2028 line 🎉 \"quoted\" \\ back"}], "STOP"),
    "inline_data_left_out": ([{"inlineData": {"mimeType": "image/png", "data": "AAAA"}}, {"text": "A picture."}],
                             "STOP"),
    "empty": ([], "STOP"),
}
STREAMS: dict[str, bytes] = {name: sse(*chunks(parts, finish, USAGE)) for name, (parts, finish) in CASES.items()}


def _run(stream: bytes, pieces_: list[bytes] | None = None) -> list[Event]:
    return parse_events(translate(machine(), pieces_ if pieces_ is not None else [stream]))


def _unminted(message: dict[str, Any]) -> dict[str, Any]:
    for block in message["content"]:
        if block["type"] == "tool_use" and block["id"].startswith("toolu_"):
            block["id"] = "toolu_"
    return message


@pytest.mark.parametrize("name", list(STREAMS))
def test_every_two_piece_split_gives_the_same_bytes(name: str) -> None:
    stream = STREAMS[name]
    whole = translate(machine(), [stream])
    for offset in range(len(stream) + 1):
        assert translate(machine(), [stream[:offset], stream[offset:]]) == whole, f"split at {offset}"


@pytest.mark.parametrize("name", ["text", "thought_then_signed_call"])
def test_one_byte_at_a_time_gives_the_same_bytes(name: str) -> None:
    stream = STREAMS[name]
    assert translate(machine(), one_byte_pieces(stream)) == translate(machine(), [stream])


@pytest.mark.parametrize("name", list(CASES))
def test_folded_stream_equals_the_unary_conversion(name: str) -> None:
    parts, finish = CASES[name]
    assert fold_anthropic(_run(STREAMS[name])) == to_hub(unary(parts, finish, USAGE))


@pytest.mark.parametrize("name", list(RECORDED))
def test_recorded_streams_fold_to_their_unary_conversion(name: str) -> None:
    stream = json.loads(RECORDED[name].read_text("utf-8"))["response"]["sse"].encode()
    events = _run(stream)
    parts = [part for line in stream.split(b"\r\n\r\n") if line
             for part in json.loads(line[len(b"data: "):])["candidates"][0]["content"]["parts"]]
    last = json.loads(stream.rstrip().split(b"\r\n\r\n")[-1][len(b"data: "):])
    expected = to_hub(unary(parts, last["candidates"][0]["finishReason"], last["usageMetadata"])
                      | {"modelVersion": last["modelVersion"], "responseId": last["responseId"]})
    assert _unminted(fold_anthropic(events)) == _unminted(expected)
    whole = _unminted_bytes(translate(machine(), [stream]))
    for offset in range(0, len(stream) + 1, 7):
        assert _unminted_bytes(translate(machine(), [stream[:offset], stream[offset:]])) == whole


def _unminted_bytes(out: bytes) -> bytes:
    return re.sub(rb"toolu_[0-9a-f]{24}", b"toolu_", out)


# --- what the events say -------------------------------------------------------------------------


def test_text_stream_events_in_order() -> None:
    events = _run(STREAMS["text"])
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert names.count("content_block_start") == 1
    start = events[0][1]["message"]
    assert start["id"] == "msg_r1" and start["model"] == "gemini-2.5-pro"
    assert events[-2][1]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert events[-2][1]["usage"] == {"input_tokens": 20, "output_tokens": 42, "cache_read_input_tokens": 100,
                                      "cache_creation_input_tokens": 0}


def test_a_thought_signature_on_a_call_signs_the_open_thinking_block() -> None:
    message = fold_anthropic(_run(STREAMS["thought_then_signed_call"]))
    thinking, call = message["content"]
    assert thinking["thinking"] == "I should list."
    assert thought_signature(thinking["signature"], CTX.upstream) == "U0lH"
    assert call == {"type": "tool_use", "id": "c1", "name": "ls", "input": {"path": "/tmp", "q": 'a"b'}}
    assert message["stop_reason"] == "tool_use"


def test_a_signature_without_thoughts_is_an_empty_thinking_block_before_its_part() -> None:
    message = fold_anthropic(_run(STREAMS["signed_call_alone"]))
    assert [block["type"] for block in message["content"]] == ["thinking", "tool_use"]
    assert message["content"][0] == {"type": "thinking", "thinking": "", "signature": signature_for("up", "U0lH")}


def test_a_signature_on_later_text_splits_the_text_around_it() -> None:
    message = fold_anthropic(_run(STREAMS["text_signature_mid_text"]))
    assert [block["type"] for block in message["content"]] == ["text", "thinking", "text"]
    assert message["content"][2]["text"] == "Second half."


def test_a_call_is_one_whole_json_delta() -> None:
    events = _run(STREAMS["signed_call_alone"])
    deltas = [data["delta"] for name, data in events if name == "content_block_delta"]
    assert [delta["type"] for delta in deltas] == ["signature_delta", "input_json_delta"]
    assert json.loads(deltas[1]["partial_json"]) == {"path": "/tmp", "q": 'a"b'}


def test_a_call_without_an_id_gets_one() -> None:
    stream = sse(*chunks([{"functionCall": {"name": "ls", "args": {}}}]))
    (block,) = fold_anthropic(_run(stream))["content"]
    assert block["id"].startswith("toolu_") and len(block["id"]) > len("toolu_") and block["input"] == {}


@pytest.mark.parametrize(("name", "stop"), [("text", "end_turn"), ("max_tokens", "max_tokens"),
                                            ("safety", "refusal"), ("text_then_calls", "tool_use")])
def test_stop_reasons(name: str, stop: str) -> None:
    assert fold_anthropic(_run(STREAMS[name]))["stop_reason"] == stop


def test_a_blocked_prompt_is_a_refusal() -> None:
    stream = sse({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 9}})
    message = fold_anthropic(_run(stream))
    assert message["content"] == [] and message["stop_reason"] == "refusal"


def test_tokens_are_the_latest_usage() -> None:
    m = machine()
    translate(m, [STREAMS["text"]])
    assert m.tokens() == Tokens(120, 42, cache_read=100)
    assert machine().tokens() is None


def test_stream_to_hub_is_the_factory() -> None:
    m = stream_to_hub(CTX, "m", {"finish_reason": STOP_VALUES})
    assert m.reads == "runs" and m.start() == b""


def test_chunks_after_the_end_are_ignored() -> None:
    stream = STREAMS["text"] + sse(_chunk([{"text": "late"}]))
    assert translate(machine(), [stream]) == translate(machine(), [STREAMS["text"]])


# --- failures ------------------------------------------------------------------------------------


def test_a_stream_that_ends_without_a_finish_reason_is_an_error() -> None:
    m = machine()
    m.on_data(json.dumps(_chunk([{"text": "Hel"}])).encode())
    with pytest.raises(UpstreamProtocolError, match="ended before it finished"):
        m.finish()


def test_an_error_chunk_keeps_a_rate_limit_status() -> None:
    m = machine()
    m.on_data(json.dumps(_chunk([{"text": "Hel"}])).encode())
    error = {"error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}}
    with pytest.raises(UpstreamStatusError) as caught:
        m.on_data(json.dumps(error).encode())
    assert caught.value.status == 429 and "Resource exhausted" in caught.value.message


def test_an_error_chunk_with_another_status_is_a_protocol_error() -> None:
    with pytest.raises(UpstreamProtocolError, match="bad thing"):
        machine().on_data(b'{"error": {"code": 400, "message": "bad thing", "status": "INVALID_ARGUMENT"}}')


@pytest.mark.parametrize("reason", ["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL"])
def test_a_failed_call_is_an_error_not_an_end(reason: str) -> None:
    chunk = _chunk([])
    chunk["candidates"][0] |= {"finishReason": reason, "finishMessage": "Malformed function call: print(x"}
    with pytest.raises(UpstreamProtocolError, match=reason):
        machine().on_data(json.dumps(chunk).encode())


def test_invalid_json_is_a_protocol_error() -> None:
    with pytest.raises(UpstreamProtocolError, match="invalid stream chunk"):
        machine().on_data(b'{"candidates": [')


def test_fail_ends_with_an_error_event_and_nothing_after() -> None:
    m = machine()
    m.on_data(json.dumps(_chunk([{"text": "Hel"}])).encode())
    assert b"event: error" in m.fail(UpstreamProtocolError("boom"))
    assert m.on_data(json.dumps(_chunk([{"text": "more"}])).encode()) == b""
    assert m.fail(UpstreamProtocolError("again")) == b""
