"""OpenAI Responses request → hub (Anthropic Messages) request: the functions the field table
(schemas/responses.client.toml, [request]) calls. Each reads the decoded client request (`src`)
and the target context (`ctx`) and returns one output field, or None to leave it out.

The structural work lives in sibling modules, one concept each: items.py (input items →
system and messages), content.py (parts → blocks), tools.py (tools, tool_choice, text.format),
calls.py (which declared tool a call in the history means).

Thinking follows `reasoning.effort` (none and minimal: off), and is left off whatever the effort
when Anthropic would reject it: with a tool_choice that forces tool use (the forced
`json_response` included), and when tool outputs answer an assistant turn that came back without
its signed thinking (a client that did not ask for `reasoning.encrypted_content`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from router.config.target import TargetContext
from router.core.errors import InvalidRequest
from router.spokes.common.invalid import invalid_value
from router.spokes.common.token_plan import TokenPlan, budget_of, plan_tokens
from router.spokes.openai.client.content import TEXT_SEPARATOR, text_block
from router.spokes.responses.client import content, items
from router.spokes.responses.client.items import (
    hub_messages,
    system_blocks,
    unsigned_tool_loop,
)
from router.spokes.responses.client.tools import (
    JSON_OBJECT_INSTRUCTION,
    forces_tool_use,
    tool_choice_to_hub,
    tools_to_hub,
    wants_json_object,
)
from router.spokes.responses.request_wire import ResponsesRequest

MAX_TEMPERATURE = 1.0  # Anthropic's range; OpenAI's goes to 2

# reasoning.effort → the ThinkingBudgets field it reads; None: no thinking.
_EFFORTS: Mapping[str, str | None] = MappingProxyType(
    {"none": None, "minimal": None, "low": "low", "medium": "medium", "high": "high", "xhigh": "high"}
)


def target_model(src: ResponsesRequest, ctx: TargetContext) -> str:
    """The route's model, or the client's when the route names none (`to = "upstream"`)."""
    return ctx.model or src.model


def system_for(src: ResponsesRequest) -> str | None:
    """`instructions`, then system and developer messages, joined (plus the JSON instruction for
    `json_object`)."""
    blocks = system_blocks(src)
    if wants_json_object(src):
        blocks.append(text_block(JSON_OBJECT_INSTRUCTION))
    return TEXT_SEPARATOR.join(block["text"] for block in blocks) if blocks else None


def messages_to_hub(src: ResponsesRequest) -> list[dict[str, Any]]:
    """The turns; a request with none (no input, or only items with no hub form) is the client's
    error, as the API answers it, rather than an empty conversation the upstream refuses with
    its own words (a continued one has its history in `input` by now: the response store)."""
    messages = hub_messages(src)
    if not messages:
        raise InvalidRequest("input: the request has no input to answer (an empty string or list, or none) - at `$.input`",
                             param="input")
    return messages


def effort_budget(src: ResponsesRequest, ctx: TargetContext) -> int | None:
    effort = src.reasoning.effort if src.reasoning is not None else None
    if effort is None:
        return None
    if effort not in _EFFORTS:
        raise invalid_value(effort, "$.reasoning.effort")
    field = _EFFORTS[effort]
    if field is None or forces_tool_use(src) or unsigned_tool_loop(src.input):
        return None
    return budget_of(field, ctx)


def token_plan(src: ResponsesRequest, ctx: TargetContext) -> TokenPlan:
    return plan_tokens(src.max_output_tokens, effort_budget(src, ctx), ctx)


def thinking_on(src: ResponsesRequest, ctx: TargetContext) -> bool:
    return effort_budget(src, ctx) is not None


def max_tokens_for(src: ResponsesRequest, ctx: TargetContext) -> int:
    return token_plan(src, ctx).max_tokens


def thinking_for(src: ResponsesRequest, ctx: TargetContext) -> dict[str, Any] | None:
    return token_plan(src, ctx).hub_thinking()


def temperature_for(src: ResponsesRequest, ctx: TargetContext) -> float | None:
    """Clamped into Anthropic's 0..1. Dropped with thinking on, which Anthropic rejects it with."""
    if src.temperature is None or thinking_on(src, ctx):
        return None
    return min(max(src.temperature, 0.0), MAX_TEMPERATURE)


def top_p_for(src: ResponsesRequest, ctx: TargetContext) -> float | None:
    if src.top_p is None or thinking_on(src, ctx):
        return None
    return src.top_p


def metadata_for(src: ResponsesRequest) -> dict[str, str] | None:
    """`user` (or its successor `safety_identifier`) is the hub's `metadata.user_id`."""
    user = src.user or src.safety_identifier
    return {"user_id": user} if user else None


def stream_for(src: ResponsesRequest) -> bool:
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
        "metadata_for": metadata_for,
        "tools_to_hub": tools_to_hub,
        "tool_choice_to_hub": tool_choice_to_hub,
        "stream_for": stream_for,
    }
)

# The functions the table's [variants.*] sections name: input items and content parts.
VARIANTS: Mapping[str, Callable[..., Any]] = MappingProxyType({**items.VARIANTS, **content.VARIANTS})
