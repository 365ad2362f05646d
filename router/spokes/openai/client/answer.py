"""Anthropic message → OpenAI `chat.completion`: the functions the field table
(schemas/openai.client.toml, [response]) calls.

The stream machine (stream.py) uses the same helpers (`finish_reason`, `usage_to_openai`, the
json_response rule), so a folded stream and the unary conversion of the same answer agree.
"""

from __future__ import annotations

import secrets
import time
import tomllib
from collections.abc import Callable, Mapping
from functools import cache
from types import MappingProxyType
from typing import Any

from router.config.target import TargetContext
from router.hub.messages import AnthropicMessage, Block, Usage
from router.spokes.common.tool_arguments import arguments_text
from router.spokes.openai.client.tools import JSON_RESPONSE_TOOL
from router.spokes.tables import read_pair_text

TABLE = "openai.client"


def completion_id(upstream_id: str | None) -> str:
    """OpenAI ids start with `chatcmpl-`; the upstream's id stays inside for tracing."""
    return f"chatcmpl-{upstream_id}" if upstream_id else new_completion_id()


def new_completion_id() -> str:
    return f"chatcmpl-{secrets.token_hex(12)}"


def created_now() -> int:
    """Anthropic answers carry no timestamp; OpenAI's `created` is when the answer was made."""
    return int(time.time())


def response_model(src: AnthropicMessage, ctx: TargetContext) -> str:
    """The model the target was asked for (what the client sees in the stream, too)."""
    return ctx.model or src.model or ""


def choices_from_anthropic(src: AnthropicMessage, ctx: TargetContext) -> list[dict[str, Any]]:
    message = message_from_blocks(src.content)
    reason = finish_reason(src.stop_reason, "tool_calls" in message, stop_reason_values())
    return [{"index": 0, "message": message, "finish_reason": reason}]


def message_from_blocks(content: list[Block]) -> dict[str, Any]:
    """text → content (None for a pure tool-call turn: OpenAI's own shape), tool_use →
    tool_calls, thinking → `reasoning_content` (the field OpenAI-compatible clients show as
    reasoning). The forced `json_response` call is the answer itself: its input is the content."""
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in content:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text") or "")
        elif kind == "thinking":
            reasoning.append(block.get("thinking") or "")
        elif kind == "tool_use":
            if block.get("name") == JSON_RESPONSE_TOOL:
                texts.append(arguments_text(block.get("input")))
            else:
                calls.append(tool_call(block))
        # redacted_thinking (encrypted, for Anthropic only) and server tool blocks have no OpenAI form.
    text = "".join(texts)
    message: dict[str, Any] = {"role": "assistant", "content": None if calls and not text else text}
    if calls:
        message["tool_calls"] = calls
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    return message


def tool_call(block: Block) -> dict[str, Any]:
    return {
        "id": tool_call_id(block),
        "type": "function",
        "function": {"name": block.get("name") or "", "arguments": arguments_text(block.get("input"))},
    }


def tool_call_id(block: Block) -> str:
    """The tool_use id, kept verbatim: the client sends it back as tool_call_id, and Anthropic
    matches tool_result blocks against it. A proxy that dropped it gets a fresh one."""
    call_id = block.get("id")
    return call_id if type(call_id) is str and call_id else f"call_{secrets.token_hex(12)}"


def finish_reason(stop_reason: str | None, has_tool_calls: bool, values: Mapping[str, str]) -> str:
    """The value map, but a turn with tool calls ends in `tool_calls` whatever the upstream says,
    and a `tool_use` stop that only called `json_response` is a finished answer: `stop`. A turn
    cut by the token limit ends in `length` even when it holds calls: the last one may be cut
    mid-arguments, and `tool_calls` would tell the client to run it (OpenAI says `length` too)."""
    if has_tool_calls and stop_reason != "max_tokens":
        return "tool_calls"
    if stop_reason == "tool_use":
        return "stop"
    fallback = values.get("*", "stop")
    return values.get(stop_reason, fallback) if stop_reason is not None else fallback


@cache
def stop_reason_values() -> Mapping[str, str]:
    """The shipped [values.stop_reason] table. The DSL applies value maps to top-level output
    fields only, and finish_reason sits inside `choices`, so this function reads the same table
    (package data, parsed once per process) instead of keeping a copy of it."""
    table = tomllib.loads(read_pair_text(TABLE))["values"]["stop_reason"]
    return MappingProxyType(dict(table))


def usage_to_openai(usage: Usage | None) -> dict[str, Any]:
    """Anthropic's input_tokens exclude cached ones; OpenAI's prompt_tokens include them."""
    if usage is None:
        usage = Usage()
    cache_read = usage.cache_read_input_tokens or 0
    prompt = (usage.input_tokens or 0) + cache_read + (usage.cache_creation_input_tokens or 0)
    completion = usage.output_tokens or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cache_read},
    }


FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "completion_id": completion_id,
        "created_now": created_now,
        "response_model": response_model,
        "choices_from_anthropic": choices_from_anthropic,
        "usage_to_openai": usage_to_openai,
    }
)
