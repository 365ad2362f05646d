"""HubStreamFromConverse: ConverseStream frames → events → hub (Anthropic) events, the whole way
the relay takes them (router.spokes.bedrock.eventstream, then router.upstream.relay's
ReframedTranslator), at every split of the binary stream; then what the events say, and the failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from router.config.target import Capabilities, TargetContext
from router.core.errors import UpstreamProtocolError, UpstreamStatusError
from router.core.sse import SSEEvent
from router.core.usage import Tokens
from router.spokes.bedrock.eventstream import EventStreamReframer, converse_event
from router.spokes.bedrock.stream import HubStreamFromConverse, stream_to_hub
from router.upstream.relay import ReframedTranslator
from tests.spokes.bedrock.frames import event_frame, exception_frame
from tests.support.streamcases import Event, fold_anthropic, parse_events

# Converse's stop reasons as the spoke's [values.stop_reason] maps them (the unary answer's too).
STOP_VALUES = {
    "end_turn": "end_turn", "tool_use": "tool_use", "max_tokens": "max_tokens", "stop_sequence": "stop_sequence",
    "guardrail_intervened": "refusal", "content_filtered": "refusal",
    "model_context_window_exceeded": "model_context_window_exceeded",
}
CTX = TargetContext(route="test", upstream="up", model="us.anthropic.claude-sonnet-4", caps=Capabilities())
USAGE = {"inputTokens": 12, "outputTokens": 30, "totalTokens": 142, "cacheReadInputTokens": 100,
         "cacheWriteInputTokens": 0}

_Events = list[tuple[str, dict[str, Any]]]


def machine(ctx: TargetContext = CTX) -> HubStreamFromConverse:
    return HubStreamFromConverse(ctx, model="client-model", stop_values=STOP_VALUES)


def converse(*blocks: _Events, stop: str = "end_turn", usage: dict[str, Any] | None = USAGE,
             extra: dict[str, Any] | None = None) -> _Events:
    """A ConverseStream answer: messageStart, the blocks' events, messageStop, metadata."""
    events: _Events = [("messageStart", {"role": "assistant"})]
    for block in blocks:
        events.extend(block)
    stop_event: dict[str, Any] = {"stopReason": stop}
    if extra is not None:
        stop_event["additionalModelResponseFields"] = extra
    events.append(("messageStop", stop_event))
    if usage is not None:
        events.append(("metadata", {"usage": usage, "metrics": {"latencyMs": 120}}))
    return events


