"""Edges of the Converse request the pair cases cannot express: a guardrail (the case format has
no place for one), document names at Bedrock's limits, tool ids, the rules Converse checks on
the whole conversation (botocore's bedrock-runtime model: DocumentBlockNameString max 200,
ToolName [a-zA-Z0-9_-]+, ToolUseId [a-zA-Z0-9_.:-]+ max 64; Bedrock's validation: a
conversation starts with a user message, a document comes with a text block), and what only
some model families take (toolChoice any / tool, toolResult status)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from router.config.schema import Guardrail
from router.routing.compose import build_converters
from router.spokes.bedrock.content import MAX_NAME, document_name
from router.spokes.bedrock.models import keeps_tool_status, tool_choices
from router.spokes.bedrock.request import MAX_ID, dropped_for_family, tool_use_id
from router.spokes.registry import SPOKES
from tests.spokes.bedrock.converse_table import (
    CLAUDE,
    LLAMA,
    NOVA,
    assistant,
    ctx_for,
    hub_request,
    to_converse,
    user,
)
from tests.support.pair_tables import decode_hub

PDF = {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}
# DocumentBlock.name: letters, digits, single whitespace characters, hyphens, parentheses, brackets.
DOCUMENT_NAME = re.compile(r"[A-Za-z0-9\-()\[\]]+(\s[A-Za-z0-9\-()\[\]]+)*")
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
TOOL_USE_ID = re.compile(r"[a-zA-Z0-9_.:-]{1,64}")


def guardrail_config(guardrail: Guardrail, *, stream: bool = False) -> Any:
    return to_converse(hub_request(user("hi"), stream=stream), ctx_for(guardrail=guardrail)).get("guardrailConfig")


# --- the guardrail ------------------------------------------------------------------------------


def test_a_guardrail_with_only_its_id_and_version() -> None:
    assert guardrail_config(Guardrail(id="gr-1", version="1")) == {"guardrailIdentifier": "gr-1",
                                                                   "guardrailVersion": "1"}


def test_the_stream_mode_is_left_out_of_a_unary_request() -> None:
    """Converse's GuardrailConfiguration has no streamProcessingMode: only ConverseStream's has."""
    config = guardrail_config(Guardrail(id="gr-1", version="DRAFT", stream_mode="sync"))
    assert config == {"guardrailIdentifier": "gr-1", "guardrailVersion": "DRAFT"}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_stream_takes_the_stream_mode(mode: str) -> None:
    config = guardrail_config(Guardrail(id="arn:aws:bedrock:us-east-1:1:guardrail/abc", version="2",
                                        trace="enabled_full", stream_mode=mode), stream=True)  # type: ignore[arg-type]
    assert config == {"guardrailIdentifier": "arn:aws:bedrock:us-east-1:1:guardrail/abc", "guardrailVersion": "2",
                      "trace": "enabled_full", "streamProcessingMode": mode}


def test_a_stream_without_a_stream_mode_leaves_bedrocks_default() -> None:
    config = guardrail_config(Guardrail(id="gr-1", version="1", trace="disabled"), stream=True)
    assert config == {"guardrailIdentifier": "gr-1", "guardrailVersion": "1", "trace": "disabled"}


def test_the_guardrail_is_the_same_for_every_family() -> None:
    guardrail = Guardrail(id="gr-1", version="1")
    out = to_converse(hub_request(user("hi")), ctx_for(LLAMA, guardrail=guardrail))
    assert out["guardrailConfig"] == {"guardrailIdentifier": "gr-1", "guardrailVersion": "1"}


# --- document names -----------------------------------------------------------------------------


@pytest.mark.parametrize("title", [
    "report.pdf", "  leading and trailing  ", "a\u00a0b", "日本語の報告書", "!!!", "", "x" * 300, "a" * 199 + " b",
    "a" * 198 + " :: b", "(v1) [draft] - notes",
])
def test_document_names_are_always_in_bedrocks_alphabet_and_length(title: str) -> None:
    name = document_name({"title": title}, "$.messages[12].content[3]")
    assert DOCUMENT_NAME.fullmatch(name), name
    assert len(name) <= MAX_NAME, len(name)
    assert name.endswith(" 12-3")  # the place keeps two documents of one title apart


def test_a_title_of_only_forbidden_characters_is_named_by_its_place() -> None:
    assert document_name({"title": "!!!"}, "$.messages[1].content[0]") == "document 1-0"
    assert document_name({"title": 42}, "$.messages[1].content[0]") == "document 1-0"


def test_a_document_in_a_tool_result_is_named_by_its_whole_place() -> None:
    assert document_name({"title": "out"}, "$.messages[4].content[1].content[2]") == "out 4-1-2"


def test_documents_of_one_title_in_one_request_get_different_names() -> None:
    body = hub_request(user([{"type": "document", "source": PDF, "title": "a"},
                             {"type": "document", "source": PDF, "title": "a"},
                             {"type": "text", "text": "compare"}]),
                       assistant("ok"),
                       user([{"type": "document", "source": PDF, "title": "a"}, {"type": "text", "text": "and this"}]))
    names = [block["document"]["name"] for turn in to_converse(body)["messages"] for block in turn["content"]
             if "document" in block]
    assert names == ["a 0-0", "a 0-1", "a 2-0"]


# --- tool ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("toolu_01A09q90qw90lq917835lq9", "toolu_01A09q90qw90lq917835lq9"),
    ("call:abc.1-2_x", "call:abc.1-2_x"),
    ("call|1 x", "call_1_x"),
    ("fc/ünï", "fc__n_"),
    ("x" * 100, "x" * MAX_ID),
])
def test_tool_use_id(raw: str, expected: str) -> None:
    assert tool_use_id(raw) == expected
    assert TOOL_USE_ID.fullmatch(tool_use_id(raw))


def test_a_result_matches_its_call_after_both_ids_are_rewritten() -> None:
    call = {"type": "tool_use", "id": "call|1 x", "name": "get_weather", "input": {}}
    result = {"type": "tool_result", "tool_use_id": "call|1 x", "content": "ok"}
    turns = to_converse(hub_request(user("hi"), assistant([call]), user([result])))["messages"]
    assert turns[1]["content"][0]["toolUse"]["toolUseId"] == "call_1_x"
    assert turns[2]["content"][0]["toolResult"]["toolUseId"] == "call_1_x"


# --- what Bedrock checks on the whole conversation ----------------------------------------------


def test_a_document_comes_with_a_text_block() -> None:
    """Bedrock: "A text block must be included when using documents." (a Claude Code PDF read is
    a user turn holding only the document)."""
    turns = to_converse(hub_request(user([{"type": "document", "source": PDF, "title": "a"}])))["messages"]
    assert any("document" in block for block in turns[0]["content"])
    assert any(type(block.get("text")) is str and block["text"].strip() for block in turns[0]["content"])


def test_the_conversation_starts_with_a_user_turn() -> None:
    """Bedrock: "A conversation must start with a user message." An OpenAI client's history may
    open with the assistant's greeting (system, assistant, user)."""
    turns = to_converse(hub_request(assistant("Hi! How can I help?"), user("Hello")))["messages"]
    assert turns[0]["role"] == "user"
    assert any(block.get("text") == "Hi! How can I help?" for turn in turns for block in turn["content"])


