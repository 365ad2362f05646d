"""The shared ledger: every replica pointed at one Redis adds to the same totals and spend.

Keys, namespaced `router:ledger:`:

    h:<hour>                          a hash per hour (epoch hours): one field per group and
                                      figure, `<key>\\x1f<route>\\x1f<target>\\x1f<client>\\x1f<figure>`,
                                      HINCRBY (counts) / HINCRBYFLOAT (cost, latency); expires
                                      after the retention window
    s:<scope>:<name>:<period>:<start> integer micro-USD spent by a key or route in the period
                                      starting at <start> (epoch s); expires a day after it ends

The request path never waits on Redis. `record` appends the entry to a queue (and adds its cost
to this process's not-yet-written spend); one background task, started by the first record,
writes the queue every FLUSH_SECONDS, or as soon as FLUSH_ENTRIES are waiting, as one pipeline
in which a batch's entries are first summed per hour and group. `spent` reads the period's
counter from Redis at most once per SPENT_TTL seconds per counter, and adds what this process
has queued but not written yet.

A Redis that does not answer: the batch is dropped (logged once per outage, counted in
`stats`), and `spent` raises LedgerUnavailable for `pause` seconds, which budgets treat as
`[limits] fail-open` says.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from router.core.usage_entry import UsageEntry
from router.ledger.ledger import (
    HOUR,
    MICRO,
    RETENTION_SECONDS,
    By,
    LedgerUnavailable,
    Scope,
    UsageTotals,
    hour_of,
)
from router.ledger.periods import PERIODS, Period, period_end, period_start

log = logging.getLogger("router.ledger")

PREFIX = "router:ledger:"
SEPARATOR = "\x1f"  # between a field's names: a character no key, route or upstream name has
FLUSH_SECONDS = 1.0
FLUSH_ENTRIES = 500
SPENT_TTL = 1.0
SPEND_GRACE_SECONDS = 24 * HOUR
_BY_INDEX = {"key": 0, "route": 1, "target": 2}
Slot = tuple[Scope, str, Period, float]  # a spend counter: scope, name, period, the period's start
_COUNTS = ("requests", "errors", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
           "cache_hits")
_FLOATS = ("cost_usd", "latency_ms_sum")


@dataclass(slots=True)
class LedgerStats:
    """written: entries in Redis; dropped: entries lost to a Redis that did not answer."""

    written: int = 0
    dropped: int = 0


class RedisLedger:
    def __init__(
        self, url: str, *, now: Callable[[], float] = time.time, clock: Callable[[], float] = time.monotonic,
        timeout: float = 0.5, pause: float = 1.0, flush_seconds: float = FLUSH_SECONDS,
        flush_entries: int = FLUSH_ENTRIES, spent_ttl: float = SPENT_TTL, retention: float = RETENTION_SECONDS,
    ) -> None:
        # Imported here: a deployment without Redis never loads the client.
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.url = url  # compared by router.ledger.choice; may hold a password: never logged
        self._client: Any = Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
        )
        self._now, self._clock = now, clock
        self._timeout, self._pause = timeout, pause
        self._flush_seconds, self._flush_entries = flush_seconds, flush_entries
        self._spent_ttl, self._retention = spent_ttl, int(retention)
        self._queue: list[UsageEntry] = []
        self._unwritten: dict[Slot, int] = {}  # spend counter → micro-USD queued, not yet written
        self._read: dict[Slot, tuple[float, int]] = {}  # spend counter → (read at, micro-USD in Redis)
        self._starts = _PeriodStarts()
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._down_until = -math.inf
        self._failing = False
        self._closed = False
        self.stats = LedgerStats()

    # --- the request path ----------------------------------------------------------------------

    def record(self, entry: UsageEntry) -> None:
        if self._closed:
            return
        self._queue.append(entry)
        if entry.cost_usd:
            micro = round(entry.cost_usd * MICRO)
            for slot in self._starts.slots(entry):
                self._unwritten[slot] = self._unwritten.get(slot, 0) + micro
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_forever())
        elif len(self._queue) >= self._flush_entries:
            self._wake.set()

    async def spent(self, scope: Scope, name: str, period: Period, now: float) -> float:
        slot = (scope, name, period, period_start(now, period))
        read = self._read.get(slot)
        if read is None or self._clock() - read[0] >= self._spent_ttl:
            value = await self._call(self._client.get(spend_key(slot)))
            read = self._read[slot] = (self._clock(), int(value or 0))
            self._forget_old_reads()
        return (read[1] + self._unwritten.get(slot, 0)) / MICRO

    # --- queries ---------------------------------------------------------------------------------

    async def totals(self, by: By, since: float) -> dict[str, UsageTotals]:
        index = _BY_INDEX[by]
        latest = hour_of(self._now())
        # Nothing older than the retention window is kept: no need to ask for it.
        hours = range(max(hour_of(since), latest - self._retention // HOUR), latest + 1)
        pipe = self._client.pipeline(transaction=False)
        for hour in hours:
            pipe.hgetall(f"{PREFIX}h:{hour}")
        buckets = await self._call(pipe.execute())
        result: dict[str, UsageTotals] = {}
        for bucket in buckets:
            for raw_field, raw_value in bucket.items():
                *names, figure = raw_field.decode().split(SEPARATOR)
                totals = result.get(names[index])
                if totals is None:
                    totals = result[names[index]] = UsageTotals()
                value = float(raw_value) if figure in _FLOATS else int(raw_value)
                setattr(totals, figure, getattr(totals, figure) + value)
        return result

    # --- writing -----------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write what is queued now, in one pipeline (the background task calls this)."""
        batch, self._queue = self._queue, []
        if not batch:
            return
        spend = self._spend_of(batch)
        try:
            await self._call(self._pipeline(batch, spend).execute())
        except LedgerUnavailable as exc:
            self.stats.dropped += len(batch)
            if not self._failing:
                log.warning("usage ledger: Redis did not answer (%s); usage is not recorded until it does", exc)
            self._failing = True
        else:
            self.stats.written += len(batch)
            for slot, micro in spend.items():  # what this process wrote is in Redis now: so in the read
                read = self._read.get(slot)
                if read is not None:
                    self._read[slot] = (read[0], read[1] + micro)
            if self._failing:
                log.warning("usage ledger: Redis answers again; recording usage")
            self._failing = False
        for counter, micro in spend.items():  # written or dropped: no longer this process's to add
            left = self._unwritten.get(counter, 0) - micro
            if left > 0:
                self._unwritten[counter] = left
            else:
                self._unwritten.pop(counter, None)

    def _spend_of(self, batch: list[UsageEntry]) -> dict[Slot, int]:
        spend: dict[Slot, int] = {}
        for entry in batch:
            if entry.cost_usd:
                micro = round(entry.cost_usd * MICRO)
                for slot in self._starts.slots(entry):
                    spend[slot] = spend.get(slot, 0) + micro
        return spend

    def _pipeline(self, batch: list[UsageEntry], spend: dict[Slot, int]) -> Any:
        pipe = self._client.pipeline(transaction=False)
        for hour, groups in _hourly(batch).items():
            bucket = f"{PREFIX}h:{hour}"
            for group, totals in groups.items():
                for figure in _COUNTS:
                    value = getattr(totals, figure)
                    if value:
                        pipe.hincrby(bucket, f"{group}{figure}", value)
                for figure in _FLOATS:
                    value = getattr(totals, figure)
                    if value:
                        pipe.hincrbyfloat(bucket, f"{group}{figure}", value)
            pipe.expireat(bucket, (hour + 1) * HOUR + self._retention)
        for slot, micro in spend.items():
            key = spend_key(slot)
            pipe.incrby(key, micro)
            pipe.expireat(key, int(period_end(slot[3], slot[2])) + SPEND_GRACE_SECONDS)
        return pipe

    async def _flush_forever(self) -> None:
        while not self._closed:
            try:
                await asyncio.wait_for(self._wake.wait(), self._flush_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.flush()

    async def aclose(self) -> None:
        """Write what is queued (briefly), then close the client."""
        self._closed = True
        if self._flusher is not None:
            self._wake.set()
            await asyncio.wait([self._flusher], timeout=self._timeout * 4)
            self._flusher.cancel()
        await self.flush()
        await self._client.aclose()

    async def _call(self, work: Any) -> Any:
        if self._clock() < self._down_until:
            work.close()
            raise LedgerUnavailable("Redis did not answer a moment ago")
        try:
            return await asyncio.wait_for(work, self._timeout * 2)
        except Exception as exc:  # noqa: BLE001 - the one boundary for Redis: every failure is "unavailable"
            self._down_until = self._clock() + self._pause
            raise LedgerUnavailable(f"{type(exc).__name__}: {exc}") from None

    def _forget_old_reads(self) -> None:
        """Counters of past periods are read no more: keep the cache to the live ones."""
        if len(self._read) > 1024:
            horizon = self._clock() - 60 * self._spent_ttl
            self._read = {counter: read for counter, read in self._read.items() if read[0] >= horizon}


def spend_key(slot: Slot) -> str:
    scope, name, period, start = slot
    return f"{PREFIX}s:{scope}:{name}:{period}:{int(start)}"


class _PeriodStarts:
    """The spend counters an entry adds to, with each period's start worked out once per hour
    (not per request: a calendar computation costs microseconds)."""

    __slots__ = ("_hour", "_starts")

    def __init__(self) -> None:
        self._hour = -1
        self._starts: tuple[float, ...] = ()

    def slots(self, entry: UsageEntry) -> list[Slot]:
        hour = hour_of(entry.time)
        if hour != self._hour:
            self._hour, self._starts = hour, tuple(period_start(entry.time, period) for period in PERIODS)
        starts = self._starts
        slots: list[Slot] = [("route", entry.route, period, start) for period, start in zip(PERIODS, starts)]
        if entry.key:
            slots += [("key", entry.key, period, start) for period, start in zip(PERIODS, starts)]
        return slots


def _hourly(batch: list[UsageEntry]) -> dict[int, dict[str, UsageTotals]]:
    """The batch summed per hour and group (a group's field prefix), so a pipeline carries one
    increment per figure and group, however many requests the batch holds."""
    hours: dict[int, dict[str, UsageTotals]] = {}
    for entry in batch:
        groups = hours.setdefault(hour_of(entry.time), {})
        prefix = SEPARATOR.join((entry.key, entry.route, entry.target, entry.client, ""))
        totals = groups.get(prefix)
        if totals is None:
            totals = groups[prefix] = UsageTotals()
        totals.add(entry)
    return hours
