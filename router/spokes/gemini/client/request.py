"""Gemini request → hub (Anthropic Messages) request: the functions the field table
(schemas/gemini.client.toml, [request]) calls. Each reads the decoded client request (`src`)
and the target context (`ctx`) and returns one output field, or None to leave it out.

The structural work lives in sibling modules, one concept each: turns.py (contents → system and
messages), parts.py (parts → blocks), calls.py (ids for calls without one), signature.py
(thinking round-tripped through `thoughtSignature`), tools.py (tools, toolConfig, structured
output).

Thinking (generationConfig.thinkingConfig):
    thinkingBudget 0               off
    thinkingBudget -1              dynamic: the target's `medium` budget
    thinkingBudget n               n tokens (at least Anthropic's 1024)
    thinkingLevel MINIMAL          off (Google: "no thinking for most queries")
    thinkingLevel LOW/MEDIUM/HIGH  the target's budget of that name (supports.thinking-budgets)
    includeThoughts alone          dynamic (a client that wants thoughts wants thinking)
and left off, whatever was asked, where Anthropic would reject it: with a forced tool (mode ANY,
structured output), and when function responses answer a model turn that came back without our
signed thinking. `includeThoughts` itself only decides whether the answer shows thought parts.
Gemini's temperature goes to 2, Anthropic's to 1: clamped; temperature, topP and topK are left
out with thinking on, which Anthropic rejects them with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from router.config.target import TargetContext
from router.core.errors import InvalidRequest
from router.spokes.common.invalid import invalid_value
from router.spokes.common.token_plan import (
    MIN_BUDGET,
    TokenPlan,
    budget_of,
    plan_tokens,
)
from router.spokes.gemini.client import parts
from router.spokes.gemini.client.tools import (
    JSON_OBJECT_INSTRUCTION,
    dropped_tools,
    forces_tool_use,
    tool_choice_to_hub,
    tools_to_hub,
    wants_json_object,
)
from router.spokes.gemini.client.turns import (
    hub_messages,
    system_text,
    unsigned_tool_loop,
)
from router.spokes.gemini.request_wire import (
    GenerateContentRequest,
    GenerationConfig,
    generation_config,
)
from router.spokes.openai.client.content import TEXT_SEPARATOR

__all__ = ["FUNCTIONS", "VARIANTS", "dropped_tools"]

MAX_TEMPERATURE = 1.0  # Anthropic's range; Gemini's goes to 2
DYNAMIC_BUDGET_FIELD = "medium"  # thinkingBudget -1: the model decides; here, the target's medium budget

# thinkingLevel → the ThinkingBudgets field it reads; None: no thinking.
_LEVELS: Mapping[str, str | None] = MappingProxyType(
    {"MINIMAL": None, "LOW": "low", "MEDIUM": "medium", "HIGH": "high",
     "THINKING_LEVEL_UNSPECIFIED": DYNAMIC_BUDGET_FIELD}
)


def target_model(src: GenerateContentRequest, ctx: TargetContext) -> str:
    """The route's model, or the client's (from the URL path) when the route names none."""
    return ctx.model or src.model


def system_for(src: GenerateContentRequest) -> str | None:
    """systemInstruction's text (plus the JSON instruction for JSON without a schema)."""
    text = system_text(src)
    if wants_json_object(src):
        text = f"{text}{TEXT_SEPARATOR}{JSON_OBJECT_INSTRUCTION}" if text else JSON_OBJECT_INSTRUCTION
    return text


def messages_to_hub(src: GenerateContentRequest) -> list[dict[str, Any]]:
    """The turns. Refused first, as the API would refuse them rather than answer otherwise than
    asked: several candidates (the hub answers one) and cached content (Google's storage,
    which no other target can read)."""
    refuse_unsupported(src)
    return hub_messages(src)


def refuse_unsupported(src: GenerateContentRequest) -> None:
    cached = src.cached_content or src.cached_content_snake
    if cached:
        raise InvalidRequest(
            f"cachedContent: cached content ({cached!r}) is not supported through the router; send the contents "
            "themselves - at `$.cachedContent`", param="cachedContent")
    config = generation_config(src)
    count = config.candidate_count if config is not None else None
    if count is not None and count > 1:
        raise InvalidRequest(
            f"generationConfig.candidateCount: only one candidate can be generated through the router (got {count}) "
            "- at `$.generationConfig.candidateCount`", param="generationConfig.candidateCount")


