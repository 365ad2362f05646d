"""Hub request → Bedrock Converse request (router.spokes.bedrock.request, content.py and the
[request] table), one rule at a time; the pair cases (tests/cases/*__bedrock) cover whole
conversations from each client."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from router.config.schema import Guardrail
from router.config.target import Capabilities
from router.core.errors import InvalidRequest
from router.spokes.bedrock.content import document_name
from router.spokes.bedrock.models import (
    caches_prompts,
    is_anthropic_model,
    is_nova_model,
)
from router.spokes.bedrock.request import tool_use_id
from router.spokes.common.block_text import (
    FILE_OMITTED,
    IMAGE_OMITTED,
    IMAGE_SOURCE_UNSUPPORTED,
)
from tests.spokes.bedrock.converse_table import (
    LLAMA,
    NOVA,
    assistant,
    ctx_for,
    hub_request,
    to_converse,
    user,
)

PNG = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
PDF = {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}
CALL = {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}
TOOL = {"name": "get_weather", "description": "Weather now", "input_schema": {"type": "object",
        "properties": {"city": {"type": "string"}}}}
SIGNATURE = "EqQBCkgIARABGAIiQL0sig=="


def result(content: Any, **fields: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": "toolu_01", "content": content, **fields}


def messages(body: dict[str, Any], **ctx: Any) -> list[dict[str, Any]]:
    converted: list[dict[str, Any]] = to_converse(body, ctx_for(**ctx))["messages"]
    return converted


# --- the model families -------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "claude", "nova"), [
    ("anthropic.claude-3-5-haiku-20241022-v1:0", True, False),
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", True, False),
    ("global.anthropic.claude-opus-4-5-20251101-v1:0", True, False),
    ("arn:aws:bedrock:us-east-1:1:inference-profile/eu.anthropic.claude-sonnet-4", True, False),
    ("amazon.nova-pro-v1:0", False, True),
    ("us.amazon.nova-2-lite-v1:0", False, True),
    ("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0", False, True),
    ("meta.llama3-3-70b-instruct-v1:0", False, False),
    ("arn:aws:bedrock:us-east-1:1:application-inference-profile/abc123", False, False),
])
def test_model_families(model: str, claude: bool, nova: bool) -> None:
    assert is_anthropic_model(model) is claude
    assert is_nova_model(model) is nova
    assert caches_prompts(model) is (claude or nova)


# --- system, turns, text ------------------------------------------------------------------------


def test_the_model_and_stream_stay_out_of_the_body() -> None:
    out = to_converse(hub_request(user("hi"), stream=True))
    assert out == {"messages": [{"role": "user", "content": [{"text": "hi"}]}],
                   "inferenceConfig": {"maxTokens": 1024}}


def test_system_blocks_with_a_cache_point_and_blank_text_left_out() -> None:
    system = [{"type": "text", "text": "You are terse."}, {"type": "text", "text": "  "},
              {"type": "text", "text": "Big prompt", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    out = to_converse(hub_request(user("hi"), system=system))
    assert out["system"] == [{"text": "You are terse."}, {"text": "Big prompt"},
                             {"cachePoint": {"type": "default", "ttl": "1h"}}]


def test_a_blank_system_string_is_left_out() -> None:
    assert "system" not in to_converse(hub_request(user("hi"), system=" "))


def test_turns_alternate_and_blank_turns_go() -> None:
    body = hub_request(user("one"), user([{"type": "text", "text": "two"}]), assistant(""),
                       assistant([{"type": "text", "text": "three"}]), user("four"))
    assert messages(body) == [
        {"role": "user", "content": [{"text": "one"}, {"text": "two"}]},
        {"role": "assistant", "content": [{"text": "three"}]},
        {"role": "user", "content": [{"text": "four"}]},
    ]


def test_a_system_message_mid_conversation_is_the_users_words() -> None:
    body = hub_request(user("hi"), assistant("hello"), {"role": "system", "content": "Be formal."}, user("bye"))
    assert messages(body)[2] == {"role": "user", "content": [{"text": "Be formal."}, {"text": "bye"}]}


def test_cache_control_on_message_blocks_becomes_cache_points_for_caching_families() -> None:
    body = hub_request(user([{"type": "text", "text": "long", "cache_control": {"type": "ephemeral"}}]))
    assert messages(body)[0]["content"] == [{"text": "long"}, {"cachePoint": {"type": "default"}}]
    assert messages(body, model=NOVA)[0]["content"] == [{"text": "long"}, {"cachePoint": {"type": "default"}}]
    assert messages(body, model=LLAMA)[0]["content"] == [{"text": "long"}]
    caching = Capabilities(cache_control=True)
    assert messages(body, model=LLAMA, caps=caching)[0]["content"][-1] == {"cachePoint": {"type": "default"}}


# --- images and documents -----------------------------------------------------------------------


def test_a_base64_image_goes_as_bytes() -> None:
    body = hub_request(user([{"type": "image", "source": PNG}, {"type": "text", "text": "What?"}]))
    assert messages(body)[0]["content"] == [{"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}},
                                            {"text": "What?"}]


@pytest.mark.parametrize(("url", "expected"), [
    ("s3://bucket/cat.JPG", {"image": {"format": "jpeg", "source": {"s3Location": {"uri": "s3://bucket/cat.JPG"}}}}),
    ("https://example.com/cat.png", {"text": IMAGE_SOURCE_UNSUPPORTED}),
    ("s3://bucket/cat", {"text": IMAGE_SOURCE_UNSUPPORTED}),  # no format Converse could name
])
def test_image_urls(url: str, expected: dict[str, Any]) -> None:
    body = hub_request(user([{"type": "image", "source": {"type": "url", "url": url}}]))
    assert messages(body)[0]["content"] == [expected]


def test_an_image_of_another_format_or_for_a_blind_model_is_a_note() -> None:
    tiff = {"type": "base64", "media_type": "image/tiff", "data": "AAAA"}
    assert messages(hub_request(user([{"type": "image", "source": tiff}])))[0]["content"] == [
        {"text": IMAGE_SOURCE_UNSUPPORTED}]
    blind = Capabilities(vision=False)
    assert messages(hub_request(user([{"type": "image", "source": PNG}])), caps=blind)[0]["content"] == [
        {"text": IMAGE_OMITTED}]


def test_a_pdf_goes_as_a_document_with_a_clean_unique_name() -> None:
    body = hub_request(user([{"type": "document", "source": PDF, "title": "Q3 report: final!!  (v2).pdf"},
                             {"type": "document", "source": PDF, "title": "Q3 report: final!!  (v2).pdf"}]))
    first, second, note = messages(body)[0]["content"]
    assert first == {"document": {"format": "pdf", "name": "Q3 report final (v2) pdf 0-0",
                                  "source": {"bytes": "JVBERi0x"}}}
    assert second["document"]["name"] == "Q3 report final (v2) pdf 0-1"
    assert note == {"text": "(attached documents: Q3 report final (v2) pdf 0-0, Q3 report final (v2) pdf 0-1)"}


def test_document_names_keep_to_bedrocks_alphabet() -> None:
    name = document_name({"title": "a_b\tc\n\nd [x] {y} é-z"}, "$.messages[2].content[5]")
    assert name == "a b c d [x] y -z 2-5"
    assert document_name({}, "$.messages[0].content[1]") == "document 0-1"


def test_documents_of_text_go_as_text_and_others_as_notes() -> None:
    text_doc = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Hello doc"}}
    zip_doc = {"type": "document", "source": {"type": "base64", "media_type": "application/zip", "data": "UEs="}}
    web_doc = {"type": "document", "source": {"type": "url", "url": "https://x.test/a.pdf"}}
    s3_doc = {"type": "document", "source": {"type": "url", "url": "s3://b/k/report.docx"}}
    content = messages(hub_request(user([text_doc, zip_doc, web_doc, s3_doc])))[0]["content"]
    assert content[0]["text"].endswith("Hello doc")
    assert content[1:3] == [{"text": FILE_OMITTED}, {"text": FILE_OMITTED}]
    assert content[3] == {"document": {"format": "docx", "name": "document 0-3",
                                       "source": {"s3Location": {"uri": "s3://b/k/report.docx"}}}}


def test_unknown_blocks_are_left_out() -> None:
    body = hub_request(user([{"type": "hologram"}, {"type": "text", "text": "hi"}]))
    assert messages(body)[0]["content"] == [{"text": "hi"}]


# --- tools --------------------------------------------------------------------------------------


def test_tools_and_choices() -> None:
    tools = [TOOL, {**TOOL, "name": "no_args", "description": "", "input_schema": None,
                    "cache_control": {"type": "ephemeral"}},
             {"type": "web_search_20250305", "name": "web_search"}]
    out = to_converse(hub_request(user("hi"), tools=tools, tool_choice={"type": "any"}))
    assert out["toolConfig"] == {
        "tools": [
            {"toolSpec": {"name": "get_weather", "description": "Weather now",
                          "inputSchema": {"json": TOOL["input_schema"]}}},
            {"toolSpec": {"name": "no_args", "inputSchema": {"json": {"type": "object"}}}},
            {"cachePoint": {"type": "default"}},
        ],
        "toolChoice": {"any": {}},
    }


@pytest.mark.parametrize(("choice", "expected"), [
    ({"type": "auto"}, {"auto": {}}),
    ({"type": "tool", "name": "get_weather"}, {"tool": {"name": "get_weather"}}),
    ({"type": "auto", "disable_parallel_tool_use": True}, {"auto": {}}),
])
def test_tool_choice(choice: dict[str, Any], expected: dict[str, Any]) -> None:
    out = to_converse(hub_request(user("hi"), tools=[TOOL], tool_choice=choice))
    assert out["toolConfig"]["toolChoice"] == expected


def test_tool_choice_none_leaves_the_tools_out() -> None:
    out = to_converse(hub_request(user("hi"), tools=[TOOL], tool_choice={"type": "none"}))
    assert "toolConfig" not in out


def test_tool_choice_none_keeps_only_what_the_history_needs() -> None:
    other = {"name": "other", "input_schema": {"type": "object"}}
    body = hub_request(user("weather?"), assistant([CALL]), user([result("sunny")]),
                       tools=[TOOL, other], tool_choice={"type": "none"})
    assert to_converse(body)["toolConfig"] == {"tools": [
        {"toolSpec": {"name": "get_weather", "description": "Weather now", "inputSchema": {"json": TOOL["input_schema"]}}},
    ]}


def test_a_history_with_tool_blocks_declares_its_tools_without_tools_in_the_request() -> None:
    body = hub_request(user("weather?"), assistant([CALL]), user([result("sunny")]))
    assert to_converse(body)["toolConfig"] == {
        "tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}]}


def test_results_whose_calls_were_cut_off_still_declare_a_tool() -> None:
    body = hub_request(user([result("sunny")]))
    assert to_converse(body)["toolConfig"] == {
        "tools": [{"toolSpec": {"name": "tool", "inputSchema": {"json": {"type": "object"}}}}]}
    body = hub_request(user([result("sunny")]), tools=[TOOL], tool_choice={"type": "none"})
    assert to_converse(body)["toolConfig"]["tools"][0]["toolSpec"]["name"] == "tool"


def test_tool_use_and_results_first_in_the_turn() -> None:
    body = hub_request(
        user("weather?"), assistant([{"type": "text", "text": "Looking."}, CALL]),
        user([{"type": "text", "text": "and?"}, result([{"type": "text", "text": "sunny"}, {"type": "image", "source": PNG}],
                                                     is_error=False)]),
        tools=[TOOL])
    turns = messages(body)
    assert turns[1] == {"role": "assistant", "content": [
        {"text": "Looking."},
        {"toolUse": {"toolUseId": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}}]}
    assert turns[2]["content"] == [
        {"toolResult": {"toolUseId": "toolu_01", "content": [
            {"text": "sunny"}, {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}]}},
        {"text": "and?"},
    ]


def test_a_failed_tool_says_error_and_an_empty_result_says_so() -> None:
    turns = messages(hub_request(user("go"), assistant([CALL]), user([result("boom", is_error=True)])))
    assert turns[2]["content"] == [{"toolResult": {"toolUseId": "toolu_01", "content": [{"text": "boom"}],
                                                   "status": "error"}}]
    empties: tuple[Any, ...] = ("", None, [])
    for empty in empties:
        turns = messages(hub_request(user("go"), assistant([CALL]), user([result(empty)])))
        assert turns[2]["content"][0]["toolResult"]["content"] == [{"text": "(no output)"}]


def test_tool_use_ids_keep_to_converses_alphabet_on_both_sides() -> None:
    assert tool_use_id("call:abc.1-2_x") == "call:abc.1-2_x"
    assert tool_use_id("call/abc def") == "call_abc_def"
    assert len(tool_use_id("x" * 100)) == 64
    call = {**CALL, "id": "fc/1 2"}
    turns = messages(hub_request(user("go"), assistant([call]), user([{**result("ok"), "tool_use_id": "fc/1 2"}])))
    assert turns[1]["content"][0]["toolUse"]["toolUseId"] == turns[2]["content"][0]["toolResult"]["toolUseId"]


def test_bad_tool_blocks_are_refused_naming_the_field() -> None:
    with pytest.raises(InvalidRequest, match=r"\$\.messages\[0\]\.content\[0\]\.input"):
        to_converse(hub_request(assistant([{**CALL, "input": [1]}])))
    with pytest.raises(InvalidRequest, match=r"\$\.tool_choice"):
        to_converse(hub_request(user("hi"), tools=[TOOL], tool_choice={"type": "tool"}))


# --- thinking -----------------------------------------------------------------------------------


def test_thinking_goes_back_with_its_anthropic_signature_and_redacted_as_is() -> None:
    body = hub_request(user("hi"), assistant([
        {"type": "thinking", "thinking": "Let me think.", "signature": SIGNATURE},
        {"type": "redacted_thinking", "data": "RURBQ1RFRA=="},
        {"type": "text", "text": "Hello."}]), user("more"))
    assert messages(body)[1]["content"] == [
        {"reasoningContent": {"reasoningText": {"text": "Let me think.", "signature": SIGNATURE}}},
        {"reasoningContent": {"redactedContent": "RURBQ1RFRA=="}},
        {"text": "Hello."},
    ]


@pytest.mark.parametrize("signature", ["gemini:abc", "responses:rs_1", "", None])
def test_thinking_bedrock_could_not_verify_is_left_out(signature: str | None) -> None:
    body = hub_request(user("hi"), assistant([{"type": "thinking", "thinking": "hmm", "signature": signature},
                                              {"type": "text", "text": "Hello."}]))
    assert messages(body)[1]["content"] == [{"text": "Hello."}]


def test_claude_takes_top_k_thinking_and_effort_in_its_own_spelling() -> None:
    body = hub_request(user("hi"), top_k=40, thinking={"type": "enabled", "budget_tokens": 2048},
                       output_config={"effort": "high"})
    out = to_converse(body)
    assert out["additionalModelRequestFields"] == {"top_k": 40,
                                                   "thinking": {"type": "enabled", "budget_tokens": 2048}}
    assert out["outputConfig"] == {"effort": "high"}
    adaptive = to_converse(hub_request(user("hi"), thinking={"type": "adaptive"}))
    assert adaptive["additionalModelRequestFields"] == {"thinking": {"type": "adaptive"}}
    assert "additionalModelRequestFields" not in to_converse(hub_request(user("hi"), thinking={"type": "disabled"}))


def test_nova_takes_top_k_and_a_reasoning_effort() -> None:
    body = hub_request(user("hi"), top_k=20, thinking={"type": "enabled", "budget_tokens": 10000},
                       output_config={"effort": "high"})
    out = to_converse(body, ctx_for(NOVA))
    assert out["additionalModelRequestFields"] == {"inferenceConfig": {"topK": 20},
                                                   "reasoningConfig": {"type": "enabled", "maxReasoningEffort": "medium"}}
    assert "outputConfig" not in out


def test_other_families_take_top_k_only_when_the_route_says_so() -> None:
    body = hub_request(user("hi"), top_k=20, thinking={"type": "enabled", "budget_tokens": 1024})
    assert "additionalModelRequestFields" not in to_converse(body, ctx_for(LLAMA))
    out = to_converse(body, ctx_for(LLAMA, caps=Capabilities(top_k=True)))
    assert out["additionalModelRequestFields"] == {"top_k": 20}


def test_the_thinking_budget_is_required() -> None:
    with pytest.raises(InvalidRequest, match="budget_tokens"):
        to_converse(hub_request(user("hi"), thinking={"type": "enabled"}))


# --- inferenceConfig, guardrails ----------------------------------------------------------------


def test_inference_config() -> None:
    body = hub_request(user("hi"), max_tokens=64000, temperature=0.2, top_p=0.9, stop_sequences=["END"])
    out = to_converse(body, ctx_for(caps=Capabilities(max_output_tokens=8192)))
    assert out["inferenceConfig"] == {"maxTokens": 8192, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"]}
    assert out["additionalModelResponseFieldPaths"] == ["/stop_sequence"]
    assert "additionalModelResponseFieldPaths" not in to_converse(body, ctx_for(NOVA))


def test_metadata_is_not_sent() -> None:
    out = to_converse(hub_request(user("hi"), metadata={"user_id": "u-1"}))
    assert "requestMetadata" not in out


def test_a_guardrail_and_its_stream_mode_only_on_streams() -> None:
    guardrail = Guardrail(id="gr-1", version="DRAFT", trace="enabled", stream_mode="async")
    ctx = ctx_for(guardrail=guardrail)
    unary = to_converse(hub_request(user("hi")), ctx)
    assert unary["guardrailConfig"] == {"guardrailIdentifier": "gr-1", "guardrailVersion": "DRAFT", "trace": "enabled"}
    streamed = to_converse(hub_request(user("hi"), stream=True), ctx)
    assert streamed["guardrailConfig"]["streamProcessingMode"] == "async"
    assert "guardrailConfig" not in to_converse(hub_request(user("hi")))


def test_the_input_is_not_mutated() -> None:
    body = hub_request(user([{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]),
                       assistant([CALL]), user([result("ok")]), tools=[TOOL])
    before = copy.deepcopy(body)
    to_converse(body)
    assert body == before
