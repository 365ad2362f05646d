"""Kept answers (Responses' `store` / `previous_response_id`; GET and DELETE /v1/responses/{id}):
the spoke's record and expansion rules, the gateway's watch for a stream's final answer, and,
through the real app, the whole flow."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
import respx
from litestar.testing import AsyncTestClient

from router.config.load import load_config_text
from router.core.errors import InvalidRequest, ModelNotFound
from router.core.sse import SSEParser
from router.gateway.history import FinalWatch
from router.gateway.state import RouterState, open_state
from router.routing.lookup import build_table
from router.server.app import create_app
from router.spokes.responses import history
from router.spokes.responses.history import HISTORY
from router.spokes.responses.request_wire import ResponsesRouting
from router.store.memory import MemoryStore
from tests.support.redis_server import redis_server

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


def test_expand_puts_the_kept_conversation_first_and_keeps_the_rest() -> None:
    record = {"response": ANSWER, "input": [USER]}
    output = {"type": "function_call_output", "call_id": "call_1", "output": "ok"}
    request = {"model": "m", "previous_response_id": "resp_1", "input": [output], "instructions": "new",
               "store": True, "tools": [{"type": "function", "name": "shell"}]}
    expanded = history.expand(request, record)
    assert expanded["input"] == [USER, *ANSWER["output"], output]
    # The pointer stays for converted answers to repeat; passthrough targets never get it
    # (test_a_passthrough_answer_is_kept_under_the_upstreams_id_and_continued_in_full).
    assert expanded["previous_response_id"] == "resp_1"
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


# --- through the real app ------------------------------------------------------------------------

ALICE, BOB = "sk-alice-0123456789abcdef", "sk-bob-0123456789abcdef"
ROUTES = f"""
[auth]
keys = [{{ name = "alice", sha256 = "{hashlib.sha256(ALICE.encode()).hexdigest()}" }},
        {{ name = "bob", sha256 = "{hashlib.sha256(BOB.encode()).hexdigest()}" }}]

[upstreams.chat]
kind = "openai"
base-url = "https://chat.example/v1"

[upstreams.resp]
kind = "responses"
base-url = "https://resp.example/v1"

[[routes]]
name = "chat"
models = ["chat-model"]
to = "chat/target"
retry = {{ attempts = 1 }}

[[routes]]
name = "resp"
models = ["resp-model"]
to = "resp/target"
retry = {{ attempts = 1 }}
"""
CHAT_URL, RESP_URL = "https://chat.example/v1/chat/completions", "https://resp.example/v1/responses"


def completion(text: str) -> dict[str, object]:
    """Each with its own id: a converted answer's id comes from it."""
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "model": "target", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1}}


def chat_stream(text: str) -> bytes:
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": text[:2]}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {"content": text[2:]}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}},
    ]
    chat_id = f"chatcmpl-{uuid.uuid4().hex}"
    body = b"".join(b"data: " + _encode({"id": chat_id, "object": "chat.completion.chunk", "model": "target", **chunk})
                    + b"\n\n" for chunk in chunks)
    return body + b"data: [DONE]\n\n"


def responses_answer(answer_id: str, text: str) -> dict[str, object]:
    return {"id": answer_id, "object": "response", "created_at": 1, "status": "completed", "model": "target",
            "output": [{"type": "message", "id": "msg_up", "status": "completed", "role": "assistant",
                        "content": [{"type": "output_text", "text": text, "annotations": []}]}],
            "usage": {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4}}


def registered() -> bool:
    from router.spokes.registry import SPOKES

    return "responses" in SPOKES


needs_spoke = pytest.mark.skipif(not registered(), reason="the Responses spoke is not registered yet")


@pytest.fixture
async def app() -> AsyncIterator[tuple[AsyncTestClient, RouterState]]:  # type: ignore[type-arg]
    loaded = load_config_text(ROUTES, filename="routes.toml", environ={})
    state = open_state(build_table(loaded), transport=lambda name, upstream: httpx.AsyncHTTPTransport())
    async with AsyncTestClient(app=create_app(state)) as client:
        yield client, state


