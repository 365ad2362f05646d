"""Checks that an answer is what the client's protocol promises: read the way the official SDKs
read it (their pydantic models), and folded with the stream tests' own folds (which assert the
event grammar on the way), so a fuzz failure and a stream-test failure mean the same thing."""

from __future__ import annotations

import json
import re
import typing
from typing import Any

import anthropic.types
import openai.types.chat
import openai.types.responses
import pydantic

from tests.fuzz.app import Reply
from tests.spokes.openai.test_client_stream import fold_chunks, parse_chunks
from tests.support.streamcases import fold_anthropic, parse_events


def anthropic_answer(reply: Reply, stream: bool) -> dict[str, Any]:
    """The message an Anthropic SDK would hand its caller."""
    if stream:
        assert reply.content_type.startswith("text/event-stream"), reply.content_type
        message = fold_anthropic(parse_events(reply.body))
    else:
        message = reply.json()
    anthropic.types.Message.model_validate(message)
    assert message["type"] == "message" and message["role"] == "assistant"
    return message


def openai_answer(reply: Reply, stream: bool) -> dict[str, Any]:
    """The chat.completion an openai SDK would hand its caller (a stream folded into one)."""
    if stream:
        assert reply.content_type.startswith("text/event-stream"), reply.content_type
        payloads = parse_chunks(reply.body)
        for payload in payloads[:-1]:
            openai.types.chat.ChatCompletionChunk.model_validate(payload)
        completion = fold_chunks(payloads)
    else:
        completion = reply.json()
    openai.types.chat.ChatCompletion.model_validate(completion)
    return completion


def _event_models() -> dict[str, type[pydantic.BaseModel]]:
    """Each Responses stream event type → the SDK's model of it (validating against the whole
    union would report every member's complaint)."""
    union = typing.get_args(openai.types.responses.ResponseStreamEvent)[0]  # Annotated[Union[...], ...]
    return {typing.get_args(model.model_fields["type"].annotation)[0]: model for model in typing.get_args(union)}


_EVENT_MODELS = _event_models()
_RESPONSES_ENDS = ("response.completed", "response.incomplete")


def responses_answer(reply: Reply, stream: bool) -> dict[str, Any]:
    """The response object a Responses client ends up with: the body, or a stream's final
    response.completed / response.incomplete, after checking the stream's grammar: every event
    named by its `type`, numbered 0, 1, 2 … by `sequence_number`, created and in_progress first,
    one terminal event last, every item added before its deltas and done after them, and the
    final output the items' done events in output_index order."""
    if not stream:
        response: dict[str, Any] = reply.json()
    else:
        assert reply.content_type.startswith("text/event-stream"), reply.content_type
        response = fold_responses(parse_events(reply.body))
    openai.types.responses.Response.model_validate(_checkable(response))
    assert response["object"] == "response" and response["status"] in ("completed", "incomplete"), response
    return response


def _checkable(response: dict[str, Any]) -> dict[str, Any]:
    """The response without the request settings it echoes as the client sent them (`tools`,
    `metadata`): the SDK's models lag the API (no `namespace` tool, which Codex sends), a lenient
    router repeats a metadata value that is not a string, and the SDK itself never validates
    what it reads."""
    return {**response, "tools": [], "metadata": {}}


def fold_responses(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    names = [name for name, _ in events]
    assert names[:2] == ["response.created", "response.in_progress"], names
    assert names[-1] in _RESPONSES_ENDS and not set(names[:-1]) & {*_RESPONSES_ENDS, "error", "response.failed"}, names
    done: dict[int, Any] = {}
    opened: set[int] = set()
    for number, (name, data) in enumerate(events):
        assert data["type"] == name and data["sequence_number"] == number, (number, name, data)
        _EVENT_MODELS[name].model_validate({**data, "response": _checkable(data["response"])} if "response" in data else data)
        index = data.get("output_index")
        if name == "response.output_item.added":
            assert index == len(opened) and index not in done, (index, names)
            opened.add(index)
        elif index is not None:
            assert index in opened and index not in done, (name, index)  # no event of an item after its done
            if name == "response.output_item.done":
                done[index] = data["item"]
    final: dict[str, Any] = events[-1][1]["response"]
    assert sorted(done) == list(range(len(opened))), (sorted(done), len(opened))
    assert final["output"] == [done[index] for index in sorted(done)], (final["output"], done)
    return final


def anthropic_error(reply: Reply) -> str:
    """`{"type":"error","error":{"type","message"}}`; the message."""
    body = reply.json()
    assert set(body) == {"type", "error"} and body["type"] == "error", body
    assert isinstance(body["error"]["type"], str) and isinstance(body["error"]["message"], str), body
    message: str = body["error"]["message"]
    return message


def openai_error(reply: Reply) -> str:
    """`{"error":{"message","type","param","code"}}`; the message."""
    body = reply.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and isinstance(body["error"]["type"], str), body
    message: str = body["error"]["message"]
    return message


ERROR_READERS = {"anthropic": anthropic_error, "openai": openai_error, "responses": openai_error}
PATHS = {"anthropic": "/v1/messages", "openai": "/v1/chat/completions", "responses": "/v1/responses"}
ANSWER_READERS = {"anthropic": anthropic_answer, "openai": openai_answer, "responses": responses_answer}

_JSON_PATH = re.compile(r"\$\.[A-Za-z_]")


def names_a_field(message: str, *names: str) -> bool:
    """A `$.` path, or one of the field names (in backquotes or quotes, or bare as a word)."""
    if _JSON_PATH.search(message):
        return True
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message) for name in names if name)


def encode(body: Any) -> bytes:
    """Compact JSON as clients send it, non-ASCII as UTF-8 (U+2028 raw included)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
