"""AnthropicStreamFromOpenAI: recorded upstream streams → exact Anthropic events, at every split,
folded and compared with the unary conversion; then the edge cases one by one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from router.core.errors import (
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
)
from router.core.sse import SSEParser
from router.routing.compose import build_converters
from router.spokes.openai.upstream.answer import thinking_signature
from router.spokes.openai.upstream.stream import AnthropicStreamFromOpenAI
from tests.support.streamcases import (
    CTX,
    FINISH_VALUES,
    Event,
    StreamCase,
    fold_anthropic,
    fold_openai,
    load_cases,
    one_byte_pieces,
    openai_machine,
    parse_events,
    translate,
    two_piece_splits,
)

CASES = load_cases("openai_to_anthropic")
CLEAN = [case for case in CASES if not case.fails]
FAILING = [case for case in CASES if case.fails]


def _ids(cases: list[StreamCase]) -> list[str]:
    return [case.name for case in cases]


def test_the_required_cases_are_recorded() -> None:
    names = set(_ids(CASES))
    required = {
        "text", "reasoning_content_then_text", "reasoning_openrouter", "tool_call_split_arguments",
        "parallel_tool_calls_interleaved", "content_and_finish_together", "usage_only_final_chunk",
        "cut_mid_stream", "bad_json", "crlf",
    }
    assert required <= names
    assert b"\r\n" in next(c for c in CASES if c.name == "crlf").upstream_sse


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_recorded_stream_gives_the_expected_events(case: StreamCase) -> None:
    events = parse_events(translate(openai_machine(case), [case.upstream_sse]))
    assert events == case.expected_events


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_every_two_piece_split_gives_the_same_bytes(case: StreamCase) -> None:
    whole = translate(openai_machine(case), [case.upstream_sse])
    for head, tail in two_piece_splits(case.upstream_sse):
        assert translate(openai_machine(case), [head, tail]) == whole, f"split at {len(head)}"


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_one_byte_at_a_time_gives_the_same_bytes(case: StreamCase) -> None:
    whole = translate(openai_machine(case), [case.upstream_sse])
    assert translate(openai_machine(case), one_byte_pieces(case.upstream_sse)) == whole


@pytest.mark.parametrize("case", CLEAN, ids=_ids(CLEAN))
def test_folded_stream_equals_the_unary_conversion(case: StreamCase) -> None:
    converters = build_converters("anthropic__openai", CTX)
    completion = fold_openai(case.upstream_sse)
    unary = converters.response.function(completion, CTX)
    streamed = fold_anthropic(parse_events(translate(openai_machine(case), [case.upstream_sse])))
    assert streamed == unary


@pytest.mark.parametrize("case", FAILING, ids=_ids(FAILING))
def test_a_failed_stream_ends_in_one_error_and_never_in_message_stop(case: StreamCase) -> None:
    names = [name for name, _ in parse_events(translate(openai_machine(case), [case.upstream_sse]))]
    assert names[-1] == "error"
    assert names.count("error") == 1
    assert "message_stop" not in names and "message_delta" not in names


# --- edge cases, one synthetic stream each ---------------------------------------------------------


def _sse(*payloads: dict[str, Any] | str) -> bytes:
    return b"".join(
        b"data: " + (p.encode() if isinstance(p, str) else json.dumps(p).encode()) + b"\n\n" for p in payloads
    )


def _delta(finish: str | None = None, **delta: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _call(index: int, *, id: str | None = None, name: str | None = None, args: str | None = None) -> dict[str, Any]:
    return {"index": index, "id": id, "function": {"name": name, "arguments": args}}


def _machine(**overrides: Any) -> AnthropicStreamFromOpenAI:
    params: dict[str, Any] = {"message_id": "msg_1", "model": "m", "input_tokens": None, "finish_values": FINISH_VALUES}
    params.update(overrides)
    return AnthropicStreamFromOpenAI(CTX, **params)


def _run(stream: bytes, **overrides: Any) -> list[Event]:
    return parse_events(translate(_machine(**overrides), [stream]))


def _blocks(events: list[Event]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = fold_anthropic(events)["content"]
    return blocks


def test_message_start_carries_the_known_input_tokens() -> None:
    events = _run(_sse(_delta("stop", content="x"), "[DONE]"), input_tokens=1234)
    assert events[0][1]["message"]["usage"] == {"input_tokens": 1234, "output_tokens": 0}


def test_a_name_that_arrives_before_the_id_waits_for_it() -> None:
    stream = _sse(
        _delta(tool_calls=[_call(0, name="Read")]),
        _delta(tool_calls=[_call(0, id="call_7", args='{"a"')]),
        _delta(tool_calls=[_call(0, name="", args=":1}")]),
        _delta("tool_calls"),
        "[DONE]",
    )
    (block,) = _blocks(_run(stream))
    assert block == {"type": "tool_use", "id": "call_7", "name": "Read", "input": {"a": 1}}


def test_a_call_without_an_id_gets_one_when_its_arguments_flow() -> None:
    stream = _sse(_delta(tool_calls=[_call(0, name="Read", args='{"a":1}')]), _delta("tool_calls"), "[DONE]")
    (block,) = _blocks(_run(stream))
    assert block["id"].startswith("toolu_") and block["input"] == {"a": 1}


def test_streamed_tool_calls_end_in_tool_use_whatever_the_upstream_says() -> None:
    stream = _sse(_delta(tool_calls=[_call(0, id="c", name="f", args="{}")]), _delta("stop"), "[DONE]")
    assert _run(stream)[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_stop_reason_comes_from_the_value_table_with_its_fallback() -> None:
    values = {"stop": "end_turn", "content_filter": "refusal", "*": "end_turn"}
    assert _run(_sse(_delta("content_filter", content="x"), "[DONE]"), finish_values=values)[-2][1]["delta"][
        "stop_reason"
    ] == "refusal"
    assert _run(_sse(_delta("weird", content="x"), "[DONE]"), finish_values=values)[-2][1]["delta"][
        "stop_reason"
    ] == "end_turn"
    # [DONE] without any finish_reason is a clean end too
    assert _run(_sse(_delta(content="x"), "[DONE]"), finish_values=values)[-2][1]["delta"]["stop_reason"] == "end_turn"


def test_thinking_is_its_own_block_signed_before_it_stops() -> None:
    events = _run(_sse(_delta(reasoning_content="hm", content="a"), _delta("stop", content="b"), "[DONE]"))
    thinking, text = _blocks(events)
    assert thinking == {"type": "thinking", "thinking": "hm", "signature": thinking_signature(CTX)}
    assert text == {"type": "text", "text": "ab"}


def test_the_same_reasoning_under_both_names_is_taken_once() -> None:
    events = _run(_sse(_delta("stop", reasoning_content="hm", reasoning="hm"), "[DONE]"))
    assert _blocks(events)[0]["thinking"] == "hm"


def test_switching_kinds_opens_a_new_block_each_time() -> None:
    stream = _sse(
        _delta(content="a"),
        _delta(reasoning="r"),
        _delta(content="b"),
        _delta(tool_calls=[_call(0, id="c", name="f", args="{}")]),
        _delta("stop", content="after"),
        "[DONE]",
    )
    assert [b["type"] for b in _blocks(_run(stream))] == ["text", "thinking", "text", "tool_use", "text"]


def test_interleaved_calls_whose_json_never_completes_are_each_one_exact_block() -> None:
    # Invalid argument JSON never looks complete, so the first call stays live to the end and the
    # others are buffered; each still gets exactly its own fragments.
    stream = _sse(
        _delta(tool_calls=[_call(0, id="a", name="f", args="x"), _call(1, id="b", name="g", args="1")]),
        _delta(tool_calls=[_call(1, args="2"), _call(0, args="y")]),
        _delta("tool_calls"),
        "[DONE]",
    )
    events = _run(stream)
    deltas = [(d["index"], d["delta"]["partial_json"]) for n, d in events if n == "content_block_delta"]
    assert deltas == [(0, "x"), (0, "y"), (1, "12")]


def test_empty_and_odd_chunks_change_nothing() -> None:
    stream = _sse(
        {"choices": []},
        _delta(role="assistant", content=""),
        {"choices": [{"index": 0, "delta": None, "finish_reason": None}]},
        {"choices": [{"index": 1, "delta": {"content": "other choice"}, "finish_reason": None}]},
        _delta(content=None, tool_calls=[]),
        _delta("stop", content="only"),
        "[DONE]",
    ) + b"data: \n\n"
    assert _blocks(_run(stream)) == [{"type": "text", "text": "only"}]


def test_nothing_follows_done() -> None:
    events = _run(_sse(_delta("stop", content="a"), "[DONE]", _delta(content="late")))
    assert events[-1][0] == "message_stop"
    assert _blocks(events) == [{"type": "text", "text": "a"}]


def test_finish_without_done_or_finish_reason_raises() -> None:
    machine = _machine()
    machine.start()
    machine.on_data(json.dumps(_delta(content="a")).encode())
    with pytest.raises(UpstreamProtocolError, match="ended before it finished"):
        machine.finish()


def test_bad_json_raises_upstream_protocol_error() -> None:
    machine = _machine()
    machine.start()
    with pytest.raises(UpstreamProtocolError, match="invalid stream chunk"):
        machine.on_data(b'{"choices": [')


@pytest.mark.parametrize(
    ("error", "error_type", "message"),
    [
        (UpstreamStatusError(529, "busy"), "overloaded_error", "busy"),
        (UpstreamTimeout("upstream 'up' timed out"), "api_error", "upstream 'up' timed out"),
        (UpstreamProtocolError("broken"), "api_error", "broken"),
    ],
)
def test_fail_emits_one_error_event_and_ends_the_machine(error: Any, error_type: str, message: str) -> None:
    machine = _machine()
    machine.start()
    opened = machine.on_data(json.dumps(_delta(content="a")).encode())
    out = machine.fail(error)
    assert parse_events(out) == [("error", {"type": "error", "error": {"type": error_type, "message": message}})]
    assert b"content_block_stop" not in opened + out
    assert machine.fail(error) == b""
    assert machine.on_data(b"[DONE]") == b""
    assert machine.finish() == b""


def test_fail_after_a_clean_end_emits_nothing() -> None:
    machine = _machine()
    machine.start()
    machine.on_data(b"[DONE]")
    assert machine.fail(UpstreamProtocolError("late")) == b""


def test_ping_is_an_anthropic_ping_event() -> None:
    assert parse_events(_machine().ping()) == [("ping", {"type": "ping"})]


# --- runs: several payloads decoded at once ---------------------------------------------------------


class _OneByOne(AnthropicStreamFromOpenAI):
    """The machine without its run path: the relay feeds it payload by payload."""

    on_run = None  # type: ignore[assignment]


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_a_run_gives_the_same_bytes_as_its_payloads_one_by_one(case: StreamCase) -> None:
    one_by_one = _OneByOne(
        CTX, message_id=case.message_id, model=case.model, input_tokens=case.input_tokens, finish_values=FINISH_VALUES
    )
    assert translate(openai_machine(case), [case.upstream_sse]) == translate(one_by_one, [case.upstream_sse])


def test_a_plain_stream_is_converted_as_one_run() -> None:
    machine = _machine()
    machine.start()
    run = SSEParser().data_run(_sse(_delta(content="a"), _delta(content="b"), _delta("stop"), "[DONE]"))
    assert run is not None and run.count == 4
    out = machine.on_run(run)
    assert out is not None
    names = [name for name, _ in parse_events(out)]
    assert names[-2:] == ["message_delta", "message_stop"]
    assert machine.on_data(json.dumps(_delta(content="late")).encode()) == b""  # [DONE] ended it


@pytest.mark.parametrize(
    "bad",
    [b'{"choices": [', b"", b'{"choices": []}, {"choices": []}', b'{"error": {"message": "boom"}}', b"[DONE]"],
    ids=["broken-json", "empty", "two-values", "error-member", "done-mid-run"],
)
def test_a_run_with_a_payload_that_needs_care_is_declined_and_changes_nothing(bad: bytes) -> None:
    text = json.dumps(_delta(content="a")).encode()
    run = SSEParser().data_run(b"data: %s\n\ndata: %s\n\ndata: %s\n\n" % (text, bad, text))
    assert run is not None and run.count == 3
    machine, fresh = _machine(), _machine()
    machine.start(), fresh.start()
    assert machine.on_run(run) is None
    assert machine.on_data(text) == fresh.on_data(text)


def test_a_bad_payload_mid_run_still_sends_what_came_before_it() -> None:
    stream = _sse(_delta(content="kept")) + b'data: {"choices": [\n\n' + _sse(_delta(content="lost"))
    events = _run(stream)
    texts = [data["delta"]["text"] for name, data in events if name == "content_block_delta"]
    assert texts == ["kept"]
    assert events[-1][0] == "error" and "invalid stream chunk" in events[-1][1]["error"]["message"]


def test_text_deltas_encoded_together_are_the_same_bytes_as_one_by_one() -> None:
    # Strings that would break a careless join of encoded strings: quotes, commas, the `","`
    # separator itself, backslashes before quotes, control characters, non-ASCII.
    texts = ['say "hi"', '","', ",", '"', "\\", '\\",\\"', "line\nbreak\t", "\u2028\u00e9\U0001f600", '"],["', "plain"]
    stream = _sse(_delta(content="start"), *(_delta(content=text) for text in texts), _delta("stop"), "[DONE]")
    one_by_one = _OneByOne(CTX, message_id="msg_1", model="m", input_tokens=None, finish_values=FINISH_VALUES)
    together = translate(_machine(), [stream])
    assert together == translate(one_by_one, [stream])
    deltas = [data["delta"]["text"] for name, data in parse_events(together) if name == "content_block_delta"]
    assert deltas == ["start", *texts]
