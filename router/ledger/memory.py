"""The per-process ledger: hourly buckets of totals per (key, route, target, client), kept for
the retention window, and the spend of every key and route per budget period.

Recording is a few dict operations, no I/O. Bounded: buckets older than the retention window
are dropped when a new hour starts, spend counters of past periods when a new period starts;
within a bucket there is one group per (key, route, target, client), all names from the table.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from router.core.usage_entry import UsageEntry
from router.ledger.ledger import (
    HOUR,
    RETENTION_SECONDS,
    By,
    Scope,
    UsageTotals,
    hour_of,
)
from router.ledger.periods import PERIODS, Period, period_end, period_start

Group = tuple[str, str, str, str]  # key, route, target, client
_BY_INDEX = {"key": 0, "route": 1, "target": 2}


class MemoryLedger:
    url = None  # not a shared store (router.ledger.choice compares it)

    def __init__(self, *, now: Callable[[], float] = time.time, retention: float = RETENTION_SECONDS) -> None:
        self._now = now
        self._retention_hours = int(retention // HOUR)
        self._hours: dict[int, dict[Group, UsageTotals]] = {}
        self._latest_hour = -1
        # (scope, name, period) → [start, end of the period counted, USD spent in it]
        self._spend: dict[tuple[Scope, str, Period], list[float]] = {}

    def record(self, entry: UsageEntry) -> None:
        hour = int(entry.time // HOUR)  # hour_of, inline: every model request passes here
        groups = self._hours.get(hour)
        if groups is None:
            groups = self._hours[hour] = {}
            self._new_hour(hour)
        group = (entry.key, entry.route, entry.target, entry.client)
        totals = groups.get(group)
        if totals is None:
            totals = groups[group] = UsageTotals()
        totals.add(entry)
        if entry.cost_usd:
            if entry.key:
                self._spend_in("key", entry.key, entry.time, entry.cost_usd)
            self._spend_in("route", entry.route, entry.time, entry.cost_usd)

    async def totals(self, by: By, since: float) -> dict[str, UsageTotals]:
        index, first = _BY_INDEX[by], hour_of(since)
        result: dict[str, UsageTotals] = {}
        for hour, groups in self._hours.items():
            if hour < first:
                continue
            for group, totals in groups.items():
                name = group[index]
                found = result.get(name)
                if found is None:
                    found = result[name] = UsageTotals()
                found.merge(totals)
        return result

    async def spent(self, scope: Scope, name: str, period: Period, now: float) -> float:
        counted = self._spend.get((scope, name, period))
        if counted is None or not counted[0] <= now < counted[1]:
            return 0.0
        return counted[2]

    async def aclose(self) -> None:
        return None

    def _spend_in(self, scope: Scope, name: str, when: float, usd: float) -> None:
        for period in PERIODS:
            slot = (scope, name, period)
            counted = self._spend.get(slot)
            if counted is not None and counted[0] <= when < counted[1]:
                counted[2] += usd
            elif counted is None or when >= counted[1]:  # a new period: the past one is forgotten
                self._spend[slot] = [period_start(when, period), period_end(when, period), usd]
            # else: a request that arrived in the period before (and ended after it): not this one's

    def _new_hour(self, hour: int) -> None:
        if hour <= self._latest_hour:
            return
        self._latest_hour = hour
        oldest = hour - self._retention_hours
        for old in [h for h in self._hours if h < oldest]:
            del self._hours[old]