def text(index: int, *pieces: str) -> _Events:
    return [*(("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}, "p": "abc"})
              for piece in pieces), ("contentBlockStop", {"contentBlockIndex": index})]


def tool(index: int, tool_id: str, name: str, *inputs: str) -> _Events:
    return [("contentBlockStart", {"contentBlockIndex": index,
                                   "start": {"toolUse": {"toolUseId": tool_id, "name": name}}}),
            *(("contentBlockDelta", {"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}})
              for piece in inputs),
            ("contentBlockStop", {"contentBlockIndex": index})]


def reasoning(index: int, *pieces: str, signature: str | None = None) -> _Events:
    events: _Events = [("contentBlockDelta", {"contentBlockIndex": index,
                                              "delta": {"reasoningContent": {"text": piece}}}) for piece in pieces]
    if signature is not None:
        events.append(("contentBlockDelta", {"contentBlockIndex": index,
                                             "delta": {"reasoningContent": {"signature": signature}}}))
    return [*events, ("contentBlockStop", {"contentBlockIndex": index})]


def redacted(index: int, data: str) -> _Events:
    return [("contentBlockDelta", {"contentBlockIndex": index, "delta": {"reasoningContent": {"redactedContent": data}}}),
            ("contentBlockStop", {"contentBlockIndex": index})]


def frames(events: _Events) -> bytes:
    return b"".join(event_frame(name, payload) for name, payload in events)


def run(data: bytes, pieces: list[bytes] | None = None, m: HubStreamFromConverse | None = None) -> bytes:
    """What the relay writes for these reads of the upstream body: the reframer's events through
    the machine (router.upstream.relay.ReframedTranslator), an error event when either fails."""
    m = m or machine()
    translator = ReframedTranslator(m, EventStreamReframer(converse_event, "up"))
    out = [m.start()]
    out.extend(translator.feed(piece) for piece in (pieces if pieces is not None else [data]))
    out.append(translator.end())
    return b"".join(out)


def events_of(events: _Events) -> list[Event]:
    return parse_events(run(frames(events)))


def message_of(events: _Events) -> dict[str, Any]:
    return fold_anthropic(events_of(events))


def _unminted(out: bytes) -> bytes:
    """Message ids are minted per stream: the same everywhere for comparing two runs."""
    start = out.index(b'"id":"msg_bdrk_') + len(b'"id":"')
    return out[:start] + b"msg_bdrk_" + out[start + len("msg_bdrk_") + 24:]


CASES: dict[str, _Events] = {
    "text": converse(text(0, "Hello", " there, ", "how are you?")),
    "tools": converse(text(0, "Checking."), tool(1, "tooluse_a", "ls", '{"path"', ': "/tmp"}'),
                      tool(2, "tooluse_b", "cat", "{}"), stop="tool_use"),
    "thinking": converse(reasoning(0, "Let me ", "think.", signature="c2lnbmF0dXJl"), text(1, "42.")),
    "redacted": converse(redacted(0, "ZW5jcnlwdGVk"), reasoning(1, "More.", signature="c2ln"), text(2, "Done.")),
    "unicode": converse(text(0, "naïve \u2028 line 🎉 \"quoted\" \\ back\n")),
    "empty": converse(),
}
STREAMS = {name: frames(events) for name, events in CASES.items()}


@pytest.mark.parametrize("name", list(STREAMS))
def test_every_two_piece_split_gives_the_same_bytes(name: str) -> None:
    stream = STREAMS[name]
    whole = _unminted(run(stream))
    for offset in range(len(stream) + 1):
        assert _unminted(run(stream, [stream[:offset], stream[offset:]])) == whole, f"split at {offset}"


def test_one_byte_at_a_time_gives_the_same_bytes() -> None:
    stream = STREAMS["tools"]
    assert _unminted(run(stream, [stream[i:i + 1] for i in range(len(stream))])) == _unminted(run(stream))


# --- what the events say -------------------------------------------------------------------------


def test_a_text_stream_in_order() -> None:
    events = events_of(CASES["text"])
    names = [name for name, _ in events]
    assert names == ["message_start", "ping", "content_block_start", "content_block_delta", "content_block_delta",
                     "content_block_delta", "content_block_stop", "message_delta", "message_stop"]
    start = events[0][1]["message"]
    assert start["id"].startswith("msg_bdrk_") and len(start["id"]) == len("msg_bdrk_") + 24
    assert start["model"] == "us.anthropic.claude-sonnet-4"
    assert start["usage"] == {"input_tokens": 0, "output_tokens": 0}
    assert events[2][1]["content_block"] == {"type": "text", "text": ""}
    assert events[-2][1]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert fold_anthropic(events)["content"] == [{"type": "text", "text": "Hello there, how are you?"}]


def test_the_model_is_the_clients_without_one_of_the_targets() -> None:
    ctx = TargetContext(route="test", upstream="up", model=None, caps=Capabilities())
    assert fold_anthropic(parse_events(run(STREAMS["text"], m=machine(ctx))))["model"] == "client-model"


def test_usage_with_the_cache_comes_with_message_delta() -> None:
    message = message_of(CASES["text"])
    assert message["usage"] == {"input_tokens": 12, "output_tokens": 30, "cache_read_input_tokens": 100,
                                "cache_creation_input_tokens": 0}


def test_tokens_count_every_prompt_token() -> None:
    m = machine()
    assert m.tokens() is None
    run(STREAMS["text"], m=m)
    assert m.tokens() == Tokens(112, 30, cache_read=100)


def test_tool_calls_are_blocks_with_their_input_in_pieces() -> None:
    events = events_of(CASES["tools"])
    message = fold_anthropic(events)
    assert message["content"] == [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "tooluse_a", "name": "ls", "input": {"path": "/tmp"}},
        {"type": "tool_use", "id": "tooluse_b", "name": "cat", "input": {}},
    ]
    assert message["stop_reason"] == "tool_use"
    partials = [data["delta"]["partial_json"] for name, data in events
                if name == "content_block_delta" and data["delta"]["type"] == "input_json_delta"]
    assert partials == ['{"path"', ': "/tmp"}', "{}"]


def test_reasoning_is_a_thinking_block_with_its_signature() -> None:
    message = message_of(CASES["thinking"])
    assert message["content"] == [{"type": "thinking", "thinking": "Let me think.", "signature": "c2lnbmF0dXJl"},
                                  {"type": "text", "text": "42."}]


def test_redacted_reasoning_is_a_whole_redacted_thinking_block() -> None:
    events = events_of(CASES["redacted"])
    assert events[2][1]["content_block"] == {"type": "redacted_thinking", "data": "ZW5jcnlwdGVk"}
    assert [name for name, _ in events[2:4]] == ["content_block_start", "content_block_stop"]
    assert [block["type"] for block in fold_anthropic(events)["content"]] == ["redacted_thinking", "thinking", "text"]


def test_a_signature_alone_is_an_empty_thinking_block() -> None:
    message = message_of(converse(reasoning(0, signature="c2ln"), text(1, "Hi")))
    assert message["content"][0] == {"type": "thinking", "thinking": "", "signature": "c2ln"}


def test_empty_text_opens_no_block() -> None:
    message = message_of(converse(text(0, ""), text(1, "", "Hi", "")))
    assert message["content"] == [{"type": "text", "text": "Hi"}]


def test_a_block_without_its_stop_ends_when_the_next_begins() -> None:
    events = converse([("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "a"}})], text(1, "b"))
    assert message_of(events)["content"] == [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]


def test_deltas_the_hub_has_no_block_for_are_left_out() -> None:
    citation = ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"citation": {"title": "doc"}}})
    tool_result = ("contentBlockStart", {"contentBlockIndex": 1, "start": {"toolResult": {"toolUseId": "t"}}})
    events = converse([citation, ("contentBlockStop", {"contentBlockIndex": 0}), tool_result,
                       ("contentBlockStop", {"contentBlockIndex": 1}), ("futureEvent", {"x": 1})], text(2, "Hi"))
    assert message_of(events)["content"] == [{"type": "text", "text": "Hi"}]


@pytest.mark.parametrize(("stop", "expected"), [
    ("end_turn", "end_turn"), ("tool_use", "tool_use"), ("max_tokens", "max_tokens"),
    ("stop_sequence", "stop_sequence"), ("guardrail_intervened", "refusal"), ("content_filtered", "refusal"),
    ("model_context_window_exceeded", "model_context_window_exceeded"),
])
def test_stop_reasons(stop: str, expected: str) -> None:
    assert message_of(converse(text(0, "Hi"), stop=stop))["stop_reason"] == expected


def test_the_stop_sequence_comes_from_the_models_own_fields() -> None:
    message = message_of(converse(text(0, "1, 2, 3"), stop="stop_sequence", extra={"stop_sequence": "4"}))
    assert (message["stop_reason"], message["stop_sequence"]) == ("stop_sequence", "4")
    other = message_of(converse(text(0, "Hi"), extra={"stop_sequence": 4, "other": True}))
    assert other["stop_sequence"] is None


def test_the_end_waits_for_metadata() -> None:
    m = machine()
    stop = m.on_event(SSEEvent("messageStop", b'{"stopReason":"end_turn"}'))
    assert b"message_delta" not in stop
    end = m.on_event(SSEEvent("metadata", json.dumps({"usage": USAGE, "metrics": {"latencyMs": 1}}).encode()))
    assert [name for name, _ in parse_events(end)] == ["message_delta", "message_stop"]
    assert m.finish() == b""


def test_a_stream_that_ends_after_message_stop_without_metadata_is_whole() -> None:
    message = message_of(converse(text(0, "Hi"), usage=None))
    assert message["stop_reason"] == "end_turn" and message["usage"] == {"input_tokens": 0, "output_tokens": 0}


def test_events_after_the_end_are_ignored() -> None:
    m = machine()
    out = run(STREAMS["text"] + frames(text(5, "late")), m=m)
    assert _unminted(out) == _unminted(run(STREAMS["text"]))
    assert m.on_event(SSEEvent("contentBlockDelta", b'{"contentBlockIndex":0,"delta":{"text":"x"}}')) == b""


def test_events_without_a_name_are_none_of_converses() -> None:
    assert machine().on_data(b'{"x":1}') == b""


def test_stream_to_hub_is_the_factory() -> None:
    m = stream_to_hub(CTX, "m", {"stop_reason": STOP_VALUES})
    assert isinstance(m, HubStreamFromConverse) and m.reads == "events" and m.start() == b""


# --- failures ------------------------------------------------------------------------------------


def _error(out: bytes) -> dict[str, Any]:
    events = parse_events(out)
    assert events[-1][0] == "error" and "message_stop" not in [name for name, _ in events]
    return events[-1][1]["error"]


@pytest.mark.parametrize("cut", ["before_message_stop", "mid_block", "before_anything"])
def test_a_stream_that_ends_before_message_stop_is_an_error(cut: str) -> None:
    events = {"before_message_stop": converse(text(0, "Hi"))[:-2],
              "mid_block": converse(text(0, "Hi"))[:2],
              "before_anything": []}[cut]
    error = _error(run(frames(events)))
    assert error["type"] == "api_error" and "ended before it finished" in error["message"]


def test_an_exception_mid_stream_ends_in_its_error_after_what_came_before() -> None:
    data = frames(converse(text(0, "Hel"))[:2]) + exception_frame("throttlingException", "Too many tokens")
    for offset in range(len(data) + 1):
        out = run(data, [data[:offset], data[offset:]])
        events = parse_events(out)
        assert [name for name, _ in events] == ["message_start", "ping", "content_block_start", "content_block_delta",
                                                 "error"], offset
        assert events[-1][1]["error"] == {  # a throttle: retry later, as the unary 429 says
            "type": "rate_limit_error",
            "message": "upstream 'up' failed mid-stream: throttlingException: Too many tokens"}


def test_an_exception_first_is_only_the_error() -> None:
    out = run(exception_frame("serviceUnavailableException", "busy"))
    assert [name for name, _ in parse_events(out)] == ["error"]
    assert _error(out)["type"] == "overloaded_error"


def test_a_corrupt_frame_ends_in_an_error() -> None:
    data = frames(CASES["text"])
    broken = data[:40] + bytes([data[40] ^ 1]) + data[41:]
    assert _error(run(broken))["type"] == "api_error"


@pytest.mark.parametrize("stop", ["malformed_model_output", "malformed_tool_use"])
def test_a_broken_output_is_an_error_not_an_end(stop: str) -> None:
    error = _error(run(frames(converse(text(0, "Hi"), stop=stop))))
    assert error["message"] == f"upstream 'up' finished with {stop}"


@pytest.mark.parametrize(("name", "data"), [
    ("contentBlockDelta", b'{"contentBlockIndex": "zero", "delta": {"text": "x"}}'),
    ("contentBlockDelta", b'{"delta": {"text": "x"}}'),
    ("contentBlockStart", b'{"contentBlockIndex": 0, "start": {"toolUse": {"name": "ls"}}}'),
    ("messageStop", b"[1, 2"),
    ("metadata", b'{"usage": {"inputTokens": "many"}}'),
])
def test_an_invalid_payload_is_a_protocol_error(name: str, data: bytes) -> None:
    with pytest.raises(UpstreamProtocolError, match=f"invalid {name} event"):
        machine().on_event(SSEEvent(name, data))


def test_tool_input_outside_a_tool_block_is_a_protocol_error() -> None:
    m = machine()
    with pytest.raises(UpstreamProtocolError, match="no toolUse start opened"):
        m.on_event(SSEEvent("contentBlockDelta", b'{"contentBlockIndex":0,"delta":{"toolUse":{"input":"{}"}}}'))


def test_fail_ends_with_an_error_event_and_nothing_after() -> None:
    m = machine()
    m.on_event(SSEEvent("messageStart", b'{"role":"assistant"}'))
    assert b"event: error" in m.fail(UpstreamStatusError(429, "slow down"))
    assert m.on_event(SSEEvent("contentBlockDelta", b'{"contentBlockIndex":0,"delta":{"text":"x"}}')) == b""
    assert m.fail(UpstreamProtocolError("again")) == b""
