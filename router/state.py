"""The server's live state: the current table and the upstream clients it uses.

One object per app (never module-level). A request reads `state.table` once and keeps that
reference, so a reload that swaps it mid-request never changes what the request sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from router.failover import TargetHealth
from router.table.lookup import Table
from router.upstream.client import TransportFactory, UpstreamPool, default_transport, make_client


@dataclass(slots=True)
class RouterState:
    table: Table
    pool: UpstreamPool
    key_hashes: Mapping[str, str]
    generated_key: str | None = None  # shown by GET /auth-token to loopback clients only
    ready: bool = field(default=True)
    # Per-process target health (breaker, in-flight counts); survives reloads on purpose.
    health: TargetHealth = field(default_factory=TargetHealth)


def open_state(
    table: Table, *, generated_key_hashes: Mapping[str, str] | None = None,
    generated_key: str | None = None, transport: TransportFactory = default_transport,
) -> RouterState:
    loaded = table.loaded
    clients = {
        name: make_client(name, upstream, loaded.upstream_api_keys.get(name), transport)
        for name, upstream in loaded.config.upstreams.items()
        if name not in loaded.disabled_upstreams
    }
    keys = MappingProxyType({**loaded.client_key_hashes, **(generated_key_hashes or {})})
    return RouterState(table, UpstreamPool(clients), keys, generated_key)
