"""The per-process ledger: totals per key, route and target over hourly buckets, spend per
budget period (calendar periods in UTC), the retention window, and the budget book on top."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from router.config.schema import Budget
from router.core.usage_entry import UsageEntry
from router.ledger import BudgetBook, MemoryLedger
from router.ledger.periods import iso, period_end, period_start

# Thursday 2026-12-03 10:30 UTC
NOW = datetime(2026, 12, 3, 10, 30, tzinfo=UTC).timestamp()
DAY = 86400.0


def entry(time: float = NOW, *, key: str = "ci", route: str = "main", target: str = "up/sonnet",
          cost: float = 0.5, status: int = 200, tokens: tuple[int, int, int, int] = (100, 10, 20, 5),
          cache_hit: bool = False) -> UsageEntry:
    return UsageEntry(
        time=time, key=key, route=route, target=target, client="anthropic", stream=False,
        input_tokens=tokens[0], output_tokens=tokens[1], cache_read_tokens=tokens[2], cache_write_tokens=tokens[3],
        cost_usd=cost, priced=True, status=status, latency_ms=100.0, retried=False, failed_over=False,
        cache_hit=cache_hit,
    )


def cache_hit(time: float = NOW, **names: str) -> UsageEntry:
    """A request the response cache answered: no tokens, no cost."""
    return entry(time, cost=0.0, tokens=(0, 0, 0, 0), cache_hit=True, **names)  # type: ignore[arg-type]


def test_periods_are_calendar_periods_in_utc() -> None:
    assert iso(period_start(NOW, "day")) == "2026-12-03T00:00:00Z"
    assert iso(period_end(NOW, "day")) == "2026-12-04T00:00:00Z"
    assert iso(period_start(NOW, "week")) == "2026-11-30T00:00:00Z"  # Monday
    assert iso(period_end(NOW, "week")) == "2026-12-07T00:00:00Z"
    assert iso(period_start(NOW, "month")) == "2026-12-01T00:00:00Z"
    assert iso(period_end(NOW, "month")) == "2027-01-01T00:00:00Z"


async def test_totals_by_key_route_and_target() -> None:
    ledger = MemoryLedger(now=lambda: NOW)
    ledger.record(entry())
    ledger.record(entry(key="ops", target="up/haiku", cost=0.25, status=500))
    ledger.record(entry(key="", route="other", cost=0.0))
    by_key = await ledger.totals("key", NOW - 3600)
    assert set(by_key) == {"ci", "ops", ""}
    assert by_key["ci"].requests == 1 and by_key["ci"].cost_usd == 0.5
    assert by_key["ops"].errors == 1
    by_route = await ledger.totals("route", NOW - 3600)
    assert by_route["main"].requests == 2
    assert by_route["main"].input_tokens == 200 and by_route["main"].cache_read_tokens == 40
    assert by_route["main"].cost_usd == pytest.approx(0.75)
    assert by_route["main"].latency_ms_sum == 200.0
    assert set(await ledger.totals("target", NOW - 3600)) == {"up/sonnet", "up/haiku"}


async def test_cache_hits_are_counted_apart_and_cost_nothing() -> None:
    ledger = MemoryLedger(now=lambda: NOW)
    ledger.record(entry())
    ledger.record(cache_hit())
    ledger.record(cache_hit(key="ops"))
    by_key = await ledger.totals("key", NOW - 3600)
    assert (by_key["ci"].requests, by_key["ci"].cache_hits, by_key["ci"].cost_usd) == (2, 1, 0.5)
    assert by_key["ci"].input_tokens == 100
    assert (by_key["ops"].requests, by_key["ops"].cache_hits, by_key["ops"].cost_usd) == (1, 1, 0.0)
    assert (await ledger.totals("route", NOW - 3600))["main"].cache_hits == 2
    assert await ledger.spent("key", "ops", "day", NOW) == 0.0


async def test_since_counts_whole_hours() -> None:
    ledger = MemoryLedger(now=lambda: NOW)
    ledger.record(entry(NOW - 5 * 3600))
    ledger.record(entry(NOW))
    assert (await ledger.totals("key", NOW - 3600))["ci"].requests == 1
    assert (await ledger.totals("key", NOW - 6 * 3600))["ci"].requests == 2


async def test_spend_per_period_and_scope() -> None:
    ledger = MemoryLedger(now=lambda: NOW)
    ledger.record(entry(NOW - DAY))  # Wednesday: this week and month, not today
    ledger.record(entry(NOW))
    ledger.record(entry(NOW, key=""))  # no named key: the route's spend only
    assert await ledger.spent("key", "ci", "day", NOW) == pytest.approx(0.5)
    assert await ledger.spent("key", "ci", "week", NOW) == pytest.approx(1.0)
    assert await ledger.spent("key", "ci", "month", NOW) == pytest.approx(1.0)
    assert await ledger.spent("route", "main", "day", NOW) == pytest.approx(1.0)
    assert await ledger.spent("key", "ci", "day", NOW + DAY) == 0.0  # tomorrow: a new day
    assert await ledger.spent("key", "nobody", "day", NOW) == 0.0


async def test_old_hours_are_dropped_after_the_retention_window() -> None:
    ledger = MemoryLedger(now=lambda: NOW, retention=2 * 3600)
    ledger.record(entry(NOW - 10 * 3600))
    ledger.record(entry(NOW))
    assert (await ledger.totals("key", 0))["ci"].requests == 1


async def test_budget_book_warns_once_per_period(caplog: pytest.LogCaptureFixture) -> None:
    clock = [NOW]
    ledger = MemoryLedger()
    book = BudgetBook(ledger, lambda: clock[0])
    budget = Budget(usd=1.0, period="day", warn_at=0.5)
    ledger.record(entry(cost=0.6))
    with caplog.at_level(logging.WARNING, "router.ledger.budgets"):
        first = await book.status("key", "ci", budget)
        await book.status("key", "ci", budget)
    assert first.warn and not first.over
    assert first.resets_at_iso == "2026-12-04T00:00:00Z"
    assert len(caplog.records) == 1
    assert "key 'ci' has spent $0.60 of its $1.00 daily budget" in caplog.records[0].getMessage()
    ledger.record(entry(cost=0.5))
    assert (await book.status("key", "ci", budget)).over
    clock[0] = NOW + DAY  # the next day: nothing spent yet
    ledger.record(entry(NOW + DAY, cost=0.7))
    caplog.clear()
    with caplog.at_level(logging.WARNING, "router.ledger.budgets"):
        status = await book.status("key", "ci", budget)
    assert status.spent == pytest.approx(0.7) and len(caplog.records) == 1


async def test_budget_status_lists_every_budget() -> None:
    book = BudgetBook(MemoryLedger(), lambda: NOW)
    statuses = await book.budget_status({"ci": Budget(usd=5)}, {"main": Budget(usd=50, period="month")})
    assert [(s.scope, s.name, s.usd, s.period) for s in statuses] == [("key", "ci", 5, "day"), ("route", "main", 50, "month")]