def test_tool_results_come_first_in_a_merged_user_turn() -> None:
    call = {"type": "tool_use", "id": "t1", "name": "f", "input": {}}
    body = hub_request(user("go"), assistant([call]), {"role": "system", "content": "Be brief."},
                       user([{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]))
    last = to_converse(body)["messages"][-1]["content"]
    assert list(last[0]) == ["toolResult"]


def test_a_gemini_clients_dotted_tool_names_reach_converse_in_its_alphabet() -> None:
    """A Gemini client's function names may hold dots and colons (`math.add`); Converse's ToolName
    is [a-zA-Z0-9_-]+ (so is the hub's). The Gemini client spoke rewrites them on the way to the
    hub (router.spokes.gemini.client.names), so the spec's name and the history's call reach
    Bedrock rewritten alike; answers map them back (tests/spokes/gemini/client/test_function_names.py)."""
    gemini = {
        "contents": [
            {"role": "user", "parts": [{"text": "add"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "math.add", "args": {"a": 1}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "math.add", "response": {"output": 2}}}]},
        ],
        "tools": [{"functionDeclarations": [{"name": "math.add", "parameters": {"type": "OBJECT"}},
                                            {"name": "srv:tool", "parameters": {"type": "OBJECT"}}]}],
    }
    ctx = ctx_for(CLAUDE)
    src = SPOKES["gemini"].client.request_decoder(json.dumps(gemini).encode())
    out = build_converters("gemini__bedrock", ctx).request.function(src, ctx)
    names = [tool["toolSpec"]["name"] for tool in out["toolConfig"]["tools"]]
    assert all(TOOL_NAME.fullmatch(name) for name in names) and len(set(names)) == 2, names
    call = next(block["toolUse"] for turn in out["messages"] for block in turn["content"] if "toolUse" in block)
    assert call["name"] in names


