"""The limiter a RouterState owns (one per app, never module-level).

    dispatch ── rules = access.admit(key, route, model) ──► None: no limit, nothing else runs
                          │
                          ▼
               Limiter.admit(rules, estimate) ──► RateLimited (429, retry-after, headers)
                          │                    └► LimiterUnavailable (503, fail-open = false)
                          ▼
               Ticket: its headers go on the answer; Ticket.settle_tokens(usage) corrects the
               token budgets once the answer's usage is read (unary: at once; stream: at its end)

The backend follows the table's `[limits]`: the in-memory one (kept across reloads, so a reload
never resets a budget) or a Redis one, made again only when its URL changes.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from router.config.access import LimitSettings, Rule, RuleSet
from router.core.errors import LimiterUnavailable, RateLimited
from router.core.usage import Tokens
from router.ratelimit.memory import MemoryBackend
from router.ratelimit.window import Backend, BackendUnavailable, Budget, Decision

log = logging.getLogger("router.ratelimit")

WARN_INTERVAL_SECONDS = 30.0


@dataclass(slots=True)
class LimiterStats:
    """limited: requests refused with 429. unavailable: decisions taken without Redis (served
    when fail-open, refused with 503 when not); adjust_failed: token corrections Redis missed."""

    limited: int = 0
    unavailable: int = 0
    adjust_failed: int = 0


class Limiter:
    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
        redis_factory: Callable[[str], Backend] | None = None,
    ) -> None:
        self.memory = MemoryBackend(clock)
        self.stats = LimiterStats()
        self._clock, self._wall = clock, wall
        self._redis_factory = redis_factory or _redis_backend
        self._redis: Backend | None = None
        self._redis_url: str | None = None
        self._last_warning = -math.inf
        # Told of every decision taken without Redis (RouterState points it at the metrics).
        self.on_unavailable: Callable[[], None] | None = None
        self._quiet = 0  # warnings held back since the last one
        self._tasks: set[asyncio.Task[Any]] = set()

    async def admit(self, rules: RuleSet, estimate_tokens: Callable[[], int]) -> Ticket | None:
        """Count this request against every budget in `rules`, or raise. None: admitted without
        counting (the shared store is down and limits fail open). `estimate_tokens`: the request's
        input tokens by the one estimator (router.hub.tokens), asked only when a rule counts them."""
        estimate = estimate_tokens() if rules.counts_tokens else 0
        costs = [1 if rule.unit == "requests" else estimate for rule in rules.rules]
        entry = secrets.token_hex(8)
        backend = self.backend(rules.settings)
        try:
            decision = await backend.acquire(rules.rules, entry, costs)
        except BackendUnavailable as exc:
            self._unavailable(rules.settings, str(exc))
            return None
        headers = rate_headers(decision.budgets, self._wall())
        if not decision.allowed:
            self.stats.limited += 1
            raise refusal(decision, estimate, headers)
        tokens = tuple(rule for rule in rules.rules if rule.unit == "tokens")
        return Ticket(self, backend, tokens, entry, estimate, headers)

    def backend(self, settings: LimitSettings) -> Backend:
        if settings.backend != "redis" or settings.redis_url is None:
            return self.memory
        if self._redis is None or settings.redis_url != self._redis_url:
            if self._redis is not None:
                self.spawn(self._redis.aclose())
            self._redis, self._redis_url = self._redis_factory(settings.redis_url), settings.redis_url
        return self._redis

    def adjust(self, backend: Backend, rules: Sequence[Rule], entry: str, old: int, new: int) -> None:
        if backend is self.memory:
            self.memory.adjust_now(rules, entry, new)  # no I/O: no task either
        else:
            self.spawn(self._adjust(backend, rules, entry, old, new))

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Let corrections in flight finish (briefly), then close the Redis client."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def _adjust(self, backend: Backend, rules: Sequence[Rule], entry: str, old: int, new: int) -> None:
        try:
            await backend.adjust(rules, entry, old, new)
        except BackendUnavailable as exc:
            self.stats.adjust_failed += 1
            self._warn(f"a token count could not be corrected ({exc})")

    def _unavailable(self, settings: LimitSettings, reason: str) -> None:
        self.stats.unavailable += 1
        if self.on_unavailable is not None:
            self.on_unavailable()
        outcome = "serving without limits (fail-open)" if settings.fail_open else "answering 503 (fail-open = false)"
        self._warn(f"Redis is unreachable ({reason}); {outcome}")
        if not settings.fail_open:
            message = "rate limits cannot be checked right now (their store is unreachable); retry shortly"
            raise LimiterUnavailable(message, headers={"retry-after": "1"})

    def _warn(self, message: str) -> None:
        """At most one warning per WARN_INTERVAL_SECONDS: a Redis outage must not flood the log."""
        now = self._clock()
        if now - self._last_warning < WARN_INTERVAL_SECONDS:
            self._quiet += 1
            return
        held = f" ({self._quiet} more since the last warning)" if self._quiet else ""
        self._last_warning, self._quiet = now, 0
        log.warning("rate limits: %s%s", message, held)


class Ticket:
    """An admitted request: its rate headers, and the token entry to correct once the answer's
    real usage is known (settled at most once)."""

    __slots__ = ("_backend", "_entry", "_estimate", "_limiter", "_rules", "_settled", "headers")

    def __init__(self, limiter: Limiter, backend: Backend, token_rules: tuple[Rule, ...], entry: str,
                 estimate: int, headers: dict[str, str]) -> None:
        self._limiter, self._backend, self._rules = limiter, backend, token_rules
        self._entry, self._estimate, self._settled = entry, estimate, False
        self.headers = headers

    def settle_tokens(self, tokens: Tokens | None) -> None:
        """The answer's usage as read once (router.gateway.context): input + output. An input of
        0 (a converted stream whose upstream reports input only at its end, if ever) keeps the
        estimate; no usage at all keeps the estimate whole."""
        if tokens is None:
            self.settle(None)
        else:
            self.settle((tokens[0] or self._estimate) + tokens[1])

    def settle(self, used: int | None) -> None:
        """The hook for the real usage (input + output tokens). None keeps the estimate."""
        if self._settled:
            return
        self._settled = True
        if used is not None and used != self._estimate and self._rules:
            self._limiter.adjust(self._backend, self._rules, self._entry, self._estimate, used)


def refusal(decision: Decision, estimate: int, headers: dict[str, str]) -> RateLimited:
    worst = max((b for b in decision.budgets if b.retry_after > 0), key=lambda b: b.retry_after)
    rule = worst.rule
    if math.isinf(worst.retry_after):
        wait = 60
        message = (f"this request needs about {estimate} tokens, more than the {rule.limit} tokens "
                   f"per minute {rule.scope} allows")
    else:
        wait = max(1, math.ceil(worst.retry_after))
        message = f"rate limit of {rule.scope} reached: {rule.limit} {rule.unit} per minute; retry in {wait} s"
    headers["retry-after"] = str(wait)
    error = RateLimited(message, headers=headers)
    kind, _, rest = rule.name.partition(":")  # "key:team-a:rpm" → ("key", "team-a")
    error.limit = (kind, rest.rpartition(":")[0])
    return error


def rate_headers(budgets: Sequence[Budget], wall_now: float) -> dict[str, str]:
    """OpenAI's `x-ratelimit-*` and Anthropic's `anthropic-ratelimit-*` headers, for the tightest
    budget of each unit (requests, tokens)."""
    headers: dict[str, str] = {}
    for unit in ("requests", "tokens"):
        tightest = min((b for b in budgets if b.rule.unit == unit), key=lambda b: (b.remaining, -b.reset), default=None)
        if tightest is None:
            continue
        limit, remaining = str(tightest.rule.limit), str(tightest.remaining)
        headers[f"x-ratelimit-limit-{unit}"] = limit
        headers[f"x-ratelimit-remaining-{unit}"] = remaining
        headers[f"x-ratelimit-reset-{unit}"] = duration(tightest.reset)
        headers[f"anthropic-ratelimit-{unit}-limit"] = limit
        headers[f"anthropic-ratelimit-{unit}-remaining"] = remaining
        headers[f"anthropic-ratelimit-{unit}-reset"] = rfc3339(wall_now + tightest.reset)
    return headers


def duration(seconds: float) -> str:
    """OpenAI's reset format: `20ms`, `1.5s`, `6m0s`."""
    if seconds < 1:
        return f"{max(round(seconds * 1000), 0)}ms"
    if seconds < 60:
        return f"{round(seconds, 3):g}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{round(rest):d}s"


def rfc3339(timestamp: float) -> str:
    return datetime.fromtimestamp(math.ceil(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _redis_backend(url: str) -> Backend:
    from router.ratelimit.redis_backend import RedisBackend

    return RedisBackend(url)
