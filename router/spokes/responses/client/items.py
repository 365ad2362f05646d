"""Responses `input` (a string, or a list of items) and `instructions` → the hub's `system` and
`messages`.

The shapes differ in four ways:
- Responses says `instructions` and system or developer messages anywhere; the hub has one
  top-level `system`. They are hoisted there, instructions first, joined in the order they came.
- A Responses conversation is a flat list of items: messages, the model's tool calls
  (`function_call`, `custom_tool_call`), their outputs, reasoning. The hub has user and assistant
  turns in strict alternation: calls and reasoning are assistant blocks, outputs user
  tool_result blocks, and consecutive items of one role are merged into one turn (tool results
  first: Anthropic requires them ahead of any other block of their message).
- A call's arguments are JSON text; a tool_use's input is an object. A custom tool's call is a
  tool_use of its one string argument (router.spokes.responses.names).
- A `reasoning` item round-trips the thinking it came from: its `encrypted_content` is the hub's
  signature (or a redacted block's data, marked; see output.py), its summary the thinking text.
  Without encrypted_content there is nothing an upstream would accept back: left out.

Which item type is converted how is the table's `[variants.input_item]`; unknown types and
`item_reference` (which needs OpenAI's storage) are left out, never a 400. Output dicts are
built fresh; the decoded request is never mutated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from router.spokes.common.hub_turns import append_turn, collapse, finished_turn
from router.spokes.common.invalid import field_required, invalid_value, require_str, wrong_type
from router.spokes.openai.client.content import text_block
from router.spokes.openai.client.messages import tool_input
from router.spokes.responses.client.calls import CallNames
from router.spokes.responses.client.content import Block, content_blocks, text_of
from router.spokes.responses.client.echo import declared_tools
from router.spokes.responses.client.output import thinking_block_of
from router.spokes.responses.names import CUSTOM_ARGUMENT
from router.spokes.responses.request_wire import Item, ResponsesRequest
from router.spokes.tables import variant_dispatch

Turn = tuple[str, list[Block]]  # (role, blocks)
ItemConverter = Callable[[Item, str, CallNames], Turn | None]

TABLE = "responses.client"
VARIANT_TABLE = "input_item"
SYSTEM_ROLES = frozenset({"system", "developer"})
TURN_ROLES = frozenset({"user", "assistant"})
MESSAGE = "message"
# OpenAI's own encrypted reasoning (a Fernet token: always this prefix), from a turn an OpenAI
# upstream served before (a failover, a changed route): only OpenAI can read it, and an Anthropic
# upstream refuses the whole request over a signature it did not issue. Left out.
OPENAI_ENCRYPTED = "gAAAAA"


# --- system --------------------------------------------------------------------------------------


def system_blocks(src: ResponsesRequest) -> list[Block]:
    """`instructions`, then the text of every system and developer message, in order."""
    blocks = [text_block(src.instructions)] if src.instructions else []
    if type(src.input) is list:
        for index, item in enumerate(src.input):
            if _item_type(item) == MESSAGE and _role(item, f"$.input[{index}]") in SYSTEM_ROLES:
                blocks.extend(text_of(item.get("content"), f"$.input[{index}].content"))
    return blocks


# --- the conversation ----------------------------------------------------------------------------


def hub_messages(src: ResponsesRequest) -> list[dict[str, Any]]:
    if isinstance(src.input, str):
        return [{"role": "user", "content": src.input}] if src.input else []
    names = CallNames(declared_tools(src))
    turns: list[dict[str, Any]] = []
    for index, item in enumerate(src.input):
        turn = item_turn(item, f"$.input[{index}]", names)
        if turn is not None and turn[1]:
            append_turn(turns, *turn)
    return [finished_turn(turn) for turn in turns]


def item_turn(item: Item, path: str, names: CallNames) -> Turn | None:
    convert = _CONVERTERS.get(_item_type(item), _OTHER)
    return convert(item, path, names) if convert is not None else None


def _item_type(item: Item) -> str:
    """An item without `type` is a message (`{role, content}`, the easy input form)."""
    kind = item.get("type")
    return kind if type(kind) is str else MESSAGE


# --- one item per type ---------------------------------------------------------------------------


def _role(item: Item, path: str) -> str | None:
    """A message's role; one that is not a string is the client's error (a list or an object
    cannot even be looked up in a set of roles)."""
    role = item.get("role")
    if role is not None and type(role) is not str:
        raise wrong_type("string", role, f"{path}.role")
    return role


def _message(item: Item, path: str, names: CallNames) -> Turn | None:
    role = _role(item, path)
    if role is None:
        raise field_required("role", path)
    if role in SYSTEM_ROLES:
        return None  # hoisted into `system`
    if role not in TURN_ROLES:
        raise invalid_value(role, f"{path}.role")
    return role, content_blocks(item.get("content"), f"{path}.content")


def _function_call(item: Item, path: str, names: CallNames) -> Turn:
    name = require_str(item, "name", path)
    return "assistant", [{
        "type": "tool_use",
        "id": require_str(item, "call_id", path),
        "name": names.hub_name(name, item.get("namespace")),
        "input": tool_input(item.get("arguments"), f"{path}.arguments"),
    }]


def _custom_tool_call(item: Item, path: str, names: CallNames) -> Turn:
    name = require_str(item, "name", path)
    return "assistant", [{
        "type": "tool_use",
        "id": require_str(item, "call_id", path),
        "name": names.hub_name(name, item.get("namespace")),
        "input": {CUSTOM_ARGUMENT: require_str(item, "input", path)},
    }]


def _tool_output(item: Item, path: str, names: CallNames) -> Turn:
    """function_call_output and custom_tool_call_output: the output is a string or a list of
    input_text / input_image / input_file parts. An empty one is a result without content."""
    block: Block = {"type": "tool_result", "tool_use_id": require_str(item, "call_id", path)}
    content = content_blocks(item.get("output"), f"{path}.output")
    if content:
        block["content"] = collapse(content)
    return "user", [block]


def _reasoning(item: Item, path: str, names: CallNames) -> Turn | None:
    encrypted = item.get("encrypted_content")
    if type(encrypted) is not str or not encrypted or encrypted.startswith(OPENAI_ENCRYPTED):
        return None
    return "assistant", [thinking_block_of(_summary_text(item.get("summary")), encrypted)]


def _summary_text(summary: Any) -> str:
    if type(summary) is not list:
        return ""
    return "\n\n".join(
        part["text"] for part in summary if type(part) is dict and type(part.get("text")) is str
    )


# The per-variant functions a `[variants.input_item]` entry may name.
VARIANTS: Mapping[str, ItemConverter] = MappingProxyType(
    {
        "message_turn_of": _message,
        "tool_use_of_function_call": _function_call,
        "tool_use_of_custom_call": _custom_tool_call,
        "tool_result_of_output": _tool_output,
        "thinking_of_reasoning": _reasoning,
    }
)


def item_converters() -> Mapping[str, ItemConverter | None]:
    """The shipped variant table as a dispatch dict (tag → function, None = dropped)."""
    return _CONVERTERS


_CONVERTERS: Mapping[str, ItemConverter | None] = variant_dispatch(TABLE, VARIANT_TABLE, VARIANTS)
_OTHER: ItemConverter | None = _CONVERTERS.get("*")


# --- where the conversation stands ---------------------------------------------------------------

_CALLS = frozenset({"function_call", "custom_tool_call"})
_OUTPUTS = frozenset({"function_call_output", "custom_tool_call_output"})


def unsigned_tool_loop(items: str | Sequence[Item]) -> bool:
    """True when tool outputs answer the last assistant turn and that turn carries no signed
    thinking (a reasoning item with encrypted_content): with thinking on, Anthropic then rejects
    the request, since a turn answered by tool results must start with its thinking block."""
    if isinstance(items, str):
        return False
    answered = in_turn = signed = False
    for kind, item in _backwards(items):
        said_by_model = kind in _CALLS or kind == "reasoning" or (kind == MESSAGE and item.get("role") == "assistant")
        if said_by_model:
            if not answered:
                return False  # the last assistant turn is not being answered: no tool loop
            in_turn = True
            signed = signed or (kind == "reasoning" and bool(item.get("encrypted_content")))
        elif in_turn and (kind in _OUTPUTS or (kind == MESSAGE and item.get("role") == "user")):
            break  # the turn before the last assistant turn
        elif kind in _OUTPUTS:
            answered = True
    return answered and not signed


def _backwards(items: Sequence[Item]) -> Iterator[tuple[str, Item]]:
    for item in reversed(items):
        yield _item_type(item), item
