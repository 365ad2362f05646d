"""Which ledger `[limits]` asks for: Redis when its backend is redis (every replica adds to the
same totals), else this process's memory. A reload keeps the ledger unless that changes."""

from __future__ import annotations

import time
from collections.abc import Callable

from router.config.access import LimitSettings
from router.ledger.ledger import Ledger
from router.ledger.memory import MemoryLedger


def open_ledger(settings: LimitSettings, now: Callable[[], float] = time.time) -> Ledger:
    if settings.backend == "redis" and settings.redis_url is not None:
        # Imported here: a deployment without Redis never loads the client.
        from router.ledger.redis_ledger import RedisLedger

        return RedisLedger(settings.redis_url, now=now)
    return MemoryLedger(now=now)


def ledger_matches(ledger: Ledger, settings: LimitSettings) -> bool:
    """Whether `ledger` is the one `settings` ask for."""
    wanted = settings.redis_url if settings.backend == "redis" else None
    return getattr(ledger, "url", None) == wanted
