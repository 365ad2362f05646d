"""Anthropic Messages stream → OpenAI `chat.completion.chunk` stream, one machine per request.

    message_start                        usage (input and cache tokens) remembered
    content_block_start  text            nothing yet (text arrives in deltas)
                         thinking        nothing yet
                         tool_use        {"tool_calls": [{index, id, type, function: {name, arguments: ""}}]}
    content_block_delta  text_delta      {"content": text}
                         thinking_delta  {"reasoning_content": thinking}   (signature_delta: dropped)
                         input_json_delta{"tool_calls": [{index, function: {arguments}}]}
    content_block_stop   tool_use        arguments "{}" if no input fragment came ("" is not JSON)
    message_delta                        stop_reason and output tokens remembered
    message_stop                         {} with finish_reason, the usage chunk (include_usage), [DONE]
    ping, unknown types                  nothing (the relay pings on its own clock)
    error                                raised, so the relay ends the stream with an error chunk

OpenAI numbers tool calls 0, 1, 2 ... among tool calls only, while Anthropic's block index counts
every block; the machine maps one to the other. The forced `json_response` tool (response_format,
see tools.py) is the answer itself, so its JSON streams as `content`.

An OpenAI stream has no event names and ends with `data: [DONE]`. A stream that fails ends with an
error chunk and no [DONE]: the openai SDKs raise on the error, and a missing [DONE] tells every
other client the answer is incomplete. Output is pre-encoded bytes: the per-delta chunks are one
template fill around an encoded string; rarer chunks go through one msgspec encode.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import msgspec

from router.config.target import TargetContext
from router.core.errors import RouterError
from router.hub.events import HubEventReader, merge_usage
from router.hub.messages import StreamEvent
from router.spokes.openai.client.answer import (
    finish_reason,
    tool_call_id,
    usage_to_openai,
)
from router.spokes.openai.client.tools import JSON_RESPONSE_TOOL
from router.spokes.openai.errors import error_event as openai_error_event

_encode = msgspec.json.Encoder().encode

_CHOICE_END = b',"finish_reason":null}]}\n\n'
_DONE = b"data: [DONE]\n\n"
_PING = b": ping\n\n"  # an SSE comment: every OpenAI SDK skips it

# An `error` event's type → the upstream status it stands for (what the client's error says).
_ERROR_STATUS: Mapping[str, int] = MappingProxyType({"overloaded_error": 529})

_Kind = Literal["text", "thinking", "tool", "json", "other"]


@dataclass(slots=True)
class _Block:
    """An open Anthropic content block: what its deltas become, and its OpenAI tool-call index."""

    kind: _Kind
    call: int = -1
    arguments_sent: bool = False


class OpenAIStreamFromAnthropic(HubEventReader):
    """The OpenAI spoke's hub events → client stream (a StreamMachine: router.core.stream)."""

    __slots__ = (
        "_blocks",
        "_choice_head",
        "_finish_values",
        "_include_usage",
        "_tool_calls",
        "_usage_head",
    )

    error_statuses = _ERROR_STATUS

    def __init__(
        self,
        ctx: TargetContext,
        *,
        completion_id: str,
        model: str,
        include_usage: bool,
        finish_values: Mapping[str, str],
        created: int | None = None,
    ) -> None:
        super().__init__(ctx)
        self._include_usage = include_usage
        self._finish_values = finish_values
        stamp = int(time.time()) if created is None else created
        # Every chunk repeats id, object, created and model: encoded once, here.
        head = b'data: {"id":%s,"object":"chat.completion.chunk","created":%d,"model":%s,"choices":' % (
            _encode(completion_id), stamp, _encode(model),
        )
        self._choice_head = head + b'[{"index":0,"delta":'
        self._usage_head = head + b'[],"usage":'
        self._blocks: dict[int, _Block] = {}  # open blocks by Anthropic index
        self._tool_calls = 0  # tool calls announced so far = the next call's OpenAI index

    # --- the StreamMachine interface ------------------------------------------------------------

    def start(self) -> bytes:
        """The role chunk, sent before the upstream says anything (as OpenAI's own first chunk)."""
        return self._choice_head + b'{"role":"assistant","content":""}' + _CHOICE_END

    def fail(self, error: RouterError) -> bytes:
        """One error chunk, no [DONE]. Nothing is closed first: a finish_reason would make a cut
        answer look finished to clients that ignore the error."""
        if self._ended:
            return b""
        self._ended = True
        return openai_error_event(error)

    def ping(self) -> bytes:
        return _PING

    # --- events ---------------------------------------------------------------------------------

    def _on_message_start(self, event: StreamEvent) -> bytes:
        if event.message is not None and event.message.usage is not None:
            merge_usage(self._usage, event.message.usage)
        return b""

    def _on_block_start(self, event: StreamEvent) -> bytes:
        block = event.content_block or {}
        kind = block.get("type")
        index = event.index
        if index is None:
            return b""  # nothing could refer to it
        if kind == "tool_use":
            return self._start_tool(index, block)
        if kind == "text":
            self._blocks[index] = _Block("text")
            return self._content(block.get("text"))
        if kind == "thinking":
            self._blocks[index] = _Block("thinking")
            return self._reasoning(block.get("thinking"))
        self._blocks[index] = _Block("other")  # redacted_thinking, server tools: no OpenAI form
        return b""

    def _on_block_delta(self, event: StreamEvent) -> bytes:
        delta = event.delta
        block = self._blocks.get(event.index) if event.index is not None else None
        if delta is None or block is None:
            return b""
        if block.kind == "text":
            return self._content(delta.text)
        if block.kind == "thinking":
            return self._reasoning(delta.thinking)  # signature_delta: no thinking, nothing sent
        if block.kind == "tool":
            return self._arguments(block, delta.partial_json)
        if block.kind == "json":
            return self._content(delta.partial_json)
        return b""

    def _on_block_stop(self, event: StreamEvent) -> bytes:
        block = self._blocks.pop(event.index, None) if event.index is not None else None
        if block is not None and block.kind == "tool" and not block.arguments_sent:
            # A call without input streams no fragment; clients parse the arguments they
            # accumulated, and "" is not JSON. OpenAI itself sends "{}" for such calls.
            return self._arguments(block, "{}")
        return b""

    def _on_message_stop(self, event: StreamEvent) -> bytes:
        self._ended = True
        reason = finish_reason(self._stop_reason, self._tool_calls > 0, self._finish_values)
        out = self._choice_head + b'{},"finish_reason":' + _encode(reason) + b"}]}\n\n"
        if self._include_usage:
            out += self._usage_head + _encode(usage_to_openai(self._usage)) + b"}\n\n"
        return out + _DONE

    # --- chunks ---------------------------------------------------------------------------------

    def _start_tool(self, index: int, block: dict[str, Any]) -> bytes:
        name = block.get("name") or ""
        if name == JSON_RESPONSE_TOOL:
            self._blocks[index] = _Block("json")
            return b""
        call = self._tool_calls
        self._tool_calls += 1
        self._blocks[index] = _Block("tool", call)
        header = {
            "index": call,
            "id": tool_call_id(block),
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        return self._choice_head + b'{"tool_calls":[' + _encode(header) + b"]}" + _CHOICE_END

    def _content(self, text: str | None) -> bytes:
        if not text:
            return b""
        return self._choice_head + b'{"content":' + _encode(text) + b"}" + _CHOICE_END

    def _reasoning(self, text: str | None) -> bytes:
        if not text:
            return b""
        return self._choice_head + b'{"reasoning_content":' + _encode(text) + b"}" + _CHOICE_END

    def _arguments(self, block: _Block, partial_json: str | None) -> bytes:
        if not partial_json:
            return b""  # Anthropic opens every tool input with an empty fragment
        block.arguments_sent = True
        fragment = b'{"tool_calls":[{"index":%d,"function":{"arguments":%s}}]}' % (block.call, _encode(partial_json))
        return self._choice_head + fragment + _CHOICE_END


OpenAIStreamFromAnthropic.handlers = MappingProxyType(
    {
        "message_start": OpenAIStreamFromAnthropic._on_message_start,
        "content_block_start": OpenAIStreamFromAnthropic._on_block_start,
        "content_block_delta": OpenAIStreamFromAnthropic._on_block_delta,
        "content_block_stop": OpenAIStreamFromAnthropic._on_block_stop,
        "message_delta": OpenAIStreamFromAnthropic._on_message_delta,
        "message_stop": OpenAIStreamFromAnthropic._on_message_stop,
        "error": OpenAIStreamFromAnthropic._on_error,
    }
)
