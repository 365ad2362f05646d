"""OpenAI Chat Completions request → Anthropic Messages request: the functions the field table
(schemas/openai.client.toml, [request]) calls. Each reads the decoded client request (`src`)
and the target context (`ctx`) and returns one output field, or None to leave it out.

The structural work lives in sibling modules, one concept each: messages.py (system hoisting,
tool results, alternation), content.py (parts → blocks), tools.py (tools, tool_choice,
response_format), thinking.py (reasoning_effort and max_tokens).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from router.config.target import TargetContext
from router.core.errors import InvalidRequest
from router.spokes.common.hub_turns import is_plain_text
from router.spokes.openai.client.content import (
    TEXT_SEPARATOR,
    Block,
    text_block,
)
from router.spokes.openai.client.messages import anthropic_messages, system_blocks
from router.spokes.openai.client.thinking import thinking_on, token_plan
from router.spokes.openai.client.tools import (
    JSON_OBJECT_INSTRUCTION,
    tool_choice_to_anthropic,
    tools_to_anthropic,
    wants_json_object,
)
from router.spokes.openai.wire import ChatRequest

# Anthropic's temperature range; OpenAI's goes to 2.
MAX_TEMPERATURE = 1.0


def target_model(src: ChatRequest, ctx: TargetContext) -> str:
    """The route's model, or the client's when the route names none (`to = "upstream"`)."""
    return ctx.model or src.model


def single_choice(src: ChatRequest) -> None:
    """Never an output field: refuses `n` > 1, since Anthropic returns one choice and answering
    fewer than asked would look like success."""
    if src.n is not None and src.n > 1:
        raise InvalidRequest("n > 1 is not supported by this route's target (Anthropic returns one choice) - at `$.n`")


def system_for(src: ChatRequest) -> str | list[Block] | None:
    """System and developer messages joined in order (plus the JSON instruction for
    `json_object`); a list of blocks only when one carries `cache_control`."""
    blocks = system_blocks(src.messages)
    if wants_json_object(src):
        blocks.append(text_block(JSON_OBJECT_INSTRUCTION))
    if not blocks:
        return None
    if all(is_plain_text(block) for block in blocks):
        return TEXT_SEPARATOR.join(block["text"] for block in blocks)
    return blocks


def messages_to_anthropic(src: ChatRequest) -> list[dict[str, Any]]:
    return anthropic_messages(src.messages)


def max_tokens_for(src: ChatRequest, ctx: TargetContext) -> int:
    return token_plan(src, ctx).max_tokens


def thinking_for(src: ChatRequest, ctx: TargetContext) -> dict[str, Any] | None:
    if src.reasoning_effort is None:
        return None
    return token_plan(src, ctx).hub_thinking()


def temperature_for(src: ChatRequest, ctx: TargetContext) -> float | None:
    """Clamped into Anthropic's 0..1. Dropped with thinking on, which Anthropic rejects it with."""
    if src.temperature is None or thinking_on(src, ctx):
        return None
    return min(max(src.temperature, 0.0), MAX_TEMPERATURE)


def top_p_for(src: ChatRequest, ctx: TargetContext) -> float | None:
    return None if thinking_on(src, ctx) else src.top_p


def top_k_for(src: ChatRequest, ctx: TargetContext) -> int | None:
    return None if thinking_on(src, ctx) else src.top_k


def stop_sequences_for(src: ChatRequest) -> list[str] | None:
    stop = src.stop
    if stop is None or stop == "" or stop == []:
        return None
    return [stop] if type(stop) is str else list(stop)


def metadata_for(src: ChatRequest) -> dict[str, str] | None:
    """`user` (or its successor `safety_identifier`) is Anthropic's `metadata.user_id`, the one
    metadata field Anthropic takes; OpenAI's free-form `metadata` has no Anthropic counterpart."""
    user = src.user or src.safety_identifier
    return {"user_id": user} if user else None


def stream_for(src: ChatRequest) -> bool:
    return src.stream is True


FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "target_model": target_model,
        "single_choice": single_choice,
        "system_for": system_for,
        "messages_to_anthropic": messages_to_anthropic,
        "max_tokens_for": max_tokens_for,
        "thinking_for": thinking_for,
        "temperature_for": temperature_for,
        "top_p_for": top_p_for,
        "top_k_for": top_k_for,
        "stop_sequences_for": stop_sequences_for,
        "metadata_for": metadata_for,
        "tools_to_anthropic": tools_to_anthropic,
        "tool_choice_to_anthropic": tool_choice_to_anthropic,
        "stream_for": stream_for,
    }
)
