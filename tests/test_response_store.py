"""Kept answers (Responses' `store` / `previous_response_id`; GET and DELETE /v1/responses/{id}):
the spoke's record and expansion rules, the gateway's watch for a stream's final answer, and,
through the real app, the whole flow."""

from __future__ import annotations

import msgspec
import pytest

from router.core.errors import InvalidRequest, ModelNotFound
from router.gateway.history import FinalWatch
from router.spokes.responses import history
from router.spokes.responses.history import HISTORY
from router.spokes.responses.request_wire import ResponsesRouting

_encode = msgspec.json.encode

USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
ANSWER = {
    "id": "resp_1", "object": "response", "status": "completed", "instructions": "be brief",
    "output": [
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "opaque"},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "shell", "arguments": "{}"},
    ],
}


# --- the spoke's rules ---------------------------------------------------------------------------


def routing(body: dict[str, object]) -> ResponsesRouting:
    return msgspec.json.decode(_encode({"model": "m", **body}), type=ResponsesRouting)


def test_store_defaults_to_true_and_false_is_never_kept() -> None:
    assert HISTORY.keeps(routing({})) and HISTORY.keeps(routing({"store": True}))
    assert not HISTORY.keeps(routing({"store": False}))
    assert HISTORY.continues(routing({"previous_response_id": "resp_1"})) == "resp_1"
    assert HISTORY.continues(routing({})) is None and HISTORY.continues(routing({"previous_response_id": ""})) is None


def test_a_record_is_the_answer_and_the_whole_input_a_string_input_is_one_user_message() -> None:
    record = history.record({"model": "m", "input": "hi", "instructions": "be brief"}, ANSWER)
    assert record == {"response": ANSWER, "input": [USER]}
    assert history.record({"model": "m"}, ANSWER)["input"] == []


def test_expand_puts_the_kept_conversation_first_and_drops_the_pointer_not_the_rest() -> None:
    record = {"response": ANSWER, "input": [USER]}
    output = {"type": "function_call_output", "call_id": "call_1", "output": "ok"}
    request = {"model": "m", "previous_response_id": "resp_1", "input": [output], "instructions": "new",
               "store": True, "tools": [{"type": "function", "name": "shell"}]}
    expanded = history.expand(request, record)
    assert expanded["input"] == [USER, *ANSWER["output"], output]
    assert "previous_response_id" not in expanded
    # The request's own settings stay; the kept answer's instructions are not carried over.
    assert expanded["instructions"] == "new" and expanded["store"] is True and expanded["tools"] == request["tools"]
    assert history.expand({"model": "m", "previous_response_id": "resp_1", "input": "next"}, record)["input"][-1] == {
        **USER, "content": [{"type": "input_text", "text": "next"}]}
    assert "instructions" not in history.expand({"model": "m", "input": []}, record)


def test_a_chain_of_turns_rebuilds_from_the_last_record_alone() -> None:
    first = history.record({"input": "one"}, {"id": "resp_1", "output": [{"type": "message", "id": "m1"}]})
    second_request = history.expand({"input": "two", "previous_response_id": "resp_1"}, first)
    second = history.record(second_request, {"id": "resp_2", "output": [{"type": "message", "id": "m2"}]})
    third = history.expand({"input": "three", "previous_response_id": "resp_2"}, second)
    texts = [item.get("id") or item["content"][0]["text"] for item in third["input"]]
    assert texts == ["one", "m1", "two", "m2", "three"]


def test_final_answer_is_the_response_of_completed_or_incomplete_events_only() -> None:
    completed = _encode({"type": "response.completed", "sequence_number": 9, "response": ANSWER})
    assert history.final_answer("response.completed", completed) == ANSWER
    assert history.final_answer(None, completed) == ANSWER  # a stream without event names
    incomplete = _encode({"type": "response.incomplete", "response": {**ANSWER, "status": "incomplete"}})
    assert history.final_answer("response.incomplete", incomplete)["status"] == "incomplete"
    failed = _encode({"type": "response.failed", "response": ANSWER})
    assert history.final_answer("response.failed", failed) is None
    delta = _encode({"type": "response.output_text.delta", "delta": "response.completed"})
    assert history.final_answer("response.output_text.delta", delta) is None
    assert history.final_answer(None, delta) is None
    assert history.final_answer(None, b"response.completed{not json") is None


