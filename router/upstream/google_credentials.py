"""Google Cloud access tokens for Vertex AI upstreams (Gemini and Claude on Vertex AI).

A `GoogleTokenSource` is made per upstream client from its `vertex` table's credentials: a key
file (the config layer resolved `env:NAME` to its path) or, without one, Application Default
Credentials. Each request asks it for `authorization()`; the token is reused until it is within
`lead` seconds of expiring, then one refresh runs (concurrent callers wait for that one) in a
worker thread, since google-auth blocks. Tokens are never logged: the upstream's scrubber learns
each one (`on_token`) so an upstream that echoes it in an error gets it redacted.

google-auth is the optional `router[google]` extra, imported on the first refresh; `router
check` already reports a Vertex AI upstream without it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from router.core.errors import UpstreamUnreachable

log = logging.getLogger("router.upstream.google")

# Refresh this long before a token expires: a request started with it must not arrive expired.
REFRESH_LEAD = 300.0
# Bounds each token request (the token endpoint, the metadata server).
TOKEN_TIMEOUT = 30.0
# After a failed refresh while the old token is still valid: reuse it, and try again after this.
RETRY_AFTER_FAILURE = 10.0
INSTALL_HINT = "vertex upstreams need google-auth: pip install 'router[google]'"


class GoogleTokenSource:
    """`authorization()` → "Bearer <token>", refreshed before it expires; one refresh at a time.

    A failed refresh is an UpstreamUnreachable naming the upstream and the fix (a 502 in the
    client's protocol; failover tries the next target as for a connection failure), unless the
    token in hand is still valid: then that one goes on serving and the refresh is retried a
    little later."""

    __slots__ = ("_upstream", "_key_file", "_on_token", "_clock", "_lead", "_timeout",
                 "_lock", "_thread_lock", "_credentials", "_header", "_refresh_at", "_expires_at")

    def __init__(self, upstream: str, key_file: str | None, *, on_token: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, lead: float = REFRESH_LEAD,
                 timeout: float = TOKEN_TIMEOUT) -> None:
        self._upstream = upstream
        self._key_file = key_file  # None: Application Default Credentials
        self._on_token = on_token
        self._clock = clock
        self._lead = lead
        self._timeout = timeout
        self._lock = asyncio.Lock()
        # Guards the google-auth object across threads: a refresh whose caller was cancelled
        # goes on in its thread while the next caller may start another.
        self._thread_lock = threading.Lock()
        self._credentials: Any = None  # google.auth Credentials, loaded by the first refresh
        self._header: str | None = None
        self._refresh_at = 0.0
        self._expires_at = 0.0

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
            token, lifetime = await asyncio.to_thread(self._fetch)
        except Exception as exc:  # noqa: BLE001 - every failure is the same answer to the client
            self._refresh_failed(exc)
            return
        now = self._clock()
        self._header = f"Bearer {token}"
        self._expires_at = now + (lifetime if lifetime is not None else 3600.0)
        self._refresh_at = now + _reuse_for(lifetime, self._lead)
        if self._on_token is not None:
            self._on_token(token)

    def _refresh_failed(self, exc: BaseException) -> None:
        message = _failure_message(self._upstream, self._key_file, exc)
        now = self._clock()
        if self._header is not None and now < self._expires_at:
            log.warning("%s; its current token is valid %.0fs more", message, self._expires_at - now)
            self._refresh_at = min(now + RETRY_AFTER_FAILURE, self._expires_at)
            return
        raise UpstreamUnreachable(message)

    def _fetch(self) -> tuple[str, float | None]:
        """In a worker thread: load the credentials once, then refresh them."""
        from router.upstream import google_adapter  # google-auth is optional: imported on first use

        with self._thread_lock:
            request = google_adapter.HttpxRequest(self._timeout)
            try:
                if self._credentials is None:
                    self._credentials = google_adapter.load_credentials(self._key_file, request)
                return google_adapter.refreshed_token(self._credentials, request)
            finally:
                request.close()


def _reuse_for(lifetime: float | None, lead: float) -> float:
    """Seconds to reuse a token: until `lead` before it expires, or for half its life when it
    is shorter than twice that (a short-lived token is not refreshed on every request)."""
    if lifetime is None:
        return 3600.0 - lead  # google-auth reported no expiry: Google's tokens last an hour
    return max(lifetime - lead, lifetime / 2, 0.0)


def _failure_message(upstream: str, key_file: str | None, exc: BaseException) -> str:
    """Names the upstream, what failed and the fix; never a token or key material."""
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").startswith("google"):
        return f"upstream {upstream!r}: {INSTALL_HINT}"
    from router.upstream import google_adapter  # imported by the failed refresh already

    detail = google_adapter.failure_detail(exc)
    return (f"upstream {upstream!r} could not get a Google Cloud access token ({detail}); "
            f"check its vertex credentials: {_fix(key_file)}")


def _fix(key_file: str | None) -> str:
    if key_file is not None:
        return "the service-account key file it names must exist and hold a valid, enabled key"
    return ("Application Default Credentials are used: set GOOGLE_APPLICATION_CREDENTIALS, run "
            "`gcloud auth application-default login`, or set vertex.credentials")