def auth(key: str = ALICE) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def upstream_messages(route: respx.Route, index: int = -1) -> list[tuple[str, str]]:
    body = msgspec.json.decode(route.calls[index].request.content)
    return [(message["role"], message["content"] if isinstance(message["content"], str)
             else "".join(part.get("text", "") for part in message["content"])) for message in body["messages"]]


@needs_spoke
@respx.mock
async def test_a_kept_answer_is_continued_read_listed_and_deleted(app: tuple[AsyncTestClient, RouterState]) -> None:  # type: ignore[type-arg]
    client, _ = app
    chat = respx.post(CHAT_URL).mock(side_effect=[httpx.Response(200, json=completion("hello")),
                                                  httpx.Response(200, json=completion("again"))])
    first = await client.post("/v1/responses", json={"model": "chat-model", "input": "hi", "instructions": "terse"},
                              headers=auth())
    assert first.status_code == 200, first.text
    answer = first.json()
    answer_id = answer["id"]

    second = await client.post("/v1/responses", headers=auth(), json={
        "model": "chat-model", "previous_response_id": answer_id, "input": "and then?"})
    assert second.status_code == 200, second.text
    # The upstream got the whole conversation; the first turn's instructions were not carried over.
    assert upstream_messages(chat) == [("user", "hi"), ("assistant", "hello"), ("user", "and then?")]

    read = await client.get(f"/v1/responses/{answer_id}", headers=auth())
    assert read.status_code == 200 and read.json() == answer
    items = (await client.get(f"/v1/responses/{second.json()['id']}/input_items?order=asc", headers=auth())).json()
    assert items["object"] == "list" and items["has_more"] is False
    assert [item["type"] for item in items["data"]] == ["message", "message", "message"]

    deleted = await client.delete(f"/v1/responses/{answer_id}", headers=auth())
    assert deleted.status_code == 200
    assert deleted.json() == {"id": answer_id, "object": "response", "deleted": True}
    gone = await client.get(f"/v1/responses/{answer_id}", headers=auth())
    assert gone.status_code == 404
    assert gone.json()["error"]["message"] == f"No response found with id '{answer_id}'."
    assert (await client.delete(f"/v1/responses/{answer_id}", headers=auth())).status_code == 404


@needs_spoke
@respx.mock
async def test_kept_answers_are_the_keys_own(app: tuple[AsyncTestClient, RouterState]) -> None:  # type: ignore[type-arg]
    client, _ = app
    chat = respx.post(CHAT_URL).mock(return_value=httpx.Response(200, json=completion("hello")))
    answer_id = (await client.post("/v1/responses", json={"model": "chat-model", "input": "hi"}, headers=auth())).json()["id"]
    assert (await client.get(f"/v1/responses/{answer_id}", headers=auth(BOB))).status_code == 404
    assert (await client.delete(f"/v1/responses/{answer_id}", headers=auth(BOB))).status_code == 404
    refused = await client.post("/v1/responses", headers=auth(BOB), json={
        "model": "chat-model", "previous_response_id": answer_id, "input": "steal"})
    assert refused.status_code == 400 and "previous_response_id" in refused.json()["error"]["message"]
    assert chat.call_count == 1
    assert (await client.get(f"/v1/responses/{answer_id}")).status_code == 401  # no key at all
    assert (await client.get(f"/v1/responses/{answer_id}", headers=auth())).status_code == 200


@needs_spoke
@respx.mock
async def test_store_false_is_never_kept(app: tuple[AsyncTestClient, RouterState]) -> None:  # type: ignore[type-arg]
    client, state = app
    respx.post(CHAT_URL).mock(return_value=httpx.Response(200, json=completion("hello")))
    answer = await client.post("/v1/responses", json={"model": "chat-model", "input": "hi", "store": False},
                               headers=auth())
    assert answer.status_code == 200
    assert (await client.get(f"/v1/responses/{answer.json()['id']}", headers=auth())).status_code == 404
    assert isinstance(state.store, MemoryStore) and len(state.store) == 0


