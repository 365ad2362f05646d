"""Google Cloud access tokens for Vertex AI upstreams (Gemini and Claude on Vertex AI).

A `GoogleTokenSource` is made per upstream client from its `vertex` table's credentials: a key
file (the config layer resolved `env:NAME` to its path) or, without one, Application Default
Credentials. Reuse until shortly before expiry, one refresh at a time in a worker thread (google-
auth blocks), a still-valid token kept when a refresh fails, and the scrubber told each new token
are router.upstream.refreshing_token's; this module says how google-auth is asked and what to fix.

google-auth is the optional `router[google]` extra, imported on the first refresh; `router
check` already reports a Vertex AI upstream without it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from router.upstream.refreshing_token import REFRESH_LEAD, RefreshingToken

# Bounds each token request (the token endpoint, the metadata server).
TOKEN_TIMEOUT = 30.0
INSTALL_HINT = "vertex upstreams need google-auth: pip install 'router[google]'"


class GoogleTokenSource(RefreshingToken):
    """`authorization()` → "Bearer <token>" from google-auth (router.upstream.refreshing_token:
    reuse, one refresh at a time, a still-valid token kept when a refresh fails).

    A failed refresh is an UpstreamUnreachable naming the upstream and the fix (a 502 in the
    client's protocol; failover tries the next target as for a connection failure), unless the
    token in hand is still valid: then that one goes on serving and the refresh is retried a
    little later."""

    __slots__ = ("_key_file", "_timeout", "_credentials")

    _log = logging.getLogger("router.upstream.google")

    def __init__(self, upstream: str, key_file: str | None, *, on_token: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, lead: float = REFRESH_LEAD,
                 timeout: float = TOKEN_TIMEOUT) -> None:
        super().__init__(upstream, on_token=on_token, clock=clock, lead=lead)
        self._key_file = key_file  # None: Application Default Credentials
        self._timeout = timeout
        self._credentials: Any = None  # google.auth Credentials, loaded by the first refresh

    def _fetch(self) -> tuple[str, float | None]:
        """Load the credentials once, then refresh them."""
        from router.upstream import google_adapter  # google-auth is optional: imported on first use

        request = google_adapter.HttpxRequest(self._timeout)
        try:
            if self._credentials is None:
                self._credentials = google_adapter.load_credentials(self._key_file, request)
            return google_adapter.refreshed_token(self._credentials, request)
        finally:
            request.close()

    def _failure_message(self, exc: BaseException) -> str:
        return _failure_message(self._upstream, self._key_file, exc)


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
