"""Budget admission: before dispatch, next to the rate limits. A key or route whose budget is
spent for its period is refused with BudgetExceeded (429 in the client's protocol, the rate-limit
error type, `retry-after` = seconds to the period's end). A request already in flight when the
budget runs out finishes: spend is only counted when a request ends, and only the next is refused.

With no budget configured the request path pays two dict lookups. Spend is read from the ledger
(router.ledger.BudgetBook), which for Redis reads at most once a second per budget; a Redis that
does not answer follows `[limits] fail-open`: served (fail-open) or 503.
"""

from __future__ import annotations

import math

from router.config.access import Access
from router.core.errors import BudgetExceeded, LimiterUnavailable
from router.gateway.state import RouterState
from router.ledger import LedgerUnavailable
from router.ledger.budgets import BudgetStatus, period_adjective


async def check_budgets(state: RouterState, access: Access, key: str | None, route: str) -> None:
    """Raise BudgetExceeded when the key's or the route's budget is spent (the key's first)."""
    key_budget = access.key_budgets.get(key) if key is not None else None
    route_budget = access.route_budgets.get(route)
    if key_budget is None and route_budget is None:
        return
    try:
        if key_budget is not None and key is not None:
            _refuse_if_over(state, await state.budgets.status("key", key, key_budget))
        if route_budget is not None:
            _refuse_if_over(state, await state.budgets.status("route", route, route_budget))
    except LedgerUnavailable as exc:
        state.metrics.record_limiter_unavailable()
        if not access.settings.fail_open:
            message = "budgets cannot be checked right now (their store is unreachable); retry shortly"
            raise LimiterUnavailable(message, headers={"retry-after": "1"}) from exc


def _refuse_if_over(state: RouterState, status: BudgetStatus) -> None:
    if not status.over:
        return
    state.metrics.record_rate_limited(f"budget-{status.scope}", status.name)
    raise budget_refusal(status, state.budgets.now())


def budget_refusal(status: BudgetStatus, now: float) -> BudgetExceeded:
    wait = max(1, math.ceil(status.resets_at - now))
    message = (f"{status.scope} '{status.name}' has spent ${status.spent:.2f} of its ${status.usd:.2f} "
               f"{period_adjective(status.period)} budget; it resets at {status.resets_at_iso}")
    error = BudgetExceeded(message, headers={"retry-after": str(wait)}, code="budget_exceeded")
    error.limit = (f"budget-{status.scope}", status.name)
    return error
