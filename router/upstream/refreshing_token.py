"""OAuth access tokens that expire, for upstreams authenticated by a cloud's credential library
(Google Cloud's google-auth for Vertex AI, Microsoft's azure-identity for Entra ID).

Both libraries block (token endpoints, metadata servers, a CLI run as a subprocess), so a
`RefreshingToken` fetches in a worker thread; what differs per cloud is only how a token is
fetched and how a failure is explained, which a subclass says (`_fetch`, `_failure_message`).
The rest is here, once:

- the token is reused until it is within `lead` seconds of expiring (the hot path: one clock
  read), then one refresh runs and concurrent callers wait for that one;
- a failed refresh while the token in hand is still valid keeps serving it (a warning is logged)
  and is retried a little later; with nothing valid left it is an UpstreamUnreachable naming the
  upstream and the fix (a 502 in the client's protocol; failover tries the next target);
- each new token is given to `on_token` (the upstream's scrubber, so an upstream that echoes it
  in an error gets it redacted); tokens are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from router.core.errors import UpstreamUnreachable

# Refresh this long before a token expires: a request started with it must not arrive expired.
REFRESH_LEAD = 300.0
# After a failed refresh while the old token is still valid: reuse it, and try again after this.
RETRY_AFTER_FAILURE = 10.0
# The lifetime of a token whose source says none (Google's and Entra's tokens last about an hour).
ASSUMED_LIFETIME = 3600.0


class RefreshingToken(ABC):
    """`authorization()` → "Bearer <token>", refreshed before it expires; one refresh at a time."""

    __slots__ = ("_upstream", "_on_token", "_clock", "_lead", "_lock", "_thread_lock",
                 "_header", "_refresh_at", "_expires_at")

    _log = logging.getLogger("router.upstream.tokens")

    def __init__(self, upstream: str, *, on_token: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, lead: float = REFRESH_LEAD) -> None:
        self._upstream = upstream
        self._on_token = on_token
        self._clock = clock
        self._lead = lead
        self._lock = asyncio.Lock()
        # Guards the library's credential object across threads: a refresh whose caller was
        # cancelled goes on in its thread while the next caller may start another.
        self._thread_lock = threading.Lock()
        self._header: str | None = None
        self._refresh_at = 0.0
        self._expires_at = 0.0

    @abstractmethod
    def _fetch(self) -> tuple[str, float | None]:
        """In a worker thread, under the thread lock: a new token and its remaining lifetime in
        seconds (None: the library said none). Raises whatever the library raises."""

    @abstractmethod
    def _failure_message(self, exc: BaseException) -> str:
        """What failed and the fix, naming the upstream; never a token or key material."""

    async def authorization(self) -> str:
        header = self._header
        if header is not None and self._clock() < self._refresh_at:
            return header  # the hot path: one clock read
        async with self._lock:
            if self._header is None or self._clock() >= self._refresh_at:
                await self._refresh()
            assert self._header is not None  # _refresh sets it or raises
            return self._header

    async def _refresh(self) -> None:
        try:
            token, lifetime = await asyncio.to_thread(self._fetch_locked)
        except Exception as exc:  # noqa: BLE001 - every failure is the same answer to the client
            self._refresh_failed(exc)
            return
        now = self._clock()
        self._header = f"Bearer {token}"
        self._expires_at = now + (lifetime if lifetime is not None else ASSUMED_LIFETIME)
        self._refresh_at = now + reuse_for(lifetime, self._lead)
        if self._on_token is not None:
            self._on_token(token)

    def _fetch_locked(self) -> tuple[str, float | None]:
        with self._thread_lock:
            return self._fetch()

    def _refresh_failed(self, exc: BaseException) -> None:
        message = self._failure_message(exc)
        now = self._clock()
        if self._header is not None and now < self._expires_at:
            self._log.warning("%s; its current token is valid %.0fs more", message, self._expires_at - now)
            self._refresh_at = min(now + RETRY_AFTER_FAILURE, self._expires_at)
            return
        raise UpstreamUnreachable(message)


def reuse_for(lifetime: float | None, lead: float) -> float:
    """Seconds to reuse a token: until `lead` before it expires, or for half its life when it
    is shorter than twice that (a short-lived token is not refreshed on every request)."""
    if lifetime is None:
        return ASSUMED_LIFETIME - lead
    return max(lifetime - lead, lifetime / 2, 0.0)
