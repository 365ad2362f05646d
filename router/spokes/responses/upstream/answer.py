"""OpenAI Responses answer → Anthropic message: the structural parts the field table
(schemas/responses.upstream.toml, [response]) calls.

Output items become blocks in their order: reasoning → thinking (signed so that it can go back,
router.spokes.responses.upstream.signature), a message's output_text and refusal parts → text,
function_call and custom_tool_call → tool_use. Built-in tool calls (web_search_call ...) ran at
the upstream; what they found is in the message text, so they are left out.

The stream machine (stream.py) uses the same helpers, so a folded stream and the unary
conversion of the same answer agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import msgspec

from router.config.target import TargetContext
from router.core.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError
from router.spokes.openai.upstream.answer import (
    message_id,
    parse_tool_arguments,
    tool_use_id,
)
from router.spokes.responses.answer_wire import (
    ContentPart,
    OutputItem,
    ResponseError,
    ResponseObject,
    ResponseUsage,
)
from router.spokes.responses.names import CUSTOM_ARGUMENT, flat_name
from router.spokes.responses.upstream.signature import signature_for

Block = dict[str, Any]

_json_encode = msgspec.json.Encoder().encode

# What separates a reasoning item's summary parts (and its content) in one thinking block.
THINKING_SEPARATOR = "\n\n"
TOOL_CALLS = frozenset({"function_call", "custom_tool_call"})


def response_model(src: ResponseObject, ctx: TargetContext) -> str:
    """The model the target was asked for (what the client sees in the stream, too)."""
    return ctx.model or src.model or ""


def content_from_responses(src: ResponseObject, ctx: TargetContext) -> list[Block]:
    blocks: list[Block] = []
    for item in src.output:
        kind = item.type
        if kind == "message":
            blocks.extend(message_blocks(item))
        elif kind == "reasoning":
            block = thinking_block(item, ctx)
            if block is not None:
                blocks.append(block)
        elif kind == "function_call":
            blocks.append(tool_use_block(item, parse_tool_arguments(arguments_text(item))))
        elif kind == "custom_tool_call":
            blocks.append(tool_use_block(item, {CUSTOM_ARGUMENT: item.input or ""}))
    return blocks


def message_blocks(item: OutputItem) -> list[Block]:
    """One text block per output_text or refusal part (a refusal is what the model said)."""
    blocks: list[Block] = []
    for part in item.content or ():
        text = part_text(part)
        if text is not None:
            blocks.append({"type": "text", "text": text})
    return blocks


def part_text(part: ContentPart) -> str | None:
    if part.type == "output_text":
        return part.text or ""
    if part.type == "refusal":
        return part.refusal or ""
    return None


def reasoning_text(item: OutputItem) -> str:
    """The summary parts, then the reasoning text (open-weight models send that instead)."""
    texts = [part.text for part in (*(item.summary or ()), *(item.content or ())) if part.text]
    return THINKING_SEPARATOR.join(texts)


def thinking_block(item: OutputItem, ctx: TargetContext) -> Block | None:
    """None for an item with neither text nor encrypted content: the upstream reasoned without
    being asked to show or keep it, so the client gets no empty thinking it did not ask for."""
    text = reasoning_text(item)
    if not text and not item.encrypted_content:
        return None
    return {"type": "thinking", "thinking": text, "signature": thinking_signature(item, ctx)}


def thinking_signature(item: OutputItem, ctx: TargetContext) -> str:
    return signature_for(ctx.upstream, item.id, item.encrypted_content)


def arguments_text(item: OutputItem) -> str | None:
    """A call's arguments as JSON text, as the API sends them; an object (some servers) as its JSON."""
    arguments = item.arguments
    if arguments is None or type(arguments) is str:
        return arguments
    return _json_encode(arguments).decode()


def tool_name(item: OutputItem) -> str:
    """Tools go upstream flat (hub names), so a namespace never comes back from this router's
    requests; if one does, it is folded into the name the way a Responses client's are."""
    return flat_name(item.namespace, item.name or "")


def tool_use_block(item: OutputItem, tool_input: Any) -> Block:
    return {"type": "tool_use", "id": tool_use_id(item.call_id), "name": tool_name(item), "input": tool_input}


def stop_reason_of(src: ResponseObject) -> str | None:
    """The key of `[values.response_status]`; a failed response raises (a 200 answer can say so)."""
    refused = any(part.type == "refusal" for item in src.output if item.type == "message" for part in item.content or ())
    called = any(item.type in TOOL_CALLS for item in src.output)
    reason = src.incomplete_details.reason if src.incomplete_details is not None else None
    return stop_key(src.status, reason, called, refused, src.error)


def stop_key(status: str | None, incomplete_reason: str | None, called: bool, refused: bool,
             error: ResponseError | None) -> str | None:
    """An incomplete answer says why it stopped (a tool call cut by the token limit is cut,
    not a call); otherwise tool calls mean `tool_use` whatever the status, and a refusal
    `refusal`."""
    if status in ("failed", "cancelled"):
        raise failure(error, f"response {status}")
    if status == "incomplete":
        return incomplete_reason or "max_output_tokens"
    if called:
        return "tool_use"
    if refused:
        return "refusal"
    return status


def failure(error: ResponseError | None, what: str, code: str | None = None,
            message: str | None = None) -> UpstreamError:
    """The error a failed response (or an `error` event) is, for the relay to turn into the
    client's error event. A rate limit keeps its status, so clients back off; everything else
    is the upstream's failure."""
    if error is not None:
        code, message = error.code or error.type or code, error.message or message
    text = f"upstream {what}: {message or code or 'no reason given'}"
    status_code = _STATUS_BY_CODE.get(code or "")
    return UpstreamStatusError(status_code, text) if status_code is not None else UpstreamProtocolError(text)


_STATUS_BY_CODE: Mapping[str, int] = MappingProxyType(
    {"rate_limit_exceeded": 429, "insufficient_quota": 429, "server_error": 500, "server_is_overloaded": 503,
     "slow_down": 503, "context_length_exceeded": 400, "invalid_prompt": 400}
)


def usage_to_hub(usage: ResponseUsage | None) -> dict[str, int]:
    """Responses' input_tokens include cached and cache-written ones; Anthropic's do not."""
    if usage is None:
        return {"input_tokens": 0, "output_tokens": 0}
    details = usage.input_tokens_details
    cached = (details.cached_tokens or 0) if details is not None else 0
    written = (details.cache_write_tokens or 0) if details is not None else 0
    return {
        "input_tokens": max((usage.input_tokens or 0) - cached - written, 0),
        "output_tokens": usage.output_tokens or 0,
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": written,
    }


FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "message_id": message_id,
        "response_model": response_model,
        "content_from_responses": content_from_responses,
        "stop_reason_of": stop_reason_of,
        "usage_to_hub": usage_to_hub,
    }
)
