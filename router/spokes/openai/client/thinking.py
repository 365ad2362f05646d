"""`reasoning_effort` and `max_tokens` → Anthropic `thinking` and `max_tokens`, decided together
(the arithmetic, shared with other client spokes, is router.spokes.common.token_plan).

Thinking is left off, whatever the effort, when Anthropic would reject it:
- with a tool_choice that forces tool use (`any`, `tool`), including the forced `json_response`;
- mid tool loop: the last assistant turn's tool calls are being answered, and Anthropic then
  requires that turn to start with its signed thinking block, which an OpenAI client cannot send.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from router.config.target import TargetContext
from router.spokes.common.invalid import invalid_value
from router.spokes.common.token_plan import TokenPlan, budget_of, plan_tokens
from router.spokes.openai.client.messages import in_tool_loop
from router.spokes.openai.client.tools import forces_tool_use
from router.spokes.openai.wire import ChatRequest

# reasoning_effort → the ThinkingBudgets field it reads; None: no thinking.
_EFFORTS: Mapping[str, str | None] = MappingProxyType(
    {"none": None, "minimal": "minimal", "low": "low", "medium": "medium", "high": "high", "xhigh": "high"}
)


def token_plan(src: ChatRequest, ctx: TargetContext) -> TokenPlan:
    """`max_completion_tokens` (OpenAI's current name) over `max_tokens`, with the effort's budget
    (router.spokes.common.token_plan does the arithmetic)."""
    requested = src.max_completion_tokens if src.max_completion_tokens is not None else src.max_tokens
    return plan_tokens(requested, thinking_budget(src, ctx), ctx)


def thinking_budget(src: ChatRequest, ctx: TargetContext) -> int | None:
    effort = src.reasoning_effort
    if effort is None:
        return None
    if effort not in _EFFORTS:
        raise invalid_value(effort, "$.reasoning_effort")
    field = _EFFORTS[effort]
    if field is None or forces_tool_use(src) or in_tool_loop(src.messages):
        return None
    return budget_of(field, ctx)


def thinking_on(src: ChatRequest, ctx: TargetContext) -> bool:
    return src.reasoning_effort is not None and token_plan(src, ctx).budget is not None