@needs_spoke
@respx.mock
async def test_an_unknown_previous_response_is_the_clients_error_unless_the_target_may_know_it(
        app: tuple[AsyncTestClient, RouterState]) -> None:  # type: ignore[type-arg]
    client, _ = app
    chat = respx.post(CHAT_URL).mock(return_value=httpx.Response(200, json=completion("hello")))
    refused = await client.post("/v1/responses", headers=auth(), json={
        "model": "chat-model", "previous_response_id": "resp_unknown", "input": "hi"})
    assert refused.status_code == 400 and chat.call_count == 0
    error = refused.json()["error"]
    assert error["type"] == "invalid_request_error" and "resp_unknown" in error["message"]
    assert error["param"] == "previous_response_id" and error["code"] == "previous_response_not_found"

    resp = respx.post(RESP_URL).mock(return_value=httpx.Response(200, json=responses_answer("resp_up2", "ok")))
    passed = await client.post("/v1/responses", headers=auth(), json={
        "model": "resp-model", "previous_response_id": "resp_up1", "input": "hi", "store": False})
    assert passed.status_code == 200
    assert msgspec.json.decode(resp.calls.last.request.content)["previous_response_id"] == "resp_up1"


@needs_spoke
@respx.mock
async def test_a_passthrough_answer_is_kept_under_the_upstreams_id_and_continued_in_full(
        app: tuple[AsyncTestClient, RouterState]) -> None:  # type: ignore[type-arg]
    client, _ = app
    resp = respx.post(RESP_URL).mock(side_effect=[httpx.Response(200, json=responses_answer("resp_up1", "hello")),
                                                  httpx.Response(200, json=responses_answer("resp_up2", "again"))])
    first = await client.post("/v1/responses", json={"model": "resp-model", "input": "hi"}, headers=auth())
    assert first.json()["id"] == "resp_up1"
    await client.post("/v1/responses", headers=auth(), json={
        "model": "resp-model", "previous_response_id": "resp_up1", "input": "more"})
    sent = msgspec.json.decode(resp.calls.last.request.content)
    assert "previous_response_id" not in sent
    assert [item.get("role") for item in sent["input"]] == ["user", "assistant", "user"]
    assert sent["input"][1]["content"][0]["text"] == "hello"


@needs_spoke
@respx.mock
async def test_a_stream_is_kept_once_its_final_answer_has_passed(app: tuple[AsyncTestClient, RouterState]) -> None:  # type: ignore[type-arg]
    client, _ = app
    chat = respx.post(CHAT_URL).mock(side_effect=[
        httpx.Response(200, content=chat_stream("hello"), headers={"content-type": "text/event-stream"}),
        httpx.Response(200, json=completion("again"))])
    streamed = await client.post("/v1/responses", json={"model": "chat-model", "input": "hi", "stream": True},
                                 headers=auth())
    assert streamed.status_code == 200
    events = [SSEParser().feed(streamed.content)]
    completed = [msgspec.json.decode(event.data) for event in events[0] if event.event == "response.completed"]
    assert len(completed) == 1
    answer = completed[0]["response"]
    kept = await client.get(f"/v1/responses/{answer['id']}", headers=auth())
    assert kept.status_code == 200 and kept.json() == answer
    await client.post("/v1/responses", headers=auth(), json={
        "model": "chat-model", "previous_response_id": answer["id"], "input": "and then?"})
    assert upstream_messages(chat) == [("user", "hi"), ("assistant", "hello"), ("user", "and then?")]


@needs_spoke
@respx.mock
async def test_a_stream_that_fails_is_not_kept(app: tuple[AsyncTestClient, RouterState]) -> None:  # type: ignore[type-arg]
    client, state = app
    cut = chat_stream("hello").split(b"\n\n")[0] + b"\n\n"  # one chunk, then the upstream ends
    respx.post(CHAT_URL).mock(return_value=httpx.Response(200, content=cut, headers={"content-type": "text/event-stream"}))
    streamed = await client.post("/v1/responses", json={"model": "chat-model", "input": "hi", "stream": True},
                                 headers=auth())
    assert b"response.completed" not in streamed.content
    assert isinstance(state.store, MemoryStore) and len(state.store) == 0


