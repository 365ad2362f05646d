"""Responses answer → hub message, usage, the passthrough end rules, the signature tag and the
endpoint."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from router.config.schema import ResponsesUpstream
from router.core.errors import UpstreamProtocolError, UpstreamStatusError
from router.core.usage import Tokens
from router.spokes.responses import stream_end
from router.spokes.responses.upstream import endpoint
from router.spokes.responses.upstream.signature import (
    PREFIX,
    reasoning_ref,
    signature_for,
    upstream_tag,
)
from router.spokes.responses.usage import read_usage
from tests.spokes.responses.upstream import streams as s
from tests.spokes.responses.upstream.upstream_table import CTX, ctx_for, to_hub


def test_a_whole_answer() -> None:
    final = s.response([s.reasoning("Look.", "Answer."), s.message("Hi."),
                        s.function_call("ls", '{"p": "/"}')], usage=s.USAGE)
    assert to_hub(final) == {
        "id": "msg_resp_1", "type": "message", "role": "assistant", "model": "m",
        "content": [
            {"type": "thinking", "thinking": "Look.\n\nAnswer.", "signature": signature_for("up", "rs_1", "gAAAAB-enc==")},
            {"type": "text", "text": "Hi."},
            {"type": "tool_use", "id": "call_1", "name": "ls", "input": {"p": "/"}},
        ],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 20, "output_tokens": 30, "cache_read_input_tokens": 100,
                  "cache_creation_input_tokens": 0},
    }


def test_model_is_the_targets_then_the_upstreams() -> None:
    assert to_hub(s.response([]), ctx_for(model=None))["model"] == "gpt-up"


def test_reasoning_without_text_or_encrypted_content_is_left_out() -> None:
    """The model reasoned without being asked to show or keep it."""
    assert to_hub(s.response([s.reasoning(encrypted=None), s.message("A")]))["content"] == [{"type": "text", "text": "A"}]
    kept = to_hub(s.response([s.reasoning(encrypted="E")]))["content"][0]
    assert kept["thinking"] == "" and reasoning_ref(kept["signature"], "up") is not None


def test_reasoning_text_content_of_open_weight_models() -> None:
    item = {"id": "rs_2", "type": "reasoning", "summary": [],
            "content": [{"type": "reasoning_text", "text": "step 1"}, {"type": "reasoning_text", "text": "step 2"}]}
    assert to_hub(s.response([item]))["content"][0]["thinking"] == "step 1\n\nstep 2"


def test_custom_tool_calls_and_bad_arguments() -> None:
    out = to_hub(s.response([s.custom_call("exec", "echo hi"), s.function_call("f", "{not json", call_id="c2"),
                             s.function_call("g", "", call_id="c3")]))
    assert [block["input"] for block in out["content"]] == [{"input": "echo hi"}, {"_raw_arguments": "{not json"}, {}]


def test_namespaced_calls_fold_into_the_name() -> None:
    call = s.function_call("run", "{}") | {"namespace": "shell"}
    assert to_hub(s.response([call]))["content"][0]["name"] == "shell__run"


@pytest.mark.parametrize(("final", "stop"), [
    (s.response([s.message("A")]), "end_turn"),
    (s.response([s.message(refusal="No.")]), "refusal"),
    (s.response([s.message("A")], status="incomplete", incomplete_details={"reason": "max_output_tokens"}), "max_tokens"),
    (s.response([s.function_call("f", "{")], status="incomplete", incomplete_details={"reason": "max_output_tokens"}),
     "max_tokens"),
    (s.response([s.message("A")], status="incomplete", incomplete_details={"reason": "content_filter"}), "refusal"),
    (s.response([s.message("A")], status="incomplete"), "max_tokens"),
    (s.response([s.message("A")], status=None), "end_turn"),
    (s.response([s.message("A")], status="something_new"), "end_turn"),
])
def test_stop_reasons(final: dict[str, Any], stop: str) -> None:
    assert to_hub(final)["stop_reason"] == stop


def test_refusal_is_a_text_block() -> None:
    assert to_hub(s.response([s.message(refusal="No.")]))["content"] == [{"type": "text", "text": "No."}]


def test_a_failed_response_is_an_upstream_error() -> None:
    with pytest.raises(UpstreamStatusError) as raised:
        to_hub(s.response([], status="failed", error={"code": "rate_limit_exceeded", "message": "slow"}))
    assert raised.value.status == 429 and raised.value.headers["retry-after"]
    with pytest.raises(UpstreamProtocolError, match="cancelled"):
        to_hub(s.response([], status="cancelled"))


def test_usage_with_cache_writes_and_none() -> None:
    usage = {"input_tokens": 100, "output_tokens": 5,
             "input_tokens_details": {"cached_tokens": 60, "cache_write_tokens": 30}}
    assert to_hub(s.response([], usage=usage))["usage"] == {
        "input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 60, "cache_creation_input_tokens": 30}
    assert to_hub(s.response([]))["usage"] == {"input_tokens": 0, "output_tokens": 0}


def test_lenient_answers_decode() -> None:
    """Nulls and fields the router does not know, from servers that are not OpenAI."""
    raw = json.dumps({"id": None, "status": "completed", "output": [
        {"type": "message", "content": [{"type": "output_text", "text": "A", "annotations": None, "logprobs": []}]},
        {"type": "mcp_list_tools", "tools": []}], "usage": None, "new_field": {"x": 1}}).encode()
    out = to_hub(raw)
    assert out["content"] == [{"type": "text", "text": "A"}] and out["id"].startswith("msg_")


# --- usage ------------------------------------------------------------------------------------------


def test_read_usage_of_an_answer_and_of_end_events() -> None:
    answer = json.dumps(s.response([], usage=s.USAGE)).encode()
    assert read_usage(answer) == Tokens(120, 30, cache_read=100)
    assert read_usage(json.dumps({"type": "response.completed", "response": s.response([], usage=s.USAGE)}).encode()) == Tokens(120, 30, 100)
    assert read_usage(b'{"type":"response.created","response":{"usage":null}}') is None
    assert read_usage(b'{"type":"response.output_text.delta","delta":"x"}') is None
    assert read_usage(b'{"usage":{"input_tokens":null,"output_tokens":null}}') is None
    written = b'{"usage":{"input_tokens":50,"output_tokens":3,"input_tokens_details":{"cached_tokens":10,"cache_write_tokens":20}}}'
    assert read_usage(written) == Tokens(50, 3, cache_read=10, cache_write=20)


@pytest.mark.parametrize("doc", [b"", b"[1]", b"{", b"null", b'"x"', b"{} {}"])
def test_read_usage_rejects_what_is_not_one_object(doc: bytes) -> None:
    with pytest.raises(msgspec.DecodeError):
        read_usage(doc)


# --- passthrough end rules --------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "ends"), [
    (b'{"type":"response.completed","response":{}}', True),
    (b'{"type":"response.incomplete","response":{}}', True),
    (b'{"type":"response.failed","response":{}}', True),
    (b'{"type":"error","code":"x","message":"y"}', True),
    (b'{"type": "response.completed", "response": {}}', True),
    (b'{"sequence_number":9,"response":{"output":[{"type":"message"}]},"type":"response.completed"}', True),
    (b'{"type":"response.output_text.delta","delta":"response.completed"}', False),
    (b'{"type":"response.created","response":{}}', False),
    (b'{"type":"response.completed\\u0022","x":1}', False),
    (b'{"delta":"x"}', False),
    (b"not json", False),
])
def test_stream_end(data: bytes, ends: bool) -> None:
    assert stream_end.ends(data) is ends


def test_end_events() -> None:
    assert stream_end.END_EVENTS == {"response.completed", "response.incomplete", "response.failed", "error"}


# --- the signature tag ------------------------------------------------------------------------------


def test_signature_round_trip_is_scoped_to_the_upstream() -> None:
    signature = signature_for("openai-main", "rs_abc", "gAAAA+/=")
    assert signature.startswith(PREFIX) and upstream_tag("openai-main") in signature
    assert "openai-main" not in signature
    ref = reasoning_ref(signature, "openai-main")
    assert ref is not None and (ref.item_id, ref.encrypted_content) == ("rs_abc", "gAAAA+/=")
    assert reasoning_ref(signature, "openai-backup") is None
    assert reasoning_ref(signature_for("openai-main", None, "E"), "openai-main") is None
    for foreign in ("router:openai-main", "ErUBCkYIAxgC", "", None, 3):
        assert reasoning_ref(foreign, "openai-main") is None


def test_signature_of_the_context_upstream() -> None:
    block = to_hub(s.response([s.reasoning("x", encrypted="E", item_id="rs_9")]))["content"][0]
    assert reasoning_ref(block["signature"], CTX.upstream) is not None


# --- the endpoint -----------------------------------------------------------------------------------


def test_endpoint_and_headers() -> None:
    assert endpoint.responses_url("https://api.openai.com/v1/", "gpt-5", True) == "https://api.openai.com/v1/responses"
    upstream = ResponsesUpstream(headers={"OpenAI-Organization": "org"})
    headers = endpoint.headers(upstream, "sk-test")
    assert headers["authorization"] == "Bearer sk-test" and headers["OpenAI-Organization"] == "org"
    assert "authorization" not in endpoint.headers(upstream, None)
    assert endpoint.no_forwarding(upstream) is None and endpoint.no_token_counter("x") is None


def test_arguments_as_an_object_and_other_items_with_object_arguments() -> None:
    """tool_search_call items carry an object; some servers send a function call's that way too."""
    call = s.function_call("f", "{}") | {"arguments": {"a": 1}}
    search = {"id": "ts_1", "type": "tool_search_call", "arguments": {"q": "x"}, "status": "completed"}
    assert to_hub(s.response([search, call]))["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}}]
