"""The in-process store: each process (replica, worker) keeps its own answers. Bounded by entry
count and total bytes, least recently used out first; each entry expires `ttl` seconds after it
was stored. Expiry needs no task: an expired entry is dropped when it is read, and expired
entries at the cold end are dropped whenever something is stored."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from router.store.kv import StoreSettings, StoreStats

log = logging.getLogger("router.store")


class _Entry:
    __slots__ = ("expires", "size", "value")

    def __init__(self, value: bytes, size: int, expires: float) -> None:
        self.value, self.size, self.expires = value, size, expires


DEFAULTS = StoreSettings()


class MemoryStore:
    def __init__(self, settings: StoreSettings = DEFAULTS, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.stats = StoreStats()
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # least recently used first
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def total_bytes(self) -> int:
        return self._bytes

    async def get(self, key: str) -> bytes | None:
        return self.get_now(key)

    async def put(self, key: str, value: bytes, ttl: int | None = None) -> None:
        self.put_now(key, value, ttl)

    async def delete(self, key: str) -> bool:
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        self._bytes -= entry.size
        return entry.expires > self._clock()

    def get_now(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= self._clock():
            self._drop(key, entry)
            return None
        self._entries.move_to_end(key)
        return entry.value

    def put_now(self, key: str, value: bytes, ttl: int | None = None) -> None:
        size = _size(key, value)
        settings = self.settings
        if size > settings.max_bytes:
            self.stats.too_large += 1
            log.info("response store: %s not kept: %d bytes, more than max-bytes (%d)", key, size, settings.max_bytes)
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        self._entries[key] = _Entry(value, size, self._clock() + (settings.ttl if ttl is None else ttl))
        self._bytes += size
        self.stats.stored += 1
        self._trim()

    def reconfigure(self, settings: StoreSettings) -> bool:
        if settings.backend != "memory":
            return False
        self.settings = settings  # entries keep the expiry they were stored with
        self._trim()
        return True

    async def aclose(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def _trim(self) -> None:
        """Expired entries at the cold end first (they would be dropped anyway), then the least
        recently used until both bounds hold."""
        entries, now = self._entries, self._clock()
        while entries:
            key, entry = next(iter(entries.items()))
            if entry.expires > now:
                break
            self._drop(key, entry)
        settings = self.settings
        while entries and (len(entries) > settings.max_entries or self._bytes > settings.max_bytes):
            key, entry = entries.popitem(last=False)
            self._bytes -= entry.size
            self.stats.evicted += 1

    def _drop(self, key: str, entry: _Entry) -> None:
        del self._entries[key]
        self._bytes -= entry.size


def _size(key: str, value: bytes) -> int:
    """What an entry counts against max-bytes: its value and key (the bookkeeping around them is
    a constant per entry, bounded by max-entries)."""
    return len(value) + len(key)