# --- a document comes with a text block ---------------------------------------------------------

PNG = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}


def document(title: str, **fields: Any) -> dict[str, Any]:
    return {"type": "document", "source": PDF, "title": title, **fields}


def user_turns(body: dict[str, Any], model: str = CLAUDE) -> list[list[dict[str, Any]]]:
    return [turn["content"] for turn in to_converse(body, ctx_for(model))["messages"] if turn["role"] == "user"]


def test_a_lone_document_is_followed_by_a_text_naming_it() -> None:
    [content] = user_turns(hub_request(user([document("report.pdf")])))
    assert content[1:] == [{"text": "(attached document: report pdf 0-0)"}]


def test_several_documents_are_named_in_one_text_after_them() -> None:
    [content] = user_turns(hub_request(user([document("a"), document("b")])))
    assert [list(block) for block in content] == [["document"], ["document"], ["text"]]
    assert content[2] == {"text": "(attached documents: a 0-0, b 0-1)"}


@pytest.mark.parametrize("text", ["Summarize this", "  x  "])
def test_a_turn_with_text_of_its_own_gets_no_note(text: str) -> None:
    [content] = user_turns(hub_request(user([document("a"), {"type": "text", "text": text}])))
    assert content == [{"document": {"format": "pdf", "name": "a 0-0", "source": {"bytes": "JVBERi0x"}}},
                       {"text": text}]


def test_blank_text_does_not_count_as_the_text_block() -> None:
    """Blank text is left out (Converse refuses it), so the turn still needs the note."""
    [content] = user_turns(hub_request(user([document("a"), {"type": "text", "text": " \n"}])))
    assert content[-1] == {"text": "(attached document: a 0-0)"}


def test_a_turn_without_documents_gets_no_note() -> None:
    [content] = user_turns(hub_request(user([{"type": "image", "source": PNG}])))
    assert [list(block) for block in content] == [["image"]]


def test_documents_of_a_merged_turn_are_named_once_after_all_its_blocks() -> None:
    [content] = user_turns(hub_request(user([document("a")]), user([document("b")])))
    assert [list(block) for block in content] == [["document"], ["document"], ["text"]]
    assert content[2] == {"text": "(attached documents: a 0-0, b 1-0)"}


def test_text_from_another_message_of_a_merged_turn_is_enough() -> None:
    """A role:"system" message after the document is the user's words, in the same turn."""
    body = hub_request(user([document("a")]), {"role": "system", "content": "Be brief."})
    [content] = user_turns(body)
    assert content[1:] == [{"text": "Be brief."}]


def test_a_closing_cache_point_stays_last() -> None:
    [content] = user_turns(hub_request(user([document("a", cache_control={"type": "ephemeral"})])))
    assert content[1:] == [{"text": "(attached document: a 0-0)"}, {"cachePoint": {"type": "default"}}]


