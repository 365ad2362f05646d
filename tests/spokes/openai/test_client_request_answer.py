"""OpenAI client → Anthropic upstream conversion: the function registries, path-naming errors,
the token/thinking plan, response details, route overrides, and the official openai SDK reading
what we produce. The field-by-field behaviour is in the data-driven cases
(tests/test_pair_cases.py, tests/cases/openai__anthropic/) and the stream cases (tests/spokes/openai/test_client_stream.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import msgspec
import openai
import pytest

from router.config.schema import DefaultOp, DropOp, SetOp
from router.config.target import Capabilities, TargetContext
from router.core.errors import InvalidRequest
from router.hub.messages import AnthropicMessage
from router.mapping.expr import Call, parse_expr
from router.routing.compose import build_converters
from router.spokes.openai.client import answer as response
from router.spokes.openai.client import request
from router.spokes.openai.client.stream import OpenAIStreamFromAnthropic
from router.spokes.openai.client.thinking import token_plan
from router.spokes.openai.wire import ChatRequest
from router.spokes.registry import SPOKES
from tests.support.streamcases import translate

PAIR = "openai__anthropic"
SCHEMA_TABLE = Path(__file__).resolve().parents[3] / "schemas" / "openai.client.toml"
STREAM_CASES = Path(__file__).parents[2] / "cases" / "streams" / "anthropic_to_openai"


DEFAULT = Capabilities()


def ctx_for(caps: Capabilities = DEFAULT, model: str | None = "claude-test") -> TargetContext:
    return TargetContext(route="test", upstream="up", model=model, caps=caps)


def decode(body: dict[str, Any]) -> ChatRequest:
    """The way the front door decodes: raw JSON bytes straight into the struct."""
    return msgspec.json.decode(msgspec.json.encode(body), type=ChatRequest)


def convert(body: dict[str, Any], caps: Capabilities = DEFAULT, ops: tuple[Any, ...] = ()) -> dict[str, Any]:
    ctx = ctx_for(caps)
    return build_converters(PAIR, ctx, ops).request.function(decode(body), ctx)


def body(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": list(messages) or [{"role": "user", "content": "Hi"}], **fields}


# --- the registries ------------------------------------------------------------------------------------


def _called(section: str, functions: Any) -> set[str]:
    table = tomllib.loads(SCHEMA_TABLE.read_text("utf-8"))[section]
    called: set[str] = set()
    for spec in table.values():
        expr, _ = parse_expr(spec if isinstance(spec, str) else spec["from"], functions)
        if isinstance(expr, Call):
            called.add(expr.func)
    return called


def test_functions_are_exactly_what_the_tables_call() -> None:
    assert _called("request", request.FUNCTIONS) == set(request.FUNCTIONS)
    assert _called("response", response.FUNCTIONS) == set(response.FUNCTIONS)
    assert isinstance(request.FUNCTIONS, MappingProxyType)
    assert isinstance(response.FUNCTIONS, MappingProxyType)


def test_the_client_side_is_registered() -> None:
    table = SPOKES["openai"].client.table
    assert table is not None
    assert table.request_functions is request.FUNCTIONS
    assert table.response_functions is response.FUNCTIONS


def test_the_unary_finish_reasons_are_the_shipped_value_table() -> None:
    table = tomllib.loads(SCHEMA_TABLE.read_text("utf-8"))["values"]["stop_reason"]
    assert dict(response.stop_reason_values()) == table
    assert build_converters(PAIR, ctx_for()).values["stop_reason"] == table


def test_target_model_falls_back_to_the_clients() -> None:
    src = decode(body())
    assert request.target_model(src, ctx_for(model=None)) == "gpt-4o"
    assert request.target_model(src, ctx_for(model="claude-x")) == "claude-x"


def unary(ctx: TargetContext, message: AnthropicMessage) -> dict[str, Any]:
    response_converter = build_converters(PAIR, ctx).response
    assert response_converter is not None
    return response_converter.function(message, ctx)


# --- requests: leniency ----------------------------------------------------------------------------------


def test_nulls_clients_send_for_unset_fields_are_accepted() -> None:
    nulls = {
        name: None
        for name in (
            "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "stream", "stream_options",
            "tools", "tool_choice", "parallel_tool_calls", "response_format", "reasoning_effort", "user", "n",
            "metadata", "seed",
        )
    }
    out = convert(body({"role": "user", "content": "Hi", "name": None, "tool_calls": None}, **nulls))
    assert out == {"model": "claude-test", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4096, "stream": False}


def test_a_conversation_left_empty_is_sent_as_is() -> None:
    """Only system messages: Anthropic will say what it thinks of that; we do not invent a turn."""
    out = convert(body({"role": "system", "content": "S"}))
    assert out["system"] == "S" and out["messages"] == []


def test_tool_results_come_first_in_a_merged_user_turn() -> None:
    out = convert(
        body(
            {"role": "assistant", "content": None, "tool_calls": [{"id": "t", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "user", "content": "And also"},
            {"role": "tool", "tool_call_id": "t", "content": "done"},
        )
    )
    assert out["messages"][1]["content"] == [
        {"type": "tool_result", "tool_use_id": "t", "content": "done"},
        {"type": "text", "text": "And also"},
    ]


# --- requests: errors name the JSON path --------------------------------------------------------------

TOOL = {"type": "function", "function": {"name": "f"}}


def _call(**fields: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": [fields]}


ERRORS = [
    ("missing role", body({"content": "Hi"}), "Object missing required field `role` - at `$.messages[0]`"),
    ("unknown role", body({"role": "robot", "content": "Hi"}), "Invalid enum value 'robot' - at `$.messages[0].role`"),
    (
        "tool without tool_call_id",
        body({"role": "user", "content": "Hi"}, {"role": "tool", "content": "x"}),
        "Object missing required field `tool_call_id` - at `$.messages[1]`",
    ),
    (
        "tool call without id",
        body(_call(type="function", function={"name": "f", "arguments": "{}"})),
        "Object missing required field `id` - at `$.messages[0].tool_calls[0]`",
    ),
    (
        "tool call without function",
        body(_call(id="t", type="function")),
        "Object missing required field `function` - at `$.messages[0].tool_calls[0]`",
    ),
    (
        "function without name",
        body(_call(id="t", function={"arguments": "{}"})),
        "Object missing required field `name` - at `$.messages[0].tool_calls[0].function`",
    ),
    (
        "arguments not a string",
        body(_call(id="t", function={"name": "f", "arguments": {"a": 1}})),
        "Expected `str`, got `object` - at `$.messages[0].tool_calls[0].function.arguments`",
    ),
    (
        "arguments not an object",
        body(_call(id="t", function={"name": "f", "arguments": "[1, 2]"})),
        "Function arguments must be a JSON object, got `array` - at `$.messages[0].tool_calls[0].function.arguments`",
    ),
    (
        "part without type",
        body({"role": "user", "content": [{"text": "Hi"}]}),
        "Object missing required field `type` - at `$.messages[0].content[0]`",
    ),
    (
        "text part without text",
        body({"role": "user", "content": [{"type": "text"}]}),
        "Object missing required field `text` - at `$.messages[0].content[0]`",
    ),
    (
        "system text part without text",
        body({"role": "system", "content": [{"type": "text", "text": 3}]}, {"role": "user", "content": "Hi"}),
        "Expected `str`, got `int` - at `$.messages[0].content[0].text`",
    ),
    (
        "image part without image_url",
        body({"role": "user", "content": [{"type": "image_url"}]}),
        "Object missing required field `image_url` - at `$.messages[0].content[0]`",
    ),
    (
        "image_url without url",
        body({"role": "user", "content": [{"type": "image_url", "image_url": {"detail": "low"}}]}),
        "Object missing required field `url` - at `$.messages[0].content[0].image_url`",
    ),
    (
        "data URL not base64",
        body({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png,%89PNG"}}]}),
        "Expected a base64 data URL (`data:<media type>;base64,...`) - at `$.messages[0].content[0].image_url.url`",
    ),
    (
        "tool result part without type",
        body({"role": "user", "content": "Hi"}, {"role": "tool", "tool_call_id": "t", "content": [{}]}),
        "Object missing required field `type` - at `$.messages[1].content[0]`",
    ),
    ("tool without function", body(tools=[{"type": "function"}]), "Object missing required field `function` - at `$.tools[0]`"),
    (
        "tool without name",
        body(tools=[TOOL, {"type": "function", "function": {"description": "x"}}]),
        "Object missing required field `name` - at `$.tools[1].function`",
    ),
    (
        "reserved tool name",
        body(tools=[{"type": "function", "function": {"name": "json_response"}}]),
        "Tool name `json_response` is reserved by this route (it carries response_format) - at `$.tools[0].function.name`",
    ),
    ("tool_choice unknown", body(tools=[TOOL], tool_choice="sometimes"), "Invalid enum value 'sometimes' - at `$.tool_choice`"),
    (
        "tool_choice other type",
        body(tools=[TOOL], tool_choice={"type": "allowed_tools"}),
        "Invalid enum value 'allowed_tools' - at `$.tool_choice.type`",
    ),
    (
        "tool_choice function without name",
        body(tools=[TOOL], tool_choice={"type": "function", "function": {}}),
        "Object missing required field `name` - at `$.tool_choice.function`",
    ),
    ("reasoning_effort unknown", body(reasoning_effort="extreme"), "Invalid enum value 'extreme' - at `$.reasoning_effort`"),
    (
        "json_schema without json_schema",
        body(response_format={"type": "json_schema"}),
        "Object missing required field `json_schema` - at `$.response_format`",
    ),
    ("n > 1", body(n=2), "n > 1 is not supported by this route's target (Anthropic returns one choice) - at `$.n`"),
]


@pytest.mark.parametrize(("name", "request_body", "message"), ERRORS, ids=[name for name, _, _ in ERRORS])
def test_invalid_requests_name_the_path(name: str, request_body: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        convert(request_body)
    assert caught.value.message == message
    assert caught.value.status == 400 and caught.value.error_type == "invalid_request_error"


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        (body({"role": "user", "content": ["Hi"]}), "Expected `object`, got `str` - at `$.messages[0].content[0]`"),
        (body({"role": "assistant", "tool_calls": [1]}), "Expected `object`, got `int` - at `$.messages[0].tool_calls[0]`"),
        (body(tools=["f"]), "Expected `object`, got `str` - at `$.tools[0]`"),
        (body(stop=3), "Expected `str | array | null`, got `int` - at `$.stop`"),
    ],
)
def test_shapes_the_structs_declare_fail_at_decode_in_the_same_words(request_body: dict[str, Any], message: str) -> None:
    """What the wire structs type is checked by msgspec at the front door, with the same wording."""
    with pytest.raises(msgspec.ValidationError, match=message.replace("$", r"\$").replace("[", r"\[").replace("|", r"\|")):
        decode(request_body)


def test_invalid_argument_json_names_the_path() -> None:
    with pytest.raises(InvalidRequest, match=r"not valid JSON .* - at `\$\.messages\[1\]\.tool_calls\[0\]\.function\.arguments`"):
        convert(body({"role": "user", "content": "Hi"}, _call(id="t", function={"name": "f", "arguments": '{"a": '})))


# --- the token and thinking plan ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "limit", "expected"),
    [
        ({}, None, (4096, None)),
        ({"max_tokens": 100, "max_completion_tokens": 200}, None, (200, None)),
        ({"reasoning_effort": "low", "max_tokens": 2048}, None, (4096, 2048)),  # equal to the budget: bumped
        ({"reasoning_effort": "low", "max_tokens": 2049}, None, (2049, 2048)),
        ({"reasoning_effort": "high"}, 64000, (64000, 24576)),
        ({"reasoning_effort": "low"}, 1500, (1500, None)),  # no room for a budget and an answer
        ({"reasoning_effort": "medium", "max_tokens": 500}, 5000, (5000, 3976)),
    ],
)
def test_token_plan(fields: dict[str, Any], limit: int | None, expected: tuple[int, int | None]) -> None:
    plan = token_plan(decode(body(**fields)), ctx_for(Capabilities(max_output_tokens=limit)))
    assert (plan.max_tokens, plan.budget) == expected


def test_thinking_drops_sampling_but_keeps_stop_and_user() -> None:
    out = convert(body(reasoning_effort="low", temperature=0.1, top_p=0.5, top_k=5, stop="X", user="u"))
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert not {"temperature", "top_p", "top_k"} & set(out)
    assert out["stop_sequences"] == ["X"] and out["metadata"] == {"user_id": "u"}


def test_json_schema_leaves_thinking_off() -> None:
    """The forced json_response tool and thinking cannot go together at Anthropic."""
    out = convert(body(reasoning_effort="high", response_format={"type": "json_schema", "json_schema": {"name": "x"}}))
    assert "thinking" not in out
    assert out["tool_choice"] == {"type": "tool", "name": "json_response"}
    assert out["tools"][0]["input_schema"] == {"type": "object"}


def test_json_schema_with_tool_choice_none_forces_the_answer() -> None:
    out = convert(body(tools=[TOOL], tool_choice="none", response_format={"type": "json_schema", "json_schema": {"name": "x"}}))
    assert out["tool_choice"] == {"type": "tool", "name": "json_response"}


def test_json_schema_with_a_named_tool_choice_keeps_it() -> None:
    choice = {"type": "function", "function": {"name": "f"}}
    out = convert(body(tools=[TOOL], tool_choice=choice, response_format={"type": "json_schema", "json_schema": {"name": "x"}}))
    assert out["tool_choice"] == {"type": "tool", "name": "f"}
    assert [tool["name"] for tool in out["tools"]] == ["f", "json_response"]


def test_parallel_false_with_tool_choice_none_sends_none_alone() -> None:
    out = convert(body(tools=[TOOL], tool_choice="none", parallel_tool_calls=False))
    assert out["tool_choice"] == {"type": "none"}


# --- route overrides act on the Anthropic body ----------------------------------------------------------


def test_route_overrides_apply_to_the_upstream_request() -> None:
    ops = (
        DefaultOp(field="max_tokens", value=1),  # already set by the converter: left alone
        SetOp(field="top_k", value=20),
        DropOp(field="metadata"),
    )
    out = convert(body(user="u"), ops=ops)
    assert out["max_tokens"] == 4096 and out["top_k"] == 20 and "metadata" not in out


# --- responses -------------------------------------------------------------------------------------------


def test_completion_ids_keep_the_upstream_id() -> None:
    assert response.completion_id("msg_01") == "chatcmpl-msg_01"
    generated = response.completion_id(None)
    assert generated.startswith("chatcmpl-") and generated != response.completion_id(None)


def test_json_response_next_to_a_tool_call() -> None:
    """The model answered and called a tool: the JSON is content, the call a tool call."""
    message = response.message_from_blocks(
        [
            {"type": "tool_use", "id": "a", "name": "json_response", "input": {"x": 1}},
            {"type": "tool_use", "id": "b", "name": "f", "input": None},
        ]
    )
    assert message["content"] == '{"x":1}'
    assert message["tool_calls"] == [{"id": "b", "type": "function", "function": {"name": "f", "arguments": "{}"}}]


def test_an_empty_answer_has_empty_content() -> None:
    assert response.message_from_blocks([]) == {"role": "assistant", "content": ""}


def test_usage_without_usage_is_zero() -> None:
    assert response.usage_to_openai(None) == {
        "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "prompt_tokens_details": {"cached_tokens": 0},
    }


def test_a_message_with_nulls_decodes_and_converts() -> None:
    raw = b'{"id":null,"model":null,"content":[],"stop_reason":null,"usage":{"input_tokens":null,"output_tokens":2}}'
    message = msgspec.json.decode(raw, type=AnthropicMessage)
    ctx = ctx_for(model=None)
    out = unary(ctx, message)
    assert out["id"].startswith("chatcmpl-") and out["model"] == ""
    assert out["usage"]["completion_tokens"] == 2


# --- the official openai SDK reads what we produce --------------------------------------------------------


def _sdk(handler: Any) -> openai.OpenAI:
    http_client: Any = httpx.Client(transport=httpx.MockTransport(handler))
    return openai.OpenAI(api_key="k", base_url="http://router.test/v1", http_client=http_client)


def test_the_openai_sdk_parses_a_unary_answer() -> None:
    ctx = ctx_for()
    message = msgspec.convert(
        {
            "id": "msg_1", "content": [
                {"type": "thinking", "thinking": "hm", "signature": "s"},
                {"type": "text", "text": "Calling."},
                {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}},
            ],
            "stop_reason": "tool_use", "usage": {"input_tokens": 5, "output_tokens": 6, "cache_read_input_tokens": 2},
        },
        AnthropicMessage,
    )
    payload = unary(ctx, message)
    client = _sdk(lambda req: httpx.Response(200, json=payload))
    completion = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    choice = completion.choices[0]
    assert completion.id == "chatcmpl-msg_1" and choice.finish_reason == "tool_calls"
    assert choice.message.content == "Calling."
    (call,) = choice.message.tool_calls or []
    assert call.type == "function" and call.function.arguments == '{"a":1}'
    assert getattr(choice.message, "reasoning_content", None) == "hm"
    assert completion.usage is not None and completion.usage.prompt_tokens == 7
    assert completion.usage.prompt_tokens_details is not None and completion.usage.prompt_tokens_details.cached_tokens == 2


def _stream_bytes(name: str, include_usage: bool = True) -> bytes:
    machine = OpenAIStreamFromAnthropic(
        ctx_for(), completion_id="chatcmpl-x", model="m", include_usage=include_usage,
        finish_values=response.stop_reason_values(),
    )
    sse = (STREAM_CASES / f"{name}.sse").read_bytes()
    # A keep-alive in the middle, as the relay sends during silences.
    return machine.start() + machine.ping() + translate(machine, [sse])[len(machine.start()) :]


def test_the_openai_sdk_accumulates_a_stream_with_pings_and_tool_calls() -> None:
    stream_body = _stream_bytes("two_tool_uses")
    client = _sdk(lambda req: httpx.Response(200, content=stream_body, headers={"content-type": "text/event-stream"}))
    with client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "x"}]) as stream:
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content == "Checking."
    calls = choice.message.tool_calls or []
    assert [(c.id, c.function.name, c.function.arguments) for c in calls if c.type == "function"] == [
        ("toolu_a", "get_weather", '{"city": "Paris"}'),
        ("toolu_b", "now", "{}"),
    ]
    assert final.usage is not None and final.usage.total_tokens == 50


def test_the_openai_sdk_raises_on_the_error_chunk() -> None:
    stream_body = _stream_bytes("error_overloaded_mid_stream")
    client = _sdk(lambda req: httpx.Response(200, content=stream_body, headers={"content-type": "text/event-stream"}))
    stream = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], stream=True)
    texts = []
    with pytest.raises(openai.APIError, match="Overloaded"):
        for chunk in stream:
            texts.append(chunk.choices[0].delta.content if chunk.choices else None)
    assert "Partial" in texts
