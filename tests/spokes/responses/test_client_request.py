"""Responses client → hub request: every rule of schemas/responses.client.toml [request] and its
functions (input items, parts, tools, tool_choice, text.format, reasoning), on hand-written
bodies and on the real Codex requests in the shared fixtures."""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from router.config.target import Capabilities
from router.core.errors import InvalidRequest
from router.mapping.accounting import account
from router.mapping.compile import compile_variants
from router.mapping.expr import Call, parse_expr
from router.mapping.spec import FALLBACK_TAG
from router.spokes.responses.client import content, items, request, view
from router.spokes.responses.client.complete import dropped_tools
from router.spokes.responses.request_wire import ResponsesRequest
from tests.spokes.responses.client_table import (
    FIXTURE_FILES,
    ctx_for,
    decode,
    fixture_body,
    needs_fixtures,
    spec,
    to_hub,
)

SCHEMA_TABLE = Path(__file__).resolve().parents[3] / "schemas" / "responses.client.toml"
PNG = "iVBORw0KGgo="
PDF = "JVBERi0xLjQ="


def body(*input_items: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "gpt-test", "input": list(input_items) or "Hi", **fields}


def user(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": list(parts)}


def text(value: str, kind: str = "input_text") -> dict[str, Any]:
    return {"type": kind, "text": value}


def call(name: str, arguments: str = "{}", call_id: str = "call_1", **fields: Any) -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments, **fields}


def output(call_id: str = "call_1", result: Any = "ok", kind: str = "function_call_output") -> dict[str, Any]:
    return {"type": kind, "call_id": call_id, "output": result}


def reasoning(summary: str = "Thought.", encrypted: str | None = "sig==") -> dict[str, Any]:
    item: dict[str, Any] = {"type": "reasoning", "summary": [{"type": "summary_text", "text": summary}]}
    if encrypted is not None:
        item["encrypted_content"] = encrypted
    return item


def function_tool(name: str, **fields: Any) -> dict[str, Any]:
    return {"type": "function", "name": name, "parameters": {"type": "object", "properties": {}}, **fields}


# --- the table -----------------------------------------------------------------------------------


def _called(section: str, functions: Any) -> set[str]:
    table = tomllib.loads(SCHEMA_TABLE.read_text("utf-8"))[section]
    called: set[str] = set()
    for entry in table.values():
        expr, _ = parse_expr(entry if isinstance(entry, str) else entry["from"], functions)
        if isinstance(expr, Call):
            called.add(expr.func)
    return called


def test_functions_are_exactly_what_the_table_calls() -> None:
    assert _called("request", request.FUNCTIONS) == set(request.FUNCTIONS)
    assert isinstance(request.FUNCTIONS, MappingProxyType)
    assert isinstance(request.VARIANTS, MappingProxyType)


def test_every_request_field_is_accounted_for() -> None:
    problems = account(spec(), "request", ResponsesRequest).problems()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("name", "module", "dispatch"), [
    ("input_item", items, items.item_converters),
    ("content_part", content, content.part_converters),
])
def test_variant_tables_drive_the_dispatch(name: str, module: Any, dispatch: Any) -> None:
    variants = spec().variants[name]
    assert FALLBACK_TAG in variants and variants[FALLBACK_TAG].function is None
    assert {v.function for v in variants.values() if v.function} == set(module.VARIANTS)
    assert all(v.reason for v in variants.values() if v.function is None)
    assert dict(dispatch()) == dict(compile_variants(variants, module.VARIANTS))


# --- the Codex fixtures --------------------------------------------------------------------------


@needs_fixtures
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[f"{p.parent.name}/{p.name[:4]}" for p in FIXTURE_FILES])
def test_every_codex_request_converts(path: Path) -> None:
    codex = fixture_body(path.parent.name, sorted(path.parent.glob("*.json")).index(path))
    hub = to_hub(codex)
    assert hub["model"] == "claude-test" and hub["stream"] is True
    assert hub["system"].startswith("You are")  # developer messages hoisted, in order
    assert hub["messages"][0]["role"] == "user"
    assert [turn["role"] for turn in hub["messages"]] in (["user"], ["user", "assistant", "user"])
    names = [tool["name"] for tool in hub["tools"]]
    assert len(names) == len(set(names)) and all(len(name) <= 64 for name in names)
    assert "web_search" not in names
    assert view.input_tokens(decode(codex)) > 1000


