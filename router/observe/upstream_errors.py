"""The last few failed attempts per target, for the dashboard's upstreams page.

Fed where the dispatcher counts a failed attempt, with the error as the client would get it: its
message has been through the upstream's scrubber (router.upstream.scrub) already, and it is a
message the router wrote or the upstream's error text, never a raw body. Bounded: a deque of
PER_TARGET per target, and at most MAX_TARGETS targets (the oldest target's ring is dropped).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

PER_TARGET = 10
MAX_TARGETS = 256
MAX_MESSAGE = 500  # characters kept of one message


@dataclass(frozen=True, slots=True)
class UpstreamFailure:
    """One failed attempt: when (epoch s), the status the client would get, the upstream's own
    status when it answered one, and the scrubbed message."""

    at: float
    status: int
    upstream_status: int | None
    kind: str
    message: str


@dataclass(slots=True)
class RecentUpstreamErrors:
    clock: Callable[[], float] = time.time
    _rings: dict[str, deque[UpstreamFailure]] = field(default_factory=dict)

    def record(self, target: str, status: int, upstream_status: int | None, kind: str, message: str) -> None:
        ring = self._rings.get(target)
        if ring is None:
            if len(self._rings) >= MAX_TARGETS:
                del self._rings[next(iter(self._rings))]
            ring = self._rings[target] = deque(maxlen=PER_TARGET)
        ring.append(UpstreamFailure(self.clock(), status, upstream_status, kind, message[:MAX_MESSAGE]))

    def of(self, target: str) -> list[UpstreamFailure]:
        """Newest first."""
        return list(reversed(self._rings.get(target, ())))

    def targets(self) -> list[str]:
        return list(self._rings)