def test_a_document_in_a_tool_result_is_named_after_the_result() -> None:
    """Claude Code's PDF read: the document comes back inside the tool result, alone."""
    call = {"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "/q3.pdf"}}
    result = {"type": "tool_result", "tool_use_id": "t1", "content": [document("q3.pdf")]}
    turns = user_turns(hub_request(user("read q3.pdf"), assistant([call]), user([result])))
    assert [list(block) for block in turns[1]] == [["toolResult"], ["text"]]
    assert turns[1][1] == {"text": "(attached document: q3 pdf 2-0-0)"}


def test_the_note_is_the_same_on_every_request_of_a_conversation() -> None:
    """Names come from the document's title and place: a longer conversation keeps the earlier
    turns' bytes, so their cache prefix holds."""
    first = hub_request(user([document("a")]))
    later = hub_request(user([document("a")]), assistant("It says hi."), user("thanks"))
    assert user_turns(first)[0] == user_turns(later)[0]


def test_assistant_turns_get_no_note() -> None:
    turns = to_converse(hub_request(user("hi"), assistant("Hello")))["messages"]
    assert turns[1]["content"] == [{"text": "Hello"}]


# --- the conversation starts with a user turn ---------------------------------------------------


def test_an_assistant_first_history_gets_an_opening_user_turn() -> None:
    turns = to_converse(hub_request(assistant("Hi! How can I help?"), user("Hello")))["messages"]
    assert turns == [
        {"role": "user", "content": [{"text": "."}]},
        {"role": "assistant", "content": [{"text": "Hi! How can I help?"}]},
        {"role": "user", "content": [{"text": "Hello"}]},
    ]


def test_the_system_prompt_stays_the_system_prompt() -> None:
    """OpenAI's shape: system, assistant, user; the system prompt is not the opening turn."""
    out = to_converse(hub_request(assistant("Hi!"), user("Hello"), system="Be brief."))
    assert out["system"] == [{"text": "Be brief."}]
    assert [turn["role"] for turn in out["messages"]] == ["user", "assistant", "user"]


def test_a_history_opening_with_a_blank_user_turn_is_repaired_too() -> None:
    """The blank turn is left out (Converse refuses blank text), so the assistant would open."""
    turns = to_converse(hub_request(user(" "), assistant("Hi!"), user("Hello")))["messages"]
    assert [turn["role"] for turn in turns] == ["user", "assistant", "user"]
    assert turns[0]["content"] == [{"text": "."}]


def test_a_mid_conversation_system_message_first_is_the_users_opening() -> None:
    turns = to_converse(hub_request({"role": "system", "content": "Context."}, assistant("Hi!"),
                                    user("Hello")))["messages"]
    assert turns[0] == {"role": "user", "content": [{"text": "Context."}]}
    assert len(turns) == 3


def test_a_user_first_history_is_left_as_it_is() -> None:
    turns = to_converse(hub_request(user("Hello"), assistant("Hi!"), user("Bye")))["messages"]
    assert [turn["content"][0]["text"] for turn in turns] == ["Hello", "Hi!", "Bye"]


def test_an_assistant_prefill_stays_last() -> None:
    """Converse takes a last assistant turn for Claude to continue."""
    turns = to_converse(hub_request(user("Name a colour."), assistant("The colour is")))["messages"]
    assert turns[-1] == {"role": "assistant", "content": [{"text": "The colour is"}]}
    assert len(turns) == 2


def test_a_lone_prefill_gets_the_opening_turn_and_stays_last() -> None:
    turns = to_converse(hub_request(assistant("{")))["messages"]
    assert turns == [{"role": "user", "content": [{"text": "."}]}, {"role": "assistant", "content": [{"text": "{"}]}]


def test_roles_alternate_after_the_opening_turn() -> None:
    call = {"type": "tool_use", "id": "t1", "name": "f", "input": {}}
    body = hub_request(assistant("Hi!"), assistant([call]),
                       user([{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]), user("and?"))
    roles = [turn["role"] for turn in to_converse(body)["messages"]]
    assert roles == ["user", "assistant", "user"]


# --- what only some families take ---------------------------------------------------------------

TOOL = {"name": "get_weather", "input_schema": {"type": "object"}}
MISTRAL_LARGE = "mistral.mistral-large-2407-v1:0"
APPLICATION_PROFILE = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abc123"
ANY = {"type": "any"}
FORCED = {"type": "tool", "name": "get_weather"}
AUTO = {"type": "auto"}


def tool_choice(model: str, choice: dict[str, Any]) -> Any:
    out = to_converse(hub_request(user("weather?"), tools=[TOOL], tool_choice=choice), ctx_for(model))
    return out["toolConfig"].get("toolChoice")


@pytest.mark.parametrize(("model", "choice", "expected"), [
    (CLAUDE, ANY, {"any": {}}),
    (CLAUDE, FORCED, {"tool": {"name": "get_weather"}}),
    (CLAUDE, AUTO, {"auto": {}}),
    (NOVA, ANY, {"any": {}}),
    (NOVA, FORCED, {"tool": {"name": "get_weather"}}),
    (MISTRAL_LARGE, ANY, {"any": {}}),
    (MISTRAL_LARGE, FORCED, {"any": {}}),  # a tool is still called, maybe another one
    (MISTRAL_LARGE, AUTO, {"auto": {}}),
    (LLAMA, ANY, None),
    (LLAMA, FORCED, None),
    (LLAMA, AUTO, None),  # Converse's default: nothing lost
    (APPLICATION_PROFILE, ANY, None),  # names no family: only what every family takes
])
def test_the_tool_choice_a_family_takes(model: str, choice: dict[str, Any], expected: Any) -> None:
    assert tool_choice(model, choice) == expected


def test_the_tools_stay_when_the_choice_goes() -> None:
    out = to_converse(hub_request(user("weather?"), tools=[TOOL], tool_choice=ANY), ctx_for(LLAMA))
    assert out["toolConfig"] == {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}]}


