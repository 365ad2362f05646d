"""Which store a table asks for (the backend follows [limits]; [response-store] the rest), and
what a reload does with it: new bounds apply in place (a memory store keeps its answers), a
new backend or Redis URL makes a new store and closes the old one."""

from __future__ import annotations

from collections.abc import Mapping

from router.config.load import LoadedConfig, load_config_text
from router.gateway.state import open_state
from router.routing.lookup import build_table
from router.store import StoreSettings, store_settings
from router.store.memory import MemoryStore
from router.store.redis_store import RedisStore

ROUTES = """
[upstreams.mock]
kind = "mock"

[[routes]]
name = "all"
models = ["*"]
to = "mock"
"""


def loaded(extra: str = "", environ: Mapping[str, str] | None = None) -> LoadedConfig:
    return load_config_text(extra + ROUTES, filename="routes.toml", environ=environ or {})


def test_memory_by_default_with_the_documented_bounds() -> None:
    assert store_settings(loaded()) == StoreSettings(ttl=3600, max_entries=10_000, max_bytes=64 * 1024 * 1024)


def test_redis_when_the_limits_count_in_redis_with_their_url() -> None:
    table = loaded('[limits]\nbackend = "redis"\nredis-url = "env:REDIS_URL"\n[response-store]\nttl = 60\n',
                   {"REDIS_URL": "redis://127.0.0.1:6390/2"})
    settings = store_settings(table)
    assert settings is not None
    assert (settings.backend, settings.redis_url, settings.ttl) == ("redis", "redis://127.0.0.1:6390/2", 60)
    assert "6390" not in repr(settings)  # a URL may hold a password


def test_off_keeps_nothing() -> None:
    assert store_settings(loaded("[response-store]\nenabled = false\n")) is None


async def test_a_reload_keeps_a_memory_store_and_replaces_it_for_redis() -> None:
    state = open_state(build_table(loaded("[response-store]\nmax-entries = 5\n")))
    first = state.store
    assert isinstance(first, MemoryStore) and first.settings.max_entries == 5
    await first.put("resp_1", b"kept")

    state.install(build_table(loaded("[response-store]\nmax-entries = 7\n")))
    assert state.store is first and first.settings.max_entries == 7
    assert await first.get("resp_1") == b"kept"

    redis = '[limits]\nbackend = "redis"\nredis-url = "redis://127.0.0.1:6391/0"\n'
    state.install(build_table(loaded(redis)))
    assert isinstance(state.store, RedisStore)
    second = state.store
    state.install(build_table(loaded(redis + "[response-store]\nttl = 10\n")))
    assert state.store is second and second.settings.ttl == 10

    state.install(build_table(loaded("[response-store]\nenabled = false\n")))
    assert state.store is None
    await state.aclose()
