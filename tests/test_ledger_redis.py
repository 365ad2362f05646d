"""The Redis ledger against a real redis-server: two RedisLedger instances are two replicas
adding to the same totals and spend; records are written by the background flush, in one
pipeline; spend not yet written is still counted by the replica that holds it; a Redis that is
down drops usage (logged once) and makes `spent` raise LedgerUnavailable."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from router.core.usage_entry import UsageEntry
from router.ledger import LedgerUnavailable
from router.ledger.redis_ledger import RedisLedger
from tests.support.redis_server import redis_server
from tests.support.servers import free_port
from tests.test_ledger_memory import DAY
from tests.test_ledger_memory import cache_hit as cache_hit_at
from tests.test_ledger_memory import entry as entry_at

# Now, not the memory tests' fixed day: Redis expires spend keys at an absolute time (a day after
# their period ends, by its own clock), so a fixed day in the past read as already expired.
NOW = time.time()


def entry(**fields: Any) -> UsageEntry:
    return entry_at(NOW, **fields)


def cache_hit(**names: str) -> UsageEntry:
    return cache_hit_at(NOW, **names)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


async def flushed(*ledgers: RedisLedger) -> None:
    for ledger in ledgers:
        await ledger.flush()


async def test_two_replicas_add_to_the_same_totals(redis_url: str) -> None:
    a = RedisLedger(redis_url, now=lambda: NOW, spent_ttl=0)
    b = RedisLedger(redis_url, now=lambda: NOW, spent_ttl=0)
    try:
        a.record(entry(key="r2-a", route="r2", cost=0.5))
        a.record(entry(key="r2-a", route="r2", cost=0.25, status=502))
        b.record(entry(key="r2-b", route="r2", cost=1.0, target="up/haiku"))
        await flushed(a, b)
        by_route = await b.totals("route", NOW - 3600)
        assert by_route["r2"].requests == 3
        assert by_route["r2"].errors == 1
        assert by_route["r2"].input_tokens == 300 and by_route["r2"].cache_write_tokens == 15
        assert by_route["r2"].cost_usd == pytest.approx(1.75)
        by_key = await a.totals("key", NOW - 3600)
        assert by_key["r2-a"].requests == 2 and by_key["r2-b"].requests == 1
        assert await a.spent("route", "r2", "day", NOW) == pytest.approx(1.75)
        assert await b.spent("key", "r2-a", "month", NOW) == pytest.approx(0.75)
        assert await b.spent("route", "r2", "day", NOW + DAY) == 0.0
    finally:
        await a.aclose()
        await b.aclose()


async def test_cache_hits_are_counted_by_both_replicas(redis_url: str) -> None:
    a = RedisLedger(redis_url, now=lambda: NOW, spent_ttl=0)
    b = RedisLedger(redis_url, now=lambda: NOW, spent_ttl=0)
    try:
        a.record(entry(key="hits-a", route="hits", cost=0.5))
        a.record(cache_hit(key="hits-a", route="hits"))
        b.record(cache_hit(key="hits-b", route="hits"))
        await flushed(a, b)
        by_route = await b.totals("route", NOW - 3600)
        assert (by_route["hits"].requests, by_route["hits"].cache_hits) == (3, 2)
        assert by_route["hits"].input_tokens == 100 and by_route["hits"].cost_usd == pytest.approx(0.5)
        by_key = await a.totals("key", NOW - 3600)
        assert by_key["hits-a"].cache_hits == 1 and by_key["hits-b"].cache_hits == 1
        assert await a.spent("key", "hits-b", "day", NOW) == 0.0
    finally:
        await a.aclose()
        await b.aclose()


async def test_the_background_task_flushes_in_batches(redis_url: str) -> None:
    writer = RedisLedger(redis_url, now=lambda: NOW, flush_seconds=0.05)
    reader = RedisLedger(redis_url, now=lambda: NOW)
    try:
        for _ in range(20):
            writer.record(entry(key="bg", route="bg", cost=0.01))
        assert writer.stats.written == 0  # record never waits on Redis
        for _ in range(100):
            if writer.stats.written == 20:
                break
            await asyncio.sleep(0.02)
        assert (await reader.totals("key", NOW))["bg"].requests == 20
    finally:
        await writer.aclose()
        await reader.aclose()


async def test_unwritten_spend_counts_at_once_on_its_replica(redis_url: str) -> None:
    ledger = RedisLedger(redis_url, now=lambda: NOW, flush_seconds=60, spent_ttl=60)
    try:
        assert await ledger.spent("key", "fresh", "day", NOW) == 0.0  # read (and cached) before
        ledger.record(entry(key="fresh", route="fresh", cost=2.5))
        assert await ledger.spent("key", "fresh", "day", NOW) == pytest.approx(2.5)  # queued, not written
        await ledger.flush()
        assert await ledger.spent("key", "fresh", "day", NOW) == pytest.approx(2.5)  # written, not doubled
    finally:
        await ledger.aclose()


async def test_close_writes_what_is_queued(redis_url: str) -> None:
    ledger = RedisLedger(redis_url, now=lambda: NOW, flush_seconds=60)
    ledger.record(entry(key="closing", route="closing", cost=1.0))
    await ledger.aclose()
    reader = RedisLedger(redis_url, now=lambda: NOW)
    try:
        assert await reader.spent("key", "closing", "week", NOW) == pytest.approx(1.0)
    finally:
        await reader.aclose()


async def test_a_redis_that_is_down_drops_usage_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    ledger = RedisLedger(f"redis://127.0.0.1:{free_port()}/0", now=lambda: NOW, flush_seconds=60, timeout=0.2)
    try:
        with caplog.at_level(logging.WARNING, "router.ledger"):
            for _ in range(3):
                ledger.record(entry(cost=1.0))
                await ledger.flush()
        assert ledger.stats.dropped == 3
        assert len([r for r in caplog.records if "did not answer" in r.getMessage()]) == 1
        with pytest.raises(LedgerUnavailable):
            await ledger.spent("key", "ci", "day", NOW)
    finally:
        await ledger.aclose()
