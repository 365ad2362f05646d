"""ResponsesStreamFromHub: hub events → Responses SSE events.

Hub streams are made from hub answers (`stream_of`), so one answer gives both sides of the oracle:
the stream's events are folded the way the openai SDK accumulates them (checking the event grammar
and the sequence numbers on the way), and the fold must equal the unary conversion of the same
answer (the client table then complete_answer). Ids are random per item and `created_at` is the
clock: both are normalised before comparing.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import ResponseStreamEvent

from router.config.target import Capabilities, TargetContext
from router.core.errors import RateLimited, UpstreamProtocolError, UpstreamTimeout
from router.core.usage import Tokens
from router.spokes.responses.client.output import REDACTED_MARK
from router.spokes.responses.client.stream import (
    ResponsesStreamFromHub,
    stream_from_hub,
)
from router.spokes.responses.client.string_argument import StringArgumentStream
from router.spokes.tables import read_pair_text
from tests.spokes.responses.client_table import decode, fixture_body, to_response
from tests.support.hub_streams import message, sse, stream_of, text, thinking, tool_use
from tests.support.streamcases import (
    one_byte_pieces,
    parse_events,
    translate,
    two_piece_splits,
)

CTX = TargetContext(route="t", upstream="up", model="claude-test", caps=Capabilities())
VALUES: dict[str, dict[str, str]] = tomllib.loads(read_pair_text("responses.client"))["values"]
PLAIN = {"model": "gpt-test", "input": "hi"}
TOOLS = {
    "model": "gpt-test",
    "input": "hi",
    "tools": [
        {"type": "function", "name": "get_weather", "parameters": {"type": "object"}},
        {"type": "custom", "name": "apply_patch"},
        {"type": "namespace", "name": "files", "tools": [{"type": "function", "name": "read"},
                                                        {"type": "custom", "name": "exec"}]},
    ],
}
# Event type → the SDK's model of it (the union's discriminator is the SDK's own, not pydantic's).
_EVENT_MODELS: dict[str, Any] = {
    model.model_fields["type"].annotation.__args__[0]: model
    for model in ResponseStreamEvent.__origin__.__args__  # type: ignore[attr-defined]
}
_ID = re.compile(rb'"(resp|rs|msg|fc|ctc)_[0-9a-f]{24}"')

Event = tuple[str, dict[str, Any]]


def machine(body: dict[str, Any] | None = None) -> ResponsesStreamFromHub:
    return ResponsesStreamFromHub(CTX, model="claude-test", src=decode(body or PLAIN), statuses=VALUES["status"],
                                  created_at=1700000000)


def run(hub: list[dict[str, Any]] | bytes, body: dict[str, Any] | None = None) -> list[Event]:
    data = hub if isinstance(hub, bytes) else sse(hub)
    return parse_events(translate(machine(body), [data]))


def names(events: list[Event]) -> list[str]:
    return [name for name, _ in events]


def stable(out: bytes) -> bytes:
    """Item ids numbered in order of appearance, so two machines' bytes compare."""
    seen: dict[bytes, bytes] = {}
    return _ID.sub(lambda match: seen.setdefault(match.group(0), b'"id%d"' % len(seen)), out)


# --- the fold: events → the response, checking the grammar --------------------------------------------


def fold(events: list[Event]) -> dict[str, Any]:
    """Accumulate like the openai SDK, asserting: every event valid for the SDK's types, numbered
    0, 1, 2 ... with no gap; created and in_progress first, one terminal event last; items added
    at the next output_index, their deltas adding up to their done events, and the terminal
    response's output made of exactly the output_item.done items."""
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    for name, data in events:
        assert data["type"] == name
        _validate(data)
    assert names(events)[:2] == ["response.created", "response.in_progress"]
    created = events[0][1]["response"]
    assert created["status"] == "in_progress" and created["output"] == [] and created["usage"] is None
    terminal = {"response.completed", "response.incomplete", "response.failed"}
    assert names(events)[-1] in terminal
    assert not terminal & set(names(events)[:-1]), "one terminal event, last"
    items: list[dict[str, Any]] = []
    done: dict[int, dict[str, Any]] = {}
    texts: dict[int, str] = {}
    for name, data in events[2:-1]:
        if name == "error":
            continue
        index = data["output_index"]
        if name == "response.output_item.added":
            assert index == len(items), "items are added in output_index order"
            items.append(data["item"])
            texts[index] = ""
            continue
        item = items[index]
        assert index not in done, f"{name} after the item's output_item.done"
        if name != "response.output_item.done":
            assert data["item_id"] == item["id"]
        if name.endswith(".delta"):
            texts[index] += data["delta"]
        elif name in ("response.output_text.done", "response.reasoning_summary_text.done"):
            assert data["text"] == texts[index]
        elif name == "response.function_call_arguments.done":
            assert data["arguments"] == texts[index] and data["name"] == item["name"]
        elif name == "response.custom_tool_call_input.done":
            assert data["input"] == texts[index]
        elif name == "response.output_item.done":
            assert data["item"]["id"] == item["id"] and data["item"]["type"] == item["type"]
            done[index] = data["item"]
            _check_item(data["item"], texts[index])
    response: dict[str, Any] = events[-1][1]["response"]
    assert response["id"] == created["id"]
    assert response["output"] == [done[index] for index in sorted(done)]
    return response