def test_errors_and_shapes() -> None:
    unknown = HISTORY.unknown("resp_x")
    assert isinstance(unknown, InvalidRequest) and "resp_x" in unknown.message
    assert "previous_response_id" in unknown.message
    missing = HISTORY.not_found("resp_x")
    assert isinstance(missing, ModelNotFound) and missing.message == "No response found with id 'resp_x'."
    assert HISTORY.deleted("resp_x") == {"id": "resp_x", "object": "response", "deleted": True}
    assert HISTORY.answer_of({"response": ANSWER, "input": []}) == ANSWER


def test_input_items_are_listed_newest_first_by_default_and_page_with_after() -> None:
    items = [{"type": "message", "id": f"msg_{index}", "role": "user", "content": []} for index in range(5)]
    record = {"response": ANSWER, "input": items}
    page = history.input_page(record, {"limit": "2"})
    assert [item["id"] for item in page["data"]] == ["msg_4", "msg_3"]
    assert (page["object"], page["first_id"], page["last_id"], page["has_more"]) == ("list", "msg_4", "msg_3", True)
    page = history.input_page(record, {"limit": "2", "after": "msg_3"})
    assert [item["id"] for item in page["data"]] == ["msg_2", "msg_1"] and page["has_more"]
    page = history.input_page(record, {"order": "asc", "after": "msg_2"})
    assert [item["id"] for item in page["data"]] == ["msg_3", "msg_4"] and not page["has_more"]
    everything = history.input_page(record, {})
    assert len(everything["data"]) == 5 and not everything["has_more"]


def test_input_items_without_ids_are_listed_by_their_place() -> None:
    page = history.input_page({"response": ANSWER, "input": [USER, USER]}, {"order": "asc"})
    assert [item["id"] for item in page["data"]] == ["item_0", "item_1"]
    assert history.input_page({"response": ANSWER, "input": []}, {}) == {
        "object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"order": "up"}, {"after": "nope"}])
def test_bad_list_parameters_are_named(query: dict[str, str]) -> None:
    with pytest.raises(InvalidRequest) as raised:
        history.input_page({"response": ANSWER, "input": [USER]}, query)
    assert next(iter(query)) in raised.value.message


# --- the gateway's watch for a stream's final answer ---------------------------------------------


def sse(name: str, data: dict[str, object]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + _encode(data) + b"\n\n"


STREAM = b"".join([
    sse("response.created", {"type": "response.created", "response": {**ANSWER, "status": "in_progress", "output": []}}),
    sse("response.output_text.delta", {"type": "response.output_text.delta", "delta": "talking of response.completed"}),
    sse("response.completed", {"type": "response.completed", "response": ANSWER}),
])


def watch() -> FinalWatch:
    return FinalWatch(HISTORY.final_markers, HISTORY.final_answer)


def fed(chunks: list[bytes]) -> tuple[int | None, object]:
    """Which chunk completed the final answer, and the answer."""
    watching = watch()
    for index, chunk in enumerate(chunks):
        final = watching.feed(chunk)
        if final is not None:
            return index, final
    return None, None


def test_the_final_answer_is_found_in_one_chunk() -> None:
    assert fed([STREAM]) == (0, ANSWER)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 16, 17, 64, 100])
def test_the_final_answer_is_found_however_the_stream_is_split(size: int) -> None:
    chunks = [STREAM[start:start + size] for start in range(0, len(STREAM), size)]
    index, final = fed(chunks)
    assert final == ANSWER and index == len(chunks) - 1


def test_every_two_way_split_finds_it_in_the_chunk_that_completes_it() -> None:
    for cut in range(1, len(STREAM)):
        index, final = fed([STREAM[:cut], STREAM[cut:]])
        assert final == ANSWER, cut
        assert index == 1, cut  # the event is complete only at its blank line


def test_data_only_streams_and_crlf_streams() -> None:
    data_only = b"\n\n".join(b"data: " + event.split(b"\ndata: ")[1] for event in STREAM.split(b"\n\n") if event) + b"\n\n"
    for size in (1, 5, 1000):
        assert fed([data_only[start:start + size] for start in range(0, len(data_only), size)])[1] == ANSWER
    crlf = STREAM.replace(b"\n", b"\r\n")
    assert fed([crlf[start:start + 9] for start in range(0, len(crlf), 9)])[1] == ANSWER


def test_a_stream_that_fails_has_no_final_answer() -> None:
    failed = STREAM.replace(b"response.completed", b"response.failed")
    assert fed([failed]) == (None, None)
