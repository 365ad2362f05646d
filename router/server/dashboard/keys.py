"""The keys page's data: each named client key's scopes, limits, budget and usage. Names only:
no key, digest or environment value is ever read here (the loader keeps digests → names; a key
given as `env:NAME` is named NAME)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from router.config.schema import Budget, KeyHash
from router.gateway.state import RouterState
from router.ledger import BudgetStatus, LedgerUnavailable, UsageTotals
from router.server.dashboard.figures import Figures, Group
from router.server.dashboard.overview import today_totals
from router.server.dashboard.routes import budget_text, rate_text


@dataclass(frozen=True, slots=True)
class KeyView:
    name: str
    routes: str
    models: str
    limits: str | None
    budget: str | None
    status: BudgetStatus | None  # None without a budget, or when the usage store does not answer
    figures: Group
    today: UsageTotals | None


def _config_entries(state: RouterState) -> dict[str, KeyHash]:
    return {entry.name: entry for entry in state.table.loaded.config.auth.keys if isinstance(entry, KeyHash)}


async def _statuses(state: RouterState, budgets: dict[str, Budget]) -> dict[str, BudgetStatus]:
    try:
        statuses = await state.budgets.budget_status(budgets, {})
    except LedgerUnavailable:
        return {}
    return {status.name: status for status in statuses}


async def keys_context(state: RouterState) -> dict[str, Any]:
    loaded = state.table.loaded
    access = loaded.access
    names = sorted({*loaded.client_key_hashes.values(), *state.generated_key_hashes.values()})
    entries = _config_entries(state)
    figures = Figures.of(state.metrics)
    today = await today_totals(state, "key")
    statuses = await _statuses(state, dict(access.key_budgets))
    views = []
    for name in names:
        policy = access.policies.get(name)
        entry = entries.get(name)
        routes = "all" if policy is None or policy.routes is None else ", ".join(sorted(policy.routes))
        if entry is not None and entry.models is not None:
            models = ", ".join(entry.models)
        else:
            models = "all" if policy is None or policy.models is None else "restricted (keys file)"
        views.append(KeyView(name, routes, models, rate_text(policy.limits if policy else None),
                             budget_text(access.key_budgets.get(name)), statuses.get(name),
                             figures.of_group("key", name), (today or {}).get(name)))
    return {"keys": views, "ledger_ok": today is not None, "open": not loaded.keys_required and not names}
