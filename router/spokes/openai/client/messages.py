"""OpenAI chat messages → Anthropic `system` and `messages`.

The shapes differ in three ways:
- OpenAI's system and developer messages may appear anywhere; Anthropic has one top-level
  `system`. They are hoisted there, joined in the order they were said.
- OpenAI answers each tool call with its own `role: "tool"` message; Anthropic wants tool_result
  blocks inside a user message, and strict user/assistant alternation. Tool messages therefore
  become user turns, and consecutive turns of the same role are merged into one message (tool
  results first: Anthropic requires them ahead of any other block of that message).
- An OpenAI assistant message has `content` plus `tool_calls` (arguments as JSON text); Anthropic's
  has text and tool_use blocks (input as an object).
Output dicts are built fresh; the decoded request is never mutated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import msgspec

from router.core.errors import InvalidRequest
from router.spokes.common.hub_turns import append_turn, collapse, finished_turn
from router.spokes.common.invalid import (
    field_required,
    invalid_value,
    json_type_name,
    require_object,
    require_str,
    wrong_type,
)
from router.spokes.openai.client.content import (
    Block,
    content_blocks,
    text_of,
)
from router.spokes.openai.wire import ChatRequestMessage

AnthropicTurn = dict[str, Any]

SYSTEM_ROLES = frozenset({"system", "developer"})

_decode_json = msgspec.json.Decoder().decode


# --- system --------------------------------------------------------------------------------------


def system_blocks(messages: Sequence[ChatRequestMessage]) -> list[Block]:
    """The text of every system and developer message, in order."""
    blocks: list[Block] = []
    for index, message in enumerate(messages):
        if message.role in SYSTEM_ROLES:
            blocks.extend(text_of(message.content, f"$.messages[{index}].content"))
    return blocks


# --- the conversation ----------------------------------------------------------------------------


def anthropic_messages(messages: Sequence[ChatRequestMessage]) -> list[AnthropicTurn]:
    turns: list[AnthropicTurn] = []
    for index, message in enumerate(messages):
        path = f"$.messages[{index}]"
        role = message.role
        if role is None:
            raise field_required("role", path)
        if role in SYSTEM_ROLES:
            continue  # hoisted into `system`
        convert = _TURNS.get(role)
        if convert is None:
            raise invalid_value(role, f"{path}.role")
        turn_role, blocks = convert(message, path)
        if blocks:
            append_turn(turns, turn_role, blocks)
    return [finished_turn(turn) for turn in turns]


# --- one message per role ------------------------------------------------------------------------


def _user_turn(message: ChatRequestMessage, path: str) -> tuple[str, list[Block]]:
    return "user", content_blocks(message.content, f"{path}.content")


def _assistant_turn(message: ChatRequestMessage, path: str) -> tuple[str, list[Block]]:
    """Text, then one tool_use per call. `reasoning_content` sent back is dropped: Anthropic only
    takes thinking back with the signature it issued, which an OpenAI client never had."""
    blocks = content_blocks(message.content, f"{path}.content")
    for index, call in enumerate(message.tool_calls or ()):
        blocks.append(tool_use_block(call, f"{path}.tool_calls[{index}]"))
    return "assistant", blocks


def _tool_turn(message: ChatRequestMessage, path: str) -> tuple[str, list[Block]]:
    if message.tool_call_id is None:
        raise field_required("tool_call_id", path)
    block: Block = {"type": "tool_result", "tool_use_id": message.tool_call_id}
    content = content_blocks(message.content, f"{path}.content")
    if content:  # an empty result is a result without content, which Anthropic accepts
        block["content"] = collapse(content)
    return "user", [block]


_TURNS: Mapping[str, Callable[[ChatRequestMessage, str], tuple[str, list[Block]]]] = MappingProxyType(
    {"user": _user_turn, "assistant": _assistant_turn, "tool": _tool_turn}
)


def tool_use_block(call: dict[str, Any], path: str) -> Block:
    function = require_object(call, "function", path)
    function_path = f"{path}.function"
    return {
        "type": "tool_use",
        "id": require_str(call, "id", path),
        "name": require_str(function, "name", function_path),
        "input": tool_input(function.get("arguments"), f"{function_path}.arguments"),
    }


def tool_input(arguments: Any, path: str) -> dict[str, Any]:
    """OpenAI's arguments are JSON text; Anthropic's input is an object. Empty means no arguments.
    Invalid JSON is the client's error: guessing would put words in the model's mouth."""
    if arguments is None or (type(arguments) is str and not arguments.strip()):
        return {}
    if type(arguments) is not str:
        raise wrong_type("str", arguments, path)
    try:
        value = _decode_json(arguments)
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"Function arguments are not valid JSON ({exc}) - at `{path}`") from None
    if type(value) is not dict:
        kind = json_type_name(value)
        raise InvalidRequest(f"Function arguments must be a JSON object, got `{kind}` - at `{path}`")
    return value


# --- where the conversation stands ---------------------------------------------------------------


def in_tool_loop(messages: Sequence[ChatRequestMessage]) -> bool:
    """True when tool results answer the last assistant turn: the model is mid-turn, continuing
    its own tool calls (Anthropic's rules for thinking differ there)."""
    for message in reversed(messages):
        if message.role == "tool":
            return True
        if message.role == "assistant":
            return False
    return False
