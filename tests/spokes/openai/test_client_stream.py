"""OpenAIStreamFromAnthropic: recorded Anthropic streams → exact chat.completion.chunk payloads, at
every split, folded and compared with the unary conversion; then the edge cases one by one.

A case is `tests/cases/streams/anthropic_to_openai/<name>.sse` (the upstream's bytes as sent) next
to `<name>.json` (description, the machine's parameters, and the expected data payloads in order:
chunk objects, error objects, and the string "[DONE]"). The four `claude_code_*` inputs are the
recorded answers from ../shared/fixtures/claude-code (beside the repo).

The fold is the oracle that does not trust the machine: our chunks are accumulated the way the
openai SDK does (checking the chunk grammar on the way), the upstream's events into one Anthropic
message; the unary converter applied to that message must give the same chat.completion. Two
documented differences are normalised: `created` (the unary answer stamps the conversion time),
and tool-call arguments, compared as JSON values (the stream relays the model's JSON text byte for
byte, the unary path re-encodes the parsed input compactly).
"""

from __future__ import annotations

import json
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest

from router.config.target import Capabilities, TargetContext
from router.core.errors import (
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
)
from router.core.sse import SSEParser
from router.hub.messages import AnthropicMessage
from router.routing.compose import build_converters
from router.spokes.openai.client.stream import OpenAIStreamFromAnthropic
from router.spokes.tables import read_pair_text
from tests.support.streamcases import (
    fold_anthropic,
    one_byte_pieces,
    parse_events,
    translate,
    two_piece_splits,
)

CASES_DIR = Path(__file__).parents[2] / "cases" / "streams" / "anthropic_to_openai"
CTX = TargetContext(route="t", upstream="up", model="claude-test", caps=Capabilities())
FINISH_VALUES: dict[str, str] = tomllib.loads(read_pair_text("openai.client"))["values"]["stop_reason"]
DONE = "[DONE]"
# Events of Anthropic's grammar; tests.support.streamcases.fold_anthropic rejects others, the machine skips them.
ANTHROPIC_EVENTS = {
    "message_start", "content_block_start", "content_block_delta", "content_block_stop",
    "message_delta", "message_stop", "ping",
}

Payload = dict[str, Any] | str


@dataclass(frozen=True)
class StreamCase:
    name: str
    description: str
    upstream_sse: bytes
    completion_id: str
    model: str
    created: int
    include_usage: bool
    expected: list[Payload]

    @property
    def fails(self) -> bool:
        return self.expected[-1] != DONE


def load_cases() -> list[StreamCase]:
    cases = []
    for sse in sorted(CASES_DIR.glob("*.sse")):
        spec = json.loads(sse.with_suffix(".json").read_text("utf-8"))
        cases.append(
            StreamCase(
                name=sse.stem,
                description=spec["description"],
                upstream_sse=sse.read_bytes(),
                completion_id=spec["completion_id"],
                model=spec["model"],
                created=spec["created"],
                include_usage=spec["include_usage"],
                expected=spec["expected_chunks"],
            )
        )
    return cases


CASES = load_cases()
CLEAN = [case for case in CASES if not case.fails]
FAILING = [case for case in CASES if case.fails]


def _ids(cases: list[StreamCase]) -> list[str]:
    return [case.name for case in cases]


def machine_for(case: StreamCase) -> OpenAIStreamFromAnthropic:
    return OpenAIStreamFromAnthropic(
        CTX,
        completion_id=case.completion_id,
        model=case.model,
        include_usage=case.include_usage,
        finish_values=FINISH_VALUES,
        created=case.created,
    )


def parse_chunks(sse: bytes) -> list[Payload]:
    """Client-side view of our output: OpenAI streams name no events and carry one JSON object
    (or [DONE]) per data line."""
    parser = SSEParser()
    payloads: list[Payload] = []
    for event in parser.feed(sse) + parser.flush():
        assert event.event is None, event
        assert b"\n" not in event.data, "one data line per event"
        payloads.append(DONE if event.data == b"[DONE]" else json.loads(event.data))
    return payloads


