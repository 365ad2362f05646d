"""Credentials added to each request as it leaves, for upstreams whose credentials are not a
fixed header: OAuth tokens that expire (Vertex AI, Microsoft Entra ID) and request signatures
(AWS SigV4, which covers the method, URL, headers and body of each request).

`UpstreamClient` calls `sign` last, after every other header is set, so a signature covers what
is sent. Raising an UpstreamError (UpstreamUnreachable naming the upstream and the fix) when no
credentials can be had makes it a 502 in the client's protocol, and failover tries the next target.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import httpx


class RequestAuth(Protocol):
    async def sign(self, method: str, url: httpx.URL, headers: Mapping[str, str], body: bytes) -> Mapping[str, str]:
        """The headers to send: `headers` with the credentials added."""
        ...


class TokenSource(Protocol):
    """Credentials that change over time: the `authorization` header's value for the next request."""

    async def authorization(self) -> str: ...


class BearerAuth:
    """A TokenSource's current token in `authorization`."""

    __slots__ = ("_tokens",)

    def __init__(self, tokens: TokenSource) -> None:
        self._tokens = tokens

    async def sign(self, method: str, url: httpx.URL, headers: Mapping[str, str], body: bytes) -> Mapping[str, str]:
        return {**headers, "authorization": await self._tokens.authorization()}