@needs_fixtures
def test_codex_lite_tool_turn_becomes_signed_thinking_and_a_custom_call() -> None:
    hub = to_hub(fixture_body("tool"))
    assert "functions__exec" in [tool["name"] for tool in hub["tools"]]
    assistant, result = hub["messages"][1:]
    thinking, tool_use = assistant["content"]
    assert thinking == {"type": "thinking", "thinking": "Thinking about it.", "signature": "ZmFrZXNlcnZlci1yZWFzb25pbmctNA=="}
    # Codex sends the call back as `exec`, without the namespace it declared it in (`functions`)
    assert tool_use["type"] == "tool_use" and tool_use["id"] == "call_fake_0004"
    assert tool_use["name"] == "functions__exec"
    assert tool_use["input"] == {"input": 'const r = await tools.exec_command({cmd: "echo hi"});\n'
                                          'text(typeof r === "string" ? r : JSON.stringify(r));'}
    [block] = result["content"]
    assert block["type"] == "tool_result" and block["tool_use_id"] == "call_fake_0004"
    assert [part["type"] for part in block["content"]] == ["text", "text"]
    assert block["content"][1]["text"].startswith('{"chunk_id"')
    # the turn answered by tool output carries its signed thinking: thinking stays on
    assert hub["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert hub["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


@needs_fixtures
def test_codex_tool_turn_becomes_a_function_call_and_its_string_output() -> None:
    codex = fixture_body("tool-custom-model")
    hub = to_hub(codex)
    _, tool_use = hub["messages"][1]["content"]
    assert tool_use == {"type": "tool_use", "id": "call_fake_0004", "name": "exec_command", "input": {"cmd": "echo hi"}}
    [block] = hub["messages"][2]["content"]
    assert block["content"].startswith("Chunk ID: 8159c8") and block["content"].endswith("hi\n")
    assert "multi_agent_v1__spawn_agent" in [tool["name"] for tool in hub["tools"]]
    assert "thinking" not in hub  # reasoning {summary: auto} without an effort asks for none
    assert dropped_tools(decode(codex)) == ("web_search",)
    assert dropped_tools(decode(fixture_body("tool"))) == ()


# --- input ---------------------------------------------------------------------------------------


def test_a_string_input_is_one_user_message() -> None:
    assert to_hub(body())["messages"] == [{"role": "user", "content": "Hi"}]


def test_messages_without_type_and_all_roles() -> None:
    hub = to_hub(body(
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "system", "content": [text("Second rule.")]},
        {"role": "assistant", "content": [text("Hello", "output_text"), {"type": "refusal", "refusal": "No."}]},
        {"role": "user", "content": [text("Again")]},
        instructions="You are a test.",
    ))
    assert hub["system"] == "You are a test.\n\nBe brief.\n\nSecond rule."
    assert hub["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": "No."}]},
        {"role": "user", "content": "Again"},
    ]


def test_unknown_role_names_the_path() -> None:
    with pytest.raises(InvalidRequest, match=r"\$\.input\[0\]\.role"):
        to_hub(body({"role": "critic", "content": "x"}))


def test_images_and_files() -> None:
    hub = to_hub(body(user(
        {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"},
        {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "auto"},
        {"type": "input_image", "file_id": "file-1"},
        {"type": "input_file", "file_data": f"data:application/pdf;base64,{PDF}", "filename": "a.pdf"},
        {"type": "input_file", "file_data": PDF},
        {"type": "input_file", "file_url": "https://example.com/b.pdf"},
        {"type": "input_file", "file_id": "file-2"},
        {"type": "input_audio", "input_audio": {}},
    )))
    assert hub["messages"][0]["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}, "title": "a.pdf"},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/b.pdf"}},
    ]
    assert view.images(decode(body(user({"type": "input_image", "image_url": "https://x/y.png"}))))
    assert not view.images(decode(body()))