# --- fold: chunks → one chat.completion, checking the grammar on the way ---------------------------


def fold_chunks(payloads: list[Payload]) -> dict[str, Any]:
    """Accumulate like the openai SDK's stream helper, and assert the grammar: the role first, the
    same id/object/created/model on every chunk, tool calls numbered 0, 1 ... each announced once
    with id, type, name and empty arguments, finish_reason once on an empty delta, then at most one
    usage chunk with no choices, then [DONE] last."""
    assert payloads[-1] == DONE, "a clean stream ends with [DONE]"
    chunks = [payload for payload in payloads[:-1] if isinstance(payload, dict)]
    assert len(chunks) == len(payloads) - 1, "[DONE] only at the end"
    head = {key: chunks[0][key] for key in ("id", "object", "created", "model")}
    assert head["object"] == "chat.completion.chunk"
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    fields = {"content": "", "reasoning_content": ""}
    calls: list[dict[str, Any]] = []
    finish: str | None = None
    usage: dict[str, Any] | None = None
    for chunk in chunks:
        assert {key: chunk[key] for key in head} == head
        assert usage is None, "nothing after the usage chunk"
        if not chunk["choices"]:
            assert finish is not None, "usage comes after the finish_reason"
            usage = chunk["usage"]
            continue
        assert finish is None, "nothing but usage after the finish_reason"
        (choice,) = chunk["choices"]
        assert choice["index"] == 0
        delta = choice["delta"]
        if choice["finish_reason"] is not None:
            assert delta == {}
            finish = choice["finish_reason"]
        for key in fields:
            fields[key] += delta.get(key) or ""
        for call in delta.get("tool_calls", ()):
            _apply_call(calls, call)
    assert finish is not None, "no finish_reason"
    message: dict[str, Any] = {"role": "assistant", "content": fields["content"] or (None if calls else "")}
    if calls:
        message["tool_calls"] = calls
    if fields["reasoning_content"]:
        message["reasoning_content"] = fields["reasoning_content"]
    completion = {**head, "object": "chat.completion", "choices": [{"index": 0, "message": message, "finish_reason": finish}]}
    if usage is not None:
        completion["usage"] = usage
    return completion


def _apply_call(calls: list[dict[str, Any]], call: dict[str, Any]) -> None:
    index = call["index"]
    if index == len(calls):
        assert set(call) == {"index", "id", "type", "function"} and call["type"] == "function"
        assert call["function"]["arguments"] == "" and call["function"]["name"]
        calls.append({"id": call["id"], "type": "function", "function": dict(call["function"])})
    else:
        assert index < len(calls), "tool call indices must be contiguous"
        assert set(call) == {"index", "function"} and set(call["function"]) == {"arguments"}
        calls[index]["function"]["arguments"] += call["function"]["arguments"]


def unary_converter(ctx: TargetContext) -> Callable[[Any, Any], dict[str, Any]]:
    response = build_converters("openai__anthropic", ctx).response
    assert response is not None
    return response.function


def upstream_message(sse: bytes) -> AnthropicMessage:
    """The upstream's events folded into the unary answer they describe (citations, which the
    shared fold does not know and neither conversion uses, left out)."""
    events = [
        (name, data)
        for name, data in parse_events(sse)
        if name in ANTHROPIC_EVENTS and data.get("delta", {}).get("type") != "citations_delta"
    ]
    return msgspec.convert(fold_anthropic(events), AnthropicMessage)


def normalised(completion: dict[str, Any]) -> dict[str, Any]:
    """See the module docstring: `created` and argument spelling are not part of the comparison."""
    out: dict[str, Any] = json.loads(json.dumps(completion))
    out["created"] = 0
    for call in out["choices"][0]["message"].get("tool_calls", ()):
        call["function"]["arguments"] = json.loads(call["function"]["arguments"])
    return out


# --- the recorded cases ------------------------------------------------------------------------------


