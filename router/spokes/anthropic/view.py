"""What route conditions read from an Anthropic Messages request (the hub's own shape)."""

from __future__ import annotations

from typing import Any

from router.hub.messages import MessagesRequest
from router.hub.tokens import count_input_tokens

# `thinking.type` values that ask for thinking ("disabled" does not).
THINKING_ON = frozenset({"enabled", "adaptive"})
# Content nested deeper than this is not a conversation but an attack on the stack (as in tokens.py).
_MAX_DEPTH = 64


def thinking(src: MessagesRequest) -> bool:
    return src.thinking is not None and src.thinking.type in THINKING_ON


def images(src: MessagesRequest) -> bool:
    return any(_blocks_have_image(message.content, 0) for message in src.messages)


def tools(src: MessagesRequest) -> bool:
    return bool(src.tools)


def input_tokens(src: MessagesRequest) -> int:
    return count_input_tokens(src)


def _blocks_have_image(content: Any, depth: int) -> bool:
    """Blocks, looking inside anything that nests blocks: tool_result `content` (Claude Code
    sends screenshots there) and content documents' `source.content`."""
    if depth > _MAX_DEPTH or not isinstance(content, list):
        return False
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "image":
            return True
        source = block.get("source")
        nested = source.get("content") if isinstance(source, dict) else None
        if _blocks_have_image(block.get("content"), depth + 1) or _blocks_have_image(nested, depth + 1):
            return True
    return False
