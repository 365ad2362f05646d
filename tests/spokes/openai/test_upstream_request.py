"""Anthropic → OpenAI request conversion: real Claude Code traffic, path-naming errors, the
function registry, JSON Schema cleaning and per-route overrides. The field-by-field behaviour is
in the data-driven cases (tests/test_pair_cases.py, tests/cases/anthropic__openai/)."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec
import pytest

from router.config.schema import ClampOp, DefaultOp, DropOp, RenameOp, SetOp
from router.config.target import Capabilities, TargetContext
from router.core.errors import InvalidRequest
from router.hub.messages import Message, MessagesRequest, request_from_python
from router.mapping.expr import Call, parse_expr
from router.mapping.expr import Path as ExprPath
from router.routing.compose import build_converters
from router.spokes.common.json_schema import clean_schema
from router.spokes.openai.upstream import request as anthropic_to_openai

FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "claude-code"
FIXTURE_FILES = sorted(FIXTURES.glob("*/*.json"))
SCHEMA_TABLE = Path(__file__).resolve().parents[3] / "schemas" / "openai.upstream.toml"

DEEPSEEK = Capabilities(reasoning="reasoning-content", tool_schema="clean", max_output_tokens=8192)
OPENAI = Capabilities(reasoning="effort")
OPENROUTER = Capabilities(cache_control=True, top_k=True)
TEXT_ONLY = Capabilities(vision=False, stream_usage=False)
DEFAULT = Capabilities()


def ctx_for(caps: Capabilities = DEFAULT, model: str | None = "target-model") -> TargetContext:
    return TargetContext(route="test", upstream="up", model=model, caps=caps)


def convert(body: dict[str, Any], caps: Capabilities = DEFAULT, ops: tuple[Any, ...] = ()) -> dict[str, Any]:
    ctx = ctx_for(caps)
    src = request_from_python(body, MessagesRequest)
    return build_converters("anthropic__openai", ctx, ops).request.function(src, ctx)


def fixture_request(path: Path) -> MessagesRequest:
    """Decoded the way the front door decodes it: raw JSON bytes straight into the struct."""
    body = json.loads(path.read_text("utf-8"))["body"]
    return msgspec.json.decode(json.dumps(body).encode(), type=MessagesRequest)


# --- the registry --------------------------------------------------------------------------------


def test_functions_are_exactly_what_the_request_table_calls() -> None:
    table = tomllib.loads(SCHEMA_TABLE.read_text("utf-8"))["request"]
    called: set[str] = set()
    for spec in table.values():
        expr, _ = parse_expr(spec if isinstance(spec, str) else spec["from"], anthropic_to_openai.FUNCTIONS)
        if isinstance(expr, Call):
            called.add(expr.func)
    assert called == set(anthropic_to_openai.FUNCTIONS)
    assert isinstance(anthropic_to_openai.FUNCTIONS, MappingProxyType)


def test_target_model_falls_back_to_the_clients() -> None:
    src = request_from_python({"model": "claude-x", "messages": []}, MessagesRequest)
    assert anthropic_to_openai.target_model(src, ctx_for(model=None)) == "claude-x"
    assert anthropic_to_openai.target_model(src, ctx_for(model="gpt-5")) == "gpt-5"


# --- real Claude Code requests ---------------------------------------------------------------------


def test_fixtures_are_present() -> None:
    assert len(FIXTURE_FILES) >= 6, f"Claude Code fixtures missing under {FIXTURES}"


@pytest.mark.parametrize(
    "caps", [DEEPSEEK, OPENAI, OPENROUTER, TEXT_ONLY], ids=["deepseek", "openai", "openrouter", "text-only"]
)
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FIXTURE_FILES])
def test_claude_code_request_converts(path: Path, caps: Capabilities) -> None:
    src = fixture_request(path)
    ctx = ctx_for(caps)
    out = build_converters("anthropic__openai", ctx).request.function(src, ctx)
    msgspec.json.encode(out)  # everything is JSON-encodable
    assert len(out["tools"]) == len(src.tools or ())
    assert [tool["function"]["name"] for tool in out["tools"]] == [tool.name for tool in src.tools or ()]
    assert out["user"] == src.metadata.user_id if src.metadata else "user" not in out
    assert out["stream"] is True
    messages = out["messages"]
    assert messages[0]["role"] == "system"
    assert "You are a Claude agent" in str(messages[0]["content"])
    # The role:"system" message inside messages stays a system message at its place.
    roles = [message["role"] for message in messages]
    assert roles[:2] == ["system", "user"]
    if any(message.role == "system" for message in src.messages):
        assert roles[2] == "system"


def test_claude_code_has_24_tools_with_2020_12_schemas() -> None:
    src = fixture_request(FIXTURES / "tool" / "0002-anthropic_messages_stream.json")
    ctx = ctx_for(DEEPSEEK)
    tools = anthropic_to_openai.tools_to_openai(src, ctx)
    assert tools is not None and len(tools) == 24
    for tool, original in zip(tools, src.tools or (), strict=True):
        assert b'"$schema"' in bytes(original.input_schema)
        assert_clean(tool["function"]["parameters"])


def assert_clean(schema: Any) -> None:
    """No keyword a strict validator rejects, at any depth (property names are not keywords)."""
    if isinstance(schema, list):
        for item in schema:
            assert_clean(item)
        return
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        if key == "properties":
            for sub in value.values():
                assert_clean(sub)
            continue
        assert key not in {
            "$schema",
            "propertyNames",
            "const",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "examples",
        }
        assert_clean(value)


@pytest.mark.parametrize("name", ["tool", "tool-read"])
def test_claude_code_tool_turn_round_trips(name: str) -> None:
    src = fixture_request(FIXTURES / name / "0002-anthropic_messages_stream.json")
    ctx = ctx_for(DEEPSEEK)
    out = build_converters("anthropic__openai", ctx).request.function(src, ctx)
    assistant, tool = out["messages"][-2:]
    thinking, text, tool_use = blocks(src, 2)
    call = assistant["tool_calls"][0]
    assert call["id"] == tool_use["id"] and call["function"]["name"] == tool_use["name"]
    assert json.loads(call["function"]["arguments"]) == tool_use["input"]
    assert assistant["content"] == text["text"]
    # DeepSeek gets the thinking of the tool-call turn back; the signature stays behind.
    assert assistant["reasoning_content"] == thinking["thinking"]
    result = blocks(src, 3)[0]
    assert tool == {"role": "tool", "tool_call_id": tool_use["id"], "content": result["content"]}


def blocks(src: MessagesRequest, index: int) -> list[dict[str, Any]]:
    content = src.messages[index].content
    assert isinstance(content, list)
    return content


def test_claude_code_thinking_dropped_for_effort_targets() -> None:
    src = fixture_request(FIXTURES / "tool" / "0002-anthropic_messages_stream.json")
    ctx = ctx_for(OPENAI)
    out = build_converters("anthropic__openai", ctx).request.function(src, ctx)
    assert all("reasoning_content" not in message for message in out["messages"])
    # adaptive thinking with output_config.effort = high
    assert out["reasoning_effort"] == "high"
    assert out["max_tokens"] == 64000


def test_claude_code_cache_control_kept_for_capable_targets() -> None:
    src = fixture_request(FIXTURES / "tool" / "0002-anthropic_messages_stream.json")
    ctx = ctx_for(OPENROUTER)
    messages = anthropic_to_openai.messages_to_openai(src, ctx)
    system = messages[0]["content"]
    assert [part.get("cache_control") for part in system] == [
        None,
        {"type": "ephemeral"},
        {"type": "ephemeral"},
    ]
    assert messages[-1]["content"] == [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]


def test_claude_code_max_tokens_clamped() -> None:
    src = fixture_request(FIXTURES / "plain" / "0001-anthropic_messages_stream.json")
    assert anthropic_to_openai.max_tokens_for(src, ctx_for(DEEPSEEK)) == 8192


# --- errors name the path ------------------------------------------------------------------------

TOOL_TURN: list[dict[str, Any]] = [
    {"role": "user", "content": "go"},
    {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "ls", "input": {}}]},
]

ERROR_CASES: list[tuple[str, list[dict[str, Any]], dict[str, Any], str]] = [
    (
        "tool_result without tool_use_id",
        [*TOOL_TURN, {"role": "user", "content": [{"type": "tool_result", "content": "x"}]}],
        {},
        "Object missing required field `tool_use_id` - at `$.messages[2].content[0]`",
    ),
    (
        "tool_result id not a string",
        [*TOOL_TURN, {"role": "user", "content": [{"type": "tool_result", "tool_use_id": 7}]}],
        {},
        "Expected `str`, got `int` - at `$.messages[2].content[0].tool_use_id`",
    ),
    (
        "tool_result content a number",
        [
            *TOOL_TURN,
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": 3}]},
        ],
        {},
        "Expected `str | array`, got `int` - at `$.messages[2].content[0].content`",
    ),
    (
        "tool_result content item not an object",
        [
            *TOOL_TURN,
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": ["x"]}]},
        ],
        {},
        "Expected `object`, got `str` - at `$.messages[2].content[0].content[0]`",
    ),
    (
        "text inside tool_result without text",
        [
            *TOOL_TURN,
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text"}]}],
            },
        ],
        {},
        "Object missing required field `text` - at `$.messages[2].content[0].content[0]`",
    ),
    (
        "image without source",
        [{"role": "user", "content": [{"type": "text", "text": "see"}, {"type": "image"}]}],
        {},
        "Object missing required field `source` - at `$.messages[0].content[1]`",
    ),
    (
        "image source without data",
        [
            {
                "role": "user",
                "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png"}}],
            }
        ],
        {},
        "Object missing required field `data` - at `$.messages[0].content[0].source`",
    ),
    (
        "image source not an object",
        [{"role": "user", "content": [{"type": "image", "source": "https://x"}]}],
        {},
        "Expected `object`, got `str` - at `$.messages[0].content[0].source`",
    ),
    (
        "block without type",
        [{"role": "user", "content": [{"text": "hi"}]}],
        {},
        "Object missing required field `type` - at `$.messages[0].content[0]`",
    ),
    (
        "text block with a number",
        [{"role": "user", "content": [{"type": "text", "text": 5}]}],
        {},
        "Expected `str`, got `int` - at `$.messages[0].content[0].text`",
    ),
    (
        "tool_use without id",
        [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "name": "ls", "input": {}}]},
        ],
        {},
        "Object missing required field `id` - at `$.messages[1].content[0]`",
    ),
    (
        "tool_use without name",
        [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "input": {}}]},
        ],
        {},
        "Object missing required field `name` - at `$.messages[1].content[0]`",
    ),
    (
        "document without source",
        [{"role": "user", "content": [{"type": "document"}]}],
        {},
        "Object missing required field `source` - at `$.messages[0].content[0]`",
    ),
    (
        "system block without text",
        [{"role": "user", "content": "hi"}],
        {"system": [{"type": "text", "text": "a"}, {"type": "text"}]},
        "Object missing required field `text` - at `$.system[1]`",
    ),
    (
        "system message block without text",
        [{"role": "user", "content": "hi"}, {"role": "system", "content": [{"type": "text"}]}],
        {},
        "Object missing required field `text` - at `$.messages[1].content[0]`",
    ),
    (
        "unknown role",
        [{"role": "robot", "content": "beep"}],
        {},
        "Invalid enum value 'robot' - at `$.messages[0].role`",
    ),
    (
        "tool_choice tool without name",
        [{"role": "user", "content": "hi"}],
        {"tools": [{"name": "ls", "input_schema": {"type": "object"}}], "tool_choice": {"type": "tool"}},
        "Object missing required field `name` - at `$.tool_choice`",
    ),
]


@pytest.mark.parametrize(
    ("messages", "extra", "message"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_invalid_request_names_the_path(
    messages: list[dict[str, Any]], extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRequest) as info:
        convert({"model": "m", "max_tokens": 10, "messages": messages, **extra})
    assert info.value.message == message
    assert info.value.status == 400 and info.value.error_type == "invalid_request_error"


def test_thinking_without_text_is_invalid_only_when_it_is_sent() -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": [{"type": "thinking", "signature": "s"}, {"type": "text", "text": "ok"}],
        },
    ]
    body = {"model": "m", "messages": messages}
    assert convert(body)["messages"][1] == {"role": "assistant", "content": "ok"}
    with pytest.raises(InvalidRequest, match=r"`thinking` - at `\$.messages\[1\].content\[0\]`"):
        convert(body, Capabilities(reasoning="reasoning-content"))


@pytest.mark.parametrize("role", ["user", "assistant", "system"])
def test_content_neither_string_nor_list_is_invalid(role: str) -> None:
    """msgspec stops this at decode; a request built another way still gets a path, not a crash."""
    src = MessagesRequest(model="m", messages=[Message(role=role, content=3)])  # type: ignore[arg-type]
    with pytest.raises(
        InvalidRequest, match=r"^Expected `str \| array`, got `int` - at `\$.messages\[0\].content`$"
    ):
        anthropic_to_openai.messages_to_openai(src, ctx_for())


# --- message structure details ---------------------------------------------------------------------


def test_tool_results_for_unknown_calls_keep_their_order_after_known_ones() -> None:
    messages = [
        *TOOL_TURN,
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "orphan", "content": "o"},
                {"type": "tool_result", "tool_use_id": "t1", "content": "one"},
            ],
        },
    ]
    out = convert({"model": "m", "messages": messages})["messages"]
    assert [message.get("tool_call_id") for message in out[2:]] == ["t1", "orphan"]


def test_assistant_string_and_empty_tool_call_turn() -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello"}]
    assert convert({"model": "m", "messages": messages})["messages"][1] == {
        "role": "assistant",
        "content": "Hello",
    }


def test_assistant_turn_with_nothing_left_has_empty_content() -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "s"}]},
        {"role": "user", "content": "well?"},
    ]
    out = convert({"model": "m", "messages": messages})["messages"]
    assert out[1] == {"role": "assistant", "content": ""}


def test_multiple_thinking_blocks_are_joined_for_reasoning_content() -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "first", "signature": "s1"},
                {"type": "tool_use", "id": "a", "name": "f", "input": {"x": [1, "é"]}},
                {"type": "thinking", "thinking": "second", "signature": "s2"},
            ],
        },
    ]
    out = convert({"model": "m", "messages": messages}, Capabilities(reasoning="reasoning-content"))[
        "messages"
    ][1]
    assert out["reasoning_content"] == "first\n\nsecond"
    assert out["content"] is None
    assert json.loads(out["tool_calls"][0]["function"]["arguments"]) == {"x": [1, "é"]}


def test_tool_result_with_pdf_goes_to_the_user_message() -> None:
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}}
    messages = [
        *TOOL_TURN,
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [pdf]}]},
    ]
    out = convert({"model": "m", "messages": messages})["messages"]
    assert out[3]["role"] == "user"
    assert out[3]["content"][1] == {
        "type": "file",
        "file": {"filename": "document.pdf", "file_data": "data:application/pdf;base64,JVBE"},
    }


def test_error_and_empty_tool_result() -> None:
    messages = [
        *TOOL_TURN,
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t1", "is_error": True, "content": []}],
        },
    ]
    assert convert({"model": "m", "messages": messages})["messages"][2]["content"] == "Error: (no output)"


# --- JSON Schema cleaning -------------------------------------------------------------------------


def test_clean_schema_does_not_touch_its_input() -> None:
    schema = {
        "$schema": "x",
        "type": "object",
        "properties": {"n": {"type": "integer", "exclusiveMinimum": 0, "const": 3}},
        "$defs": {"d": {"type": "string", "examples": ["a"], "propertyNames": {}}},
    }
    original = copy.deepcopy(schema)
    cleaned = clean_schema(schema)
    assert schema == original
    assert cleaned == {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 1, "enum": [3]}},
        "$defs": {"d": {"type": "string"}},
    }


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (True, True),
        ({"type": "string"}, {"type": "string"}),
        ({"type": "number", "exclusiveMinimum": 0.5}, {"type": "number", "minimum": 0.5}),
        ({"type": "integer", "exclusiveMaximum": 10}, {"type": "integer", "maximum": 9}),
        ({"type": "integer", "minimum": 5, "exclusiveMinimum": 0}, {"type": "integer", "minimum": 5}),
        ({"type": "integer", "maximum": 3, "exclusiveMaximum": 10}, {"type": "integer", "maximum": 3}),
        ({"type": "number", "minimum": 0, "exclusiveMinimum": True}, {"type": "number", "minimum": 0}),
        ({"const": "a", "enum": ["a"]}, {"enum": ["a"]}),
        ({"const": None}, {"enum": [None]}),
        ({"items": [{"const": 1}, {"$comment": "c"}]}, {"items": [{"enum": [1]}, {}]}),
        ({"prefixItems": [{"const": 1}], "items": False}, {"prefixItems": [{"enum": [1]}], "items": False}),
        ({"oneOf": [{"const": 1}], "not": {"const": 2}}, {"oneOf": [{"enum": [1]}], "not": {"enum": [2]}}),
        ({"additionalProperties": {"const": 1}}, {"additionalProperties": {"enum": [1]}}),
        ({"patternProperties": {"^x": {}}, "type": "object"}, {"type": "object"}),
        (
            {"properties": {"$schema": {"type": "string"}, "examples": {"type": "array"}}},
            {"properties": {"$schema": {"type": "string"}, "examples": {"type": "array"}}},
        ),
        (
            {"default": {"const": 1}, "enum": [{"const": 1}]},
            {"default": {"const": 1}, "enum": [{"const": 1}]},
        ),
    ],
)
def test_clean_schema(schema: Any, expected: Any) -> None:
    assert clean_schema(schema) == expected


# --- per-route overrides --------------------------------------------------------------------------


def test_route_overrides_change_the_upstream_request() -> None:
    body = {
        "model": "claude-x",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 1.0,
        "top_p": 0.99,
        "top_k": 5,
    }
    ops = (
        DefaultOp(field="max_tokens", value=4096),
        RenameOp(field="max_tokens", to="max_completion_tokens"),
        DropOp(field="temperature"),
        ClampOp(field="top_p", min=0.0, max=0.5),
        SetOp(field="seed", value=7),
    )
    out = convert(body, Capabilities(top_k=True), ops)
    assert out == {
        "model": "target-model",
        "messages": [{"role": "user", "content": "hi"}],
        "max_completion_tokens": 4096,
        "top_p": 0.5,
        "top_k": 5,
        "seed": 7,
        "stream": False,
    }


def test_default_op_keeps_a_value_the_client_sent() -> None:
    body = {"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
    out = convert(body, ops=(DefaultOp(field="max_tokens", value=4096), DropOp(field="stream")))
    assert out["max_tokens"] == 100 and "stream" not in out


def test_override_ops_are_in_the_generated_source() -> None:
    ctx = ctx_for()
    converters = build_converters(
        "anthropic__openai", ctx, (RenameOp(field="max_tokens", to="max_completion_tokens"),)
    )
    assert "route overrides" in converters.request.source
    assert "'max_completion_tokens'" in converters.request.source


def test_expression_paths_in_the_table_are_known_fields() -> None:
    """A typo in a `src.` path of the table would silently yield None; check it against the struct."""
    table = tomllib.loads(SCHEMA_TABLE.read_text("utf-8"))["request"]
    for spec in table.values():
        expr, _ = parse_expr(spec, anthropic_to_openai.FUNCTIONS)
        if isinstance(expr, ExprPath) and expr.root == "src":
            struct: Any = MessagesRequest
            for step in expr.steps:
                assert isinstance(step, str) and step in struct.__struct_fields__, spec
                struct = _field_struct(struct, step)


def _field_struct(struct: Any, name: str) -> Any:
    """The Struct type of a field (unwrapping `X | None`), or None for plain values."""
    for field in msgspec.structs.fields(struct):
        if field.name == name:
            for arg in getattr(field.type, "__args__", (field.type,)):
                if isinstance(arg, type) and issubclass(arg, msgspec.Struct):
                    return arg
    return None


def test_tool_schemas_pass_through_as_the_clients_raw_json() -> None:
    schema = b'{"type": "object",  "properties": {"path": {"type": "string"}}}'
    body = b'{"model": "m", "messages": [], "tools": [{"name": "ls", "input_schema": ' + schema + b"}]}"
    src = msgspec.json.decode(body, type=MessagesRequest)
    tools = anthropic_to_openai.tools_to_openai(src, ctx_for(OPENAI))
    assert tools is not None
    assert msgspec.json.encode(tools[0]["function"]["parameters"]) == schema  # byte for byte


def test_a_tool_schema_that_is_not_an_object_is_a_400_naming_it() -> None:
    body = b'{"model": "m", "messages": [], "tools": [{"name": "a"}, {"name": "ls", "input_schema": "x"}]}'
    src = msgspec.json.decode(body, type=MessagesRequest)
    with pytest.raises(InvalidRequest, match=r"Expected `object`, got `str` - at `\$\.tools\[1\]\.input_schema`"):
        anthropic_to_openai.tools_to_openai(src, ctx_for(OPENAI))


def test_tool_descriptions_pass_through_as_raw_json_strings() -> None:
    description = b'"Lists files.\\nUse it \\u00e9 \\"often\\""'
    body = (b'{"model": "m", "messages": [], "tools": [{"name": "ls", "description": ' + description
            + b'}, {"name": "a", "description": null}, {"name": "b"}]}')
    src = msgspec.json.decode(body, type=MessagesRequest)
    tools = anthropic_to_openai.tools_to_openai(src, ctx_for(OPENAI))
    assert tools is not None
    encoded = msgspec.json.encode(tools[0]["function"])
    assert description in encoded  # byte for byte, escapes as the client wrote them
    assert msgspec.json.decode(encoded)["description"] == 'Lists files.\nUse it \u00e9 "often"'
    assert "description" not in tools[1]["function"] and "description" not in tools[2]["function"]


@pytest.mark.parametrize(("value", "kind"), [(b"12", "int"), (b'["x"]', "array"), (b"{}", "object")])
def test_a_tool_description_that_is_not_a_string_is_a_400_naming_it(value: bytes, kind: str) -> None:
    body = b'{"model": "m", "messages": [], "tools": [{"name": "a"}, {"name": "ls", "description": ' + value + b"}]}"
    src = msgspec.json.decode(body, type=MessagesRequest)
    with pytest.raises(InvalidRequest, match=rf"Expected `str`, got `{kind}` - at `\$\.tools\[1\]\.description`"):
        anthropic_to_openai.tools_to_openai(src, ctx_for(OPENAI))


def test_a_tool_without_a_schema_gets_an_empty_object_schema() -> None:
    src = msgspec.json.decode(b'{"model": "m", "messages": [], "tools": [{"name": "a", "input_schema": null}]}', type=MessagesRequest)
    tools = anthropic_to_openai.tools_to_openai(src, ctx_for(OPENAI))
    assert tools is not None and tools[0]["function"]["parameters"] == {"type": "object", "properties": {}}
