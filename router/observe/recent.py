"""The last minutes of traffic, for the dashboard's overview: requests and errors per second
(last 5 minutes) and per minute (last 60), and a bounded sample of latencies per minute for
p50/p95. One `RecentWindow` per app (on RouterState), fed as a usage sink.

Per request the cost is O(1): two ring slots found by index, a few increments, and at most one
list store into the minute's reservoir (reservoir sampling keeps each minute's sample uniform
and bounded, whatever the traffic). Buckets are stamped with the second or minute they hold; a
stale one is cleared when its slot comes round again, so nothing runs in the background.

The window is per process: with `router serve --workers N` each worker sees its own share (the
Prometheus figures on the same page are summed over every worker).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from router.core.usage_entry import UsageEntry

SECONDS = 300  # per-second buckets: requests/s over the last 1 and 5 minutes
MINUTES = 60  # per-minute buckets: the overview's charts
RESERVOIR = 128  # latency samples kept per minute


@dataclass(slots=True)
class _Second:
    stamp: int = -1
    requests: int = 0
    errors: int = 0


@dataclass(slots=True)
class _Minute:
    stamp: int = -1
    requests: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MinuteCounts:
    """One minute of the chart: its start (epoch s), requests and errors."""

    start: float
    requests: int
    errors: int


@dataclass(slots=True)
class RecentWindow:
    """`record` is the usage sink; the other methods are the dashboard's queries. `clock` is the
    wall clock the entries' times are on (the state's `now`, so tests can move it)."""

    clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)
    _seconds: list[_Second] = field(default_factory=lambda: [_Second() for _ in range(SECONDS)])
    _minutes: list[_Minute] = field(default_factory=lambda: [_Minute() for _ in range(MINUTES)])

    def record(self, entry: UsageEntry) -> None:
        """Count one finished request at the time it ended (arrival + latency). Every request
        passes here: the bucket lookups are inlined and the reservoir's draw is one C call
        (`random()`, where `randrange` is a few Python frames)."""
        latency_ms = entry.latency_ms
        ended = entry.time + latency_ms / 1000
        error = entry.status >= 400
        stamp = int(ended)
        second = self._seconds[stamp % SECONDS]
        if second.stamp != stamp:  # a stale bucket from SECONDS ago: this second starts afresh
            second.stamp, second.requests, second.errors = stamp, 0, 0
        second.requests += 1
        second.errors += error
        stamp = int(ended // 60)
        minute = self._minutes[stamp % MINUTES]
        if minute.stamp != stamp:
            minute.stamp, minute.requests, minute.errors, minute.latencies_ms = stamp, 0, 0, []
        minute.requests += 1
        minute.errors += error
        samples = minute.latencies_ms
        if len(samples) < RESERVOIR:
            samples.append(latency_ms)
        else:  # reservoir sampling: the n-th request replaces a sample with probability RESERVOIR / n
            slot = int(self.rng.random() * minute.requests)
            if slot < RESERVOIR:
                samples[slot] = latency_ms

    # -- queries ----------------------------------------------------------------------------

    def requests_per_second(self, seconds: int) -> float:
        """Mean over the last `seconds` seconds (at most SECONDS), the current one included."""
        return self._counted(seconds)[0] / max(min(seconds, SECONDS), 1)

    def error_rate(self, seconds: int) -> float | None:
        """Errors / requests over the last `seconds`; None without a request."""
        requests, errors = self._counted(seconds)
        return errors / requests if requests else None

    def _counted(self, seconds: int) -> tuple[int, int]:
        now = int(self.clock())
        stamps = range(now - min(seconds, SECONDS) + 1, now + 1)
        buckets = [self._seconds[stamp % SECONDS] for stamp in stamps]
        live = [bucket for bucket, stamp in zip(buckets, stamps) if bucket.stamp == stamp]
        return sum(b.requests for b in live), sum(b.errors for b in live)

    def latency_ms(self, minutes: int, quantiles: tuple[float, ...] = (0.5, 0.95)) -> tuple[float, ...] | None:
        """The latency quantiles of the sampled requests of the last `minutes` (this one
        included); None without a sample."""
        samples = sorted(sample for minute in self._live_minutes(minutes) for sample in minute.latencies_ms)
        if not samples:
            return None
        return tuple(samples[min(int(q * len(samples)), len(samples) - 1)] for q in quantiles)

    def per_minute(self) -> list[MinuteCounts]:
        """The last MINUTES minutes, oldest first, this one last (empty minutes as zeros)."""
        now = int(self.clock() // 60)
        counts = []
        for stamp in range(now - MINUTES + 1, now + 1):
            bucket = self._minutes[stamp % MINUTES]
            live = bucket.stamp == stamp
            counts.append(MinuteCounts(stamp * 60.0, bucket.requests if live else 0, bucket.errors if live else 0))
        return counts

    def _live_minutes(self, minutes: int) -> list[_Minute]:
        now = int(self.clock() // 60)
        stamps = range(now - min(minutes, MINUTES) + 1, now + 1)
        return [self._minutes[s % MINUTES] for s in stamps if self._minutes[s % MINUTES].stamp == s]
