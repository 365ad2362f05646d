"""Hub (Anthropic) request → Responses request: every rule of schemas/responses.upstream.toml,
real Claude Code requests, the field accounting, and route ops on the result."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from router.config.schema import DropOp, SetOp
from router.config.target import Capabilities
from router.core.errors import InvalidRequest
from router.hub.messages import MessagesRequest
from router.mapping.accounting import account
from router.mapping.expr import Call, parse_expr
from router.spokes.responses.upstream import request
from router.spokes.responses.upstream.signature import signature_for
from router.spokes.tables import read_pair_text
from tests.spokes.responses.upstream.upstream_table import ctx_for, spec, to_upstream

CLAUDE_CODE = Path(__file__).resolve().parents[4].parent / "shared" / "fixtures" / "claude-code"  # ../shared beside the repo
FIXTURE_FILES = sorted(CLAUDE_CODE.glob("*/*.json")) if CLAUDE_CODE.is_dir() else []
NO_REASONING = Capabilities()
REASONING = Capabilities(reasoning="effort")


def body(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"model": "claude-x", "max_tokens": 1000, "messages": [{"role": "user", "content": "Hi"}]}
    return base | fields


def items(**fields: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = to_upstream(body(**fields))["input"]
    return result


# --- the table -----------------------------------------------------------------------------------


def test_functions_are_exactly_what_the_request_table_calls() -> None:
    table = tomllib.loads(read_pair_text("responses.upstream"))["request"]
    called: set[str] = set()
    for value in table.values():
        expr, _ = parse_expr(value if isinstance(value, str) else value["from"], request.FUNCTIONS)
        if isinstance(expr, Call):
            called.add(expr.func)
    assert called == set(request.FUNCTIONS)
    assert isinstance(request.FUNCTIONS, MappingProxyType)


@pytest.mark.parametrize("section", ["request", "response"])
def test_every_input_field_is_accounted_for(section: str) -> None:
    from router.spokes.responses.answer_wire import ResponseObject
    struct = MessagesRequest if section == "request" else ResponseObject
    problems = account(spec(), section, struct).problems()
    assert not problems, "\n".join(problems)


def test_the_smallest_request() -> None:
    assert to_upstream(body()) == {
        "model": "gpt-test", "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}],
        "max_output_tokens": 1000, "store": False, "stream": False,
    }


def test_model_falls_back_to_the_clients() -> None:
    assert to_upstream(body(), ctx_for(model=None))["model"] == "claude-x"


# --- instructions and messages -------------------------------------------------------------------


def test_system_blocks_become_instructions() -> None:
    system = [{"type": "text", "text": "A"}, {"type": "text", "text": "B", "cache_control": {"type": "ephemeral"}}]
    assert to_upstream(body(system=system))["instructions"] == "A\n\nB"
    assert to_upstream(body(system="Be brief."))["instructions"] == "Be brief."
    assert "instructions" not in to_upstream(body(system=[]))


def test_a_system_message_stays_where_it_was_said() -> None:
    out = items(messages=[{"role": "user", "content": "a"}, {"role": "system", "content": "note"},
                          {"role": "user", "content": "b"}])
    assert [item["role"] for item in out] == ["user", "system", "user"]
    assert out[1]["content"] == [{"type": "input_text", "text": "note"}]


def test_assistant_turn_becomes_reasoning_message_and_calls_in_order() -> None:
    ctx = ctx_for()
    signature = signature_for(ctx.upstream, "rs_7", "ENC")
    out = items(messages=[
        {"role": "user", "content": "list /tmp"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "I should list it.", "signature": signature},
            {"type": "text", "text": "Listing."},
            {"type": "text", "text": "Now."},
            {"type": "tool_use", "id": "toolu_1", "name": "ls", "input": {"path": "/tmp"}},
            {"type": "tool_use", "id": "toolu_2", "name": "pwd"},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "/"}], "is_error": True},
            {"type": "text", "text": "go on"},
        ]},
    ])
    assert out[1:] == [
        {"type": "reasoning", "id": "rs_7", "summary": [{"type": "summary_text", "text": "I should list it."}],
         "encrypted_content": "ENC"},
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "Listing."}, {"type": "output_text", "text": "Now."}]},
        {"type": "function_call", "call_id": "toolu_1", "name": "ls", "arguments": '{"path":"/tmp"}'},
        {"type": "function_call", "call_id": "toolu_2", "name": "pwd", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "toolu_1", "output": "a.txt"},
        {"type": "function_call_output", "call_id": "toolu_2", "output": "Error: /"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go on"}]},
    ]


@pytest.mark.parametrize("signature", [
    "EqQBCkYIBxgCKkD-anthropic-signature",          # Anthropic's
    "router:up",                                      # the OpenAI Chat spoke's
    signature_for("other-upstream", "rs_1", "ENC"),  # another Responses upstream's
    signature_for("up", "rs_1", ""),                 # ours, without encrypted content
    None,
])
def test_thinking_not_issued_by_this_upstream_is_never_sent(signature: str | None) -> None:
    block: dict[str, Any] = {"type": "thinking", "thinking": "hm"}
    if signature is not None:
        block["signature"] = signature
    out = items(messages=[{"role": "user", "content": "q"},
                          {"role": "assistant", "content": [block, {"type": "text", "text": "A"}]}])
    assert [item["type"] for item in out] == ["message", "message"]


def test_redacted_thinking_and_server_tools_are_left_out() -> None:
    out = items(messages=[{"role": "user", "content": "q"}, {"role": "assistant", "content": [
        {"type": "redacted_thinking", "data": "xx"},
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
        {"type": "text", "text": "A"}]}])
    assert out[1] == {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "A"}]}


def test_assistant_string_content_and_empty_turns() -> None:
    out = items(messages=[{"role": "user", "content": "q"}, {"role": "assistant", "content": "A"},
                          {"role": "assistant", "content": ""}, {"role": "assistant", "content": []}])
    assert out[1:] == [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "A"}]}]


def test_images_documents_and_search_results() -> None:
    content = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
        {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
        {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"},
         "title": "spec.pdf"},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain"}, "title": "T"},
        {"type": "document", "source": {"type": "url", "url": "https://x/doc.pdf"}},
        {"type": "search_result", "title": "R", "source": "https://r", "content": [{"type": "text", "text": "body"}]},
        {"type": "brand_new_block"},
    ]
    parts = items(messages=[{"role": "user", "content": content}])[0]["content"]
    assert parts == [
        {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "auto"},
        {"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"},
        {"type": "input_text", "text": "[image omitted: its source type cannot be sent to this model]"},
        {"type": "input_file", "filename": "spec.pdf", "file_data": "data:application/pdf;base64,JVBER"},
        {"type": "input_text", "text": "T\n\nplain"},
        {"type": "input_file", "file_url": "https://x/doc.pdf"},
        {"type": "input_text", "text": "R\n\nhttps://r\n\nbody"},
    ]


def test_text_only_targets_get_notes_instead_of_media() -> None:
    content = [{"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
               {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}}]
    out = to_upstream(body(messages=[{"role": "user", "content": content}]), ctx_for(Capabilities(vision=False)))
    assert [part["type"] for part in out["input"][0]["content"]] == ["input_text", "input_text"]


def test_tool_results_with_images_are_lists_of_parts() -> None:
    result = {"type": "tool_result", "tool_use_id": "t1", "content": [
        {"type": "text", "text": "see"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j"}}]}
    assert items(messages=[{"role": "user", "content": [result]}]) == [{
        "type": "function_call_output", "call_id": "t1", "output": [
            {"type": "input_text", "text": "see"},
            {"type": "input_image", "image_url": "data:image/jpeg;base64,/9j", "detail": "auto"}]}]
    failed = result | {"is_error": True}
    output = items(messages=[{"role": "user", "content": [failed]}])[0]["output"]
    assert output[0] == {"type": "input_text", "text": "Error:"}


def test_empty_tool_result_and_long_ids() -> None:
    long_id = "x" * 80
    out = items(messages=[
        {"role": "assistant", "content": [{"type": "tool_use", "id": long_id, "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": long_id}]},
    ])
    assert out[0]["call_id"] == out[1]["call_id"] and len(out[0]["call_id"]) <= 64
    assert out[1]["output"] == ""


@pytest.mark.parametrize(("messages", "message"), [
    ([{"role": "user", "content": [{"type": "image"}]}], "missing required field `source` - at `$.messages[0].content[0]`"),
    ([{"role": "user", "content": [{"text": "x"}]}], "missing required field `type` - at `$.messages[0].content[0]`"),
    ([{"role": "assistant", "content": [{"type": "tool_use", "name": "f"}]}], "`id` - at `$.messages[0].content[0]`"),
    ([{"role": "robot", "content": "x"}], "at `$.messages[0].role`"),
    ([{"role": "user", "content": [{"type": "tool_result", "tool_use_id": 3}]}], "at `$.messages[0].content[0].tool_use_id`"),
])
def test_bad_blocks_are_invalid_requests_naming_the_path(messages: list[Any], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message.replace("[", r"\[").replace("]", r"\]").replace("$", r"\$")):
        to_upstream(body(messages=messages))


# --- tools ----------------------------------------------------------------------------------------

TOOLS = [
    {"name": "ls", "description": "List", "input_schema": {"type": "object", "properties": {"p": {"type": "string"}}}},
    {"name": "bare"},
    {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
]


def test_function_tools_and_server_tools_left_out() -> None:
    out = to_upstream(body(tools=TOOLS))
    assert out["tools"] == [
        {"type": "function", "name": "ls", "description": "List",
         "parameters": {"type": "object", "properties": {"p": {"type": "string"}}}, "strict": False},
        {"type": "function", "name": "bare", "parameters": {"type": "object", "properties": {}}, "strict": False},
    ]
    assert "tools" not in to_upstream(body(tools=TOOLS[2:]))


def test_clean_schemas_for_targets_that_ask() -> None:
    tool = {"name": "t", "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                                          "properties": {}, "propertyNames": {"pattern": "x"}}}
    params = to_upstream(body(tools=[tool]), ctx_for(Capabilities(tool_schema="clean")))["tools"][0]["parameters"]
    assert "$schema" not in params and "propertyNames" not in params


@pytest.mark.parametrize(("choice", "expected"), [
    ({"type": "auto"}, "auto"), ({"type": "any"}, "required"), ({"type": "none"}, "none"),
    ({"type": "tool", "name": "ls"}, {"type": "function", "name": "ls"}),
])
def test_tool_choice(choice: dict[str, Any], expected: Any) -> None:
    assert to_upstream(body(tools=TOOLS, tool_choice=choice))["tool_choice"] == expected
    assert "tool_choice" not in to_upstream(body(tool_choice=choice))  # no tools: none sent


def test_tool_choice_tool_needs_a_name() -> None:
    with pytest.raises(InvalidRequest, match="name"):
        to_upstream(body(tools=TOOLS, tool_choice={"type": "tool"}))


def test_parallel_tool_calls_only_false_and_only_with_tools() -> None:
    choice = {"type": "auto", "disable_parallel_tool_use": True}
    assert to_upstream(body(tools=TOOLS, tool_choice=choice))["parallel_tool_calls"] is False
    assert "parallel_tool_calls" not in to_upstream(body(tools=TOOLS))
    assert "parallel_tool_calls" not in to_upstream(body(tool_choice=choice))


# --- reasoning, sampling, user -------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "reasoning"), [
    ({"thinking": {"type": "enabled", "budget_tokens": 2000}}, {"effort": "low", "summary": "auto"}),
    ({"thinking": {"type": "enabled", "budget_tokens": 8000}}, {"effort": "medium", "summary": "auto"}),
    ({"thinking": {"type": "enabled", "budget_tokens": 32000}}, {"effort": "high", "summary": "auto"}),
    ({"thinking": {"type": "enabled"}}, {"effort": "medium", "summary": "auto"}),
    ({"thinking": {"type": "adaptive"}}, {"effort": "medium", "summary": "auto"}),
    ({"thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}}, {"effort": "high", "summary": "auto"}),
    ({"thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}}, {"effort": "low", "summary": "auto"}),
    ({"output_config": {"effort": "high"}}, {"effort": "high"}),
    ({"thinking": {"type": "disabled"}, "output_config": {"effort": "high"}}, None),
    ({"thinking": {"type": "disabled"}}, None),
    ({}, None),
])
def test_reasoning(fields: dict[str, Any], reasoning: dict[str, str] | None) -> None:
    out = to_upstream(body(**fields), ctx_for(REASONING))
    assert out.get("reasoning") == reasoning
    asked = reasoning is not None and "summary" in reasoning
    assert out.get("include") == (["reasoning.encrypted_content"] if asked else None)


def test_targets_that_do_not_reason_get_no_reasoning() -> None:
    out = to_upstream(body(thinking={"type": "adaptive"}, output_config={"effort": "high"}), ctx_for(NO_REASONING))
    assert "reasoning" not in out and "include" not in out


@pytest.mark.parametrize(("asked", "limit", "sent"), [(64000, 32000, 32000), (1000, None, 1000), (1, None, 16),
                                                      (64000, 8, 16)])
def test_max_output_tokens_clamped(asked: int, limit: int | None, sent: int) -> None:
    out = to_upstream(body(max_tokens=asked), ctx_for(Capabilities(max_output_tokens=limit)))
    assert out["max_output_tokens"] == sent


def test_sampling_user_and_what_responses_has_not() -> None:
    out = to_upstream(body(temperature=0.3, top_p=0.9, top_k=5, stop_sequences=["END"], stream=True,
                           metadata={"user_id": "u-1"}))
    assert (out["temperature"], out["top_p"], out["user"], out["stream"], out["store"]) == (0.3, 0.9, "u-1", True, False)
    assert "top_k" not in out and "stop" not in out and "stop_sequences" not in out


def test_long_user_ids_become_a_stable_digest() -> None:
    user_id = json.dumps({"device_id": "d" * 64, "account_uuid": "", "session_id": "s" * 36})
    first = to_upstream(body(metadata={"user_id": user_id}))["user"]
    assert len(first) == 64 and first == to_upstream(body(metadata={"user_id": user_id}))["user"]


def test_route_ops_apply_to_the_responses_request() -> None:
    out = to_upstream(body(temperature=0.3), ops=(DropOp(field="temperature"), SetOp(field="service_tier", value="flex")))
    assert "temperature" not in out and out["service_tier"] == "flex"


# --- real Claude Code requests ---------------------------------------------------------------------


@pytest.mark.skipif(not FIXTURE_FILES, reason="no Claude Code fixtures")
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FIXTURE_FILES])
def test_claude_code_request_converts(path: Path) -> None:
    hub = json.loads(path.read_text("utf-8"))["body"]
    out = to_upstream(hub)
    assert out["stream"] is True and out["store"] is False
    assert out["reasoning"] == {"effort": "medium", "summary": "auto"} or "effort" in out["reasoning"]
    assert out["include"] == ["reasoning.encrypted_content"]
    assert "You are a Claude agent" in out["instructions"]
    assert len(out["user"]) <= 64
    assert [tool["name"] for tool in out["tools"]] == [tool["name"] for tool in hub.get("tools", ())
                                                       if tool.get("type") in (None, "custom")]
    roles = [item.get("role") for item in out["input"] if item["type"] == "message"]
    assert roles[0] == "user"
    assert ("system" in roles) == any(message["role"] == "system" for message in hub["messages"])
    # Claude Code echoes its thinking with Anthropic's signature: never sent to OpenAI.
    assert all(item["type"] != "reasoning" for item in out["input"])
    calls = {item["call_id"] for item in out["input"] if item["type"] == "function_call"}
    outputs = {item["call_id"] for item in out["input"] if item["type"] == "function_call_output"}
    assert outputs <= calls


def test_a_turn_that_only_thought_sends_no_reasoning() -> None:
    """OpenAI rejects a reasoning item without the output that followed it."""
    signature = signature_for("up", "rs_1", "ENC")
    out = items(messages=[{"role": "user", "content": "q"},
                          {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": signature}]},
                          {"role": "user", "content": "continue"}])
    assert [item["type"] for item in out] == ["message", "message"]
