"""The routes page's data: every route as loaded, what it does, and whether it serves.

A route is off when every upstream it names is an optional one whose key is unset (the loader's
`disabled_routes`, what `router check` counts); a target is off when its upstream is; a client
protocol a route lists is not served when none of its targets can answer it (no plan in the
table, as `router explain` says); the loader's warnings about a route (shadowed by an earlier
one, ...) are shown next to it. Header values set by a route may be credentials: never shown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import msgspec

from router.config.load import LoadedConfig
from router.config.rules import route_targets, route_weights, split_target
from router.config.schema import Budget, Rate, Retry, Route, SetHeader
from router.gateway.state import RouterState
from router.ledger import BudgetStatus, LedgerUnavailable
from router.routing.lookup import Table
from router.upstream.scrub import REDACTED

OFF_NO_KEY = "off: every upstream it names is optional and has no API key in this environment"


@dataclass(frozen=True, slots=True)
class TargetView:
    text: str
    weight: float
    off: str | None  # why this target is left out, None when it serves


@dataclass(frozen=True, slots=True)
class RouteView:
    name: str
    models: list[str]
    clients: list[str]
    unserved: list[str]  # listed clients none of its targets can answer
    when: str | None
    targets: list[TargetView]
    balance: str
    retry: str
    request_ops: list[str]
    response_ops: list[str]
    header_ops: list[str]
    limits: str | None
    budget: str | None
    cache: str | None
    off: str | None
    warnings: list[str]
    spend: BudgetStatus | None = None  # the budget now (None without one, or the store not answering)


def compact(value: Any) -> str:
    """A config value as one line of JSON (kebab-case keys, as written in routes.toml)."""
    return msgspec.json.encode(msgspec.to_builtins(value)).decode()


def rate_text(rate: Rate | None) -> str | None:
    if rate is None:
        return None
    parts = [f"{rate.rpm} requests/min" if rate.rpm is not None else "", f"{rate.tpm} tokens/min" if rate.tpm is not None else ""]
    return ", ".join(part for part in parts if part) or None


def budget_text(budget: Budget | None) -> str | None:
    if budget is None:
        return None
    return f"${budget.usd:,.2f} per {budget.period} (warn at {budget.warn_at:.0%})"


def retry_text(retry: Retry) -> str:
    on = ", ".join(str(item) for item in retry.on)
    return (f"{retry.attempts} attempts, backoff {retry.backoff:g}s (max wait {retry.max_wait:g}s) on {on}; "
            f"cool-down {retry.cooldown:g}s after {retry.failures} failures")


def _header_ops(route: Route) -> list[str]:
    return [f"set {op.name}: {REDACTED}" if isinstance(op, SetHeader) else f"remove {op.name}" for op in route.headers]


def _targets(route: Route, loaded: LoadedConfig) -> list[TargetView]:
    views = []
    for text, weight in zip(route_targets(route), route_weights(route)):
        upstream, _ = split_target(text)
        off = f"off: upstream {upstream} is optional and its API key is unset" if upstream in loaded.disabled_upstreams else None
        views.append(TargetView(text, weight, off))
    return views


def route_view(route: Route, table: Table) -> RouteView:
    loaded = table.loaded
    off = OFF_NO_KEY if route.name in loaded.disabled_routes else None
    unserved = [] if off else [str(client) for client in route.clients if (route.name, client) not in table.plans]
    cache = None if route.cache is None else compact(route.cache)
    return RouteView(
        name=route.name, models=list(route.models), clients=list(route.clients), unserved=unserved,
        when=None if route.when is None else compact(route.when), targets=_targets(route, loaded),
        balance=route.balance, retry=retry_text(route.retry),
        request_ops=[compact(op) for op in route.request], response_ops=[compact(op) for op in route.response],
        header_ops=_header_ops(route), limits=rate_text(route.limits), budget=budget_text(route.budget),
        cache=cache, off=off,
        warnings=[f"{problem.message} — {problem.fix}" for problem in loaded.warnings if problem.route == route.name],
    )


async def route_spend(state: RouterState) -> dict[str, BudgetStatus] | None:
    """Each route budget's spend in its period; None when the usage store does not answer."""
    try:
        statuses = await state.budgets.budget_status({}, state.table.loaded.access.route_budgets)
    except LedgerUnavailable:
        return None
    return {status.name: status for status in statuses}


async def routes_context(state: RouterState) -> dict[str, Any]:
    table = state.table
    spend = await route_spend(state)
    routes = [replace(route_view(route, table), spend=(spend or {}).get(route.name)) for route in table.loaded.config.routes]
    return {"routes": routes, "off_count": sum(1 for route in routes if route.off), "ledger_ok": spend is not None}
