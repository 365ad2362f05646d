"""Hub answer → GenerateContentResponse: parts, signatures, thoughts shown only when asked, and
what Google's SDK makes of it."""

from __future__ import annotations

from typing import Any

from google.genai import types

from router.spokes.gemini.client.signature import thinking_blocks
from tests.spokes.gemini.client.client_table import to_response
from tests.support.hub_streams import (
    message,
    redacted,
    text,
    thinking,
    tool_use,
)

THOUGHTS = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "generationConfig": {"thinkingConfig": {"includeThoughts": True}}}


def parts(answer: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = answer["candidates"][0]["content"]["parts"]
    return result


def test_the_sdk_reads_the_answer() -> None:
    answer = to_response(message(thinking("hmm"), text("Hi "), text("there."), tool_use("f", {"a": 1})), THOUGHTS)
    parsed = types.GenerateContentResponse.model_validate(answer)
    assert parsed.text == "Hi there."
    assert parsed.function_calls and parsed.function_calls[0].args == {"a": 1} and parsed.function_calls[0].id == "toolu_1"
    assert parsed.candidates and parsed.candidates[0].content and parsed.candidates[0].content.parts
    assert parsed.candidates[0].content.parts[0].thought is True


def test_thinking_rides_on_the_next_part_and_thoughts_show_only_when_asked() -> None:
    hub = message(thinking("one", "s1"), redacted("r1"), tool_use("f", {}))
    hidden = parts(to_response(hub))
    assert [sorted(part) for part in hidden] == [["functionCall", "thoughtSignature"]]
    assert thinking_blocks(hidden[0]["thoughtSignature"]) == [thinking("one", "s1"), redacted("r1")]
    shown = parts(to_response(hub, THOUGHTS))
    assert shown[0] == {"text": "one", "thought": True} and shown[1] == hidden[0]


def test_thinking_after_the_last_part_gets_an_empty_text_part() -> None:
    hub = message(text("Partial"), thinking("more", "s2"), stop_reason="max_tokens")
    answer = to_response(hub)
    assert parts(answer)[0] == {"text": "Partial"}
    assert parts(answer)[1]["text"] == "" and thinking_blocks(parts(answer)[1]["thoughtSignature"])
    assert answer["candidates"][0]["finishReason"] == "MAX_TOKENS"


def test_unsigned_thinking_is_shown_but_not_carried() -> None:
    hub = message({"type": "thinking", "thinking": "no signature"}, text("Done."))
    assert parts(to_response(hub, THOUGHTS)) == [{"text": "no signature", "thought": True}, {"text": "Done."}]


def test_a_call_without_an_id_goes_without_one() -> None:
    block = {"type": "tool_use", "name": "f", "input": None}
    assert parts(to_response(message(block)))[0] == {"functionCall": {"name": "f", "args": {}}}


def test_no_id_in_the_hub_answer_gets_one() -> None:
    hub = {**message(text("x")), "id": None}
    assert to_response(hub)["responseId"].startswith("resp_")
