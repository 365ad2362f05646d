"""Where each budget stands: spent against its cap in the current period, when it resets, and
whether its warning threshold is crossed (logged once per scope and period). The gateway refuses
requests over a budget (router.gateway.budgets); the dashboard shows `budget_status`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

import msgspec

from router.config.schema import Budget
from router.ledger.ledger import Ledger, Scope
from router.ledger.periods import Period, iso, period_end, period_start

log = logging.getLogger("router.ledger.budgets")


class BudgetStatus(msgspec.Struct, frozen=True, gc=False):
    """One budget now. resets_at: the period's end (epoch s); warn: spent >= warn-at x usd."""

    scope: Scope
    name: str
    spent: float
    usd: float
    period: Period
    resets_at: float
    warn: bool

    @property
    def over(self) -> bool:
        return self.spent >= self.usd

    @property
    def left(self) -> float:
        return max(self.usd - self.spent, 0.0)

    @property
    def resets_at_iso(self) -> str:
        return iso(self.resets_at)


class BudgetBook:
    """Reads spend from the ledger and keeps which warnings were logged (one per scope and period;
    kept here, per app, never in module state). `now` is injectable so tests can cross a period."""

    def __init__(self, ledger: Ledger, now: Callable[[], float] = time.time,
                 settle: Callable[[], None] = lambda: None) -> None:
        self.ledger = ledger
        self.now = now
        # Called before spend is read: hands the ledger the requests that finished and are still
        # held in a batch (router.observe.usage_batch), so the next request sees their spend.
        self.settle = settle
        self._warned: dict[tuple[Scope, str], float] = {}  # → start of the period warned about

    async def status(self, scope: Scope, name: str, budget: Budget) -> BudgetStatus:
        """Raises LedgerUnavailable when the shared store does not answer."""
        self.settle()
        now = self.now()
        spent = await self.ledger.spent(scope, name, budget.period, now)
        status = BudgetStatus(scope, name, spent, budget.usd, budget.period, period_end(now, budget.period),
                              spent >= budget.warn_at * budget.usd)
        if status.warn:
            self._warn_once(status, period_start(now, budget.period), budget.warn_at)
        return status

    async def budget_status(self, key_budgets: Mapping[str, Budget],
                            route_budgets: Mapping[str, Budget]) -> list[BudgetStatus]:
        """Every configured budget, keys first (for the dashboard and the admin API)."""
        statuses = [await self.status("key", name, budget) for name, budget in sorted(key_budgets.items())]
        statuses += [await self.status("route", name, budget) for name, budget in sorted(route_budgets.items())]
        return statuses

    def _warn_once(self, status: BudgetStatus, start: float, warn_at: float) -> None:
        slot = (status.scope, status.name)
        if self._warned.get(slot) == start:
            return
        self._warned[slot] = start
        log.warning("budget: %s %r has spent $%.2f of its $%.2f %s budget (warning at %d%%); it resets at %s",
                    status.scope, status.name, status.spent, status.usd, period_adjective(status.period),
                    round(warn_at * 100), status.resets_at_iso)


def period_adjective(period: Period) -> str:
    """`daily`, `weekly`, `monthly`: how messages name a budget's period."""
    return {"day": "daily", "week": "weekly", "month": "monthly"}[period]
