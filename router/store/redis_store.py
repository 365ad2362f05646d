"""The shared store: every replica pointed at one Redis sees every kept answer.

One key per answer, `router:resp:<id>` (another use of the store, the response cache, names its
own prefix), written with SET … EX ttl, so Redis expires it; its
maxmemory policy bounds the rest. Like the rate limiter's backend (router.ratelimit.redis_backend),
a Redis that does not answer within `timeout` is a failure, and for `pause` seconds after one
the store does not try again (every request would otherwise wait for its own timeout while Redis
is down). Failures never reach the caller: a read is "not found", a write or delete is lost;
each is counted and logged (at most one warning per WARN_INTERVAL_SECONDS).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from router.store.kv import WARN_INTERVAL_SECONDS, StoreSettings, StoreStats

log = logging.getLogger("router.store")

PREFIX = "router:resp:"
T = TypeVar("T")


class _Unavailable(Exception):
    pass


class RedisStore:
    def __init__(
        self, settings: StoreSettings, *, timeout: float = 0.5, pause: float = 1.0,
        clock: Callable[[], float] = time.monotonic, prefix: str = PREFIX,
    ) -> None:
        assert settings.redis_url is not None, "a Redis store needs a URL"
        # Imported here: a deployment without Redis never loads the client.
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.settings = settings
        self.stats = StoreStats()
        self.prefix = prefix
        self._client: Any = Redis.from_url(
            settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
        )
        self._timeout, self._pause, self._clock = timeout, pause, clock
        self._down_until = -math.inf
        self._last_warning = -math.inf
        self._quiet = 0  # warnings held back since the last one

    async def get(self, key: str) -> bytes | None:
        try:
            value: bytes | None = await self._call(lambda: self._client.get(self.prefix + key))
        except _Unavailable as exc:
            self.stats.read_failed += 1
            self._warn(f"{key} could not be read, answered as not found ({exc})")
            return None
        return value

    async def put(self, key: str, value: bytes, ttl: int | None = None) -> None:
        settings = self.settings
        if len(value) + len(key) > settings.max_bytes:
            self.stats.too_large += 1
            log.info("response store: %s not kept: larger than max-bytes (%d)", key, settings.max_bytes)
            return
        try:
            await self._call(lambda: self._client.set(self.prefix + key, value, ex=settings.ttl if ttl is None else ttl))
        except _Unavailable as exc:
            self.stats.write_failed += 1
            self._warn(f"{key} could not be kept ({exc})")
            return
        self.stats.stored += 1

    async def delete(self, key: str) -> bool:
        try:
            deleted: int = await self._call(lambda: self._client.delete(self.prefix + key))
        except _Unavailable as exc:
            self.stats.write_failed += 1
            self._warn(f"{key} could not be deleted ({exc})")
            return False
        return deleted > 0

    def reconfigure(self, settings: StoreSettings) -> bool:
        if settings.backend != "redis" or settings.redis_url != self.settings.redis_url:
            return False
        self.settings = settings  # values already kept keep their TTL
        return True

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(self, command: Callable[[], Awaitable[T]]) -> T:
        if self._clock() < self._down_until:
            raise _Unavailable("Redis did not answer a moment ago")
        try:
            # The socket timeout bounds each read; this bounds the whole call (connect included).
            return await asyncio.wait_for(command(), self._timeout * 2)
        except Exception as exc:  # noqa: BLE001 - the one boundary for Redis: every failure is "unavailable"
            self._down_until = self._clock() + self._pause
            raise _Unavailable(f"{type(exc).__name__}: {exc}") from None

    def _warn(self, message: str) -> None:
        now = self._clock()
        if now - self._last_warning < WARN_INTERVAL_SECONDS:
            self._quiet += 1
            return
        held = f" ({self._quiet} more since the last warning)" if self._quiet else ""
        self._last_warning, self._quiet = now, 0
        log.warning("response store: Redis is unreachable: %s%s", message, held)