def test_the_required_cases_are_recorded() -> None:
    names = set(_ids(CASES))
    required = {
        "claude_code_plain", "claude_code_plain_bare", "claude_code_tool_bash", "claude_code_tool_read",
        "text_only", "thinking_then_text", "two_tool_uses", "error_overloaded_mid_stream", "cut_mid_stream",
        "usage_cache_tokens",
    }
    assert required <= names
    assert b"\r\n" in next(case for case in CASES if case.name == "max_tokens_crlf").upstream_sse


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_recorded_stream_gives_the_expected_chunks(case: StreamCase) -> None:
    assert parse_chunks(translate(machine_for(case), [case.upstream_sse])) == case.expected


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_every_two_piece_split_gives_the_same_bytes(case: StreamCase) -> None:
    whole = translate(machine_for(case), [case.upstream_sse])
    for head, tail in two_piece_splits(case.upstream_sse):
        assert translate(machine_for(case), [head, tail]) == whole, f"split at {len(head)}"


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_one_byte_at_a_time_gives_the_same_bytes(case: StreamCase) -> None:
    whole = translate(machine_for(case), [case.upstream_sse])
    assert translate(machine_for(case), one_byte_pieces(case.upstream_sse)) == whole


@pytest.mark.parametrize("case", CLEAN, ids=_ids(CLEAN))
def test_folded_stream_equals_the_unary_conversion(case: StreamCase) -> None:
    ctx = TargetContext(route="t", upstream="up", model=case.model, caps=Capabilities())
    message = upstream_message(case.upstream_sse)
    assert case.completion_id == f"chatcmpl-{message.id}"
    unary = unary_converter(ctx)(message, ctx)
    if not case.include_usage:
        del unary["usage"]  # the client did not ask for it in the stream
    streamed = fold_chunks(parse_chunks(translate(machine_for(case), [case.upstream_sse])))
    assert normalised(streamed) == normalised(unary)


@pytest.mark.parametrize("case", FAILING, ids=_ids(FAILING))
def test_a_failed_stream_ends_in_one_error_and_never_in_done(case: StreamCase) -> None:
    payloads = parse_chunks(translate(machine_for(case), [case.upstream_sse]))
    errors = [p for p in payloads if isinstance(p, dict) and "error" in p]
    assert errors == [payloads[-1]]
    assert DONE not in payloads
    finishes = [p for p in payloads if isinstance(p, dict) and p.get("choices") and p["choices"][0]["finish_reason"]]
    assert finishes == []


# --- edge cases, one synthetic stream each -----------------------------------------------------------


def _machine(**overrides: Any) -> OpenAIStreamFromAnthropic:
    params: dict[str, Any] = {
        "completion_id": "chatcmpl-1", "model": "m", "include_usage": True, "finish_values": FINISH_VALUES,
        "created": 1,
    }
    params.update(overrides)
    return OpenAIStreamFromAnthropic(CTX, **params)


def _event(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


START = {"type": "message_start", "message": {"id": "msg_1", "content": [], "usage": {"input_tokens": 3}}}
TEXT_START = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
STOP = {"type": "message_stop"}


def _feed(machine: OpenAIStreamFromAnthropic, *events: dict[str, Any]) -> list[Payload]:
    return parse_chunks(b"".join(machine.on_data(_event(event)) for event in events))


def test_start_is_the_role_chunk() -> None:
    (chunk,) = parse_chunks(_machine().start())
    assert chunk == {
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
    }


def test_created_defaults_to_now() -> None:
    before = int(time.time())
    (chunk,) = parse_chunks(_machine(created=None).start())
    assert isinstance(chunk, dict) and before <= chunk["created"] <= int(time.time())


def test_message_stop_without_message_delta_finishes_with_the_fallback() -> None:
    payloads = _feed(_machine(include_usage=False), START, TEXT_START, STOP)
    assert payloads[-2]["choices"][0]["finish_reason"] == "stop"  # type: ignore[index]
    assert payloads[-1] == DONE


def test_stop_reason_comes_from_the_value_table_with_its_fallback() -> None:
    values = {"refusal": "content_filter", "*": "stop"}
    for reason, expected in [("refusal", "content_filter"), ("weird", "stop")]:
        delta = {"type": "message_delta", "delta": {"stop_reason": reason}, "usage": {"output_tokens": 1}}
        payloads = _feed(_machine(include_usage=False, finish_values=values), START, delta, STOP)
        assert payloads[-2]["choices"][0]["finish_reason"] == expected  # type: ignore[index]


def test_a_tool_call_ends_in_tool_calls_whatever_the_upstream_says() -> None:
    tool = {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {}}}
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}}
    payloads = _feed(_machine(include_usage=False), START, tool, delta, STOP)
    assert payloads[-2]["choices"][0]["finish_reason"] == "tool_calls"  # type: ignore[index]


