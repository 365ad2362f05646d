"""Bedrock Converse answer → hub message (router.spokes.bedrock.answer and the [response] table),
and the usage the gateway reads from a Converse answer or a ConverseStream metadata event."""

from __future__ import annotations

import json
from typing import Any

import pytest

from router.config.target import Capabilities, TargetContext
from router.core.errors import UpstreamProtocolError
from router.core.usage import Tokens
from router.spokes.bedrock.usage import read_usage
from tests.spokes.bedrock.converse_table import CLAUDE, converse_answer, ctx_for, to_hub

SIGNATURE = "EqQBCkgIARABGAIiQL0sig=="


def test_a_text_answer() -> None:
    hub = to_hub(converse_answer({"text": "Hello"}, {"text": " world"}))
    assert hub["id"].startswith("msg_bdrk_") and len(hub["id"]) > len("msg_bdrk_")
    assert {key: value for key, value in hub.items() if key != "id"} == {
        "type": "message", "role": "assistant", "model": CLAUDE,
        "content": [{"type": "text", "text": "Hello world"}],
        "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 0,
                  "cache_creation_input_tokens": 0},
    }


def test_ids_are_minted_per_answer() -> None:
    assert to_hub(converse_answer({"text": "a"}))["id"] != to_hub(converse_answer({"text": "a"}))["id"]


def test_the_model_is_the_one_asked_for() -> None:
    """Converse names no model; a target that sends the client's model leaves it to the gateway."""
    passthrough = TargetContext(route="test", upstream="up", model=None, caps=Capabilities())
    assert to_hub(converse_answer({"text": "a"}), passthrough)["model"] == ""


def test_tool_calls() -> None:
    hub = to_hub(converse_answer(
        {"text": "Checking."},
        {"toolUse": {"toolUseId": "tooluse_abc", "name": "get_weather", "input": {"city": "Paris"}}},
        {"toolUse": {"toolUseId": "tooluse_def", "name": "now", "input": {}}},
        stop="tool_use"))
    assert hub["content"] == [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "tooluse_abc", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "tooluse_def", "name": "now", "input": {}},
    ]
    assert hub["stop_reason"] == "tool_use"


def test_reasoning_becomes_thinking_with_its_signature_and_redacted_thinking() -> None:
    hub = to_hub(converse_answer(
        {"reasoningContent": {"reasoningText": {"text": "Let me see.", "signature": SIGNATURE}}},
        {"reasoningContent": {"redactedContent": "RURBQ1RFRA=="}},
        {"text": "42"}))
    assert hub["content"] == [
        {"type": "thinking", "thinking": "Let me see.", "signature": SIGNATURE},
        {"type": "redacted_thinking", "data": "RURBQ1RFRA=="},
        {"type": "text", "text": "42"},
    ]


def test_unsigned_reasoning_pieces_make_one_thinking_block() -> None:
    hub = to_hub(converse_answer(
        {"reasoningContent": {"reasoningText": {"text": "a"}}},
        {"reasoningContent": {"reasoningText": {"text": "b", "signature": SIGNATURE}}},
        {"text": "ok"}))
    assert hub["content"][0] == {"type": "thinking", "thinking": "ab", "signature": SIGNATURE}


def test_blocks_the_hub_has_no_place_for_are_left_out() -> None:
    hub = to_hub(converse_answer(
        {"citationsContent": {"content": [{"text": "x"}], "citations": []}},
        {"image": {"format": "png", "source": {"bytes": "AAAA"}}},
        {"text": "done"}))
    assert hub["content"] == [{"type": "text", "text": "done"}]


@pytest.mark.parametrize(("converse", "hub"), [
    ("end_turn", "end_turn"), ("tool_use", "tool_use"), ("max_tokens", "max_tokens"),
    ("stop_sequence", "stop_sequence"), ("guardrail_intervened", "refusal"), ("content_filtered", "refusal"),
    ("model_context_window_exceeded", "model_context_window_exceeded"), ("something_new", "end_turn"),
])
def test_stop_reasons(converse: str, hub: str) -> None:
    assert to_hub(converse_answer({"text": "a"}, stop=converse))["stop_reason"] == hub


@pytest.mark.parametrize("reason", ["malformed_model_output", "malformed_tool_use"])
def test_a_malformed_answer_is_an_upstream_error(reason: str) -> None:
    with pytest.raises(UpstreamProtocolError, match=reason):
        to_hub(converse_answer({"text": "a"}, stop=reason))


def test_the_stop_sequence_claude_was_asked_to_name() -> None:
    hub = to_hub(converse_answer({"text": "a"}, stop="stop_sequence",
                                 additionalModelResponseFields={"stop_sequence": "END"}))
    assert (hub["stop_reason"], hub["stop_sequence"]) == ("stop_sequence", "END")
    odd = to_hub(converse_answer({"text": "a"}, additionalModelResponseFields={"stop_sequence": 3}))
    assert odd["stop_sequence"] is None


def test_cached_usage_is_apart_from_input_as_anthropic_counts_it() -> None:
    usage = {"inputTokens": 12, "outputTokens": 30, "totalTokens": 1142,
             "cacheReadInputTokens": 1000, "cacheWriteInputTokens": 100}
    hub = to_hub(converse_answer({"text": "a"}, usage=usage))
    assert hub["usage"] == {"input_tokens": 12, "output_tokens": 30, "cache_read_input_tokens": 1000,
                            "cache_creation_input_tokens": 100}


def test_extra_fields_are_ignored() -> None:
    hub = to_hub(converse_answer({"text": "a"}, trace={"guardrail": {}}, performanceConfig={"latency": "optimized"},
                                 serviceTier={"type": "priority"}, somethingNew=1), ctx_for())
    assert hub["content"] == [{"type": "text", "text": "a"}]


def test_an_answer_without_content() -> None:
    hub = to_hub({"output": {"message": {"role": "assistant", "content": []}}, "stopReason": "guardrail_intervened",
                  "usage": {"inputTokens": 3, "outputTokens": 0, "totalTokens": 3}, "metrics": {"latencyMs": 1}})
    assert (hub["content"], hub["stop_reason"]) == ([], "refusal")


# --- read_usage ---------------------------------------------------------------------------------


def _raw(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode()


def test_read_usage_from_a_unary_answer_and_a_metadata_event() -> None:
    usage = {"inputTokens": 12, "outputTokens": 30, "totalTokens": 1142, "cacheReadInputTokens": 1000,
             "cacheWriteInputTokens": 100}
    assert read_usage(_raw(converse_answer({"text": "a"}, usage=usage))) == Tokens(1112, 30, cache_read=1000, cache_write=100)
    assert read_usage(_raw({"usage": usage, "metrics": {"latencyMs": 5}})) == Tokens(1112, 30, 1000, 100)
    assert read_usage(_raw({"usage": {"inputTokens": 4, "outputTokens": 2, "totalTokens": 6}})) == Tokens(4, 2)
    assert read_usage(_raw({"metrics": {"latencyMs": 5}})) is None
