"""The server's live state: the current table and the upstream clients it uses.

One object per app (never module-level). A request reads `state.table` once and keeps that
reference, so a reload that swaps it mid-request never changes what the request sees.
`install` is the only way a new table goes live: table, clients and key hashes change together,
in one synchronous step (no await in between), so no request can see a mix of two tables.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from router.config.access import KeyHashes
from router.config.load import LoadedConfig
from router.gateway.cache_store import ResponseCache, renewed_cache
from router.ledger import BudgetBook, Ledger, ledger_matches, open_ledger
from router.observe.accesslog import AccessLog
from router.observe.metrics import Metrics
from router.observe.recent import RecentWindow
from router.observe.upstream_errors import RecentUpstreamErrors
from router.observe.usage_batch import UsageBatch, UsageSink
from router.ratelimit import Limiter
from router.routing.failover import TargetHealth
from router.routing.lookup import Table
from router.store import KeyValueStore, open_store, renewed_store, store_settings
from router.upstream.client import (
    ClientSpec,
    PoolChange,
    TransportFactory,
    UpstreamClient,
    UpstreamPool,
    close_clients,
    default_transport,
)

# How long a client a reload replaced stays open: requests that took it before the swap keep
# using it. The default read timeout, so a request that would not have timed out is not cut.
RETIRE_GRACE_SECONDS = 600.0


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class RouterState:
    table: Table
    pool: UpstreamPool
    key_hashes: Mapping[str, str]
    generated_key: str | None = None  # shown by GET /auth-token to loopback clients only
    ready: bool = field(default=True)
    # Per-process target health (breaker, in-flight counts); survives reloads on purpose.
    health: TargetHealth = field(default_factory=TargetHealth)
    # Rate-limit budgets (memory backend) and the Redis client; survive reloads on purpose.
    limiter: Limiter = field(default_factory=Limiter)
    # Prometheus metrics (router.observe.metrics), one registry per app; survive reloads on purpose.
    metrics: Metrics = field(default_factory=Metrics)
    access_log: AccessLog = field(default_factory=AccessLog)
    # The generated key stays valid across reloads: local tools picked it up at start.
    generated_key_hashes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    transport: TransportFactory = default_transport
    retire_grace: float = RETIRE_GRACE_SECONDS
    loaded_at: datetime = field(default_factory=_now)
    _retiring: dict[asyncio.Task[None], Sequence[UpstreamClient]] = field(default_factory=dict)
    # Kept answers (`[response-store]`), None when off. Made from the table; a reload keeps it
    # (a memory store keeps its answers) unless the backend or its Redis URL changes.
    store: KeyValueStore | None = field(init=False)
    # The response cache (routes with `cache`; `[cache]`), None when no route caches; the same
    # backend rules and reload behaviour as the store.
    cache: ResponseCache | None = field(init=False)
    _closing: set[asyncio.Task[None]] = field(default_factory=set)
    # The wall clock budget periods are read by; tests inject one to cross a period's end.
    now: Callable[[], float] = time.time
    # The usage ledger (`[limits]` says where: memory, or the Redis every replica shares) and the
    # budgets it counts; both survive reloads (the ledger is made again only when [limits] moves).
    ledger: Ledger = field(init=False)
    budgets: BudgetBook = field(init=False)
    # Where every finished model request's UsageEntry waits for the sinks: the usage counters,
    # the ledger, the recent window (router.observe.usage_batch). Read them after settle_usage().
    usage: UsageBatch = field(init=False)
    # The dashboard's last minutes of traffic (a usage sink) and last failed attempts per
    # target (fed by the dispatcher); per process, survive reloads.
    recent: RecentWindow = field(init=False)
    upstream_errors: RecentUpstreamErrors = field(init=False)

    def __post_init__(self) -> None:
        self.limiter.on_unavailable = self.metrics.record_limiter_unavailable
        self.store = open_store(store_settings(self.table.loaded))
        self.cache, _ = renewed_cache(None, self.table.loaded)
        self.ledger = open_ledger(self.table.loaded.access.settings, self._wall_now)
        self.recent = RecentWindow(self._wall_now)
        self.upstream_errors = RecentUpstreamErrors(self._wall_now)
        self.usage = UsageBatch(self._usage_sinks())
        self.budgets = BudgetBook(self.ledger, self._wall_now, self.usage.flush)
        self.metrics.before_flush = self.usage.flush  # a scrape counts every finished request

    def _usage_sinks(self) -> tuple[UsageSink, ...]:
        return (self.metrics.record_usage, self.ledger.record, self.recent.record)

    def settle_usage(self) -> None:
        """Before reading the ledger or the recent window: every finished request in them."""
        self.usage.flush()

    def _wall_now(self) -> float:
        return self.now()  # read per call: a test may swap `now` after the state is made

    def install(self, table: Table) -> PoolChange:
        """Make `table` the one requests see. Clients whose spec is unchanged are kept (no
        reconnect storm); replaced and removed ones are closed after `retire_grace`. Call it on
        the event loop: the swap is atomic because nothing in here awaits."""
        change = self.pool.renewed(client_specs(table.loaded), self.transport)
        self.table, self.pool = table, change.pool
        self.key_hashes = key_hashes(table.loaded, self.generated_key_hashes)
        self._renew_store(table)
        self.cache, retired = renewed_cache(self.cache, table.loaded)
        if retired is not None:
            self._close_later(retired.aclose())
        self._renew_ledger(table)
        self.loaded_at = _now()
        self._retire(change.retired)
        return change

    def _renew_store(self, table: Table) -> None:
        old = self.store
        self.store = renewed_store(old, store_settings(table.loaded))
        if old is not None and old is not self.store:
            # Requests that took the old store finish against it (its failures are soft).
            task = asyncio.get_running_loop().create_task(old.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def _close_later(self, closing: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(closing)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _renew_ledger(self, table: Table) -> None:
        settings = table.loaded.access.settings
        if ledger_matches(self.ledger, settings):
            return
        self.usage.flush()  # what finished before the reload goes to the ledger it was made for
        old, self.ledger = self.ledger, open_ledger(settings, self._wall_now)
        self.budgets.ledger = self.ledger
        self.usage.sinks = self._usage_sinks()
        task = asyncio.get_running_loop().create_task(old.aclose())  # it writes what it still holds
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _retire(self, clients: Sequence[UpstreamClient]) -> None:
        if not clients:
            return
        task = asyncio.get_running_loop().create_task(self._close_after(clients))
        self._retiring[task] = clients
        task.add_done_callback(lambda done: self._retiring.pop(done, None))

    async def _close_after(self, clients: Sequence[UpstreamClient]) -> None:
        await asyncio.sleep(self.retire_grace)
        self.pool.forget(clients)
        await close_clients(clients)

    async def aclose(self) -> None:
        """Shutdown: close the retiring clients now (a cancelled task that never started would
        not run its cleanup, so they are closed here, not in the task), then the live ones."""
        self.ready = False
        tasks, retiring = list(self._retiring), [c for cs in self._retiring.values() for c in cs]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await close_clients(retiring)
        await self.pool.aclose()
        await self.limiter.aclose()
        await self.ledger.aclose()
        await asyncio.gather(*self._closing, return_exceptions=True)
        if self.store is not None:
            await self.store.aclose()
        if self.cache is not None:
            await self.cache.store.aclose()


def client_specs(loaded: LoadedConfig) -> dict[str, ClientSpec]:
    """One spec per enabled upstream: what its client is made from."""
    return {
        name: ClientSpec(upstream, loaded.upstream_api_keys.get(name))
        for name, upstream in loaded.config.upstreams.items()
        if name not in loaded.disabled_upstreams
    }


def key_hashes(loaded: LoadedConfig, generated: Mapping[str, str]) -> KeyHashes:
    """The table's client keys and the generated one; closed even when empty if the table names
    a key source (a revoked last key must not open the server)."""
    return KeyHashes({**loaded.client_key_hashes, **generated}, required=loaded.keys_required)


def open_state(
    table: Table, *, generated_key_hashes: Mapping[str, str] | None = None,
    generated_key: str | None = None, transport: TransportFactory = default_transport,
    now: Callable[[], float] = time.time,
) -> RouterState:
    generated = MappingProxyType(dict(generated_key_hashes or {}))
    pool = UpstreamPool.open(client_specs(table.loaded), transport)
    return RouterState(
        table, pool, key_hashes(table.loaded, generated), generated_key,
        generated_key_hashes=generated, transport=transport, now=now,
    )
