"""Hub answer → Responses `response` object (schemas/responses.client.toml [response], then
complete_answer), the errors in Responses' shape, and the official openai SDK reading both."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import Response

from router.core.errors import InvalidRequest, RateLimited, UpstreamStatusError
from router.hub.messages import AnthropicMessage, Usage
from router.mapping.accounting import account
from router.spokes.responses import errors
from router.spokes.responses.client import answer
from router.spokes.responses.client.output import REDACTED_MARK, usage_dict
from tests.spokes.responses.client_table import (
    fixture_body,
    needs_fixtures,
    spec,
    to_hub,
    to_response,
)

USAGE = {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 7}
CODEX_TOOL_REQUEST = "tool"


def message(*content: dict[str, Any], stop_reason: str = "end_turn", **fields: Any) -> dict[str, Any]:
    return {"id": "msg_01abc", "type": "message", "role": "assistant", "model": "claude-x",
            "content": list(content), "stop_reason": stop_reason, "usage": USAGE, **fields}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(name: str, arguments: dict[str, Any], call_id: str = "toolu_1") -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


def test_every_answer_field_is_accounted_for() -> None:
    problems = account(spec(), "response", AnthropicMessage).problems()
    assert not problems, "\n".join(problems)
    assert set(answer.FUNCTIONS) == {plan.expr.func for plan in spec().response if hasattr(plan.expr, "func")}


def test_a_text_answer() -> None:
    out = to_response(message(text("Hello"), text(" world")), {"model": "gpt-x", "input": "hi", "store": False})
    assert out["id"].startswith("resp_") and len(out["id"]) > 10 and out["object"] == "response"
    assert isinstance(out["created_at"], int)
    assert out["status"] == "completed" and out["error"] is None and out["incomplete_details"] is None
    assert out["model"] == "claude-test"
    assert Response.model_validate(out).output_text == "Hello world"
    [item] = out["output"]
    assert re.fullmatch(r"msg_[0-9a-f]{24}", item.pop("id"))
    assert item == {"type": "message", "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": "Hello world", "annotations": []}]}
    assert out["usage"] == {"input_tokens": 117, "input_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 7},
                            "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 122}
    # the request's settings, echoed
    assert out["store"] is False and out["tools"] == [] and out["tool_choice"] == "auto"
    assert out["text"] == {"format": {"type": "text"}}


def test_items_in_order_with_reasoning_and_calls() -> None:
    out = to_response(message(
        {"type": "thinking", "thinking": "Let me see.", "signature": "c2ln"},
        text("Checking."),
        tool_use("get_weather", {"city": "Paris"}),
        {"type": "redacted_thinking", "data": "ZW5j"},
        text("Done."),
        stop_reason="tool_use",
    ))
    kinds = [item["type"] for item in out["output"]]
    assert kinds == ["reasoning", "message", "function_call", "reasoning", "message"]
    reasoning, _, call, redacted, _ = out["output"]
    assert reasoning["id"].startswith("rs_")
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Let me see."}]
    assert reasoning["encrypted_content"] == "c2ln"
    assert redacted["summary"] == [] and redacted["encrypted_content"] == f"{REDACTED_MARK}ZW5j"
    assert call["id"].startswith("fc_") and call["status"] == "completed"
    assert (call["call_id"], call["name"], json.loads(call["arguments"])) == ("toolu_1", "get_weather", {"city": "Paris"})
    assert "namespace" not in call
    assert out["status"] == "completed"
    parsed = Response.model_validate(out)
    assert parsed.output_text == "Checking.Done."


def test_reasoning_round_trips_into_the_next_request() -> None:
    blocks = [{"type": "thinking", "thinking": "Let me see.", "signature": "c2ln"}, {"type": "redacted_thinking", "data": "ZW5j"},
              tool_use("f", {"a": 1})]
    out = to_response(message(*blocks, stop_reason="tool_use"))
    history = [{"role": "user", "content": "hi"}, *out["output"],
               {"type": "function_call_output", "call_id": "toolu_1", "output": "ok"}]
    hub = to_hub({"model": "m", "input": history, "tools": [{"type": "function", "name": "f"}]})
    assert hub["messages"][1]["content"] == blocks


@needs_fixtures
def test_a_custom_tool_in_a_namespace_comes_back_as_a_custom_tool_call() -> None:
    """Codex's lite request declares `exec` as a custom tool in the `functions` namespace."""
    script = 'const r = await tools.exec_command({cmd: "echo hi"});'
    out = to_response(message(tool_use("functions__exec", {"input": script}, "call_9"), stop_reason="tool_use"),
                      fixture_body(CODEX_TOOL_REQUEST))
    parsed = Response.model_validate(out)
    assert parsed.output[0].type == "custom_tool_call"
    [item] = out["output"]
    assert item["id"].startswith("ctc_")
    del item["id"]
    assert item == {"type": "custom_tool_call", "status": "completed", "call_id": "call_9", "name": "exec",
                    "input": script, "namespace": "functions"}
    # Codex's own settings echoed
    assert out["parallel_tool_calls"] is False and out["store"] is False
    assert out["reasoning"]["effort"] == "low"


