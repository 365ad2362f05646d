"""HubStreamFromResponses: Responses streams → hub (Anthropic) events, at every split, folded and
compared with the unary conversion of the response the stream ends with; then the edge cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from router.core.errors import RouterError, UpstreamProtocolError, UpstreamStatusError
from router.core.sse import SSEParser
from router.core.usage import Tokens
from router.spokes.responses.upstream.signature import reasoning_ref, signature_for
from router.spokes.responses.upstream.stream import stream_to_hub
from tests.spokes.responses.upstream import streams as s
from tests.spokes.responses.upstream.upstream_table import (
    CTX,
    STOP_VALUES,
    machine,
    sse,
    to_hub,
)
from tests.support.streamcases import (
    Event,
    fold_anthropic,
    one_byte_pieces,
    parse_events,
    translate,
    two_piece_splits,
)

CODEX = Path(__file__).resolve().parents[4].parent / "shared" / "fixtures" / "codex"  # ../shared beside the repo
CODEX_STREAMS = {f"codex-{p.parent.name}-{p.stem[:4]}": p for p in sorted(CODEX.glob("*/*.json"))} if CODEX.is_dir() else {}

FINALS: dict[str, dict[str, Any]] = {
    "text": s.response([s.message("Hello there, how are you today?")], usage=s.USAGE),
    "reasoning_then_text": s.response(
        [s.reasoning("First I look.", "Then I answer."), s.message("The answer is 42.")], usage=s.USAGE),
    "encrypted_only_reasoning_and_calls": s.response(
        [s.reasoning(), s.message("Let me check."),
         s.function_call("ls", '{"path": "/tmp"}'),
         s.function_call("read", '{"file": "a\\"b.txt"}', call_id="call_2", item_id="fc_2")], usage=s.USAGE),
    "custom_tool": s.response([s.custom_call("exec", 'const r = "x";\ntext(r)')]),
    "two_text_parts": s.response([s.message("One.", "Two.")]),
    "refusal": s.response([s.message(refusal="I can't help with that.")]),
    "incomplete": s.response([s.message("Cut sho")], status="incomplete",
                             incomplete_details={"reason": "max_output_tokens"}),
    "content_filter": s.response([s.message("Hm")], status="incomplete",
                                 incomplete_details={"reason": "content_filter"}),
    "no_usage_no_output": s.response([]),
    "builtin_tool": s.response([{"id": "ws_1", "type": "web_search_call", "status": "completed"},
                                s.message("Found it.")]),
    "unicode": s.response([s.message("naïve \u2028 line 🎉 \"quoted\" \\ back")]),
}
END_OF = {"incomplete": "response.incomplete", "content_filter": "response.incomplete"}
STREAMS: dict[str, bytes] = {name: s.stream(final, END_OF.get(name, "response.completed"))
                             for name, final in FINALS.items()}
STREAMS["unnamed"] = s.stream(FINALS["reasoning_then_text"], named=False)
STREAMS["crlf"] = STREAMS["encrypted_only_reasoning_and_calls"].replace(b"\n", b"\r\n")
for _name, _path in CODEX_STREAMS.items():
    STREAMS[_name] = json.loads(_path.read_text("utf-8"))["response"]["sse"].encode()


def _final(stream: bytes) -> dict[str, Any]:
    """The response the stream ends with: by the protocol, the whole answer."""
    parser = SSEParser()
    for event in parser.feed(stream) + parser.flush():
        data = json.loads(event.data)
        if data["type"] in ("response.completed", "response.incomplete"):
            final: dict[str, Any] = data["response"]
            return final
    raise AssertionError("no final event")


def _run(stream: bytes, pieces: list[bytes] | None = None) -> list[Event]:
    return parse_events(translate(machine(), pieces if pieces is not None else [stream]))


# --- every case: splits, fold equals unary --------------------------------------------------------


@pytest.mark.parametrize("name", list(STREAMS))
def test_every_two_piece_split_gives_the_same_bytes(name: str) -> None:
    stream = STREAMS[name]
    whole = translate(machine(), [stream])
    step = max(1, len(stream) // 400)  # the long recorded streams: a few hundred offsets each
    for offset in range(0, len(stream) + 1, step):
        assert translate(machine(), [stream[:offset], stream[offset:]]) == whole, f"split at {offset}"


@pytest.mark.parametrize("name", ["text", "reasoning_then_text", "crlf", "custom_tool"])
def test_one_byte_at_a_time_gives_the_same_bytes(name: str) -> None:
    stream = STREAMS[name]
    assert translate(machine(), one_byte_pieces(stream)) == translate(machine(), [stream])


@pytest.mark.parametrize("name", list(STREAMS))
def test_folded_stream_equals_the_unary_conversion(name: str) -> None:
    stream = STREAMS[name]
    streamed = fold_anthropic(_run(stream))
    assert streamed == to_hub(_final(stream))


def test_two_piece_split_helper_is_the_shared_one() -> None:
    assert list(two_piece_splits(b"ab")) == [(b"", b"ab"), (b"a", b"b"), (b"ab", b"")]


# --- what the events say -----------------------------------------------------------------------


def test_text_stream_events_in_order() -> None:
    events = _run(STREAMS["text"])
    names = [name for name, _ in events]
    assert names[:2] == ["message_start", "ping"]
    assert names[2] == "content_block_start" and names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    start = events[0][1]["message"]
    assert start["id"] == "msg_resp_1" and start["model"] == "m"
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert delta["usage"] == {"input_tokens": 20, "output_tokens": 30, "cache_read_input_tokens": 100,
                              "cache_creation_input_tokens": 0}


def test_reasoning_summary_parts_are_paragraphs_and_the_signature_carries_the_item() -> None:
    message = fold_anthropic(_run(STREAMS["reasoning_then_text"]))
    thinking, text = message["content"]
    assert thinking["thinking"] == "First I look.\n\nThen I answer."
    ref = reasoning_ref(thinking["signature"], CTX.upstream)
    assert ref is not None and (ref.item_id, ref.encrypted_content) == ("rs_1", "gAAAAB-enc==")
    assert text == {"type": "text", "text": "The answer is 42."}


def test_tool_calls_stream_live_and_end_in_tool_use() -> None:
    events = _run(STREAMS["encrypted_only_reasoning_and_calls"])
    message = fold_anthropic(events)
    kinds = [block["type"] for block in message["content"]]
    assert kinds == ["thinking", "text", "tool_use", "tool_use"]
    assert message["content"][0]["thinking"] == ""  # encrypted only: kept for the round trip
    assert message["content"][2] == {"type": "tool_use", "id": "call_1", "name": "ls", "input": {"path": "/tmp"}}
    assert message["content"][3]["input"] == {"file": 'a"b.txt'}
    assert message["stop_reason"] == "tool_use"
    json_deltas = [data for name, data in events if name == "content_block_delta"
                   and data["delta"]["type"] == "input_json_delta" and data["index"] == 2]
    assert len(json_deltas) > 1  # the arguments stream as they come


def test_custom_tool_call_input_streams_as_the_string_of_input() -> None:
    message = fold_anthropic(_run(STREAMS["custom_tool"]))
    assert message["content"] == [{"type": "tool_use", "id": "call_c", "name": "exec",
                                   "input": {"input": 'const r = "x";\ntext(r)'}}]
    assert message["stop_reason"] == "tool_use"


@pytest.mark.parametrize(("name", "stop"), [("refusal", "refusal"), ("incomplete", "max_tokens"),
                                            ("content_filter", "refusal"), ("text", "end_turn")])
def test_stop_reasons(name: str, stop: str) -> None:
    assert fold_anthropic(_run(STREAMS[name]))["stop_reason"] == stop


def test_builtin_tool_calls_are_left_out() -> None:
    assert [b["type"] for b in fold_anthropic(_run(STREAMS["builtin_tool"]))["content"]] == ["text"]


def test_tokens_are_the_final_usage() -> None:
    m = machine()
    translate(m, [STREAMS["text"]])
    assert m.tokens() == Tokens(120, 30, cache_read=100)
    assert machine().tokens() is None


def test_stream_to_hub_is_the_factory() -> None:
    m = stream_to_hub(CTX, "m", {"response_status": STOP_VALUES})
    assert m.reads == "data" and m.start() == b""


# --- interleaving and servers that say less ------------------------------------------------------


def test_interleaved_calls_keep_blocks_whole_and_indexes_in_order() -> None:
    a, b = s.function_call("a", '{"x": 1}'), s.function_call("b", '{"y": 2}', call_id="call_2", item_id="fc_2")
    final = s.response([a, b])
    stream = sse(
        {"type": "response.created", "response": s.response([], status="in_progress")},
        {"type": "response.output_item.added", "output_index": 0, "item": a | {"arguments": ""}},
        {"type": "response.output_item.added", "output_index": 1, "item": b | {"arguments": ""}},
        {"type": "response.function_call_arguments.delta", "output_index": 1, "item_id": "fc_2", "delta": '{"y": '},
        {"type": "response.function_call_arguments.delta", "output_index": 0, "item_id": "fc_1", "delta": '{"x": '},
        {"type": "response.function_call_arguments.delta", "output_index": 1, "item_id": "fc_2", "delta": "2}"},
        {"type": "response.output_item.done", "output_index": 1, "item": b},
        {"type": "response.function_call_arguments.delta", "output_index": 0, "item_id": "fc_1", "delta": "1}"},
        {"type": "response.output_item.done", "output_index": 0, "item": a},
        {"type": "response.completed", "response": final},
    )
    events = _run(stream)
    message = fold_anthropic(events)  # asserts one block at a time, contiguous indexes
    assert [(block["name"], block["input"]) for block in message["content"]] == [("a", {"x": 1}), ("b", {"y": 2})]
    assert message == to_hub(final)


def test_done_events_alone_convert_whole() -> None:
    """A server that sends each item only when done (no added, no deltas)."""
    final = s.response([s.reasoning("Hmm."), s.message("Hi!"), s.function_call("ls", '{"p": 1}'),
                        s.custom_call("exec", "echo")])
    stream = sse(*[{"type": "response.output_item.done", "output_index": i, "item": item}
                   for i, item in enumerate(final["output"])],
                 {"type": "response.completed", "response": final})
    message = fold_anthropic(_run(stream))
    assert message["id"].startswith("msg_")  # no response.created: an id of our own
    assert {k: v for k, v in message.items() if k != "id"} == {k: v for k, v in to_hub(final).items() if k != "id"}


def test_events_without_output_index_find_their_item_by_id() -> None:
    final = s.response([s.message("abc")])
    stream = sse(
        {"type": "response.output_item.added", "output_index": 0, "item": s.message() | {"id": "msg_1"}},
        {"type": "response.output_text.delta", "item_id": "msg_1", "content_index": 0, "delta": "abc"},
        {"type": "response.output_item.done", "output_index": 0, "item": final["output"][0]},
        {"type": "response.completed", "response": final},
    )
    assert [b["text"] for b in fold_anthropic(_run(stream))["content"]] == ["abc"]


def test_unknown_events_and_done_marker_are_skipped() -> None:
    stream = STREAMS["text"].replace(
        b"event: response.completed", b'event: response.new_thing\ndata: {"type":"response.new_thing"}\n\n'
        b"event: response.completed") + b"data: [DONE]\n\n"
    assert _run(stream) == _run(STREAMS["text"])


# --- faults: never a clean end ---------------------------------------------------------------------


def _names(stream: bytes) -> list[str]:
    return [name for name, _ in _run(stream)]


def test_a_stream_cut_before_completed_ends_in_an_error() -> None:
    stream = STREAMS["reasoning_then_text"]
    cut = stream[: stream.index(b"event: response.completed")]
    names = _names(cut)
    assert names[-1] == "error" and "message_stop" not in names and names.count("error") == 1
    m = machine()
    m.on_data(b'{"type":"response.created","response":{"id":"r"}}')
    with pytest.raises(UpstreamProtocolError, match="ended before it finished"):
        m.finish()


def test_a_cut_at_every_offset_never_ends_cleanly() -> None:
    stream = STREAMS["encrypted_only_reasoning_and_calls"]
    end = stream.index(b"event: response.completed")
    for offset in range(0, end, 37):
        names = _names(stream[:offset])
        assert names[-1] == "error" and "message_stop" not in names, offset


def test_response_failed_is_an_upstream_error() -> None:
    final = s.response([], status="failed", error={"code": "server_error", "message": "The model crashed"})
    stream = s.stream(s.response([s.message("partial")])).split(b"event: response.completed")[0] + sse(
        {"type": "response.failed", "response": final})
    events = _run(stream)
    assert events[-1] == ("error", {"type": "error", "error": {"type": "api_error",
                                                              "message": "upstream response failed: The model crashed"}})
    assert "message_stop" not in [name for name, _ in events]
    m = machine()
    with pytest.raises(UpstreamStatusError) as raised:
        m.on_data(json.dumps({"type": "response.failed", "response": final}).encode())
    assert raised.value.upstream_status == 500


@pytest.mark.parametrize(("event", "status", "message"), [
    ({"type": "error", "code": "rate_limit_exceeded", "message": "Slow down", "param": None}, 429, "Slow down"),
    ({"type": "error", "error": {"type": "server_error", "code": "server_error", "message": "Oops"}}, 500, "Oops"),
    ({"type": "error", "message": "???"}, None, "???"),
])
def test_error_events_are_upstream_errors(event: dict[str, Any], status: int | None, message: str) -> None:
    m = machine()
    m.on_data(b'{"type":"response.created","response":{"id":"r"}}')
    with pytest.raises(RouterError) as raised:
        m.on_data(json.dumps(event).encode())
    error = raised.value
    assert message in error.message
    if status is None:
        assert isinstance(error, UpstreamProtocolError)
    else:
        assert isinstance(error, UpstreamStatusError) and error.upstream_status == status
    names = _names(sse({"type": "response.created", "response": {"id": "r"}}, event))
    assert names[-1] == "error" and "message_stop" not in names


def test_bad_json_is_a_protocol_error() -> None:
    names = _names(STREAMS["text"][:200] + b"\n\ndata: {not json\n\n")
    assert names[-1] == "error"


def test_nothing_follows_the_end_or_a_failure() -> None:
    m = machine()
    translate(m, [STREAMS["text"]])
    assert m.on_data(b'{"type":"response.output_text.delta","delta":"x"}') == b""
    assert m.fail(UpstreamProtocolError("late")) == b""
    failed = machine()
    assert failed.fail(UpstreamProtocolError("x")).startswith(b"event: error")
    assert failed.on_data(b'{"type":"response.created","response":{"id":"r"}}') == b""


def test_signature_of_a_thinking_block_whose_item_never_closed() -> None:
    stream = sse(
        {"type": "response.output_item.added", "output_index": 0, "item": {"id": "rs_9", "type": "reasoning", "summary": []}},
        {"type": "response.reasoning_summary_text.delta", "output_index": 0, "item_id": "rs_9", "summary_index": 0,
         "delta": "thinking"},
        {"type": "response.completed", "response": s.response([])},
    )
    block = fold_anthropic(_run(stream))["content"][0]
    assert block["signature"] == signature_for("up", "rs_9", None)
    assert reasoning_ref(block["signature"], "up") is None  # nothing to send back
