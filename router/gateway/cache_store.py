"""The response cache's live part (router.gateway.cache): its store, and the conversions a
passthrough target needs to make and answer cache entries, which are always in the hub's shape.
One per app, on RouterState beside the response store."""

from __future__ import annotations

from router.config.load import LoadedConfig
from router.routing.compose import Converters, compose
from router.routing.lookup import Target
from router.spokes.registry import HUB
from router.store import KeyValueStore, cache_settings, renewed_store

PREFIX = "router:cache:"  # its Redis keys (the response store's are router:resp:)


class ResponseCache:
    """The cache's store and the conversions a hit or a passthrough fill needs beyond the
    target's own pair (compiled once per target, on first use; dropped at a reload)."""

    __slots__ = ("_helpers", "store")

    def __init__(self, store: KeyValueStore) -> None:
        self.store = store
        self._helpers: dict[tuple[str, str, str], Converters] = {}

    def through_hub(self, target: Target, client_side: bool) -> Converters:
        """For a passthrough target (same protocol on both sides, not the hub's): the pair
        client → hub (`client_side`: its answer_to_client and stream values make a hit) or
        hub → upstream (its answer_to_hub and stream machine make the value of a miss)."""
        spoke = target.converters.client
        name = (target.ctx.route, target.key, "client" if client_side else "upstream")
        found = self._helpers.get(name)
        if found is None:
            found = compose(spoke, HUB, target.ctx) if client_side else compose(HUB, spoke, target.ctx)
            self._helpers[name] = found
        return found

    def forget_pairs(self) -> None:
        """A reload made new targets: the helpers of the old ones go."""
        self._helpers.clear()


def renewed_cache(cache: ResponseCache | None, loaded: LoadedConfig) -> tuple[ResponseCache | None, KeyValueStore | None]:
    """The cache for a (re)loaded table, and the old store for the caller to close when it is
    not kept (the backend or Redis URL changed, or no route caches any more). A memory store
    keeps its entries across a reload that changes only its bounds."""
    old = None if cache is None else cache.store
    store = renewed_store(old, cache_settings(loaded), PREFIX)
    retired = old if old is not None and old is not store else None
    if store is None:
        return None, retired
    if cache is not None and cache.store is store:
        cache.forget_pairs()
        return cache, retired
    return ResponseCache(store), retired
