"""Building the hub's (Anthropic's) conversation from a client's turns, the same way for every
client spoke: Anthropic requires user/assistant alternation and tool_result blocks ahead of any
other block of their user message, and takes a lone plain text as a string.

What a client's message becomes (its role, its blocks) is each spoke's own; how turns of the
same role merge and how a merged turn is finished is the same for all of them.
"""

from __future__ import annotations

from typing import Any

Block = dict[str, Any]
Turn = dict[str, Any]  # {"role": ..., "content": [blocks]} while it is built


def append_turn(turns: list[Turn], role: str, blocks: list[Block]) -> None:
    """Merge into the previous turn when it has the same role: Anthropic requires alternation.
    A message left without blocks is skipped by the caller, so its neighbours merge too."""
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": blocks})


def finished_turn(turn: Turn) -> Turn:
    """The hub message of a merged turn: tool results first in a user turn, the content collapsed."""
    blocks: list[Block] = turn["content"]
    if turn["role"] == "user":
        blocks = _tool_results_first(blocks)
    return {"role": turn["role"], "content": collapse(blocks)}


def _tool_results_first(blocks: list[Block]) -> list[Block]:
    results = [block for block in blocks if block["type"] == "tool_result"]
    if not results or len(results) == len(blocks):
        return blocks
    return results + [block for block in blocks if block["type"] != "tool_result"]


def collapse(blocks: list[Block]) -> str | list[Block]:
    """One plain text block travels as a string: smaller, and what clients of Anthropic send."""
    if len(blocks) == 1 and is_plain_text(blocks[0]):
        text: str = blocks[0]["text"]
        return text
    return blocks


def is_plain_text(block: Block) -> bool:
    """A text block with nothing else on it (no cache_control): it can travel as a plain string."""
    return block["type"] == "text" and len(block) == 2
