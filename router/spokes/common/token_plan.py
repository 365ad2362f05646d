"""A client's output allowance and reasoning effort → the hub's `max_tokens` and thinking budget,
decided together. Shared by every client spoke whose protocol has an effort knob (OpenAI Chat's
`reasoning_effort`, Responses' `reasoning.effort`); each spoke decides which effort values mean
which budget and when thinking must stay off, this module does the arithmetic.

Anthropic requires `max_tokens` and, with thinking on, `max_tokens` greater than
`thinking.budget_tokens` (both count the thinking). OpenAI's allowances count reasoning too, but a
client that sets 1000 with effort `high` expects an answer, not a refusal: when the budget would
eat the whole allowance, the client's number becomes the room left for the answer (budget + that),
within the target's `max-output-tokens`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from router.config.target import TargetContext

DEFAULT_MAX_TOKENS = 4096
MIN_BUDGET = 1024  # Anthropic's smallest budget_tokens
ANSWER_ROOM = 1024  # left for the answer when the target's limit squeezes the budget


@dataclass(frozen=True, slots=True)
class TokenPlan:
    max_tokens: int
    budget: int | None  # thinking.budget_tokens; None: thinking off

    def hub_thinking(self) -> dict[str, Any] | None:
        """The hub request's `thinking`: enabled with the budget, or None (left out) when off."""
        return None if self.budget is None else {"type": "enabled", "budget_tokens": self.budget}


def requested_max_tokens(requested: int | None, ctx: TargetContext) -> int:
    """The client's allowance; the target's limit or 4096 when it set none; never above the limit
    (a target rejects more instead of producing less)."""
    limit = ctx.caps.max_output_tokens
    if requested is None:
        return limit or DEFAULT_MAX_TOKENS
    return requested if limit is None else min(requested, limit)


def budget_of(budget_field: str | None, ctx: TargetContext) -> int | None:
    """The target's budget for an effort, by its ThinkingBudgets field (None: no thinking)."""
    if budget_field is None:
        return None
    budget: int = getattr(ctx.caps.thinking_budgets, budget_field)
    return budget


def plan_tokens(requested: int | None, budget: int | None, ctx: TargetContext) -> TokenPlan:
    base = requested_max_tokens(requested, ctx)
    if budget is None:
        return TokenPlan(base, None)
    total = base if base > budget else budget + base
    limit = ctx.caps.max_output_tokens
    if limit is not None and total > limit:
        total, budget = limit, min(budget, limit - ANSWER_ROOM)
        if budget < MIN_BUDGET:
            return TokenPlan(base, None)  # the target cannot fit a budget and an answer
    return TokenPlan(total, budget)
