"""The Redis store against a real redis-server: replicas share what is kept, SET with EX bounds
its life, and a Redis that is down or never answers fails soft and fast (read: not found;
write and delete: lost, counted), never hanging a request."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Iterator

import pytest

from router.store.kv import StoreSettings
from router.store.redis_store import PREFIX, RedisStore
from tests.support.redis_server import redis_server
from tests.support.servers import free_port


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


def settings(url: str, **values: int) -> StoreSettings:
    return StoreSettings(**{"ttl": 60, "max_bytes": 10_000, **values}, backend="redis", redis_url=url)


def fresh() -> str:
    return f"resp_{uuid.uuid4().hex}"


async def test_replicas_see_what_each_other_kept_and_deleted(redis_url: str) -> None:
    replica_a, replica_b = RedisStore(settings(redis_url)), RedisStore(settings(redis_url))
    key = fresh()
    try:
        await replica_a.put(key, b'{"a":1}')
        assert await replica_b.get(key) == b'{"a":1}'
        assert await replica_b.delete(key) is True
        assert await replica_a.get(key) is None
        assert await replica_a.delete(key) is False
    finally:
        await replica_a.aclose()
        await replica_b.aclose()


async def test_values_are_set_with_the_ttl_under_the_prefix(redis_url: str) -> None:
    from redis.asyncio import Redis

    kept = RedisStore(settings(redis_url, ttl=120))
    raw = Redis.from_url(redis_url)
    key = fresh()
    try:
        await kept.put(key, b"v")
        assert 115 <= await raw.ttl(PREFIX + key) <= 120
    finally:
        await kept.aclose()
        await raw.aclose()


async def test_expiry_is_redis_own(redis_url: str) -> None:
    kept = RedisStore(settings(redis_url, ttl=1))
    key = fresh()
    try:
        await kept.put(key, b"v")
        assert await kept.get(key) == b"v"
        await asyncio.sleep(1.2)  # Redis's clock, not ours: the one test that waits
        assert await kept.get(key) is None
    finally:
        await kept.aclose()


async def test_a_value_larger_than_max_bytes_is_not_kept(redis_url: str) -> None:
    kept = RedisStore(settings(redis_url, max_bytes=1024))
    key = fresh()
    try:
        await kept.put(key, b"x" * 2000)
        assert await kept.get(key) is None and kept.stats.too_large == 1
    finally:
        await kept.aclose()


async def test_a_redis_that_is_down_fails_soft_and_fast() -> None:
    kept = RedisStore(settings(f"redis://127.0.0.1:{free_port()}/0"), timeout=0.2)
    try:
        started = time.monotonic()
        assert await kept.get("resp_1") is None
        await kept.put("resp_1", b"v")
        assert await kept.delete("resp_1") is False
        assert time.monotonic() - started < 1.0
        assert kept.stats.read_failed == 1 and kept.stats.write_failed == 2 and kept.stats.stored == 0
    finally:
        await kept.aclose()


async def test_a_redis_that_never_answers_is_given_up_on_then_left_alone_for_a_pause() -> None:
    """A listener that accepts and says nothing: each call is bounded by the timeout, and the
    calls right after a failure do not wait at all."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    port = silent.getsockname()[1]
    kept = RedisStore(settings(f"redis://127.0.0.1:{port}/0"), timeout=0.2, pause=30.0)
    try:
        started = time.monotonic()
        assert await kept.get("resp_1") is None
        first = time.monotonic() - started
        assert first < 1.0
        started = time.monotonic()
        for _ in range(5):
            assert await kept.get("resp_1") is None
        assert time.monotonic() - started < 0.05
        assert kept.stats.read_failed == 6
    finally:
        await kept.aclose()
        silent.close()


async def test_new_settings_for_the_same_redis_apply_in_place(redis_url: str) -> None:
    kept = RedisStore(settings(redis_url))
    try:
        assert kept.reconfigure(settings(redis_url, ttl=5)) is True and kept.settings.ttl == 5
        assert kept.reconfigure(settings(redis_url.replace("/0", "/1"))) is False
        assert kept.reconfigure(StoreSettings()) is False  # memory
    finally:
        await kept.aclose()
