"""Bedrock Converse answer → Anthropic message: the structural parts the field table
(schemas/bedrock.upstream.toml, [response]) calls.

Converse's content blocks map one to one: text → text, toolUse → tool_use, reasoningContent
reasoningText → thinking (with its signature), reasoningContent redactedContent →
redacted_thinking; consecutive reasoning pieces make one thinking block, as the stream machine
(stream.py) makes one. Blocks the hub has no place for (citations, images the model drew,
guardrail content) are left out. Converse's answer names no model and has no id: the model is
the one asked for, the id one of ours.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from router.config.target import TargetContext
from router.core.errors import UpstreamProtocolError
from router.core.ids import new_id
from router.spokes.bedrock.stream import FAILED_STOPS, MESSAGE_ID_PREFIX, usage_to_hub
from router.spokes.bedrock.wire import ConverseResponse

Block = dict[str, Any]


def response_id(src: ConverseResponse) -> str:
    return new_id(MESSAGE_ID_PREFIX)


def response_model(src: ConverseResponse, ctx: TargetContext) -> str:
    """The route's model; for a target that sends the client's, the gateway fills it in."""
    return ctx.model or ""


def content_from_converse(src: ConverseResponse, ctx: TargetContext) -> list[Block]:
    message = src.output.message if src.output is not None else None
    blocks: list[Block] = []
    for block in message.content if message is not None else ():
        add_block(blocks, block)
    return blocks


def add_block(blocks: list[Block], block: Block) -> None:
    text = block.get("text")
    if type(text) is str:
        if blocks and blocks[-1]["type"] == "text":
            blocks[-1]["text"] += text
        elif text:
            blocks.append({"type": "text", "text": text})
        return
    call = block.get("toolUse")
    if type(call) is dict:
        blocks.append({"type": "tool_use", "id": call.get("toolUseId") or new_id("toolu_bdrk_"),
                       "name": call.get("name") or "", "input": call.get("input") or {}})
        return
    reasoning = block.get("reasoningContent")
    if type(reasoning) is dict:
        _add_reasoning(blocks, reasoning)


def _add_reasoning(blocks: list[Block], reasoning: Block) -> None:
    redacted = reasoning.get("redactedContent")
    if type(redacted) is str:
        blocks.append({"type": "redacted_thinking", "data": redacted})
        return
    piece = reasoning.get("reasoningText")
    if type(piece) is not dict:
        return
    text, signature = piece.get("text") or "", piece.get("signature") or ""
    last = blocks[-1] if blocks else None
    if last is not None and last["type"] == "thinking" and not last["signature"]:
        last["thinking"] += text
        last["signature"] = signature
    else:
        blocks.append({"type": "thinking", "thinking": text, "signature": signature})


def stop_reason_of(src: ConverseResponse) -> str | None:
    """The stop reason, the [values.stop_reason] key; a broken answer is an upstream error."""
    reason = src.stop_reason
    if reason in FAILED_STOPS:
        raise UpstreamProtocolError(f"Bedrock finished with {reason}: the answer is not whole")
    return reason


def stop_sequence_of(src: ConverseResponse) -> str | None:
    """Claude's stop sequence, asked for with additionalModelResponseFieldPaths."""
    fields = src.additional_model_response_fields
    value = fields.get("stop_sequence") if type(fields) is dict else None
    return value if type(value) is str else None


def usage_of(src: ConverseResponse) -> dict[str, int]:
    return usage_to_hub(src.usage)


FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "response_id": response_id,
        "response_model": response_model,
        "content_from_converse": content_from_converse,
        "stop_reason_of": stop_reason_of,
        "stop_sequence_of": stop_sequence_of,
        "usage_of": usage_of,
    }
)
