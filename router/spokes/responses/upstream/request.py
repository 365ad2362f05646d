"""Anthropic Messages request → OpenAI Responses request: the structural parts the field table
(schemas/responses.upstream.toml, [request]) calls. Plain fields are mapped by the table.

The shapes differ mostly in the conversation:
- Anthropic's `system` is a top-level field; Responses' is `instructions`.
- Responses has no messages of blocks but a flat list of input items: an Anthropic assistant
  message becomes, in order, `reasoning` items (its thinking, when a Responses upstream issued
  it), `message` items (its text) and `function_call` items (its tool_use blocks); a user
  message becomes `function_call_output` items (its tool_result blocks, which Anthropic puts
  first) and then one `message` item with the rest.
Output dicts are built fresh; the input is never mutated or copied wholesale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from router.config.target import TargetContext
from router.hub.messages import Block, MessagesRequest, Tool
from router.spokes.common.block_text import TEXT_SEPARATOR
from router.spokes.common.hub_blocks import block_type, converted_blocks, system_texts
from router.spokes.common.invalid import (
    invalid_value,
    raw_string,
    require_str,
    wrong_type,
)
from router.spokes.common.tool_arguments import arguments_text
from router.spokes.openai.upstream.request import (
    effort_for_budget,
    function_parameters,
    is_function_tool,
    openai_effort,
    openai_tool_choice,
    parallel_tool_calls_for,
    target_model,
)
from router.spokes.responses.upstream.content import Part, content_part, input_text
from router.spokes.responses.upstream.signature import reasoning_ref

Item = dict[str, Any]

# OpenAI rejects ids and `user` values longer than this (`string_above_max_length`).
MAX_ID = 64
# The smallest `max_output_tokens` OpenAI accepts; Claude Code asks for 1 to probe a model.
MIN_OUTPUT_TOKENS = 16
ENCRYPTED_REASONING = "reasoning.encrypted_content"


# --- instructions ------------------------------------------------------------------------------


def instructions_of(src: MessagesRequest) -> str | None:
    """The system prompt as one text (Anthropic allows only text there); None when empty."""
    system = src.system
    if system is None:
        return None
    return _system_text(system, "$.system") or None


def _system_text(system: str | list[Block], path: str) -> str:
    return system if type(system) is str else TEXT_SEPARATOR.join(system_texts(system, path))


# --- input items -------------------------------------------------------------------------------


def input_items(src: MessagesRequest, ctx: TargetContext) -> list[Item]:
    items: list[Item] = []
    for index, message in enumerate(src.messages):
        path = f"$.messages[{index}]"
        role = message.role
        if role == "user":
            _add_user(items, message.content, path, ctx)
        elif role == "assistant":
            _add_assistant(items, message.content, path, ctx)
        elif role == "system":
            # Claude Code puts a role:"system" message mid-conversation; it stays where it was said.
            text = _system_text(message.content, f"{path}.content")
            if text:
                items.append({"type": "message", "role": "system", "content": [input_text(text)]})
        else:
            raise invalid_value(role, f"{path}.role")
    return items


def _add_user(items: list[Item], content: str | list[Block], path: str, ctx: TargetContext) -> None:
    """tool_result blocks → function_call_output items, then one user message with the rest."""
    if type(content) is str:
        items.append(_message("user", [input_text(content)]))
        return
    if type(content) is not list:
        raise wrong_type("str | array", content, f"{path}.content")
    parts: list[Part] = []
    for index, block in enumerate(content):
        block_path = f"{path}.content[{index}]"
        if type(block) is not dict:
            raise wrong_type("object", block, block_path)
        if block_type(block, block_path) == "tool_result":
            items.append(function_call_output(block, block_path, ctx))
        else:
            part = content_part(block, block_path, ctx)
            if part is not None:
                parts.append(part)
    if parts:
        items.append(_message("user", parts))


def _message(role: str, parts: list[Part]) -> Item:
    return {"type": "message", "role": role, "content": parts}


def _add_assistant(items: list[Item], content: str | list[Block], path: str, ctx: TargetContext) -> None:
    """Blocks in order: consecutive text blocks make one message item; thinking a Responses
    upstream (this one) issued becomes its reasoning item again; tool_use → function_call.
    Left out: other thinking (signed for someone else: the upstream would answer 400),
    redacted_thinking (encrypted for Anthropic), server tool blocks (they ran at Anthropic)."""
    if type(content) is str:
        if content:
            items.append(_message("assistant", [_output_text(content)]))
        return
    if type(content) is not list:
        raise wrong_type("str | array", content, f"{path}.content")
    texts: list[Part] = []
    first = len(items)
    for index, block in enumerate(content):
        block_path = f"{path}.content[{index}]"
        if type(block) is not dict:
            raise wrong_type("object", block, block_path)
        kind = block_type(block, block_path)
        if kind == "text":
            texts.append(_output_text(require_str(block, "text", block_path)))
            continue
        if kind == "tool_use":
            item: Item | None = function_call(block, block_path)
        elif kind == "thinking":
            item = reasoning_item(block, ctx)
        else:
            continue
        if item is not None:
            if texts:
                items.append(_message("assistant", texts))
                texts = []
            items.append(item)
    if texts:
        items.append(_message("assistant", texts))
    # OpenAI rejects a reasoning item without the output that followed it ("provided without
    # its required following item"): a turn cut off while thinking keeps no reasoning.
    while len(items) > first and items[-1]["type"] == "reasoning":
        items.pop()


def _output_text(text: str) -> Part:
    return {"type": "output_text", "text": text}


def reasoning_item(block: Block, ctx: TargetContext) -> Item | None:
    """The reasoning item a thinking block's signature carries, when this upstream issued it
    (router.spokes.responses.upstream.signature); its text goes back as the summary."""
    ref = reasoning_ref(block.get("signature"), ctx.upstream)
    if ref is None:
        return None
    thinking = block.get("thinking")
    summary = [{"type": "summary_text", "text": thinking}] if type(thinking) is str and thinking else []
    return {"type": "reasoning", "id": ref.item_id, "summary": summary, "encrypted_content": ref.encrypted_content}


def function_call(block: Block, path: str) -> Item:
    return {
        "type": "function_call",
        "call_id": call_id(require_str(block, "id", path)),
        "name": require_str(block, "name", path),
        "arguments": arguments_text(block.get("input")),
    }


def call_id(tool_use_id: str) -> str:
    """The id as it was, unless it passes OpenAI's 64 characters (ids minted by another
    upstream can): then a digest of it, the same for the call and for its output."""
    if len(tool_use_id) <= MAX_ID:
        return tool_use_id
    return "call_" + hashlib.sha256(tool_use_id.encode()).hexdigest()[:32]


def function_call_output(block: Block, path: str, ctx: TargetContext) -> Item:
    return {
        "type": "function_call_output",
        "call_id": call_id(require_str(block, "tool_use_id", path)),
        "output": tool_output(block, path, ctx),
    }


def tool_output(block: Block, path: str, ctx: TargetContext) -> str | list[Part]:
    """A string when the result is text only; a list of parts when it has images or files.
    The model must know the call failed, and Responses has no is_error flag."""
    content = block.get("content")
    failed = block.get("is_error") is True
    if content is None or type(content) is str:
        text = content or ""
        return f"Error: {text}" if failed else text
    parts = converted_blocks(content, f"{path}.content", ctx, content_part)
    if all(part["type"] == "input_text" for part in parts):
        text = TEXT_SEPARATOR.join(part["text"] for part in parts)
        return f"Error: {text}" if failed else text
    return [input_text("Error:"), *parts] if failed else parts


# --- tools -------------------------------------------------------------------------------------


def tools_to_responses(src: MessagesRequest, ctx: TargetContext) -> list[dict[str, Any]] | None:
    """Client tools as function tools. Anthropic server tools (web_search_…, bash_…,
    text_editor_…) run inside Anthropic's API, so they are left out."""
    if not src.tools:
        return None
    clean = ctx.caps.tool_schema == "clean"
    tools = [function_tool(tool, clean, f"$.tools[{index}]") for index, tool in enumerate(src.tools)
             if is_function_tool(tool)]
    return tools or None


