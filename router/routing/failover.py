"""Attempts across a route's targets: which order (balance and health), whether a failure may be
retried, how long to wait, and the small per-process circuit breaker.

A failed attempt moves on only when nothing reached the client yet (the dispatcher opens streams
before answering) and only for failures the route's `retry.on` lists; a target that keeps failing
is put aside for `retry.cooldown` seconds and then tried again (half-open: one success closes it).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from router.config.schema import Retry
from router.core.errors import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from router.routing.lookup import Plan, Target


@dataclass(slots=True)
class _Health:
    failures: int = 0
    open_until: float = 0.0
    in_flight: int = 0


@dataclass(slots=True)
class TargetHealth:
    """Breaker state and in-flight counts by target key, one instance per app (per process)."""

    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    _targets: dict[str, _Health] = field(default_factory=dict)

    def _of(self, key: str) -> _Health:
        health = self._targets.get(key)
        if health is None:
            health = self._targets[key] = _Health()
        return health

    def available(self, key: str) -> bool:
        return self._of(key).open_until <= self.clock()

    def cooling(self) -> list[str]:
        now = self.clock()
        return sorted(key for key, health in self._targets.items() if health.open_until > now)

    def succeeded(self, key: str) -> None:
        health = self._of(key)
        health.failures, health.open_until = 0, 0.0

    def failed(self, key: str, retry: Retry) -> bool:
        """Count a failure; True when it put the target aside."""
        health = self._of(key)
        health.failures += 1
        if health.failures >= retry.failures:
            health.failures, health.open_until = 0, self.clock() + retry.cooldown
            return True
        return False

    def started(self, key: str) -> None:
        self._of(key).in_flight += 1

    def ended(self, key: str) -> None:
        self._of(key).in_flight -= 1

    def in_flight(self, key: str) -> int:
        return self._of(key).in_flight

    def breaker(self, key: str) -> tuple[int, float]:
        """For the dashboard: failures in a row, and seconds of cool-down left (0: available)."""
        health = self._targets.get(key)
        if health is None:
            return 0, 0.0
        return health.failures, max(health.open_until - self.clock(), 0.0)

    def known(self) -> list[str]:
        """Every target key asked about so far."""
        return list(self._targets)


def attempt_order(plan: Plan, health: TargetHealth) -> list[Target]:
    """The targets in the order to try them: by the route's balance, then targets in cool-down
    moved last (still tried when nothing else is left, rather than failing outright)."""
    order = _balanced(plan, health)
    if len(order) == 1:
        return order
    ready = [t for t in order if health.available(t.key)]
    return ready + [t for t in order if t not in ready]


def _balanced(plan: Plan, health: TargetHealth) -> list[Target]:
    targets = list(plan.targets)
    if plan.balance == "weighted" and len(targets) > 1:
        first = health.rng.choices(targets, weights=[t.weight for t in targets])[0]
        return [first, *(t for t in targets if t is not first)]
    if plan.balance == "least-in-flight":
        return sorted(targets, key=lambda t: health.in_flight(t.key))  # stable: ties keep file order
    return targets


def retryable(error: UpstreamError, retry: Retry) -> bool:
    """Only upstream failures the route lists; a client's own mistake (400 from the upstream about
    the request) fails the same way everywhere, so it is never retried."""
    if isinstance(error, UpstreamStatusError):
        return error.upstream_status in retry.on
    if isinstance(error, UpstreamTimeout):
        return "timeout" in retry.on
    if isinstance(error, UpstreamUnreachable | UpstreamProtocolError):
        return "connect" in retry.on
    return False


def wait_before(attempt: int, error: UpstreamError, retry: Retry, same_target: bool, rng: random.Random) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None to give up. Exponential backoff with
    full jitter; the upstream's retry-after counts only when the same target is asked again, and
    one longer than `max-wait` means giving up now rather than holding the client."""
    backoff = rng.uniform(0, min(retry.backoff * 2**attempt, retry.max_wait))
    if not same_target:
        return backoff
    asked = retry_after_seconds(error)
    if asked is None:
        return backoff
    return None if asked > retry.max_wait else max(asked, backoff)


def retry_after_seconds(error: UpstreamError) -> float | None:
    value = error.headers.get("retry-after")
    if value is None or not isinstance(error, UpstreamStatusError) or error.retry_after_default:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None  # an HTTP date: rare from LLM APIs; the backoff applies instead


def attempts_header(outcomes: Sequence[str]) -> str:
    """`x-router-attempts`: every attempt, e.g. `deepseek/deepseek-chat=429, openrouter/x=200`."""
    return ", ".join(outcomes)