def test_nothing_follows_message_stop() -> None:
    machine = _machine()
    _feed(machine, START, TEXT_START, STOP)
    assert machine.on_data(_event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}})) == b""
    assert machine.finish() == b""
    assert machine.fail(UpstreamProtocolError("late")) == b""


def test_finish_without_message_stop_raises() -> None:
    machine = _machine()
    machine.start()
    _feed(machine, START, TEXT_START)
    with pytest.raises(UpstreamProtocolError, match="ended before message_stop"):
        machine.finish()


def test_bad_json_raises_upstream_protocol_error() -> None:
    with pytest.raises(UpstreamProtocolError, match="invalid stream event"):
        _machine().on_data(b'{"type": ')


def test_an_event_without_a_type_is_a_protocol_error() -> None:
    with pytest.raises(UpstreamProtocolError, match="invalid stream event"):
        _machine().on_data(b'{"index": 0}')


@pytest.mark.parametrize(
    ("kind", "status", "error_type"),
    [("overloaded_error", 529, "overloaded_error"), ("api_error", 500, "api_error"), ("rate_limit_error", 500, "api_error")],
)
def test_an_error_event_raises_the_mapped_upstream_error(kind: str, status: int, error_type: str) -> None:
    with pytest.raises(UpstreamStatusError) as caught:
        _machine().on_data(_event({"type": "error", "error": {"type": kind, "message": "boom"}}))
    assert (caught.value.status, caught.value.error_type) == (status, error_type)
    assert caught.value.message == "upstream 'up' failed mid-stream: boom"


@pytest.mark.parametrize(
    ("error", "openai_type", "code"),
    [
        (UpstreamStatusError(529, "busy"), "server_error", "overloaded_error"),
        (UpstreamTimeout("upstream 'up' sent nothing for 300 s"), "timeout", "timeout_error"),
        (UpstreamProtocolError("broken"), "server_error", "api_error"),
    ],
)
def test_fail_emits_one_error_chunk_and_ends_the_machine(error: Any, openai_type: str, code: str) -> None:
    machine = _machine()
    machine.start()
    _feed(machine, START, TEXT_START)
    out = machine.fail(error)
    assert parse_chunks(out) == [{"error": {"message": error.message, "type": openai_type, "param": None, "code": code}}]
    assert machine.fail(error) == b""
    assert machine.on_data(_event(STOP)) == b""
    assert machine.finish() == b""


def test_ping_is_an_sse_comment_clients_skip() -> None:
    ping = _machine().ping()
    assert ping.startswith(b":") and ping.endswith(b"\n\n")
    assert parse_chunks(ping) == []


def test_upstream_pings_and_empty_data_send_nothing() -> None:
    machine = _machine()
    assert machine.on_data(_event({"type": "ping"})) == b""
    assert machine.on_data(b"") == b""
    assert machine.on_data(b"  ") == b""


def test_deltas_for_unknown_blocks_send_nothing() -> None:
    machine = _machine()
    server = {"type": "content_block_start", "index": 0, "content_block": {"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}}
    partial = {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"q\":1}"}}
    stray = {"type": "content_block_delta", "index": 5, "delta": {"type": "text_delta", "text": "?"}}
    assert _feed(machine, START, server, partial, stray) == []


def test_text_in_a_block_start_is_sent() -> None:
    start = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "Hi"}}
    (chunk,) = _feed(_machine(), START, start)
    assert chunk["choices"][0]["delta"] == {"content": "Hi"}  # type: ignore[index]