def function_tool(tool: Tool, clean: bool, path: str) -> dict[str, Any]:
    """`strict: false`: Anthropic schemas are not written for OpenAI's strict mode (which
    requires every property and no optional ones). The schema passes through as the client's
    raw JSON unless it is cleaned."""
    out: dict[str, Any] = {"type": "function", "name": tool.name}
    description = raw_string(tool.description, f"{path}.description")
    if description is not None:
        out["description"] = description
    out["parameters"] = function_parameters(tool, clean, path)
    out["strict"] = False
    return out


def tool_choice_to_responses(src: MessagesRequest) -> str | dict[str, Any] | None:
    return openai_tool_choice(src, _function_choice)


def _function_choice(name: str) -> dict[str, Any]:
    return {"type": "function", "name": name}


# --- sampling, reasoning, user -----------------------------------------------------------------


def max_output_tokens_for(src: MessagesRequest, ctx: TargetContext) -> int | None:
    """Clamped to what the target can produce (Claude Code asks for 64000, and a smaller target
    rejects the request instead of producing less), and up to the API's minimum."""
    tokens = src.max_tokens
    if tokens is None:
        return None
    limit = ctx.caps.max_output_tokens
    if limit is not None:
        tokens = min(tokens, limit)
    return max(tokens, MIN_OUTPUT_TOKENS)


