"""The in-process backend: each process (replica, worker) counts on its own. Owned by the
RouterState's Limiter, never module-level; it survives reloads so a reload never resets budgets."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence

from router.config.access import Rule
from router.ratelimit.window import WINDOW_SECONDS, Budget, Decision, retry_after


class _Entry:
    __slots__ = ("id", "time", "weight")

    def __init__(self, time: float, weight: int, entry_id: str) -> None:
        self.time, self.weight, self.id = time, weight, entry_id


class _Log:
    """One budget's entries, oldest first, their running total, and an index for corrections."""

    __slots__ = ("by_id", "entries", "total")

    def __init__(self) -> None:
        self.entries: deque[_Entry] = deque()
        self.total = 0
        self.by_id: dict[str, _Entry] = {}

    def expire(self, now: float, window: float) -> None:
        entries = self.entries
        while entries and entries[0].time + window <= now:
            entry = entries.popleft()
            self.total -= entry.weight
            del self.by_id[entry.id]

    def budget(self, rule: Rule, cost: int, now: float, window: float) -> Budget:
        reset = self.entries[0].time + window - now if self.entries else 0.0
        pairs = ((entry.time, entry.weight) for entry in self.entries)
        wait = retry_after(list(pairs), self.total, cost, rule.limit, now, window) if self.total + cost > rule.limit else 0.0
        return Budget(rule, self.total, reset, wait)

    def add(self, entry_id: str, weight: int, now: float) -> None:
        entry = _Entry(now, weight, entry_id)
        self.entries.append(entry)
        self.by_id[entry_id] = entry
        self.total += weight


class MemoryBackend:
    def __init__(self, clock: Callable[[], float] = time.monotonic, window: float = WINDOW_SECONDS) -> None:
        self._clock = clock
        self._window = window
        self._logs: dict[str, _Log] = {}

    async def acquire(self, rules: Sequence[Rule], entry: str, costs: Sequence[int]) -> Decision:
        return self.acquire_now(rules, entry, costs)

    def acquire_now(self, rules: Sequence[Rule], entry: str, costs: Sequence[int]) -> Decision:
        now, window = self._clock(), self._window
        logs = [self._log(rule.name) for rule in rules]
        budgets = []
        for log, rule, cost in zip(logs, rules, costs):
            log.expire(now, window)
            budgets.append(log.budget(rule, cost, now, window))
        if any(budget.retry_after > 0 for budget in budgets):
            return Decision(False, tuple(budgets))
        admitted = []
        for log, budget, cost in zip(logs, budgets, costs):
            log.add(entry, cost, now)
            admitted.append(Budget(budget.rule, log.total, budget.reset or window, 0.0))
        return Decision(True, tuple(admitted))

    async def adjust(self, rules: Sequence[Rule], entry: str, old: int, new: int) -> None:
        self.adjust_now(rules, entry, new)

    def adjust_now(self, rules: Sequence[Rule], entry: str, new: int) -> None:
        for rule in rules:
            log = self._logs.get(rule.name)
            found = log.by_id.get(entry) if log is not None else None
            if log is not None and found is not None:
                log.total += new - found.weight
                found.weight = new

    async def aclose(self) -> None:
        self._logs.clear()

    def used(self, name: str) -> int:
        """What budget `name` (a Rule's name) holds in the window now."""
        log = self._logs.get(name)
        if log is None:
            return 0
        log.expire(self._clock(), self._window)
        return log.total

    def _log(self, name: str) -> _Log:
        log = self._logs.get(name)
        if log is None:
            log = self._logs[name] = _Log()
        return log
