"""Gemini answer → hub message: the rules the pair cases leave to one place (failed calls, error
statuses, parts merged into blocks, the CLI's recorded answer)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from router.core.errors import UpstreamProtocolError, UpstreamStatusError
from router.spokes.gemini.answer_wire import ErrorStatus
from router.spokes.gemini.upstream.answer import failure
from router.spokes.gemini.upstream.signature import signature_for
from tests.spokes.gemini.upstream.upstream_table import to_hub

FIXTURES = Path(__file__).resolve().parents[4].parent / "shared" / "fixtures" / "gemini-cli"


def _answer(parts: list[dict[str, Any]], finish: str = "STOP", **candidate: Any) -> dict[str, Any]:
    return {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish, **candidate}]}


@pytest.mark.parametrize("reason", ["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL"])
def test_a_failed_call_is_an_upstream_error(reason: str) -> None:
    with pytest.raises(UpstreamProtocolError, match=f"{reason}: Malformed function call: x"):
        to_hub(_answer([], reason, finishMessage="Malformed function call: x"))


def test_parts_of_a_kind_make_one_block_and_a_signature_ends_a_thought() -> None:
    message = to_hub(_answer([
        {"text": "a", "thought": True}, {"text": "b", "thought": True, "thoughtSignature": "UzE="},
        {"text": "c", "thought": True}, {"text": "x"}, {"text": "y"}]))
    assert message["content"] == [
        {"type": "thinking", "thinking": "ab", "signature": signature_for("up", "UzE=")},
        {"type": "thinking", "thinking": "c", "signature": ""},
        {"type": "text", "text": "xy"},
    ]


def test_a_signature_on_text_after_text_splits_it() -> None:
    message = to_hub(_answer([{"text": "a"}, {"text": "b", "thoughtSignature": "UzI="}]))
    assert [block["type"] for block in message["content"]] == ["text", "thinking", "text"]


def test_only_the_first_candidate_is_read() -> None:
    answer = _answer([{"text": "one"}])
    answer["candidates"].append({"content": {"role": "model", "parts": [{"text": "two"}]}, "finishReason": "STOP"})
    assert to_hub(answer)["content"] == [{"type": "text", "text": "one"}]


@pytest.mark.parametrize(("error", "status"), [
    (ErrorStatus(code=429, message="slow down", status="RESOURCE_EXHAUSTED"), 429),
    (ErrorStatus(message="busy", status="UNAVAILABLE"), 529),
    (ErrorStatus(code=500, message="oops", status="INTERNAL"), 500),
])
def test_stream_errors_keep_statuses_clients_back_off_on(error: ErrorStatus, status: int) -> None:
    raised = failure(error)
    assert isinstance(raised, UpstreamStatusError) and raised.status == status


def test_other_stream_errors_are_the_upstreams_failure() -> None:
    raised = failure(ErrorStatus(code=400, message="bad", status="INVALID_ARGUMENT"))
    assert isinstance(raised, UpstreamProtocolError) and "bad" in raised.message


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures not beside the checkout")
def test_the_clis_recorded_json_answer() -> None:
    recorded = json.loads((FIXTURES / "plain" / "0001-gemini_generateContent.json").read_text("utf-8"))
    message = to_hub(recorded["response"]["body"])
    assert [block["type"] for block in message["content"]] == ["thinking", "text"]
    assert json.loads(message["content"][1]["text"]) == {"complexity_reasoning": "x", "complexity_score": 1}
    assert message["id"] == "msg_fake-resp-0001" and message["stop_reason"] == "end_turn"
    assert message["usage"]["input_tokens"] == 877 and message["usage"]["output_tokens"] == 30