def _thinking_asked(src: MessagesRequest, ctx: TargetContext) -> bool:
    thinking = src.thinking
    return ctx.caps.reasoning != "none" and thinking is not None and thinking.type in ("enabled", "adaptive")


def reasoning_for(src: MessagesRequest, ctx: TargetContext) -> dict[str, str] | None:
    """Anthropic's thinking budget or effort → `reasoning.effort`, with summaries when thinking
    is asked for (they become the thinking blocks). An effort alone (`output_config`) sets the
    effort without summaries. None for targets that do not reason (`supports.reasoning`)."""
    if ctx.caps.reasoning == "none":
        return None
    thinking = src.thinking
    effort = src.output_config.effort if src.output_config is not None else None
    if _thinking_asked(src, ctx):
        assert thinking is not None
        if thinking.type == "enabled" and effort is None:
            return {"effort": effort_for_budget(thinking.budget_tokens), "summary": "auto"}
        return {"effort": openai_effort(effort), "summary": "auto"}
    if effort is not None and (thinking is None or thinking.type != "disabled"):
        return {"effort": openai_effort(effort)}
    return None


def include_for(src: MessagesRequest, ctx: TargetContext) -> list[str] | None:
    """The encrypted reasoning, when thinking is asked for: with `store: false` it is the only
    way the reasoning can go back next turn (in the thinking block's signature)."""
    return [ENCRYPTED_REASONING] if _thinking_asked(src, ctx) else None


def user_for(src: MessagesRequest) -> str | None:
    """`metadata.user_id`, or a digest of it when it is longer than OpenAI allows (Claude Code's
    is a 150-character JSON object): the same user always gets the same value."""
    user = src.metadata.user_id if src.metadata is not None else None
    if user is None or len(user) <= MAX_ID:
        return user
    return hashlib.sha256(user.encode()).hexdigest()


FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "target_model": target_model,
        "instructions_of": instructions_of,
        "input_items": input_items,
        "max_output_tokens_for": max_output_tokens_for,
        "user_for": user_for,
        "tools_to_responses": tools_to_responses,
        "tool_choice_to_responses": tool_choice_to_responses,
        "parallel_tool_calls_for": parallel_tool_calls_for,
        "reasoning_for": reasoning_for,
        "include_for": include_for,
    }
)
