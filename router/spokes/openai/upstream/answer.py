"""OpenAI chat.completion → Anthropic message: the structural parts the field table calls.

The stream machine (openai_stream_to_anthropic.py) uses the same helpers, so a folded stream and
the unary conversion of the same answer agree by construction where they can.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import msgspec

from router.config.target import TargetContext
from router.core.ids import new_id
from router.spokes.openai.wire import ChatCompletion, ChatMessage, ToolCall, Usage

_json_decode = msgspec.json.Decoder().decode


def message_id(upstream_id: str | None) -> str:
    """Anthropic ids start with `msg_`; keep the upstream's id inside it for tracing."""
    if upstream_id:
        return upstream_id if upstream_id.startswith("msg_") else f"msg_{upstream_id}"
    return new_message_id()


def new_message_id() -> str:
    return new_id("msg_")


def tool_use_id(upstream_id: str | None) -> str:
    """Anthropic tool ids start with `toolu_`; clients match tool_result ids against them, so the
    upstream's id is kept verbatim when it has one (it must round-trip back to the upstream)."""
    return upstream_id or new_id("toolu_")


def response_model(src: ChatCompletion, ctx: TargetContext) -> str:
    """The model the target was asked for (what the client sees in the stream, too)."""
    return ctx.model or src.model or ""


def first_message(src: ChatCompletion) -> ChatMessage | None:
    return src.choices[0].message if src.choices else None


def content_from_openai(src: ChatCompletion, ctx: TargetContext) -> list[dict[str, Any]]:
    """thinking (from reasoning_content / reasoning) first, then text, then tool_use blocks."""
    message = first_message(src)
    if message is None:
        return []
    blocks: list[dict[str, Any]] = []
    thinking = message.reasoning_content or message.reasoning
    if thinking:
        blocks.append(thinking_block(thinking, ctx))
    text = text_of(message.content)
    if text:
        blocks.append({"type": "text", "text": text})
    if message.refusal and not text:
        blocks.append({"type": "text", "text": message.refusal})
    for call in message.tool_calls or ():
        blocks.append(tool_use_block(call))
    return blocks


def thinking_block(thinking: str, ctx: TargetContext) -> dict[str, Any]:
    return {"type": "thinking", "thinking": thinking, "signature": thinking_signature(ctx)}


def thinking_signature(ctx: TargetContext) -> str:
    """OpenAI-compatible targets have no signatures, but clients send thinking blocks back only
    when they carry one. We mark ours so the request converter knows whose thinking it is."""
    return f"router:{ctx.upstream}"


def text_of(content: str | list[dict[str, Any]] | None) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(part.get("text", "") for part in content if part.get("type") in ("text", "output_text"))


def tool_use_block(call: ToolCall) -> dict[str, Any]:
    return {
        "type": "tool_use",
        "id": tool_use_id(call.id),
        "name": call.function.name or "",
        "input": parse_tool_arguments(call.function.arguments),
    }


def parse_tool_arguments(arguments: str | None) -> Any:
    """Models sometimes send "" for no arguments, or invalid JSON; Anthropic clients need an
    object, so those become {} (and invalid JSON is kept under a key rather than lost)."""
    if not arguments or not arguments.strip():
        return {}
    try:
        value = _json_decode(arguments)
    except msgspec.DecodeError:
        return {"_raw_arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}


def finish_reason_of(src: ChatCompletion) -> str | None:
    if not src.choices:
        return None
    choice = src.choices[0]
    if choice.message.tool_calls:
        return "tool_calls"
    if choice.message.refusal:
        # The model declined (OpenAI says finish_reason `stop`): the hub's `refusal` stop, which
        # [values.finish_reason] gives content_filter, so clients see a refusal, not an answer.
        return "content_filter"
    return choice.finish_reason


def usage_to_anthropic(usage: Usage | None) -> dict[str, int]:
    """OpenAI's prompt_tokens include cached ones; Anthropic's input_tokens do not."""
    if usage is None:
        return {"input_tokens": 0, "output_tokens": 0}
    cached = cached_tokens(usage)
    return {
        "input_tokens": max((usage.prompt_tokens or 0) - cached, 0),
        "output_tokens": usage.completion_tokens or 0,
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": cache_write_tokens(usage),
    }


def cached_tokens(usage: Usage) -> int:
    details = usage.prompt_tokens_details
    if details is not None and details.cached_tokens:
        return details.cached_tokens
    return usage.prompt_cache_hit_tokens or 0


def cache_write_tokens(usage: Usage) -> int:
    details = usage.prompt_tokens_details
    return (details.cache_write_tokens or 0) if details is not None else 0


FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "message_id": message_id,
        "response_model": response_model,
        "content_from_openai": content_from_openai,
        "finish_reason_of": finish_reason_of,
        "usage_to_anthropic": usage_to_anthropic,
    }
)
