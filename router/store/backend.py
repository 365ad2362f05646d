"""Which store a table asks for, and the store a reload keeps or replaces.

The backend follows `[limits]`: Redis when the rate limits count in Redis (the same URL, so a
deployment that shares budgets across replicas shares kept answers too), else memory. The rest
comes from `[response-store]`; `enabled = false` keeps nothing (None).
"""

from __future__ import annotations

from router.config.load import LoadedConfig
from router.store.kv import KeyValueStore, StoreSettings
from router.store.memory import MemoryStore
from router.store.redis_store import PREFIX, RedisStore


def store_settings(loaded: LoadedConfig) -> StoreSettings | None:
    section, limits = loaded.config.response_store, loaded.access.settings
    if not section.enabled:
        return None
    redis = limits.backend == "redis" and limits.redis_url is not None
    return StoreSettings(
        ttl=section.ttl, max_entries=section.max_entries, max_bytes=section.max_bytes,
        backend="redis" if redis else "memory", redis_url=limits.redis_url if redis else None,
    )


def cache_settings(loaded: LoadedConfig) -> StoreSettings | None:
    """The response cache's store (`[cache]`, on the `[limits]` backend); None when no route
    caches, so a table without `cache` opens nothing. Each entry's TTL is its route's."""
    if not any(route.cache is not None for route in loaded.config.routes):
        return None
    section, limits = loaded.config.cache, loaded.access.settings
    redis = limits.backend == "redis" and limits.redis_url is not None
    return StoreSettings(
        max_entries=section.max_entries, max_bytes=section.max_bytes,
        backend="redis" if redis else "memory", redis_url=limits.redis_url if redis else None,
    )


def open_store(settings: StoreSettings | None, prefix: str = PREFIX) -> KeyValueStore | None:
    """`prefix`: the Redis keys' (each use of a shared Redis has its own)."""
    if settings is None:
        return None
    if settings.backend == "redis":
        return RedisStore(settings, prefix=prefix)
    return MemoryStore(settings)


def renewed_store(store: KeyValueStore | None, settings: StoreSettings | None,
                  prefix: str = PREFIX) -> KeyValueStore | None:
    """The store for `settings`: `store` itself when it can serve them (a memory store keeps its
    answers across a reload that changes its bounds), else a new one; the caller closes the old
    one when it is not returned."""
    if store is not None and settings is not None and store.reconfigure(settings):
        return store
    return open_store(settings, prefix)
