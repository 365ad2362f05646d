"""Answers kept for later requests (a conversation continued by reference, read back or deleted
by id): a bounded key-value store, in memory (per process) or in Redis (every replica sees it).
See kv.py."""

from router.store.backend import (
    cache_settings,
    open_store,
    renewed_store,
    store_settings,
)
from router.store.kv import KeyValueStore, StoreSettings, StoreStats

__all__ = [
    "KeyValueStore", "StoreSettings", "StoreStats", "cache_settings", "open_store", "renewed_store", "store_settings",
]