# --- thinking and the output allowance -----------------------------------------------------------


def requested_budget(src: GenerateContentRequest, ctx: TargetContext) -> int | None:
    """The thinking budget the request asks for (the module docstring's table), before the
    cases where it must stay off."""
    config = generation_config(src)
    thinking = config.thinking_config if config is not None else None
    if thinking is None:
        return None
    if thinking.thinking_budget is not None:
        budget = thinking.thinking_budget
        if budget == 0:
            return None
        return budget_of(DYNAMIC_BUDGET_FIELD, ctx) if budget < 0 else max(budget, MIN_BUDGET)
    if thinking.thinking_level is not None:
        level = thinking.thinking_level.upper()
        if level not in _LEVELS:
            raise invalid_value(thinking.thinking_level, "$.generationConfig.thinkingConfig.thinkingLevel")
        return budget_of(_LEVELS[level], ctx)
    return budget_of(DYNAMIC_BUDGET_FIELD, ctx) if thinking.include_thoughts else None


def thinking_budget(src: GenerateContentRequest, ctx: TargetContext) -> int | None:
    budget = requested_budget(src, ctx)
    if budget is None or forces_tool_use(src) or unsigned_tool_loop(src):
        return None
    return budget


def token_plan(src: GenerateContentRequest, ctx: TargetContext) -> TokenPlan:
    config = generation_config(src)
    return plan_tokens(config.max_output_tokens if config is not None else None, thinking_budget(src, ctx), ctx)


def thinking_on(src: GenerateContentRequest, ctx: TargetContext) -> bool:
    return token_plan(src, ctx).budget is not None


def max_tokens_for(src: GenerateContentRequest, ctx: TargetContext) -> int:
    return token_plan(src, ctx).max_tokens


def thinking_for(src: GenerateContentRequest, ctx: TargetContext) -> dict[str, Any] | None:
    return token_plan(src, ctx).hub_thinking()


# --- sampling ------------------------------------------------------------------------------------


def _sampling(src: GenerateContentRequest, ctx: TargetContext) -> GenerationConfig | None:
    """The generation config when its sampling settings may go upstream (not with thinking)."""
    config = generation_config(src)
    if config is None or (config.temperature is None and config.top_p is None and config.top_k is None):
        return None
    return None if thinking_on(src, ctx) else config


def temperature_for(src: GenerateContentRequest, ctx: TargetContext) -> float | None:
    config = _sampling(src, ctx)
    if config is None or config.temperature is None:
        return None
    return min(max(config.temperature, 0.0), MAX_TEMPERATURE)


def top_p_for(src: GenerateContentRequest, ctx: TargetContext) -> float | None:
    config = _sampling(src, ctx)
    return config.top_p if config is not None else None


def top_k_for(src: GenerateContentRequest, ctx: TargetContext) -> int | None:
    config = _sampling(src, ctx)
    return int(config.top_k) if config is not None and config.top_k is not None else None


def stop_sequences_for(src: GenerateContentRequest) -> list[str] | None:
    config = generation_config(src)
    return (config.stop_sequences or None) if config is not None else None


def stream_for(src: GenerateContentRequest) -> bool:
    return src.stream is True


FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "target_model": target_model,
        "system_for": system_for,
        "messages_to_hub": messages_to_hub,
        "max_tokens_for": max_tokens_for,
        "thinking_for": thinking_for,
        "temperature_for": temperature_for,
        "top_p_for": top_p_for,
        "top_k_for": top_k_for,
        "stop_sequences_for": stop_sequences_for,
        "tools_to_hub": tools_to_hub,
        "tool_choice_to_hub": tool_choice_to_hub,
        "stream_for": stream_for,
    }
)

# The functions the table's [variants.part] section names.
VARIANTS: Mapping[str, Callable[..., Any]] = MappingProxyType(dict(parts.VARIANTS))