def _validate(data: dict[str, Any]) -> None:
    """Valid for the SDK's model of the event. The request's tools, which the response repeats,
    are the client's own (this SDK version may not know every tool type): left out."""
    if "response" in data:
        data = {**data, "response": {**data["response"], "tools": []}}
    _EVENT_MODELS[data["type"]].model_validate(data)


def _check_item(item: dict[str, Any], streamed: str) -> None:
    """A finished item holds what its deltas said."""
    kind = item["type"]
    if kind == "message" and item["content"][0]["type"] == "output_text":
        assert item["content"][0]["text"] == streamed
    elif kind == "reasoning":
        assert "".join(part["text"] for part in item["summary"]) == streamed
    elif kind == "function_call":
        assert item["arguments"] == streamed
    elif kind == "custom_tool_call":
        assert item["input"] == streamed


def normalised(response: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(response))
    out["created_at"] = 0
    assert out["id"].startswith("resp_")
    out["id"] = "resp"  # new per answer
    for item in out["output"]:
        item["id"] = item["type"]
        if item["type"] == "function_call":
            item["arguments"] = json.loads(item["arguments"])
    return out


# --- fold equals unary ---------------------------------------------------------------------------------

ANSWERS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "text": (message(text("Hello, world! Ünïcode ✓ and \"quotes\"")), PLAIN),
    "empty_text": (message(text("")), PLAIN),
    "text_blocks_join": (message(text("Hello"), text(" world")), PLAIN),
    "thinking_then_text": (message(thinking("Let me think\nabout it."), text("42.")), PLAIN),
    "signature_only_thinking": (message(thinking(""), text("ok")), PLAIN),
    "redacted": (message({"type": "redacted_thinking", "data": "ZW5j"}, text("ok")), PLAIN),
    "function_call": (message(text("Checking."), tool_use("get_weather", {"city": "Paris", "n": [1, 2]}),
                              stop_reason="tool_use"), TOOLS),
    "call_without_input": (message(tool_use("get_weather", {}), stop_reason="tool_use"), TOOLS),
    "namespaced_function": (message(tool_use("files__read", {"path": "a.txt"}), stop_reason="tool_use"), TOOLS),
    "custom_tool": (message(tool_use("apply_patch", {"input": "*** Begin\n\t\"x\" \\ é 😀\n"}), stop_reason="tool_use"),
                    TOOLS),
    "namespaced_custom_tool": (message(tool_use("files__exec", {"input": "ls -la"}), stop_reason="tool_use"), TOOLS),
    "custom_tool_other_arguments": (message(tool_use("apply_patch", {"text": "x"}), stop_reason="tool_use"), TOOLS),
    "interleaved": (message(
        thinking("first"), text("Let me check."), tool_use("get_weather", {"city": "Oslo"}, "toolu_1"),
        {"type": "redacted_thinking", "data": "ZW5j"}, text("And"), text(" patch."),
        tool_use("apply_patch", {"input": "diff"}, "toolu_2"), stop_reason="tool_use"), TOOLS),
    "server_tools_skipped": (message(
        text("Searching."), {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"q": "x"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}, text(" Found it.")), PLAIN),
    "json_response": (message(tool_use("json_response", {"answer": 42, "why": "because"}), stop_reason="tool_use"),
                      PLAIN),
    "max_tokens": (message(text("Cut sh"), stop_reason="max_tokens"), PLAIN),
    "refusal_after_text": (message(text("I can't"), stop_reason="refusal"), PLAIN),
    "refusal_without_text": (message(stop_reason="refusal"), PLAIN),
    "codex_custom_exec": (message(thinking("Thinking about it."),
                                  tool_use("functions__exec", {"input": 'const r = await tools.exec_command({cmd: "echo hi"});'}),
                                  stop_reason="tool_use"), fixture_body("tool", 0)),
    "codex_function": (message(tool_use("exec_command", {"cmd": "echo hi"}), stop_reason="tool_use"),
                       fixture_body("tool-custom-model", 0)),
    "codex_namespaced_function": (message(tool_use("multi_agent_v1__spawn_agent", {"task": "x"}), stop_reason="tool_use"),
                                  fixture_body("tool-custom-model", 0)),
}


