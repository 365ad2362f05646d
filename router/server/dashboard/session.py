"""The dashboard's login session: a cookie that proves the admin key was typed, without holding it.

The value is `<expiry>.<HMAC-SHA256(process secret, expiry | admin key digest)>`: nothing in it
is the key or its digest, it cannot be forged without the per-process random secret, and it
stops working when that admin key is removed from the table (the digest no longer matches).
A restart logs everyone out; so does reaching another worker of `router serve --workers N`
(each process has its own secret): the key in a header always works.

The cookie opens the read-only pages only. POST actions (reload) need the key in the request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

COOKIE = "router_admin_session"
COOKIE_PATH = "/admin"
LIFETIME_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class SessionKeys:
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    lifetime: int = LIFETIME_SECONDS

    def issue(self, digest: str, now: float) -> str:
        """A cookie value for the admin key whose sha256 is `digest`, valid `lifetime` s."""
        expires = int(now) + self.lifetime
        return f"{expires}.{self._mac(expires, digest)}"

    def valid(self, value: str | None, digests: Iterable[str], now: float) -> bool:
        """True when `value` was issued for one of `digests` (the admin keys now) and has not expired."""
        if not value:
            return False
        expires_text, _, mac = value.partition(".")
        if not expires_text.isdigit() or int(expires_text) <= now:
            return False
        expires = int(expires_text)
        return any(hmac.compare_digest(mac, self._mac(expires, digest)) for digest in digests)

    def _mac(self, expires: int, digest: str) -> str:
        return hmac.new(self.secret, f"{expires}|{digest}".encode(), hashlib.sha256).hexdigest()
