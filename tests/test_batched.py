"""router.observe.batched: what a flush hands to Prometheus is exactly what direct increments and
observations would have made (the histogram flush writes the client library's own bucket and sum
values, so a release that moves them fails here), and nothing reaches a scrape before a flush."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from router.observe.batched import BatchedCounter, BatchedHistogram, flush_periodically
from router.observe.metrics import OVERHEAD_BUCKETS, Metrics

def scraped(registry: CollectorRegistry) -> list[bytes]:
    """The exposition's lines but the `_created` timestamps (when each series was made)."""
    return [line for line in generate_latest(registry).splitlines() if b"_created" not in line]


VALUES = (0.0, 0.00005, 0.0001, 0.0003, 0.001, 0.0049, 0.2, 1.0, 3.5, 0.0001)


def test_a_flushed_histogram_scrapes_as_one_observed_value_by_value() -> None:
    direct, batched = CollectorRegistry(), CollectorRegistry()
    plain = Histogram("t_seconds", "t", ["pair"], buckets=OVERHEAD_BUCKETS, registry=direct)
    kept = Histogram("t_seconds", "t", ["pair"], buckets=OVERHEAD_BUCKETS, registry=batched)
    batch = BatchedHistogram(kept.labels, OVERHEAD_BUCKETS)
    for index, value in enumerate(VALUES):
        pair = "a" if index % 3 else "b"
        plain.labels(pair).observe(value)
        batch.observe((pair,), value)
    assert b"t_seconds_count" not in generate_latest(batched)  # nothing before the flush
    batch.flush()
    assert scraped(batched) == scraped(direct)
    batch.flush()  # a second flush adds nothing
    assert scraped(batched) == scraped(direct)


def test_a_flushed_counter_scrapes_as_one_incremented_each_time() -> None:
    direct, batched = CollectorRegistry(), CollectorRegistry()
    plain = Counter("n", "n", ["route", "kind"], registry=direct)
    kept = Counter("n", "n", ["route", "kind"], registry=batched)
    batch = BatchedCounter(kept.labels)
    for amount, labels in ((1, ("r", "in")), (20, ("r", "out")), (3, ("r", "in")), (0.5, ("s", "in"))):
        plain.labels(*labels).inc(amount)
        batch.add(labels, amount)
    batch.flush()
    assert scraped(batched) == scraped(direct)


def test_a_scrape_flushes_first() -> None:
    metrics = Metrics()
    metrics.request_counts.add(("r", "up/m", "anthropic__openai", "200"))
    metrics.overhead_times.observe(("anthropic__openai", "false"), 0.0002)
    body, _ = metrics.exposition()
    assert b'router_requests_total{pair="anthropic__openai",route="r",status="200",target="up/m"} 1.0' in body
    assert b'router_overhead_seconds_count{pair="anthropic__openai",stream="false"} 1.0' in body


def test_the_periodic_flush_runs_until_cancelled_and_flushes_once_more() -> None:
    flushed: list[int] = []

    async def run() -> None:
        task = asyncio.get_running_loop().create_task(flush_periodically(lambda: flushed.append(1), 0.01))
        while len(flushed) < 2:
            await asyncio.sleep(0.005)
        before = len(flushed)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert len(flushed) == before + 1

    asyncio.run(run())
