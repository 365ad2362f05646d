"""The memory store: bounded by entries and bytes (least recently used out first), entries expire
`ttl` seconds after they were stored, on read and on insert, with no task; a reload's new
bounds apply in place."""

from __future__ import annotations

from router.store.kv import StoreSettings
from router.store.memory import MemoryStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def store(clock: Clock, **bounds: int) -> MemoryStore:
    return MemoryStore(StoreSettings(**{"ttl": 60, "max_entries": 100, "max_bytes": 10_000, **bounds}), clock=clock)


async def test_a_value_is_kept_read_and_deleted() -> None:
    kept = store(Clock())
    await kept.put("a", b"one")
    assert await kept.get("a") == b"one"
    await kept.put("a", b"two!")  # replaced; counted once
    assert await kept.get("a") == b"two!" and len(kept) == 1 and kept.total_bytes == len("a") + len(b"two!")
    assert await kept.delete("a") is True
    assert await kept.get("a") is None and kept.total_bytes == 0
    assert await kept.delete("a") is False


async def test_an_entry_expires_ttl_seconds_after_it_was_stored_reading_does_not_extend_it() -> None:
    clock = Clock()
    kept = store(clock, ttl=60)
    await kept.put("a", b"x")
    clock.now += 59
    assert await kept.get("a") == b"x"
    clock.now += 1
    assert await kept.get("a") is None
    assert len(kept) == 0 and kept.total_bytes == 0  # dropped when read


async def test_expired_entries_at_the_cold_end_go_when_something_is_stored() -> None:
    clock = Clock()
    kept = store(clock, ttl=60)
    await kept.put("old", b"x" * 100)
    clock.now += 30
    await kept.put("newer", b"y")
    clock.now += 31  # "old" expired, "newer" not
    await kept.put("newest", b"z")
    assert len(kept) == 2 and kept.total_bytes == len("newer") + 1 + len("newest") + 1
    assert await kept.delete("old") is False


async def test_an_expired_entry_is_not_deleted_twice() -> None:
    clock = Clock()
    kept = store(clock, ttl=60)
    await kept.put("a", b"x")
    clock.now += 60
    assert await kept.delete("a") is False  # it was there, but no longer alive: not "deleted"


async def test_the_least_recently_used_go_first_when_there_are_too_many() -> None:
    kept = store(Clock(), max_entries=3)
    for key in "abc":
        await kept.put(key, b"v")
    assert await kept.get("a") == b"v"  # "a" is now the most recently used
    await kept.put("d", b"v")
    assert [await kept.get(key) for key in "abcd"] == [b"v", None, b"v", b"v"]
    assert kept.stats.evicted == 1


async def test_the_byte_bound_holds_whatever_the_entry_count() -> None:
    kept = store(Clock(), max_bytes=1024)
    for index in range(10):
        await kept.put(f"k{index}", b"x" * 200)
    assert kept.total_bytes <= 1024
    assert len(kept) == 1024 // 202
    assert await kept.get("k9") is not None and await kept.get("k0") is None


async def test_a_value_larger_than_the_byte_bound_is_not_kept_and_pushes_nothing_out() -> None:
    kept = store(Clock(), max_bytes=1024)
    await kept.put("small", b"x")
    await kept.put("huge", b"x" * 2000)
    assert await kept.get("huge") is None and await kept.get("small") == b"x"
    assert kept.stats.too_large == 1


async def test_new_bounds_apply_in_place_and_entries_are_kept() -> None:
    clock = Clock()
    kept = store(clock, max_entries=10)
    for key in "abcde":
        await kept.put(key, b"v")
    assert kept.reconfigure(StoreSettings(ttl=60, max_entries=2, max_bytes=10_000)) is True
    assert len(kept) == 2 and await kept.get("e") == b"v" and await kept.get("d") == b"v"
    assert kept.reconfigure(StoreSettings(backend="redis", redis_url="redis://127.0.0.1:1/0")) is False
