"""Gemini request → hub request: the Gemini CLI's recorded requests, and the rules the pair cases
do not show one by one (accounting, call ids, signatures, thinking left off)."""

from __future__ import annotations

from typing import Any

import pytest

from router.config.target import Capabilities
from router.core.errors import InvalidRequest
from router.hub.messages import AnthropicMessage
from router.mapping.accounting import account
from router.spokes.gemini.client import view
from router.spokes.gemini.client.calls import CallIds, invented_id
from router.spokes.gemini.client.signature import (
    PREFIX,
    thinking_blocks,
    thought_signature,
)
from router.spokes.gemini.client.tools import dropped_tools
from router.spokes.gemini.request_wire import GenerateContentRequest
from tests.spokes.gemini.client.client_table import (
    ctx_for,
    decode,
    fixture,
    needs_fixtures,
    spec,
    to_hub,
)

HI = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
THINK = {"thinkingConfig": {"thinkingBudget": 2048}}


def test_every_field_is_accounted_for() -> None:
    assert account(spec(), "request", GenerateContentRequest).problems() == []
    assert account(spec(), "response", AnthropicMessage).problems() == []


# --- the Gemini CLI's recordings ---------------------------------------------------------------------


@needs_fixtures
def test_the_classifier_call_is_a_forced_json_answer_without_thinking() -> None:
    body = fixture("plain", 0)["body"]
    hub = to_hub(body)
    assert hub["tool_choice"] == {"type": "tool", "name": "json_response"}
    schema = hub["tools"][-1]["input_schema"]
    assert schema["type"] == "object" and schema["properties"]["complexity_score"]["type"] == "integer"
    assert "thinking" not in hub  # forced tool use: Anthropic refuses thinking with it
    assert hub["system"].startswith("\nYou are a specialized Task Routing AI")


@needs_fixtures
def test_the_main_turn_thinks_at_the_level_asked() -> None:
    hub = to_hub(fixture("plain", 1)["body"], stream=True)
    assert hub["thinking"] == {"type": "enabled", "budget_tokens": 24576} and hub["stream"] is True
    assert "temperature" not in hub and "top_k" not in hub
    assert [block["text"] for block in hub["messages"][0]["content"]][-1] == "say hi"
    assert all(tool["input_schema"]["type"] == "object" for tool in hub["tools"])


@needs_fixtures
def test_the_tool_turn_keeps_the_clis_call_id_and_drops_the_foreign_signature() -> None:
    hub = to_hub(fixture("tool", 2)["body"])
    call, result = hub["messages"][1], hub["messages"][2]
    assert call["content"] == [{"type": "tool_use", "id": "run_shell_command_1795314643391_0", "name": "run_shell_command",
                                "input": {"command": "echo hi", "description": "Print hi"}}]
    assert result["content"][0]["tool_use_id"] == "run_shell_command_1795314643391_0"
    assert "thinking" not in hub  # the tool loop's model turn has no thinking of ours to start with


@needs_fixtures
def test_flash_asks_a_budget() -> None:
    hub = to_hub(fixture("plain-model-flash", 0)["body"])
    assert hub["thinking"]["budget_tokens"] == 8192 and hub["max_tokens"] > 8192


# --- ids ---------------------------------------------------------------------------------------------


def test_invented_ids_come_from_the_place() -> None:
    assert invented_id("$.contents[3].parts[1]") == "toolu_gemini_3_1"
    calls = CallIds()
    first = calls.call_id(None, "f", "$.contents[1].parts[0]")
    second = calls.call_id(None, "f", "$.contents[1].parts[1]")
    assert (calls.response_id(None, "f", "x[2].y[0]"), calls.response_id(None, "f", "x[2].y[1]")) == (first, second)
    assert calls.response_id(None, "f", "$.contents[4].parts[0]") == "toolu_gemini_4_0"  # answers nothing


def test_a_response_with_an_id_answers_that_call() -> None:
    calls = CallIds()
    calls.call_id("a", "f", "p[0]")
    calls.call_id("b", "f", "p[1]")
    assert calls.response_id("b", "f", "q") == "b"
    assert calls.response_id(None, "f", "q") == "a"


# --- signatures --------------------------------------------------------------------------------------


