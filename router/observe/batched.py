"""Counter increments and histogram observations gathered in plain dicts and handed to
Prometheus in one go.

The client library's `inc` checks its argument and takes a lock on every call: ~4,000
instructions, and a model request made five of them (requests, tokens in and out, usage by kind,
cost), about 3 % of a small request's CPU; a histogram's `observe` (~1 µs) walks its bounds in
Python and takes two locks. A `BatchedCounter` takes a request's increment as one dict update
keyed by the label values, a `BatchedHistogram` its observation as a bisect (in C) and two list
updates, and both add the sums to the metric's children when flushed:
before every scrape of this process's registry (router.observe.metrics `exposition`, the
dashboard's figures) and once a second by the app (`flush_periodically`), which is what a scrape
of another worker's files sees (PROMETHEUS_MULTIPROC_DIR). Everything runs on the event loop's
thread, so the dict needs no lock.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from prometheus_client import Counter, Histogram

Labels = tuple[str, ...]


class BatchedCounter:
    """`add(labels, amount)` now, `flush()` into the children later; `child` gives the counter's
    child of a label set (router.observe.metrics binds and caches them)."""

    __slots__ = ("_child", "_pending")

    def __init__(self, child: Callable[..., Counter]) -> None:
        self._child = child
        self._pending: dict[Labels, float] = {}

    def add(self, labels: Labels, amount: float = 1.0) -> None:
        pending = self._pending
        pending[labels] = pending.get(labels, 0.0) + amount

    def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        for labels, amount in pending.items():
            self._child(*labels).inc(amount)


class BatchedHistogram:
    """`observe(labels, value)` now, `flush()` into the children later: per label set, a count
    per bucket (non-cumulative, as the client library keeps them: a value goes to the first bound
    it does not exceed) and the sum. The flush adds to the child's own bucket and sum values,
    which is what its `observe` does one value at a time (tests/test_batched.py checks that the
    exposition matches, so a client release that moves them fails there, not in production)."""

    __slots__ = ("_bounds", "_child", "_pending")

    def __init__(self, child: Callable[..., Histogram], bounds: Sequence[float]) -> None:
        self._child = child
        self._bounds = (*bounds, float("inf"))  # the client library appends +Inf the same way
        self._pending: dict[Labels, list[float]] = {}

    def observe(self, labels: Labels, value: float) -> None:
        counts = self._pending.get(labels)
        if counts is None:
            counts = self._pending[labels] = [0.0] * (len(self._bounds) + 1)  # the buckets, then the sum
        counts[bisect_left(self._bounds, value)] += 1
        counts[-1] += value

    def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        for labels, counts in pending.items():
            child = self._child(*labels)
            for bucket, count in zip(child._buckets, counts, strict=False):
                if count:
                    bucket.inc(count)
            child._sum.inc(counts[-1])


class Flushable(Protocol):
    def flush(self) -> None: ...


FLUSH_SECONDS = 1.0


async def flush_periodically(flush: Callable[[], None], seconds: float = FLUSH_SECONDS) -> None:
    """Run until cancelled: `flush` every `seconds` (one task per app, not per request), and once
    more when cancelled, so a worker's last increments reach its metrics file."""
    try:
        while True:
            await asyncio.sleep(seconds)
            flush()
    finally:
        flush()


def flush_all(metrics: Iterable[Flushable]) -> None:
    for metric in metrics:
        metric.flush()
