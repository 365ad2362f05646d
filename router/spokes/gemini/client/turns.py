"""Gemini `contents` and `systemInstruction` → the hub's `messages` and `system`.

- Roles: `user` and `model` (→ assistant); a content without a role is the user's (the API's
  reading), the legacy `function` role (function responses) too. Consecutive contents of one
  role are merged into one turn (Anthropic requires alternation), tool results first in theirs
  (Anthropic requires them ahead of any other block of their message).
- Parts: parts.py, one at a time. A part's `thoughtSignature` made by this router
  (signature.py) gives back the hub's thinking blocks it carries, placed before the part's own
  block, as they stood in the hub answer; foreign signatures and thought summaries are left out
  (signature.py says why).
- Function names the hub refuses are rewritten (names.py), in calls as in the declarations.
- `systemInstruction`: the text of its parts, joined; its `role` is ignored (Gemini CLI sends
  "user").

Output dicts are built fresh; the decoded request is never mutated.
"""

from __future__ import annotations

from typing import Any

from router.core.errors import InvalidRequest
from router.spokes.common.hub_turns import append_turn, finished_turn
from router.spokes.common.invalid import invalid_value, wrong_type
from router.spokes.gemini.client.calls import CallIds
from router.spokes.gemini.client.names import function_names
from router.spokes.gemini.client.parts import Block, member, part_block
from router.spokes.gemini.client.signature import PREFIX, thinking_blocks
from router.spokes.gemini.request_wire import (
    GenerateContentRequest,
    Item,
    system_instruction,
)
from router.spokes.openai.client.content import TEXT_SEPARATOR

_ROLES = {"user": "user", "model": "assistant", "function": "user", None: "user"}
_SIGNATURE_KEYS = ("thoughtSignature", "thought_signature")


# --- system --------------------------------------------------------------------------------------


def system_text(src: GenerateContentRequest) -> str | None:
    instruction = system_instruction(src)
    if instruction is None:
        return None
    path = "$.systemInstruction"
    if isinstance(instruction, str):
        return instruction or None
    parts = instruction.get("parts")
    if parts is None:
        return None
    if type(parts) is not list:
        raise wrong_type("array", parts, f"{path}.parts")
    texts = []
    for index, part in enumerate(parts):
        if type(part) is not dict:
            raise wrong_type("object", part, f"{path}.parts[{index}]")
        text = part.get("text")
        if type(text) is str and text and part.get("thought") is not True:
            texts.append(text)
    return TEXT_SEPARATOR.join(texts) or None


# --- the conversation ----------------------------------------------------------------------------


def hub_messages(src: GenerateContentRequest) -> list[dict[str, Any]]:
    names = function_names(src)
    calls = CallIds(names.to_hub if names is not None else None)
    turns: list[dict[str, Any]] = []
    for index, content in enumerate(src.contents):
        path = f"$.contents[{index}]"
        if type(content) is not dict:
            raise wrong_type("object", content, path)
        role = _role(content, path)
        blocks = content_blocks(content.get("parts"), f"{path}.parts", calls)
        if blocks:
            append_turn(turns, role, blocks)
    if not turns:
        raise InvalidRequest("contents: the request has nothing to answer (no content with a part the model can "
                             "read) - at `$.contents`", param="contents")
    return [finished_turn(turn) for turn in turns]


def content_blocks(parts: Any, path: str, calls: CallIds) -> list[Block]:
    if parts is None:
        return []
    if type(parts) is not list:
        raise wrong_type("array", parts, path)
    blocks: list[Block] = []
    for index, part in enumerate(parts):
        part_path = f"{path}[{index}]"
        block = part_block(part, part_path, calls)  # checks that the part is an object
        signature = _signature(part)
        if signature is not None:
            blocks.extend(thinking_blocks(signature) or ())
        if block is not None:
            blocks.append(block)
    return blocks


def _signature(part: dict[str, Any]) -> object:
    return member(part, *_SIGNATURE_KEYS)


def _role(content: Item, path: str) -> str:
    role = content.get("role")
    if role is not None and type(role) is not str:
        raise wrong_type("str", role, f"{path}.role")
    hub_role = _ROLES.get(role)
    if hub_role is None:
        raise invalid_value(role, f"{path}.role")
    return hub_role


# --- where the conversation stands ---------------------------------------------------------------


def unsigned_tool_loop(src: GenerateContentRequest) -> bool:
    """True when the last content answers function calls and the model turn it answers carries
    none of our thinking: with thinking on, Anthropic then rejects the request (a turn
    answered by tool results must start with its signed thinking). Read on the raw contents,
    cheaply: the converters ask it several times per request."""
    contents = src.contents
    if len(contents) < 2 or not _answers_calls(contents[-1]):
        return False
    for content in reversed(contents[:-1]):
        if type(content) is dict and content.get("role") == "model":
            return not any(_ours(part) for part in _parts(content))
    return False


def _answers_calls(content: Any) -> bool:
    return type(content) is dict and content.get("role") != "model" and any(
        "functionResponse" in part or "function_response" in part for part in _parts(content))


def _parts(content: dict[str, Any]) -> list[dict[str, Any]]:
    parts = content.get("parts")
    return [part for part in parts if type(part) is dict] if type(parts) is list else []


def _ours(part: dict[str, Any]) -> bool:
    signature = _signature(part)
    return type(signature) is str and signature.startswith(PREFIX)
