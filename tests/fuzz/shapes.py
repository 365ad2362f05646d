"""Checks that an answer is what the client's protocol promises: read the way the official SDKs
read it (their pydantic models), and folded with the stream tests' own folds (which assert the
event grammar on the way), so a fuzz failure and a stream-test failure mean the same thing."""

from __future__ import annotations

import json
import re
from typing import Any

import anthropic.types
import openai.types.chat

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


ERROR_READERS = {"anthropic": anthropic_error, "openai": openai_error}
PATHS = {"anthropic": "/v1/messages", "openai": "/v1/chat/completions"}

_JSON_PATH = re.compile(r"\$\.[A-Za-z_]")


def names_a_field(message: str, *names: str) -> bool:
    """A `$.` path, or one of the field names (in backquotes or quotes, or bare as a word)."""
    if _JSON_PATH.search(message):
        return True
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message) for name in names if name)


def encode(body: Any) -> bytes:
    """Compact JSON as clients send it, non-ASCII as UTF-8 (U+2028 raw included)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