def test_a_namespaced_function_comes_back_with_its_namespace() -> None:
    body = {"model": "m", "input": "x", "tools": [
        {"type": "namespace", "name": "multi_agent_v1", "tools": [{"type": "function", "name": "spawn_agent"}]},
        {"type": "function", "name": "plain"},
    ]}
    out = to_response(message(tool_use("multi_agent_v1__spawn_agent", {"task": "t"}, "c1"),
                              tool_use("plain", {}, "c2"), stop_reason="tool_use"), body)
    spawn, plain = out["output"]
    assert (spawn["type"], spawn["name"], spawn["namespace"]) == ("function_call", "spawn_agent", "multi_agent_v1")
    assert (plain["name"], "namespace" in plain) == ("plain", False)


def test_a_custom_call_whose_arguments_are_not_the_input_object_passes_them_on() -> None:
    body = {"model": "m", "input": "x", "tools": [{"type": "custom", "name": "free"}]}
    out = to_response(message(tool_use("free", {"text": "x"}), stop_reason="tool_use"), body)
    assert out["output"][0]["input"] == '{"text":"x"}'


def test_max_tokens_is_incomplete() -> None:
    out = to_response(message(text("Trunc"), stop_reason="max_tokens"))
    assert out["status"] == "incomplete"
    assert out["incomplete_details"] == {"reason": "max_output_tokens"}


def test_a_refusal_is_a_refusal_part() -> None:
    out = to_response(message(text("I can't help with that."), stop_reason="refusal"))
    assert out["status"] == "completed"
    assert out["output"][0]["content"] == [{"type": "refusal", "refusal": "I can't help with that."}]
    assert to_response(message(stop_reason="refusal"))["output"][0]["content"][0]["refusal"] == answer.REFUSAL_TEXT


def test_structured_output_is_the_text() -> None:
    out = to_response(message(tool_use("json_response", {"n": 1}), stop_reason="tool_use"))
    [item] = out["output"]
    assert item["type"] == "message" and item["content"][0]["text"] == '{"n":1}'


def test_an_empty_answer_has_no_items_and_zero_usage() -> None:
    out = to_response({"id": None, "content": [], "stop_reason": None, "usage": None})
    assert out["output"] == [] and out["status"] == "completed" and out["id"].startswith("resp_")
    assert out["usage"]["total_tokens"] == 0
    assert usage_dict(Usage(input_tokens=3, output_tokens=4))["total_tokens"] == 7


# --- the openai SDK ------------------------------------------------------------------------------


def _sdk(handler: Any) -> openai.OpenAI:
    return openai.OpenAI(api_key="k", base_url="http://router.test/v1", max_retries=0,
                         http_client=httpx.Client(transport=httpx.MockTransport(handler)))


def test_the_openai_sdk_reads_a_converted_answer() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        return httpx.Response(200, json=to_response(message(
            {"type": "thinking", "thinking": "Hm.", "signature": "s"}, text("Four.")), sent))

    response = _sdk(handler).responses.create(model="gpt-x", input="2+2?", reasoning={"effort": "low"})
    assert response.output_text == "Four."
    assert response.output[0].type == "reasoning" and response.output[0].encrypted_content == "s"
    assert response.usage is not None and response.usage.input_tokens_details.cached_tokens == 100


def test_the_openai_sdk_raises_with_the_error_body() -> None:
    error = UpstreamStatusError(429, "slow down")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(errors.error_status(error), content=errors.error_body(error), headers=error.headers)

    with pytest.raises(openai.RateLimitError) as raised:
        _sdk(handler).responses.create(model="gpt-x", input="hi")
    assert raised.value.code == "rate_limit_exceeded" and raised.value.type == "rate_limit_exceeded"
    assert raised.value.response.headers["retry-after"] == "5"


# --- errors --------------------------------------------------------------------------------------


def test_error_bodies_and_statuses() -> None:
    invalid = InvalidRequest("bad - at `$.input`")
    assert json.loads(errors.error_body(invalid)) == {"error": {
        "message": "bad - at `$.input`", "type": "invalid_request_error", "param": None, "code": "invalid_request_error"}}
    assert errors.error_status(invalid) == 400
    overloaded = UpstreamStatusError(529, "busy")
    assert errors.error_status(overloaded) == 503
    assert json.loads(errors.error_body(overloaded))["error"]["code"] == "server_is_overloaded"
    limited = RateLimited("over", headers={"retry-after": "3"})
    assert errors.error_status(limited) == 429 and limited.headers["retry-after"] == "3"


def test_the_stream_error_event() -> None:
    event = errors.error_event_at(UpstreamStatusError(500, "boom"), 17)
    head, data = event.split(b"\n", 1)
    assert head == b"event: error" and event.endswith(b"\n\n")
    assert json.loads(data.removeprefix(b"data: ")) == {
        "type": "error", "code": "server_error", "message": "boom", "param": None, "sequence_number": 17}
    assert b'"sequence_number":0' in errors.error_event(UpstreamStatusError(500, "boom"))
