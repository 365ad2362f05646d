"""Address helpers shared by the CLI (key generation) and the front door (/auth-token)."""

from __future__ import annotations

import ipaddress
from collections.abc import Container


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# A proxy in front makes every peer look local; these headers say one was there.
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def is_direct_loopback(peer: str | None, headers: Container[str]) -> bool:
    """A loopback peer that did not come through a proxy: the only callers trusted without a key
    (GET /auth-token, the admin endpoints when no admin key is configured)."""
    return is_loopback(peer) and not any(name in headers for name in PROXY_HEADERS)
