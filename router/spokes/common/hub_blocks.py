"""Reading the hub's (Anthropic's) content blocks the same way in every upstream spoke: a block's
type, a list of blocks with their JSON paths, converted one by one, the texts of a system prompt.

What a block becomes is each spoke's own (its `[variants.content_block]` table); how a list of
blocks is walked, and which error names which JSON path, is the same for all of them, so a
client sees the same 400 whichever upstream its route picks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from router.config.target import TargetContext
from router.spokes.common.invalid import require_str, wrong_type

Part = TypeVar("Part")


def block_type(block: dict[str, Any], path: str) -> str:
    return require_str(block, "type", path)


def indexed_blocks(content: Any, path: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Each block of a content list with its JSON path; content that is not a list, or a block
    that is not an object, is the error naming it."""
    if type(content) is not list:
        raise wrong_type("str | array", content, path)
    for index, block in enumerate(content):
        block_path = f"{path}[{index}]"
        if type(block) is not dict:
            raise wrong_type("object", block, block_path)
        yield block, block_path


def converted_blocks(
    content: Any, path: str, ctx: TargetContext,
    convert: Callable[[dict[str, Any], str, TargetContext], Part | None],
) -> list[Part]:
    """A list of content blocks (a tool_result's content) through `convert`, one block at a
    time; what it makes nothing of (None) is left out."""
    parts = []
    for block, block_path in indexed_blocks(content, path):
        part = convert(block, block_path, ctx)
        if part is not None:
            parts.append(part)
    return parts


def system_texts(system: str | list[dict[str, Any]], path: str) -> list[str]:
    """The texts of a system prompt (the top-level `system`, or a role:"system" message's
    content), one per text block; Anthropic allows only text there, so other blocks are left out."""
    if type(system) is str:
        return [system]
    return [require_str(block, "text", block_path) for block, block_path in indexed_blocks(system, path)
            if block_type(block, block_path) == "text"]