@pytest.mark.parametrize(("model", "choice", "dropped"), [
    (LLAMA, ANY, ("tool_choice.any",)),
    (LLAMA, FORCED, ("tool_choice.tool",)),
    (MISTRAL_LARGE, FORCED, ("tool_choice.tool",)),
    (MISTRAL_LARGE, ANY, ()),
    (LLAMA, AUTO, ()),
    (CLAUDE, FORCED, ()),
    (NOVA, ANY, ()),
])
def test_what_a_family_drops_is_named(model: str, choice: dict[str, Any], dropped: tuple[str, ...]) -> None:
    src = decode_hub(hub_request(user("weather?"), tools=[TOOL], tool_choice=choice))
    assert dropped_for_family(src, ctx_for(model)) == dropped


def test_nothing_is_dropped_without_tools_to_choose_from() -> None:
    src = decode_hub(hub_request(user("hi"), tool_choice=ANY))
    assert dropped_for_family(src, ctx_for(LLAMA)) == ()


@pytest.mark.parametrize(("model", "kinds"), [
    ("us.anthropic.claude-3-5-haiku-20241022-v1:0", {"auto", "any", "tool"}),
    ("apac.amazon.nova-lite-v1:0", {"auto", "any", "tool"}),
    ("mistral.mistral-large-2402-v1:0", {"auto", "any"}),
    ("arn:aws:bedrock:us-west-2::foundation-model/mistral.mistral-large-2407-v1:0", {"auto", "any"}),
    ("mistral.mistral-small-2402-v1:0", set()),
    ("us.meta.llama4-scout-17b-instruct-v1:0", set()),
    ("cohere.command-r-plus-v1:0", set()),
])
def test_tool_choices_by_family(model: str, kinds: set[str]) -> None:
    assert tool_choices(model) == kinds


CALL = {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {}}


def failed_result(model: str, content: Any) -> dict[str, Any]:
    body = hub_request(user("weather?"), assistant([CALL]),
                       user([{"type": "tool_result", "tool_use_id": "t1", "content": content, "is_error": True}]))
    result: dict[str, Any] = to_converse(body, ctx_for(model))["messages"][2]["content"][0]["toolResult"]
    return result


@pytest.mark.parametrize("model", [CLAUDE, NOVA])
def test_claude_and_nova_take_the_error_status(model: str) -> None:
    assert failed_result(model, "boom") == {"toolUseId": "t1", "content": [{"text": "boom"}], "status": "error"}


@pytest.mark.parametrize("model", [LLAMA, MISTRAL_LARGE, APPLICATION_PROFILE])
def test_other_families_read_the_failure_in_the_text(model: str) -> None:
    assert failed_result(model, "boom") == {"toolUseId": "t1", "content": [{"text": "Error: boom"}]}


def test_a_failure_without_text_first_gets_a_text_of_its_own() -> None:
    content = [{"type": "image", "source": PNG}, {"type": "text", "text": "stack trace"}]
    assert failed_result(LLAMA, content)["content"] == [
        {"text": "Error:"}, {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}, {"text": "stack trace"}]


def test_an_empty_failure_says_error_and_no_output() -> None:
    assert failed_result(LLAMA, "")["content"] == [{"text": "Error: (no output)"}]


def test_a_successful_result_is_the_same_for_every_family() -> None:
    body = hub_request(user("weather?"), assistant([CALL]),
                       user([{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}]))
    results = [to_converse(body, ctx_for(model))["messages"][2]["content"][0] for model in (CLAUDE, LLAMA)]
    assert results[0] == results[1] == {"toolResult": {"toolUseId": "t1", "content": [{"text": "sunny"}]}}


@pytest.mark.parametrize(("model", "keeps"), [
    (CLAUDE, True), (NOVA, True), (LLAMA, False), (MISTRAL_LARGE, False), (APPLICATION_PROFILE, False),
])
def test_keeps_tool_status(model: str, keeps: bool) -> None:
    assert keeps_tool_status(model) is keeps