def responses_stream(answer_id: str, text: str) -> bytes:
    """A Responses upstream's stream, cut into the events a real one sends around the answer."""
    final = responses_answer(answer_id, text)
    events = [
        ("response.created", {"type": "response.created", "sequence_number": 0,
                              "response": {**final, "status": "in_progress", "output": []}}),
        ("response.output_text.delta", {"type": "response.output_text.delta", "sequence_number": 1,
                                        "item_id": "msg_up", "output_index": 0, "content_index": 0, "delta": text}),
        ("response.completed", {"type": "response.completed", "sequence_number": 2, "response": final}),
    ]
    return b"".join(sse(name, data) for name, data in events)


@needs_spoke
@respx.mock
async def test_a_passed_through_stream_is_kept_too(app: tuple[AsyncTestClient, RouterState]) -> None:  # type: ignore[type-arg]
    client, _ = app
    respx.post(RESP_URL).mock(return_value=httpx.Response(
        200, content=responses_stream("resp_up9", "hello"), headers={"content-type": "text/event-stream"}))
    streamed = await client.post("/v1/responses", json={"model": "resp-model", "input": "hi", "stream": True},
                                 headers=auth())
    assert b"response.completed" in streamed.content
    kept = await client.get("/v1/responses/resp_up9", headers=auth())
    assert kept.status_code == 200 and kept.json()["output"][0]["content"][0]["text"] == "hello"
    items = (await client.get("/v1/responses/resp_up9/input_items", headers=auth())).json()
    assert items["data"][0]["content"] == [{"type": "input_text", "text": "hi"}]


@needs_spoke
async def test_other_methods_are_refused_in_the_clients_shape(app: tuple[AsyncTestClient, RouterState]) -> None:  # type: ignore[type-arg]
    client, _ = app
    refused = await client.post("/v1/responses/resp_1", json={}, headers=auth())
    assert refused.status_code == 405 and "error" in refused.json()
    listed = await client.get("/v1/responses/resp_1/input_items?limit=500", headers=auth())
    assert listed.status_code == 404  # not kept: the id is checked before the parameters


@needs_spoke
@respx.mock
async def test_with_the_store_off_nothing_is_kept_and_continuing_is_refused() -> None:
    loaded = load_config_text("[response-store]\nenabled = false\n" + ROUTES, filename="routes.toml", environ={})
    state = open_state(build_table(loaded), transport=lambda name, upstream: httpx.AsyncHTTPTransport())
    respx.post(CHAT_URL).mock(return_value=httpx.Response(200, json=completion("hello")))
    async with AsyncTestClient(app=create_app(state)) as client:
        answer_id = (await client.post("/v1/responses", json={"model": "chat-model", "input": "hi"},
                                       headers=auth())).json()["id"]
        assert (await client.get(f"/v1/responses/{answer_id}", headers=auth())).status_code == 404
        continued = await client.post("/v1/responses", headers=auth(), json={
            "model": "chat-model", "previous_response_id": answer_id, "input": "more"})
        assert continued.status_code == 400


@needs_spoke
@respx.mock
async def test_replicas_sharing_a_redis_continue_each_others_answers() -> None:
    with redis_server() as url:
        table = '[limits]\nbackend = "redis"\nredis-url = "env:REDIS_URL"\n' + ROUTES
        replicas = [open_state(build_table(load_config_text(table, filename="routes.toml", environ={"REDIS_URL": url})),
                               transport=lambda name, upstream: httpx.AsyncHTTPTransport()) for _ in range(2)]
        chat = respx.post(CHAT_URL).mock(side_effect=[httpx.Response(200, json=completion("hello")),
                                                      httpx.Response(200, json=completion("again"))])
        async with AsyncTestClient(app=create_app(replicas[0])) as one, AsyncTestClient(app=create_app(replicas[1])) as two:
            answer_id = (await one.post("/v1/responses", json={"model": "chat-model", "input": "hi"},
                                        headers=auth())).json()["id"]
            continued = await two.post("/v1/responses", headers=auth(), json={
                "model": "chat-model", "previous_response_id": answer_id, "input": "and then?"})
            assert continued.status_code == 200, continued.text
            assert upstream_messages(chat) == [("user", "hi"), ("assistant", "hello"), ("user", "and then?")]
            assert (await two.delete(f"/v1/responses/{answer_id}", headers=auth())).status_code == 200
            assert (await one.get(f"/v1/responses/{answer_id}", headers=auth())).status_code == 404
