"""The overview's data: the last minutes from the recent window (requests/s, error rate, latency),
the router's own overhead from its Prometheus histogram, totals since start from /metrics'
counters (the page's figures) and today's tokens and cost from the usage ledger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from router.gateway.state import RouterState
from router.ledger import LedgerUnavailable, UsageTotals
from router.ledger.ledger import By
from router.ledger.periods import period_start
from router.server.dashboard.figures import Figures, Group
from router.server.dashboard.sparkline import HEIGHT, WIDTH, sparkline


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One route or target: its figures since start (label: the metric label they carry) and
    today's ledger totals (None when the ledger has no row for it)."""

    name: str
    label: str
    figures: Group
    today: UsageTotals | None


async def today_totals(state: RouterState, by: By) -> dict[str, UsageTotals] | None:
    """The ledger's totals since 00:00 UTC; None when its store does not answer."""
    state.settle_usage()
    try:
        return await state.ledger.totals(by, period_start(state.now(), "day"))
    except LedgerUnavailable:
        return None


def usage_rows(figures: Figures, label: str, names: list[str], today: dict[str, UsageTotals] | None) -> list[UsageRow]:
    """`names` first (the table's order), then any other name /metrics or the ledger knows."""
    seen = [*names, *sorted(set(figures.by(label)) | set(today or ()))]
    unique = [name for index, name in enumerate(seen) if name and name not in seen[:index]]
    return [UsageRow(name, label, figures.of_group(label, name), (today or {}).get(name)) for name in unique]


async def overview_context(state: RouterState) -> dict[str, Any]:
    state.settle_usage()  # the recent window's figures, like the ledger's, count every finished request
    figures = Figures.of(state.metrics)
    recent = state.recent
    minutes = recent.per_minute()
    peak = max((minute.requests for minute in minutes), default=0)
    latency = recent.latency_ms(5)
    overhead = [figures.histogram_quantile("router_overhead_seconds", q) for q in (0.5, 0.95)]
    by_route, by_target = await today_totals(state, "route"), await today_totals(state, "target")
    route_names = [route.name for route in state.table.loaded.config.routes]
    return {
        "rps_1m": recent.requests_per_second(60),
        "rps_5m": recent.requests_per_second(300),
        "error_rate_5m": recent.error_rate(300),
        "latency_p50": latency[0] if latency else None,
        "latency_p95": latency[1] if latency else None,
        "overhead_p50": None if overhead[0] is None else overhead[0] * 1000,
        "overhead_p95": None if overhead[1] is None else overhead[1] * 1000,
        "requests_line": sparkline([minute.requests for minute in minutes], peak),
        "errors_line": sparkline([minute.errors for minute in minutes], peak),
        "chart_peak": peak,
        "chart_width": WIDTH,
        "chart_height": HEIGHT,
        "chart_from": minutes[0].start if minutes else None,
        "totals": figures.overall,
        "ledger_ok": by_route is not None and by_target is not None,
        "routes": usage_rows(figures, "route", route_names, by_route),
        "targets": usage_rows(figures, "target", [], by_target),
    }