def test_calls_and_outputs_become_tool_use_and_tool_results_first() -> None:
    hub = to_hub(body(
        user(text("Do it")),
        call("get", '{"a": 1}', "c1"),
        {"type": "custom_tool_call", "call_id": "c2", "name": "patch", "input": "*** Begin"},
        output("c1", [text("one"), {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"}]),
        user(text("and also")),
        output("c2", "", "custom_tool_call_output"),
        tools=[function_tool("get"), {"type": "custom", "name": "patch"}],
    ))
    assert hub["messages"][1] == {"role": "assistant", "content": [
        {"type": "tool_use", "id": "c1", "name": "get", "input": {"a": 1}},
        {"type": "tool_use", "id": "c2", "name": "patch", "input": {"input": "*** Begin"}},
    ]}
    assert hub["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "c1", "content": [
            {"type": "text", "text": "one"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        ]},
        {"type": "tool_result", "tool_use_id": "c2"},
        {"type": "text", "text": "and also"},
    ]


def test_a_namespaced_call_is_called_by_its_flat_name() -> None:
    namespace = {"type": "namespace", "name": "ns", "tools": [function_tool("f")]}
    hub = to_hub(body(user(text("x")), call("f", namespace="ns"), output(), tools=[namespace]))
    assert hub["messages"][1]["content"][0]["name"] == "ns__f"
    # without its namespace: the one namespace that declares it
    hub = to_hub(body(user(text("x")), call("f"), output(), tools=[namespace]))
    assert hub["messages"][1]["content"][0]["name"] == "ns__f"
    # a top-level tool of the same name wins
    hub = to_hub(body(user(text("x")), call("f"), output(), tools=[namespace, function_tool("f")]))
    assert hub["messages"][1]["content"][0]["name"] == "f"


@pytest.mark.parametrize(("arguments", "message"), [
    ("{nope", r"not valid JSON .* at `\$\.input\[1\]\.arguments`"),
    ("[1]", r"must be a JSON object, got `array` - at `\$\.input\[1\]\.arguments`"),
])
def test_bad_arguments_name_the_path(arguments: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        to_hub(body(user(text("x")), call("f", arguments)))


def test_missing_call_id_names_the_path() -> None:
    with pytest.raises(InvalidRequest, match=r"required field `call_id` - at `\$\.input\[0\]`"):
        to_hub(body({"type": "function_call_output", "output": "x"}))


def test_reasoning_round_trips_only_with_encrypted_content() -> None:
    hub = to_hub(body(user(text("x")), reasoning("A", None), reasoning("O", "gAAAAABo_openai"),
                      reasoning("B", "redacted:ZGF0YQ=="),
                      reasoning("C", "sig"), {"type": "message", "role": "assistant", "content": "Done"}))
    assert hub["messages"][1]["content"] == [
        {"type": "redacted_thinking", "data": "ZGF0YQ=="},
        {"type": "thinking", "thinking": "C", "signature": "sig"},
        {"type": "text", "text": "Done"},
    ]


def test_other_items_are_left_out() -> None:
    hub = to_hub(body(
        {"type": "additional_tools", "role": "developer", "tools": [function_tool("f")]},
        {"type": "item_reference", "id": "msg_1"},
        {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search"}},
        user(text("Hi")),
        {"type": "compaction", "encrypted_content": "x"},
    ))
    assert hub["messages"] == [{"role": "user", "content": "Hi"}]
    assert [tool["name"] for tool in hub["tools"]] == ["f"]


# --- tools ---------------------------------------------------------------------------------------


def test_tools_of_every_kind() -> None:
    grammar = {"type": "grammar", "syntax": "lark", "definition": "start: WORD"}
    hub = to_hub(body(tools=[
        function_tool("plain", description="Plain.", strict=True),
        {"type": "function", "name": "bare", "parameters": None, "strict": False},
        {"type": "custom", "name": "free", "description": "Free text."},
        {"type": "custom", "name": "lang", "format": grammar},
        {"type": "namespace", "name": "ns", "description": "", "tools": [function_tool("inner"), {"type": "custom", "name": "c"}]},
        {"type": "web_search"},
        {"type": "file_search", "vector_store_ids": []},
    ]))
    by_name = {tool["name"]: tool for tool in hub["tools"]}
    assert list(by_name) == ["plain", "bare", "free", "lang", "ns__inner", "ns__c"]
    assert by_name["plain"] == {"name": "plain", "description": "Plain.",
                                "input_schema": {"type": "object", "properties": {}}}
    assert by_name["bare"]["input_schema"] == {"type": "object", "properties": {}}
    custom_schema = {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}
    assert by_name["free"] == {"name": "free", "description": "Free text.", "input_schema": custom_schema}
    assert "Lark grammar" in by_name["lang"]["description"] and "start: WORD" in by_name["lang"]["description"]
    assert by_name["ns__c"]["input_schema"] == custom_schema
    assert dropped_tools(decode(body(tools=[{"type": "web_search"}, {"type": "mcp"}, {"type": "web_search"}]))) == (
        "web_search", "mcp")
    assert view.tools(decode(body(tools=[function_tool("f")])))
    assert not view.tools(decode(body(tools=[{"type": "web_search"}])))


def test_only_built_in_tools_send_no_tools_and_no_tool_choice() -> None:
    hub = to_hub(body(tools=[{"type": "web_search"}], tool_choice="auto"))
    assert "tools" not in hub and "tool_choice" not in hub


def test_the_json_response_name_is_reserved() -> None:
    with pytest.raises(InvalidRequest, match="reserved"):
        to_hub(body(tools=[function_tool("json_response")]))


@pytest.mark.parametrize(("choice", "expected"), [
    ("auto", {"type": "auto"}),
    ("none", {"type": "none"}),
    ("required", {"type": "any"}),
    ({"type": "function", "name": "f"}, {"type": "tool", "name": "f"}),
    ({"type": "custom", "name": "c"}, {"type": "tool", "name": "ns__c"}),
    ({"type": "allowed_tools", "mode": "auto", "tools": []}, {"type": "auto"}),
    ({"type": "allowed_tools", "mode": "required", "tools": []}, {"type": "any"}),
    ({"type": "web_search_preview"}, {"type": "auto"}),
])
def test_tool_choice(choice: Any, expected: dict[str, Any]) -> None:
    tools = [function_tool("f"), {"type": "namespace", "name": "ns", "tools": [{"type": "custom", "name": "c"}]}]
    assert to_hub(body(tools=tools, tool_choice=choice))["tool_choice"] == expected


def test_parallel_tool_calls_false() -> None:
    tools = [function_tool("f")]
    assert to_hub(body(tools=tools, parallel_tool_calls=False))["tool_choice"] == {
        "type": "auto", "disable_parallel_tool_use": True}
    assert to_hub(body(tools=tools, parallel_tool_calls=False, tool_choice="none"))["tool_choice"] == {"type": "none"}


def test_an_unknown_tool_choice_names_the_path() -> None:
    with pytest.raises(InvalidRequest, match=r"\$\.tool_choice"):
        to_hub(body(tools=[function_tool("f")], tool_choice="sometimes"))


@pytest.mark.parametrize("inner", [True, 3, "f", {"type": "function", "name": "f"}])
def test_a_namespace_whose_tools_are_not_an_array_is_a_400_naming_them(inner: Any) -> None:
    # Found by the fuzz suite: `tools: true` on a namespace was iterated (a 500), first where a
    # custom tool call in the input looks its bare name up, before the tools are converted.
    namespace = {"type": "namespace", "name": "ns", "tools": inner}
    call = {"type": "custom_tool_call", "call_id": "c1", "name": "c", "input": "x"}
    with pytest.raises(InvalidRequest, match=r"Expected `array`, got `\w+` - at `\$\.tools\[0\]\.tools`"):
        to_hub(body(tools=[namespace, function_tool("f")], input=[call]))


@pytest.mark.parametrize(("choice", "message"), [
    # Found by the fuzz suite: a list for `mode` was read as "auto", the answer echoed it, and
    # the openai SDK refused the response.
    ({"type": "allowed_tools", "mode": [], "tools": []}, r"Expected `str`, got `array` - at `\$\.tool_choice\.mode`"),
    ({"type": "allowed_tools", "mode": "sometimes", "tools": []}, r"'sometimes' - at `\$\.tool_choice\.mode`"),
    ({"type": "allowed_tools", "tools": []}, r"field `mode` - at `\$\.tool_choice`"),
    ({"type": "allowed_tools", "mode": "auto"}, r"field `tools` - at `\$\.tool_choice`"),
    ({"type": "allowed_tools", "mode": "auto", "tools": {}}, r"Expected `array`, got `object` - at `\$\.tool_choice\.tools`"),
])
def test_an_allowed_tools_choice_is_checked(choice: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        to_hub(body(tools=[function_tool("f")], tool_choice=choice))


# --- text.format ---------------------------------------------------------------------------------


def test_json_schema_is_a_forced_tool_with_the_schema_as_written() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    hub = to_hub(body(text={"format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}},
                      reasoning={"effort": "high"}))
    assert hub["tools"] == [{"name": "json_response", "description": "Give the final answer by calling this tool; its input is the answer.",
                             "input_schema": schema}]
    assert hub["tool_choice"] == {"type": "tool", "name": "json_response"}
    assert "thinking" not in hub  # a forced tool: Anthropic refuses thinking with it
    with_tools = to_hub(body(text={"format": {"type": "json_schema", "name": "a", "schema": schema}},
                             tools=[function_tool("f")]))
    assert with_tools["tool_choice"] == {"type": "any"}


def test_json_object_is_an_instruction() -> None:
    hub = to_hub(body(text={"format": {"type": "json_object"}, "verbosity": "low"}, instructions="Hi."))
    assert hub["system"] == "Hi.\n\nRespond with a single JSON object and nothing else."
    assert "tools" not in hub


# --- reasoning, tokens, sampling -----------------------------------------------------------------


@pytest.mark.parametrize(("effort", "budget"), [
    ("none", None), ("minimal", None), ("low", 2048), ("medium", 8192), ("high", 24576), ("xhigh", 24576),
])
def test_reasoning_effort(effort: str, budget: int | None) -> None:
    hub = to_hub(body(reasoning={"effort": effort, "summary": "auto"}))
    assert hub.get("thinking") == (None if budget is None else {"type": "enabled", "budget_tokens": budget})


def test_an_unknown_effort_names_the_path() -> None:
    with pytest.raises(InvalidRequest, match=r"\$\.reasoning\.effort"):
        to_hub(body(reasoning={"effort": "extreme"}))


def test_thinking_stays_off_when_the_answered_turn_lost_its_signature() -> None:
    loop = (user(text("x")), call("f"), output())
    assert "thinking" not in to_hub(body(*loop, tools=[function_tool("f")], reasoning={"effort": "low"}))
    signed = (user(text("x")), reasoning(), call("f"), output())
    assert "thinking" in to_hub(body(*signed, tools=[function_tool("f")], reasoning={"effort": "low"}))
    # an earlier signed turn does not sign the last one
    two_steps = (user(text("x")), reasoning(), call("f"), output(), call("f", call_id="c2"), output("c2"))
    assert "thinking" not in to_hub(body(*two_steps, tools=[function_tool("f")], reasoning={"effort": "low"}))
    # a finished tool loop followed by the assistant's answer and a new question: no loop
    done = (*loop, {"role": "assistant", "content": "ok"}, user(text("next")))
    assert "thinking" in to_hub(body(*done, tools=[function_tool("f")], reasoning={"effort": "low"}))


def test_forced_tool_use_leaves_thinking_off() -> None:
    hub = to_hub(body(tools=[function_tool("f")], tool_choice="required", reasoning={"effort": "high"}))
    assert "thinking" not in hub


@pytest.mark.parametrize(("fields", "limit", "expected"), [
    ({}, None, (4096, None)),
    ({}, 8000, (8000, None)),
    ({"max_output_tokens": 100}, None, (100, None)),
    ({"max_output_tokens": 100_000}, 8000, (8000, None)),
    ({"max_output_tokens": 1000, "reasoning": {"effort": "low"}}, None, (3048, 2048)),
    ({"max_output_tokens": 1000, "reasoning": {"effort": "high"}}, 8000, (8000, 6976)),
])
def test_max_tokens_and_budget(fields: dict[str, Any], limit: int | None, expected: tuple[int, int | None]) -> None:
    plan = request.token_plan(decode(body(**fields)), ctx_for(Capabilities(max_output_tokens=limit)))
    assert (plan.max_tokens, plan.budget) == expected


def test_sampling_user_and_stream() -> None:
    hub = to_hub(body(temperature=1.7, top_p=0.5, user="u-1", stream=False, metadata={"k": "v"},
                      store=False, prompt_cache_key="k", service_tier="auto", include=["x"]))
    assert hub["temperature"] == 1.0 and hub["top_p"] == 0.5
    assert hub["metadata"] == {"user_id": "u-1"}
    assert hub["stream"] is False
    assert to_hub(body(safety_identifier="s-1"))["metadata"] == {"user_id": "s-1"}
    thinking = to_hub(body(temperature=0.3, top_p=0.5, reasoning={"effort": "low"}))
    assert "temperature" not in thinking and "top_p" not in thinking


def test_the_client_model_goes_upstream_when_the_route_names_none() -> None:
    assert to_hub(body(), ctx_for(model=None))["model"] == "gpt-test"


# --- the view ------------------------------------------------------------------------------------


def test_view() -> None:
    assert view.thinking(decode(body(reasoning={"effort": "low"})))
    assert not view.thinking(decode(body(reasoning={"effort": "none"})))
    assert not view.thinking(decode(body(reasoning={"summary": "auto"})))
    small, large = decode(body()), decode(body(user(text("word " * 2000))))
    assert 0 < view.input_tokens(small) < view.input_tokens(large)
    # a malformed request still gets a count
    assert view.input_tokens(decode(body({"type": "function_call", "call_id": "c", "name": "f", "arguments": "{"}))) > 0