@pytest.mark.parametrize("size", [1, 3, 1000])
@pytest.mark.parametrize("name", list(ANSWERS))
def test_folded_stream_equals_the_unary_answer(name: str, size: int) -> None:
    answer, body = ANSWERS[name]
    streamed = fold(run(stream_of(answer, size), body))
    assert normalised(streamed) == normalised(to_response(answer, body, CTX))


@pytest.mark.parametrize("name", ["interleaved", "custom_tool", "thinking_then_text"])
def test_every_two_piece_split_gives_the_same_events(name: str) -> None:
    answer, body = ANSWERS[name]
    data = sse(stream_of(answer, 5))
    whole = stable(translate(machine(body), [data]))
    for head, tail in two_piece_splits(data):
        assert stable(translate(machine(body), [head, tail])) == whole, f"split at {len(head)}"
    assert stable(translate(machine(body), one_byte_pieces(data))) == whole


def test_the_sdk_reads_the_stream() -> None:
    answer, body = ANSWERS["interleaved"]
    data = translate(machine(body), [sse(stream_of(answer))])
    final = _sdk_final(data)
    assert [item.type for item in final.output] == [
        "reasoning", "message", "function_call", "reasoning", "message", "custom_tool_call"]
    assert final.output_text == "Let me check.And patch."
    assert final.output[5].input == "diff"
    assert final.usage is not None and final.usage.input_tokens == 117


def test_the_sdk_raises_on_a_failed_stream() -> None:
    hub = stream_of(message(text("Hello there")))[:5]
    data = translate(machine(), [sse(hub)])
    with pytest.raises(RuntimeError, match="response.completed"):
        _sdk_final(data)


def _sdk_final(data: bytes) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=data, headers={"content-type": "text/event-stream"})

    client = openai.OpenAI(api_key="k", base_url="http://router.test/v1",
                           http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    with client.responses.stream(model="gpt-test", input="hi") as stream:
        for _ in stream:
            pass
        return stream.get_final_response()


# --- exact events ----------------------------------------------------------------------------------------


def test_a_text_answer_event_by_event() -> None:
    events = run(stream_of(message(text("Hi there")), size=4))
    assert names(events) == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.completed",
    ]
    created = events[0][1]["response"]
    assert created["id"].startswith("resp_") and created["created_at"] == 1700000000
    assert created["model"] == "claude-test" and created["object"] == "response"
    assert created["tools"] == [] and created["store"] is True and created["text"] == {"format": {"type": "text"}}
    item_id = events[2][1]["item"]["id"]
    assert events[2][1] == {"type": "response.output_item.added", "output_index": 0, "sequence_number": 2,
                            "item": {"id": item_id, "type": "message", "status": "in_progress", "role": "assistant",
                                     "content": []}}
    assert events[4][1] == {"type": "response.output_text.delta", "item_id": item_id, "output_index": 0,
                            "content_index": 0, "delta": "Hi t", "logprobs": [], "sequence_number": 4}
    completed = events[-1][1]["response"]
    assert completed["status"] == "completed" and completed["incomplete_details"] is None
    assert completed["usage"] == {"input_tokens": 117, "input_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 7},
                                  "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0},
                                  "total_tokens": 122}


def test_reasoning_events_and_encrypted_content() -> None:
    events = run(stream_of(message(thinking("Hmm.", "c2ln")), size=2))
    assert names(events)[2:-1] == [
        "response.output_item.added", "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
    ]
    assert events[3][1]["part"] == {"type": "summary_text", "text": ""} and events[3][1]["summary_index"] == 0
    item = events[-2][1]["item"]
    assert item["summary"] == [{"type": "summary_text", "text": "Hmm."}] and item["encrypted_content"] == "c2ln"


