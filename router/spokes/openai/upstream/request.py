"""Anthropic Messages request → OpenAI Chat Completions request: the structural parts the field
table (schemas/openai.upstream.toml, [request]) calls. Plain fields (temperature, stop, user ...)
are mapped by the table itself.

The shapes differ mostly in messages:
- Anthropic's `system` is a top-level field; OpenAI's is the first message.
- An Anthropic assistant message holds thinking, text and tool_use blocks; OpenAI splits them into
  `reasoning_content` (DeepSeek), `content` and `tool_calls`.
- Anthropic answers tool calls with tool_result blocks at the start of the next user message;
  OpenAI wants one `tool` message per call, right after the assistant message, before anything
  the user adds.
Output dicts are built fresh (the input is never mutated or copied wholesale): this runs per
request, and Claude Code's requests are 65 KB with hundreds of blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import msgspec

from router.config.target import TargetContext
from router.hub.messages import NO_SCHEMA, Block, Message, MessagesRequest, Tool
from router.spokes.common.hub_blocks import block_type
from router.spokes.common.invalid import (
    field_required,
    invalid_value,
    raw_object,
    raw_string,
    require_str,
    wrong_type,
)
from router.spokes.common.json_schema import clean_schema
from router.spokes.common.tool_arguments import arguments_text
from router.spokes.openai.upstream.content import (
    Part,
    collapse,
    content_part,
    text_part,
    tool_result_content,
)

_decode_schema = msgspec.json.Decoder(dict[str, Any]).decode

OpenAIMessage = dict[str, Any]


def target_model(src: MessagesRequest, ctx: TargetContext) -> str:
    """The route's model, or the client's when the route names none (`to = "upstream"`)."""
    return ctx.model or src.model


# --- messages ---------------------------------------------------------------------------------


def messages_to_openai(src: MessagesRequest, ctx: TargetContext) -> list[OpenAIMessage]:
    out: list[OpenAIMessage] = []
    if src.system is not None:
        _append_system(out, src.system, "$.system", ctx)
    for index, message in enumerate(src.messages):
        _append_message(out, message, f"$.messages[{index}]", ctx)
    return out


def _append_message(out: list[OpenAIMessage], message: Message, path: str, ctx: TargetContext) -> None:
    role = message.role
    if role == "user":
        out.extend(user_messages(message.content, path, ctx, _pending_tool_call_ids(out)))
    elif role == "assistant":
        out.append(assistant_message(message.content, path, ctx))
    elif role == "system":
        # Claude Code puts a role:"system" message mid-conversation; it stays where it was said.
        _append_system(out, message.content, f"{path}.content", ctx)
    else:
        raise invalid_value(role, f"{path}.role")


def _append_system(
    out: list[OpenAIMessage], system: str | list[Block], path: str, ctx: TargetContext
) -> None:
    content = system_content(system, path, ctx)
    if content:
        out.append({"role": "system", "content": content})


def system_content(system: str | list[Block], path: str, ctx: TargetContext) -> str | list[Part]:
    """A system prompt is text only (Anthropic allows nothing else there); blocks are joined unless
    `cache_control` markers are kept, which need parts to sit on."""
    if type(system) is str:
        return system
    if type(system) is not list:
        raise wrong_type("str | array", system, path)
    parts = []
    for index, block in enumerate(system):
        block_path = f"{path}[{index}]"
        if block_type(block, block_path) == "text":
            parts.append(text_part(require_str(block, "text", block_path), block, ctx))
    return collapse(parts)


def _pending_tool_call_ids(out: Sequence[OpenAIMessage]) -> list[str]:
    """Ids of the calls the previous assistant message made, in order: the answers follow in it."""
    if not out or out[-1]["role"] != "assistant":
        return []
    return [call["id"] for call in out[-1].get("tool_calls", ())]


# --- assistant ---------------------------------------------------------------------------------


def assistant_message(content: str | list[Block], path: str, ctx: TargetContext) -> OpenAIMessage:
    """text → content (None when there is none: OpenAI's shape for a pure tool-call turn),
    tool_use → tool_calls, thinking → reasoning_content for targets that need it back."""
    if type(content) is str:
        return {"role": "assistant", "content": content}
    if type(content) is not list:
        raise wrong_type("str | array", content, f"{path}.content")
    texts: list[Part] = []
    calls: list[dict[str, Any]] = []
    reasoning: list[str] = []
    keep_reasoning = ctx.caps.reasoning == "reasoning-content"
    for index, block in enumerate(content):
        block_path = f"{path}.content[{index}]"
        kind = block_type(block, block_path)
        if kind == "text":
            texts.append(text_part(require_str(block, "text", block_path), block, ctx))
        elif kind == "tool_use":
            calls.append(tool_call(block, block_path))
        elif kind == "thinking" and keep_reasoning:
            reasoning.append(require_str(block, "thinking", block_path))
        # Otherwise dropped: thinking for targets that do not take it back, redacted_thinking
        # (encrypted for Anthropic only), server_tool_use and its results (ran at Anthropic).
    return _assistant(_assistant_content(texts, calls), calls, reasoning)


def _assistant_content(texts: list[Part], calls: list[dict[str, Any]]) -> str | list[Part] | None:
    """None for a pure tool-call turn (OpenAI's own shape); "" for a turn left with nothing (only
    thinking or server tool blocks), because OpenAI rejects null content without tool_calls."""
    if texts:
        return collapse(texts)
    return None if calls else ""


def _assistant(
    content: str | list[Part] | None, calls: list[dict[str, Any]], reasoning: list[str]
) -> OpenAIMessage:
    message: OpenAIMessage = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    if reasoning:
        # DeepSeek requires the reasoning of a tool-call turn back on that turn.
        message["reasoning_content"] = "\n\n".join(reasoning)
    return message


def tool_call(block: Block, path: str) -> dict[str, Any]:
    return {
        "id": require_str(block, "id", path),
        "type": "function",
        "function": {"name": require_str(block, "name", path), "arguments": arguments_text(block.get("input"))},
    }


# --- user and tool results ---------------------------------------------------------------------


def user_messages(
    content: str | list[Block], path: str, ctx: TargetContext, pending_ids: Sequence[str]
) -> list[OpenAIMessage]:
    """tool_result blocks → `tool` messages (ordered like the calls they answer), then one user
    message with the rest: images the tool results returned, then the user's own content."""
    if type(content) is str:
        return [{"role": "user", "content": content}]
    if type(content) is not list:
        raise wrong_type("str | array", content, f"{path}.content")
    results: list[tuple[str, Block, str]] = []
    parts: list[Part] = []
    for index, block in enumerate(content):
        block_path = f"{path}.content[{index}]"
        if block_type(block, block_path) == "tool_result":
            results.append((require_str(block, "tool_use_id", block_path), block, block_path))
        else:
            part = content_part(block, block_path, ctx)
            if part is not None:
                parts.append(part)
    out, media = tool_messages(results, pending_ids, ctx)
    if media or parts:
        out.append({"role": "user", "content": collapse(media + parts)})
    return out


def tool_messages(
    results: list[tuple[str, Block, str]], pending_ids: Sequence[str], ctx: TargetContext
) -> tuple[list[OpenAIMessage], list[Part]]:
    """One `tool` message per result, in the order of the calls (results for unknown ids keep
    their place after those); and the media parts, each group introduced by a line naming its call."""
    order = {call_id: rank for rank, call_id in enumerate(pending_ids)}
    unknown = len(order)
    messages: list[OpenAIMessage] = []
    media: list[Part] = []
    for call_id, block, block_path in sorted(results, key=lambda result: order.get(result[0], unknown)):
        text, attachments = tool_result_content(block, block_path, ctx)
        messages.append({"role": "tool", "tool_call_id": call_id, "content": _tool_content(text, block, ctx)})
        if attachments:
            media.append({"type": "text", "text": f"Attachments returned by tool call {call_id}:"})
            media.extend(attachments)
    return messages, media


def _tool_content(text: str, block: Block, ctx: TargetContext) -> str | list[Part]:
    """A string, or one text part when the result's `cache_control` is kept (Claude Code marks
    the latest tool_result as its cache breakpoint)."""
    if ctx.caps.cache_control and block.get("cache_control") is not None:
        return [text_part(text, block, ctx)]
    return text


# --- tools -------------------------------------------------------------------------------------


def tools_to_openai(src: MessagesRequest, ctx: TargetContext) -> list[dict[str, Any]] | None:
    """Client tools as functions. Anthropic server tools (web_search_…, bash_…, text_editor_…)
    run inside Anthropic's API; an OpenAI upstream cannot run them, so they are left out."""
    if not src.tools:
        return None
    clean = ctx.caps.tool_schema == "clean"
    tools = [function_tool(tool, clean, f"$.tools[{index}]") for index, tool in enumerate(src.tools)
             if is_function_tool(tool)]
    return tools or None


def is_function_tool(tool: Tool) -> bool:
    return tool.type is None or tool.type == "custom"


def function_tool(tool: Tool, clean: bool, path: str) -> dict[str, Any]:
    """The schema passes through as the client's raw JSON unless it is cleaned."""
    function: dict[str, Any] = {"name": tool.name}
    description = raw_string(tool.description, f"{path}.description")
    if description is not None:
        function["description"] = description
    function["parameters"] = function_parameters(tool, clean, path)
    return {"type": "function", "function": function}


def function_parameters(tool: Tool, clean: bool, path: str) -> Any:
    """A hub tool's input schema as OpenAI `parameters` (Chat and Responses alike): an empty
    object schema for a tool without one, else the client's raw JSON, or cleaned (decoded) for
    targets that reject parts of JSON Schema (`tool-schema = "clean"`)."""
    schema = tool.input_schema
    if schema == NO_SCHEMA:
        return {"type": "object", "properties": {}}
    schema = raw_object(schema, f"{path}.input_schema")
    return clean_schema(_decode_schema(schema)) if clean else schema


def _has_function_tools(src: MessagesRequest) -> bool:
    return any(is_function_tool(tool) for tool in src.tools or ())


def tool_choice_to_openai(src: MessagesRequest) -> str | dict[str, Any] | None:
    return openai_tool_choice(src, _function_choice)


def _function_choice(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def openai_tool_choice(
    src: MessagesRequest, function_choice: Callable[[str], dict[str, Any]]
) -> str | dict[str, Any] | None:
    """auto → "auto", any → "required", none → "none", tool → that function (in the protocol's
    form: `function_choice`; Chat and Responses name it differently). Only with tools: OpenAI
    rejects a tool_choice without them."""
    choice = src.tool_choice
    if choice is None or not _has_function_tools(src):
        return None
    if choice.type == "tool":
        if choice.name is None:
            raise field_required("name", "$.tool_choice")
        return function_choice(choice.name)
    return _TOOL_CHOICES.get(choice.type)


_TOOL_CHOICES: Mapping[str, str] = MappingProxyType({"auto": "auto", "any": "required", "none": "none"})


def parallel_tool_calls_for(src: MessagesRequest) -> bool | None:
    """Only `false` is ever sent: parallel calls are OpenAI's default, and some servers reject
    the field when there are no tools."""
    choice = src.tool_choice
    if choice is not None and choice.disable_parallel_tool_use is True and _has_function_tools(src):
        return False
    return None


# --- sampling, reasoning, streaming ------------------------------------------------------------


def max_tokens_for(src: MessagesRequest, ctx: TargetContext) -> int | None:
    """Clamped to what the target can produce: Claude Code asks for 64000, and a target with a
    smaller limit rejects the request instead of producing less."""
    limit = ctx.caps.max_output_tokens
    if src.max_tokens is None or limit is None:
        return src.max_tokens
    return min(src.max_tokens, limit)


def top_k_for(src: MessagesRequest, ctx: TargetContext) -> int | None:
    """OpenAI itself rejects `top_k`; vLLM, Ollama and OpenRouter take it (`supports.top-k`)."""
    return src.top_k if ctx.caps.top_k else None


def reasoning_effort_for(src: MessagesRequest, ctx: TargetContext) -> str | None:
    """Anthropic's thinking budget or effort → OpenAI's `reasoning_effort`, for `effort` targets.
    DeepSeek-style targets decide by model; others cannot think on request."""
    thinking = src.thinking
    if ctx.caps.reasoning != "effort" or thinking is None:
        return None
    if thinking.type == "enabled":
        return effort_for_budget(thinking.budget_tokens)
    if thinking.type == "adaptive":
        effort = src.output_config.effort if src.output_config is not None else None
        return openai_effort(effort)
    return None


_EFFORTS: Mapping[str, str] = MappingProxyType(
    {"low": "low", "medium": "medium", "high": "high", "max": "high"}
)


def openai_effort(effort: str | None) -> str:
    """A hub `output_config.effort` as OpenAI's effort (Chat and Responses alike): `max` has no
    OpenAI name above `high`; none or an unknown one is the default, medium."""
    return _EFFORTS.get(effort or "", "medium")


def effort_for_budget(budget: int | None) -> str:
    """A hub thinking budget as OpenAI's effort (Chat and Responses alike)."""
    if budget is None:
        return "medium"
    if budget < 4096:
        return "low"
    return "medium" if budget < 16384 else "high"


def stream_options_for(src: MessagesRequest, ctx: TargetContext) -> dict[str, bool] | None:
    """Ask for the usage chunk: Anthropic clients expect token counts at the end of every stream."""
    if src.stream and ctx.caps.stream_usage:
        return {"include_usage": True}
    return None


FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "target_model": target_model,
        "messages_to_openai": messages_to_openai,
        "max_tokens_for": max_tokens_for,
        "top_k_for": top_k_for,
        "tools_to_openai": tools_to_openai,
        "tool_choice_to_openai": tool_choice_to_openai,
        "parallel_tool_calls_for": parallel_tool_calls_for,
        "reasoning_effort_for": reasoning_effort_for,
        "stream_options_for": stream_options_for,
    }
)