def test_signatures_round_trip_and_refuse_what_is_not_ours() -> None:
    blocks = [{"type": "thinking", "thinking": "t", "signature": "router:up"}, {"type": "redacted_thinking", "data": "x"}]
    signature = thought_signature(blocks)
    assert signature.startswith(PREFIX) and thinking_blocks(signature) == blocks
    url_safe = signature.replace("+", "-").replace("/", "_").rstrip("=")
    assert thinking_blocks(url_safe) == blocks  # as the Python SDK writes bytes back
    assert thinking_blocks("skip_thought_signature_validator") is None
    assert thinking_blocks(PREFIX + "!!!") is None
    assert thinking_blocks(None) is None


def test_the_sdk_reads_our_signature_as_bytes_and_writes_it_back() -> None:
    types = pytest.importorskip("google.genai.types")
    signature = thought_signature([{"type": "thinking", "thinking": "t", "signature": "s"}])
    part = types.Part.model_validate({"text": "x", "thoughtSignature": signature})
    back = part.model_dump(mode="json", by_alias=True, exclude_none=True)["thoughtSignature"]
    assert thinking_blocks(back) == thinking_blocks(signature)


# --- thinking ----------------------------------------------------------------------------------------


def _with(body: dict[str, Any], **config: Any) -> dict[str, Any]:
    return {**body, "generationConfig": config}


def test_thinking_off_with_a_forced_tool() -> None:
    body = {**_with(HI, **THINK), "tools": [{"functionDeclarations": [{"name": "f"}]}],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}}
    assert "thinking" not in to_hub(body)


def test_include_thoughts_alone_asks_for_dynamic_thinking() -> None:
    hub = to_hub(_with(HI, thinkingConfig={"includeThoughts": True}))
    assert hub["thinking"]["budget_tokens"] == Capabilities().thinking_budgets.medium


def test_a_small_budget_is_raised_to_anthropics_minimum() -> None:
    assert to_hub(_with(HI, thinkingConfig={"thinkingBudget": 10}))["thinking"]["budget_tokens"] == 1024


def test_an_unknown_thinking_level_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="thinkingLevel"):
        to_hub(_with(HI, thinkingConfig={"thinkingLevel": "EXTREME"}))


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="functionCallingConfig.mode"):
        to_hub({**HI, "toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}}})


@pytest.mark.parametrize(("parts", "where"), [
    ("x", "$.contents[0].parts"),
    (["x"], "$.contents[0].parts[0]"),
    ([{"functionCall": {"args": {}}}], "$.contents[0].parts[0].functionCall"),
    ([{"inlineData": {"data": "AA"}}], "$.contents[0].parts[0].inlineData"),
    ([{"text": 3}], "$.contents[0].parts[0].text"),
])
def test_bad_parts_name_their_path(parts: Any, where: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        to_hub({"contents": [{"role": "user", "parts": parts}]})
    assert caught.value.message.endswith(f"`{where}`")


def test_the_target_model_or_the_paths() -> None:
    assert to_hub(HI, ctx_for(model=None))["model"] == "gemini-test"
    assert to_hub(HI)["model"] == "claude-test"


# --- dropped, and what conditions read ---------------------------------------------------------------


def test_dropped_names_builtin_tools_and_safety_settings() -> None:
    src = decode({**HI, "tools": [{"googleSearch": {}}, {"functionDeclarations": [{"name": "f"}]}, {"codeExecution": {}},
                                  {"googleSearch": {}}], "safetySettings": [{"category": "X", "threshold": "Y"}]})
    assert dropped_tools(src) == ("googleSearch", "codeExecution", "safetySettings")
    assert dropped_tools(decode(HI)) == ()


def test_view() -> None:
    plain = decode(HI)
    assert not view.thinking(plain) and not view.images(plain) and not view.tools(plain)
    assert view.input_tokens(plain) > 0
    rich = decode({"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": "AA"}}]}],
                   "tools": [{"functionDeclarations": [{"name": "f"}]}], "generationConfig": THINK})
    assert view.thinking(rich) and view.images(rich) and view.tools(rich)
    assert not view.thinking(decode(_with(HI, thinkingConfig={"thinkingBudget": 0})))
    broken = decode({"contents": [{"role": "robot", "parts": [{"text": "hello"}]}]})
    assert view.input_tokens(broken) > 0  # still routed, on a cruder count