def test_thinking_without_text_opens_no_summary_part() -> None:
    events = run(stream_of(message(thinking(""))))
    assert names(events)[2:-1] == ["response.output_item.added", "response.output_item.done"]
    assert events[-2][1]["item"]["summary"] == []


def test_redacted_thinking_is_marked() -> None:
    events = run(stream_of(message({"type": "redacted_thinking", "data": "ZW5j"})))
    assert events[-2][1]["item"]["encrypted_content"] == f"{REDACTED_MARK}ZW5j"


def test_function_call_events_with_namespace() -> None:
    events = run(stream_of(message(tool_use("files__read", {"path": "a"}), stop_reason="tool_use"), size=5), TOOLS)
    assert names(events)[2:-1] == [
        "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
        "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done",
    ]
    added = events[2][1]["item"]
    assert added["type"] == "function_call" and added["status"] == "in_progress" and added["arguments"] == ""
    assert (added["name"], added["namespace"], added["call_id"]) == ("read", "files", "toolu_1")
    assert added["id"].startswith("fc_")
    assert events[-3][1]["name"] == "read" and json.loads(events[-3][1]["arguments"]) == {"path": "a"}
    assert events[-2][1]["item"]["status"] == "completed"


def test_custom_tool_call_events() -> None:
    events = run(stream_of(message(tool_use("apply_patch", {"input": "a\nb"}), stop_reason="tool_use"), size=6), TOOLS)
    assert names(events)[2:-1] == [
        "response.output_item.added", "response.custom_tool_call_input.delta", "response.custom_tool_call_input.delta",
        "response.custom_tool_call_input.done", "response.output_item.done",
    ]
    added = events[2][1]["item"]
    assert added == {"id": added["id"], "type": "custom_tool_call", "status": "in_progress", "call_id": "toolu_1",
                     "name": "apply_patch", "input": ""}
    assert added["id"].startswith("ctc_")
    assert [data["delta"] for _, data in events[3:5]] == ["a", "\nb"]  # '{"input' then '":"a\\n' ...
    assert events[5][1]["input"] == "a\nb"


def test_max_tokens_ends_incomplete() -> None:
    events = run(stream_of(message(text("Cut"), stop_reason="max_tokens")))
    assert names(events)[-1] == "response.incomplete"
    response = events[-1][1]["response"]
    assert response["status"] == "incomplete" and response["incomplete_details"] == {"reason": "max_output_tokens"}


def test_json_response_streams_as_the_message_text() -> None:
    events = run(stream_of(message(tool_use("json_response", {"a": 1}), stop_reason="tool_use"), size=3))
    deltas = [data["delta"] for name, data in events if name == "response.output_text.delta"]
    assert "".join(deltas) == '{"a":1}' and len(deltas) > 1
    assert not [name for name in names(events) if "function_call" in name]


# --- failures ----------------------------------------------------------------------------------------------


def _failure(events: list[Event]) -> dict[str, Any]:
    assert names(events)[-2:] == ["error", "response.failed"]
    error_event, failed = events[-2][1], events[-1][1]["response"]
    assert failed["status"] == "failed"
    assert error_event["code"] == failed["error"]["code"]
    assert failed["error"]["message"].startswith(error_event["message"])
    return failed


