"""Hub (Anthropic) message → Responses `response` object: the functions the field table
(schemas/responses.client.toml, [response]) calls. complete.py then adds what only the request
knows. The item, part and usage builders are output.py's, shared with the stream machine.

Output items in the order the blocks came: thinking → a reasoning item, consecutive text blocks
→ one message item, tool_use → a function_call item. The forced `json_response` call (structured
output) is the answer itself: its input, as JSON text, is the message's text. A refusal is a
message whose content is a refusal part.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from router.config.target import TargetContext
from router.hub.messages import AnthropicMessage, Block
from router.spokes.common.tool_arguments import arguments_text
from router.spokes.responses.client.output import (
    FUNCTION_CALL_PREFIX,
    MESSAGE_PREFIX,
    REASONING_PREFIX,
    encrypted_content_of,
    function_call_item,
    item_id,
    message_item,
    output_text_part,
    reasoning_item,
    refusal_part,
    response_id,
    usage_dict,
)
from router.spokes.responses.client.tools import JSON_RESPONSE_TOOL

Item = dict[str, Any]

TRUNCATED = frozenset({"max_tokens", "model_context_window_exceeded"})
REFUSAL = "refusal"
REFUSAL_TEXT = "The model declined to answer."  # a refusal that said nothing


def created_now() -> int:
    """Anthropic answers carry no timestamp; `created_at` is when the answer was made."""
    return int(time.time())


def response_model(src: AnthropicMessage, ctx: TargetContext) -> str:
    """The model the target was asked for (what the client sees in the stream, too)."""
    return ctx.model or src.model or ""


def incomplete_details_for(stop_reason: str | None) -> dict[str, str] | None:
    return {"reason": "max_output_tokens"} if stop_reason in TRUNCATED else None


def output_items(src: AnthropicMessage) -> list[Item]:
    items: list[Item] = []
    texts: list[str] = []
    for block in src.content:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text") or "")
        elif kind == "tool_use" and block.get("name") == JSON_RESPONSE_TOOL:
            texts.append(arguments_text(block.get("input")))
        elif kind in ("thinking", "redacted_thinking"):
            _flush(items, texts, refused=False)
            items.append(reasoning_item(item_id(REASONING_PREFIX), block.get("thinking") or "",
                                        encrypted_content_of(block)))
        elif kind == "tool_use":
            _flush(items, texts, refused=False)
            items.append(function_call_of(block))
        # server tool blocks (web search results ...) have no Responses form without the tool
    _flush(items, texts, refused=src.stop_reason == REFUSAL)
    return items


def _flush(items: list[Item], texts: list[str], refused: bool) -> None:
    """The text said since the last item, as one message item (and the texts list emptied)."""
    text = "".join(texts)
    texts.clear()
    if refused:
        items.append(message_item(item_id(MESSAGE_PREFIX), [refusal_part(text or REFUSAL_TEXT)]))
    elif text:
        items.append(message_item(item_id(MESSAGE_PREFIX), [output_text_part(text)]))


def function_call_of(block: Block) -> Item:
    """Under its hub name; complete.py gives it the client's name (namespace, custom tool)."""
    call_id = block.get("id")
    if type(call_id) is not str or not call_id:
        call_id = item_id("call_")
    return function_call_item(item_id(FUNCTION_CALL_PREFIX), call_id, block.get("name") or "",
                              arguments_text(block.get("input")))


def usage_to_responses(usage: Any) -> dict[str, Any]:
    return usage_dict(usage)


FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "response_id": response_id,
        "created_now": created_now,
        "incomplete_details_for": incomplete_details_for,
        "response_model": response_model,
        "output_items": output_items,
        "usage_to_responses": usage_to_responses,
    }
)
