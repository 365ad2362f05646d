"""The counting both backends share: a sliding-window log with weights.

Each admitted request leaves one entry per budget it drew on: (time, weight, id), weight 1 for
requests and the token estimate for tokens. A budget's use is the sum of the weights of its
entries younger than the window, kept as a running total (each entry is added once and removed
once, so checking is O(1) amortised). An entry counts during [t, t + window): the limit holds
over *every* window, not per clock minute, and `retry_after` is exact: the time until enough of
the oldest entries leave. Correcting a token estimate rewrites one entry's weight in place.

A request that does not fit leaves nothing behind, in any budget: all budgets or none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from router.config.access import Rule

WINDOW_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Budget:
    """One budget after a decision. `used` includes the request when it was admitted.

    reset: seconds until the oldest entry leaves the window (0 when nothing is counted).
    retry_after: seconds until this request would fit (0: it fits now; inf: never, it is larger
      than the limit itself).
    """

    rule: Rule
    used: int
    reset: float
    retry_after: float

    @property
    def remaining(self) -> int:
        return max(self.rule.limit - self.used, 0)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    budgets: tuple[Budget, ...]


class BackendUnavailable(Exception):
    """The shared store did not answer; the limiter fails open or closed as configured."""


class Backend(Protocol):
    async def acquire(self, rules: Sequence[Rule], entry: str, costs: Sequence[int]) -> Decision:
        """Admit one request drawing `costs[i]` on `rules[i]` (all or none), as entry `entry`."""
        ...

    async def adjust(self, rules: Sequence[Rule], entry: str, old: int, new: int) -> None:
        """Entry `entry` weighs `new` instead of `old` in these budgets (while still in the window)."""
        ...

    async def aclose(self) -> None: ...


def retry_after(entries: Sequence[tuple[float, int]], total: int, cost: int, limit: int, now: float, window: float) -> float:
    """Seconds until `cost` fits under `limit`, given the window's entries (time, weight), oldest
    first, summing to `total`."""
    if total + cost <= limit:
        return 0.0
    if cost > limit:
        return math.inf
    freed = 0
    for time, weight in entries:
        freed += weight
        if total - freed + cost <= limit:
            return max(time + window - now, 0.0)
    return window  # unreachable while `total` is the sum of `entries`