def test_a_hub_error_event_fails_the_stream() -> None:
    hub = stream_of(message(text("Hello there")))[:4]
    hub.append({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    events = run(hub + [{"type": "message_stop"}])
    failed = _failure(events)
    assert failed["error"]["code"] == "server_is_overloaded" and "Overloaded" in failed["error"]["message"]
    assert failed["output"] == []  # the open message is not passed off as finished
    assert "response.output_item.done" not in names(events)


def test_a_stream_cut_before_message_stop_fails() -> None:
    answer, body = ANSWERS["interleaved"]
    hub = stream_of(answer)[:-2]
    events = run(hub, body)
    failed = _failure(events)
    assert failed["error"]["code"] == "server_error"
    finished = [data["item"] for name, data in events if name == "response.output_item.done"]
    assert failed["output"] == finished and len(finished) == 6
    fold(events)


def test_fail_mid_stream_ends_with_the_failure_and_nothing_after() -> None:
    ours = machine()
    out = ours.start()
    for event in stream_of(message(text("Hello there")))[:4]:
        out += ours.on_data(json.dumps(event).encode())
    out += ours.fail(UpstreamTimeout("upstream 'up' sent nothing for 60 s"))
    events = parse_events(out)
    failed = _failure(events)
    assert failed["error"]["code"] == "timeout" and failed["usage"]["input_tokens"] == 117
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    assert ours.on_data(json.dumps({"type": "message_stop"}).encode()) == b""
    assert ours.fail(UpstreamProtocolError("again")) == b""
    assert ours.finish() == b""


def test_fail_before_message_start_still_creates_the_response() -> None:
    events = parse_events(machine().fail(UpstreamProtocolError("bad")))
    assert names(events) == ["response.created", "response.in_progress", "error", "response.failed"]
    assert events[0][1]["response"]["id"] == events[-1][1]["response"]["id"]
    fold(events)


def test_a_rate_limit_says_when_to_retry() -> None:
    events = parse_events(machine().fail(RateLimited("slow down", headers={"retry-after": "7"})))
    error = _failure(events)["error"]
    assert error == {"code": "rate_limit_exceeded", "message": "slow down Please try again in 7s."}


def test_nothing_follows_message_stop() -> None:
    ours = machine()
    for event in stream_of(message(text("x"))):
        ours.on_data(json.dumps(event).encode())
    assert ours.finish() == b""
    assert ours.fail(UpstreamProtocolError("late")) == b""
    assert ours.on_data(json.dumps({"type": "message_start", "message": {}}).encode()) == b""


# --- the rest of the machine -------------------------------------------------------------------------------


def test_ping_is_an_sse_comment_and_start_says_nothing() -> None:
    ours = machine()
    assert ours.start() == b""
    assert ours.ping() == b": ping\n\n"


def test_tokens_count_cache_reads_and_writes_as_input() -> None:
    ours = machine()
    assert ours.tokens() is None
    for event in stream_of(message(text("x"))):
        ours.on_data(json.dumps(event).encode())
    assert ours.tokens() == Tokens(117, 5, cache_read=100, cache_write=7)


def test_unknown_events_and_blocks_are_skipped() -> None:
    hub = stream_of(message(text("x")))
    hub.insert(1, {"type": "ping"})
    hub.insert(2, {"type": "something_new", "index": 0})
    fold(run(hub))


def test_the_factory_reads_the_status_table() -> None:
    ours = stream_from_hub(CTX, "claude-test", decode(PLAIN), {"status": {"*": "incomplete"}})
    out = b"".join(ours.on_data(json.dumps(event).encode()) for event in stream_of(message(text("x"))))
    assert parse_events(out)[-1][0] == "response.incomplete"


def test_an_invalid_event_fails_the_stream() -> None:
    events = parse_events(translate(machine(), [b"event: message_start\ndata: {not json\n\n"]))
    assert names(events)[-1] == "response.failed"


# --- the custom tool's input, decoded as it streams --------------------------------------------------------

INPUTS = ['plain', 'line\nbreak\ttab "quoted" back\\slash /', 'é ü 中文 😀 \U0001F680', 'C:\\users\\u0041', '', '\\']


@pytest.mark.parametrize("value", INPUTS)
def test_the_input_decodes_at_every_split(value: str) -> None:
    for spaced in (False, True):
        arguments = json.dumps({"input": value}, ensure_ascii=True, separators=(", ", ": ") if spaced else (",", ":"))
        for offset in range(len(arguments) + 1):
            for second in range(offset, len(arguments) + 1, 3):
                stream = StringArgumentStream()
                text_out = "".join(stream.feed(piece) for piece in
                                   (arguments[:offset], arguments[offset:second], arguments[second:]))
                assert text_out == value == stream.sent, (arguments, offset, second)


def test_the_input_streams_before_it_ends() -> None:
    stream = StringArgumentStream()
    assert stream.feed('{"inp') == ""
    assert stream.feed('ut": "ab\\') == "ab"
    assert stream.feed('ncd\\ud83d') == "\ncd"  # the high surrogate waits for its low half
    assert stream.feed('\\ude00!') == "😀!"
    assert stream.feed('"}') == ""


def test_other_arguments_stop_the_streaming() -> None:
    stream = StringArgumentStream()
    assert stream.feed('{"text": "abc"}') == ""
    stream = StringArgumentStream()
    assert stream.feed('{"input": 42}') == ""
    stream = StringArgumentStream()
    assert stream.feed('{"input": "ab\\x"}') == "ab"
    assert stream.feed('more') == ""


def test_a_raw_control_character_is_read_as_itself() -> None:
    stream = StringArgumentStream()
    assert stream.feed('{"input": "a\nb"}') == "a\nb"
