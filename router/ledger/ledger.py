"""What every ledger is: the protocol the rest of the router codes against, the totals its
queries answer with, and the choice of backend from `[limits]`."""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

from router.core.usage_entry import UsageEntry
from router.ledger.periods import Period

By = Literal["key", "route", "target"]
Scope = Literal["key", "route"]
HOUR = 3600
# Hour buckets are kept this long (a month's budget is counted separately, in its own counters).
RETENTION_SECONDS = 35 * 24 * HOUR
# Spend is counted in integer micro-USD where it is shared (Redis counters add integers exactly).
MICRO = 1_000_000


class LedgerUnavailable(Exception):
    """The shared store did not answer: budgets follow `[limits] fail-open`."""


class UsageTotals(msgspec.Struct, gc=False):
    """What a group of requests used. errors: requests that ended with a status >= 400.
    cache_hits: requests the response cache answered (no tokens, no cost)."""

    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms_sum: float = 0.0
    cache_hits: int = 0

    def add(self, entry: UsageEntry) -> None:
        self.requests += 1
        self.errors += entry.status >= 400
        self.input_tokens += entry.input_tokens
        self.output_tokens += entry.output_tokens
        self.cache_read_tokens += entry.cache_read_tokens
        self.cache_write_tokens += entry.cache_write_tokens
        self.cost_usd += entry.cost_usd
        self.latency_ms_sum += entry.latency_ms
        self.cache_hits += entry.cache_hit

    def merge(self, other: UsageTotals) -> None:
        for name in self.__struct_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class Ledger(Protocol):
    def record(self, entry: UsageEntry) -> None:
        """A usage sink: queues, never blocks, never raises."""

    async def totals(self, by: By, since: float) -> dict[str, UsageTotals]:
        """Totals per key, route or target of the requests since `since` (epoch seconds; counted
        in whole hours: the hour that contains `since` is included)."""

    async def spent(self, scope: Scope, name: str, period: Period, now: float) -> float:
        """USD spent by the key or route in the period containing `now`."""

    async def aclose(self) -> None: ...


def hour_of(timestamp: float) -> int:
    return int(timestamp // HOUR)
