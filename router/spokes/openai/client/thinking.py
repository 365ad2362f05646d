"""`reasoning_effort` and `max_tokens` → Anthropic `thinking` and `max_tokens`, decided together.

Anthropic requires `max_tokens` (OpenAI does not) and, with thinking on, `max_tokens` greater than
`thinking.budget_tokens` (both count the thinking). OpenAI's `max_completion_tokens` counts
reasoning too, but a client that sets 1000 with effort `high` expects an answer, not a refusal: when
the budget would eat the whole allowance, the client's number becomes the room left for the answer
(budget + that), within the target's `max-output-tokens`.

Thinking is left off, whatever the effort, when Anthropic would reject it:
- with a tool_choice that forces tool use (`any`, `tool`), including the forced `json_response`;
- mid tool loop: the last assistant turn's tool calls are being answered, and Anthropic then
  requires that turn to start with its signed thinking block, which an OpenAI client cannot send.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from router.config.target import TargetContext
from router.spokes.common.invalid import invalid_value
from router.spokes.openai.client.messages import in_tool_loop
from router.spokes.openai.client.tools import forces_tool_use
from router.spokes.openai.wire import ChatRequest

DEFAULT_MAX_TOKENS = 4096
MIN_BUDGET = 1024  # Anthropic's smallest budget_tokens
ANSWER_ROOM = 1024  # left for the answer when the target's limit squeezes the budget

# reasoning_effort → the ThinkingBudgets field it reads; None: no thinking.
_EFFORTS: Mapping[str, str | None] = MappingProxyType(
    {"none": None, "minimal": "minimal", "low": "low", "medium": "medium", "high": "high", "xhigh": "high"}
)


@dataclass(frozen=True, slots=True)
class TokenPlan:
    max_tokens: int
    budget: int | None  # thinking.budget_tokens; None: thinking off


def token_plan(src: ChatRequest, ctx: TargetContext) -> TokenPlan:
    base = requested_max_tokens(src, ctx)
    budget = thinking_budget(src, ctx)
    if budget is None:
        return TokenPlan(base, None)
    total = base if base > budget else budget + base
    limit = ctx.caps.max_output_tokens
    if limit is not None and total > limit:
        total, budget = limit, min(budget, limit - ANSWER_ROOM)
        if budget < MIN_BUDGET:
            return TokenPlan(base, None)  # the target cannot fit a budget and an answer
    return TokenPlan(total, budget)


def requested_max_tokens(src: ChatRequest, ctx: TargetContext) -> int:
    """`max_completion_tokens` (OpenAI's current name) over `max_tokens`; the target's limit or
    4096 when neither is set; never above the limit (a target rejects more instead of producing less)."""
    limit = ctx.caps.max_output_tokens
    requested = src.max_completion_tokens if src.max_completion_tokens is not None else src.max_tokens
    if requested is None:
        return limit or DEFAULT_MAX_TOKENS
    return requested if limit is None else min(requested, limit)


def thinking_budget(src: ChatRequest, ctx: TargetContext) -> int | None:
    effort = src.reasoning_effort
    if effort is None:
        return None
    if effort not in _EFFORTS:
        raise invalid_value(effort, "$.reasoning_effort")
    field = _EFFORTS[effort]
    if field is None or forces_tool_use(src) or in_tool_loop(src.messages):
        return None
    budget: int = getattr(ctx.caps.thinking_budgets, field)
    return budget


def thinking_on(src: ChatRequest, ctx: TargetContext) -> bool:
    return src.reasoning_effort is not None and token_plan(src, ctx).budget is not None
