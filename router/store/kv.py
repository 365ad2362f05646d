"""What the gateway asks of a store of kept answers, whichever backend holds them.

Keys are strings (an answer's id), values bytes (JSON). Every value lives at most `ttl`
seconds. A store never raises for its backend's sake: a read that fails is "not found", a write
or delete that fails is logged and counted, so a Redis outage costs the feature, never a request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

# One warning per this many seconds at most when the backend fails: an outage must not flood the log.
WARN_INTERVAL_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """`[response-store]` and `[limits]` resolved: which backend keeps answers, how long and how
    many. The Redis URL may hold a password from the environment, so it stays out of repr().

    max_entries / max_bytes bound the memory backend (least recently used entries go first);
    Redis is bounded by the TTL and its own maxmemory policy. No single value larger than
    max_bytes is kept by either."""

    ttl: int = 3600
    max_entries: int = 10_000
    max_bytes: int = 64 * 1024 * 1024
    backend: Literal["memory", "redis"] = "memory"
    redis_url: str | None = field(default=None, repr=False)


@dataclass(slots=True)
class StoreStats:
    """stored / evicted (memory: pushed out by the bounds) / too_large (not kept: larger than
    max_bytes) / read_failed and write_failed (Redis unreachable or erring)."""

    stored: int = 0
    evicted: int = 0
    too_large: int = 0
    read_failed: int = 0
    write_failed: int = 0


class KeyValueStore(Protocol):
    settings: StoreSettings
    stats: StoreStats

    async def get(self, key: str) -> bytes | None:
        """The value, or None: never stored, expired, evicted, deleted, or unreadable now."""
        ...

    async def put(self, key: str, value: bytes, ttl: int | None = None) -> None:
        """Keep `value` under `key` for `ttl` seconds, by default the settings' (replacing any
        value there)."""
        ...

    async def delete(self, key: str) -> bool:
        """True when a value was there and is gone."""
        ...

    def reconfigure(self, settings: StoreSettings) -> bool:
        """Take new bounds in place (a reload) and say so; False when this backend cannot
        serve `settings` (another backend or Redis URL): a new store is needed."""
        ...

    async def aclose(self) -> None: ...
