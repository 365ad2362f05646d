"""A pair is two spokes composed through the hub (router.routing.compose).

Every shipped pair has the hub on one side; a pair of two non-hub spokes (Gemini clients on an
OpenAI upstream, say) is two stages joined in memory. It is proven here with the OpenAI spoke and
a twin of it under another name, so the pair `openai__openai-twin` converts OpenAI → hub → OpenAI
in both directions, streams included, and must agree with running the two one-stage pairs by hand.
A spoke needs nothing but its own definition to take part: the twin is not in the registry.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import msgspec
import pytest

from router.config.schema import SetOp
from router.config.target import Capabilities, TargetContext
from router.core.usage import Tokens
from router.hub.messages import AnthropicMessage, MessagesRequest
from router.routing.compose import Converters, compose
from router.spokes.chain import ChainedMachine
from router.spokes.openai.wire import ChatCompletion, ChatRequest
from router.spokes.registry import HUB, SPOKES
from tests.support.streamcases import (
    fold_openai,
    load_cases,
    one_byte_pieces,
    translate,
)

OPENAI = SPOKES["openai"]
TWIN = dataclasses.replace(OPENAI, name="openai-twin", title="OpenAI Chat (a second spoke)")
CTX = TargetContext(route="r", upstream="up", model="gpt-x", caps=Capabilities(reasoning="effort"))
_encode = msgspec.json.encode

REQUEST = {
    "model": "client-model",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "What is in /tmp?"}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "ls", "arguments": "{\"path\": \"/tmp\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "a.txt b.txt"},
        {"role": "user", "content": "Thanks. And now?"},
    ],
    "tools": [{"type": "function", "function": {"name": "ls", "description": "list a directory",
                                                "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}],
    "temperature": 0.5,
    "max_tokens": 300,
    "stream": False,
}
ANSWER = {
    "id": "chatcmpl-9", "object": "chat.completion", "created": 1, "model": "gpt-x",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": "Looking.", "tool_calls": [
            {"id": "call_2", "type": "function", "function": {"name": "ls", "arguments": "{\"path\": \"/\"}"}}]}}],
    "usage": {"prompt_tokens": 40, "completion_tokens": 9, "total_tokens": 49},
}


def two_stages(ops: tuple[SetOp, ...] = (), response_ops: tuple[SetOp, ...] = ()) -> Converters:
    return compose(OPENAI, TWIN, CTX, ops, response_ops)


def test_a_pair_of_two_non_hub_spokes_has_two_stages() -> None:
    pair = two_stages()
    assert pair.pair == "openai__openai-twin" and not pair.passthrough
    assert pair.answer_to_hub is not None and pair.answer_to_client is not None
    assert "client → hub" in pair.request.source and "hub → upstream" in pair.request.source


def test_the_request_is_the_two_one_stage_pairs_in_a_row() -> None:
    src = msgspec.json.decode(_encode(REQUEST), type=ChatRequest)
    to_hub = compose(OPENAI, HUB, CTX).request.function(src, CTX)
    hub = msgspec.json.decode(_encode(to_hub), type=MessagesRequest)
    expected = compose(HUB, TWIN, CTX).request.function(hub, CTX)
    got = two_stages().request.function(msgspec.json.decode(_encode(REQUEST), type=ChatRequest), CTX)
    assert _encode(got) == _encode(expected)
    assert got["model"] == "gpt-x" and got["temperature"] == 0.5
    assert [m["role"] for m in got["messages"]] == ["system", "user", "assistant", "tool", "user"]
    assert got["messages"][2]["tool_calls"][0]["function"]["name"] == "ls"
    assert got["tools"][0]["function"]["name"] == "ls"


def test_route_ops_edit_what_leaves() -> None:
    pair = two_stages(ops=(SetOp(field="temperature", value=0.1),), response_ops=(SetOp(field="model", value="shown"),))
    src = msgspec.json.decode(_encode(REQUEST), type=ChatRequest)
    assert pair.request.function(src, CTX)["temperature"] == 0.1
    answer, _ = pair.answer(pair.decode_answer(_encode(ANSWER)), CTX, None)
    assert answer["model"] == "shown"


def test_the_answer_goes_through_the_hub_and_its_usage_is_read_there() -> None:
    pair = two_stages()
    answer, tokens = pair.answer(pair.decode_answer(_encode(ANSWER)), CTX, None)
    hub = compose(HUB, TWIN, CTX).answer(msgspec.json.decode(_encode(ANSWER), type=ChatCompletion), CTX, None)[0]
    expected, _ = compose(OPENAI, HUB, CTX).answer(msgspec.json.decode(_encode(hub), type=AnthropicMessage), CTX, None)
    assert {k: v for k, v in answer.items() if k not in ("id", "created")} == \
        {k: v for k, v in expected.items() if k not in ("id", "created")}
    message = answer["choices"][0]["message"]
    assert message["content"] == "Looking."
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"path": "/"}
    assert answer["choices"][0]["finish_reason"] == "tool_calls"
    assert tokens == Tokens(40, 9)
    assert answer["usage"]["prompt_tokens"] == 40 and answer["usage"]["completion_tokens"] == 9


CLEAN = [case for case in load_cases("openai_to_anthropic") if not case.fails]


@pytest.mark.parametrize("case", CLEAN, ids=[case.name for case in CLEAN])
def test_a_stream_through_two_machines_keeps_what_the_upstream_said(case: Any) -> None:
    """OpenAI upstream events → hub events → OpenAI client events: text, reasoning and tool calls
    arrive as the upstream sent them, whole at every split of the upstream's bytes."""
    src = msgspec.json.decode(_encode({**REQUEST, "stream": True, "stream_options": {"include_usage": True}}), type=ChatRequest)
    upstream = fold_openai(case.upstream_sse).choices[0].message
    for pieces in ([case.upstream_sse], one_byte_pieces(case.upstream_sse)):
        machine = two_stages().stream(CTX, "gpt-x", src, "up")
        assert isinstance(machine, ChainedMachine)
        out = translate(machine, pieces)
        assert out.rstrip().endswith(b"data: [DONE]")
        got = fold_openai(out).choices[0].message
        # the hub has no refusal: it arrives as text
        assert (got.content or "") == (upstream.content or "") + (upstream.refusal or "")
        assert (got.reasoning_content or got.reasoning or "") == (upstream.reasoning_content or upstream.reasoning or "")
        assert [(c.function.name, json.loads(c.function.arguments or "{}")) for c in got.tool_calls or []] == \
            [(c.function.name, json.loads(c.function.arguments or "{}")) for c in upstream.tool_calls or []]


def test_a_broken_upstream_stream_ends_in_the_clients_error_chunk() -> None:
    failing = next(case for case in load_cases("openai_to_anthropic") if case.fails)
    src = msgspec.json.decode(_encode({**REQUEST, "stream": True}), type=ChatRequest)
    out = translate(two_stages().stream(CTX, "gpt-x", src, "up"), [failing.upstream_sse])
    last = [line for line in out.split(b"\n") if line.startswith(b"data: ")][-1]
    assert b'"error"' in last and b"[DONE]" not in out
