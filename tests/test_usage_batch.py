"""The usage batch (router.observe.usage_batch): finished requests' entries wait for the sinks,
which get every one, in order, once flushed; a sink that fails on one entry still gets the rest,
and the other sinks all of them; readers flush first (the budgets, the metrics)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from router.config.schema import Budget
from router.core.usage_entry import UsageEntry
from router.ledger.budgets import BudgetBook
from router.ledger.memory import MemoryLedger
from router.observe.metrics import Metrics
from router.observe.usage_batch import FLUSH_AT, UsageBatch

NOW = 1_800_000_000.0


def entry(index: int, cost: float = 0.0) -> UsageEntry:
    return UsageEntry(NOW + index, "alice", "main", "up/m", "anthropic", False, 10, 5, 0, 0, cost, cost > 0,
                      200, 1.0, False, False)


def test_sinks_get_nothing_until_the_flush_then_everything_in_order() -> None:
    first: list[UsageEntry] = []
    second: list[UsageEntry] = []
    batch = UsageBatch((first.append, second.append))
    entries = [entry(index) for index in range(5)]
    for one in entries:
        batch.add(one)
    assert (first, second, len(batch)) == ([], [], 5)
    batch.flush()
    assert first == entries and second == entries and len(batch) == 0
    batch.flush()  # nothing held: nothing handed twice
    assert len(first) == 5


def test_a_failing_entry_is_skipped_and_logged_the_rest_still_go(caplog: pytest.LogCaptureFixture) -> None:
    kept: list[UsageEntry] = []
    others: list[UsageEntry] = []

    def picky(one: UsageEntry) -> None:
        if one.time == NOW + 1:
            raise ValueError("this one")
        kept.append(one)

    batch = UsageBatch((picky, others.append))
    for index in range(4):
        batch.add(entry(index))
    with caplog.at_level(logging.ERROR, logger="router.usage"):
        batch.flush()
    assert [one.time - NOW for one in kept] == [0, 2, 3]
    assert len(others) == 4
    assert "a usage sink failed" in caplog.text


def test_the_batch_flushes_itself_when_nothing_else_does() -> None:
    """An app driven without its lifespan has no periodic flush: the batch stays bounded."""
    seen: list[UsageEntry] = []
    batch = UsageBatch((seen.append,))
    for index in range(FLUSH_AT + 3):
        batch.add(entry(index))
    assert len(seen) == FLUSH_AT and len(batch) == 3


def test_a_budget_decision_sees_the_request_that_just_finished() -> None:
    """BudgetBook.settle: the spend of a request still in the batch counts before the next one."""
    ledger = MemoryLedger(now=lambda: NOW)
    batch = UsageBatch((ledger.record,))
    book = BudgetBook(ledger, lambda: NOW, batch.flush)
    budget = Budget(usd=1.0, period="day")
    batch.add(entry(0, cost=1.25))
    status = asyncio.run(book.status("key", "alice", budget))
    assert status.over and status.spent == pytest.approx(1.25)


def test_a_scrape_counts_the_requests_still_in_the_batch() -> None:
    metrics = Metrics()
    batch = UsageBatch((metrics.record_usage,))
    metrics.before_flush = batch.flush
    batch.add(entry(0, cost=0.5))
    text = metrics.exposition("")[0].decode()
    assert 'router_cost_usd_total{key="alice",route="main",target="up/m"} 0.5' in text
