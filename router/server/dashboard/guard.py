"""Who may see the dashboard, and what a refused caller gets.

Pages open with the admin key (headers, as every admin endpoint: router.server.admin) or the
login session's cookie (router.server.dashboard.session); with no admin key configured, to
loopback peers only, without a login. POST actions never take the cookie: the key must come in
the request (a header, or the form's password field), so another site cannot make a logged-in
browser post one (CSRF); a form post another site sent is refused outright as well.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from litestar import Request

from router.gateway.state import RouterState
from router.server.admin import admin_refusal
from router.server.dashboard.session import COOKIE, SessionKeys

Refusal = tuple[int, str, str]  # status, error type, message
CROSS_SITE: Refusal = (403, "permission_error", "refused: this form was sent from another site")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def prefers_html(request: Request[Any, Any, Any]) -> bool:
    """A browser (text/html ranked above JSON); API clients, `*/*` and no Accept get JSON."""
    accept = request.headers.get("accept")
    if not accept:
        return False
    return request.accept.best_match(["application/json", "text/html"], default="application/json") == "text/html"


def page_refusal(request: Request[Any, Any, Any], state: RouterState, sessions: SessionKeys) -> Refusal | None:
    """None when the caller may read the pages."""
    digests = state.table.loaded.admin_key_hashes
    if digests and sessions.valid(request.cookies.get(COOKIE), digests.keys(), time.time()):
        return None
    return admin_refusal(request, state)


def is_form(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower() in FORM_TYPES


def cross_site(request: Request[Any, Any, Any]) -> bool:
    """True for a request a page of another site made: the browser says so (Sec-Fetch-Site), or,
    from a browser that does not, its Origin is not this host."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower()
