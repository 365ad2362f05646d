"""Client authentication: `x-api-key` or `Authorization: Bearer` (current Anthropic SDKs send
Bearer, Claude Code sends x-api-key, OpenAI SDKs send Bearer), or where a spoke's clients put it
otherwise (Gemini's `x-goog-api-key` header or `?key=`), checked against sha256 hashes."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from router.config.access import keys_required
from router.core.errors import AuthenticationFailed


def presented_key(headers: Mapping[str, str], key_header: str | None = None, query_key: str | None = None) -> str | None:
    """`key_header`: the client's protocol's own key header; `query_key`: the key its URL carried."""
    key = headers.get("x-api-key") or (headers.get(key_header) if key_header else None) or query_key
    if key:
        return key.strip()
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def authenticate(headers: Mapping[str, str], key_hashes: Mapping[str, str], key_header: str | None = None,
                 query_key: str | None = None) -> str | None:
    """The key's name, or None when no keys are configured (open, loopback-only server). A
    KeyHashes with no key left but keys configured (router.config.access) refuses everyone: a
    server never opens because its last key was revoked."""
    if not key_hashes and not keys_required(key_hashes):
        return None
    key = presented_key(headers, key_header, query_key)
    if key is None:
        raise AuthenticationFailed("missing API key: send it as x-api-key or Authorization: Bearer")
    name = key_hashes.get(hashlib.sha256(key.encode()).hexdigest())
    if name is None:
        raise AuthenticationFailed("invalid API key")
    return name
