"""The one boundary where transport exceptions become `UpstreamError`s (see router/errors.py).

httpx raises its own tree; the aiohttp transport maps most aiohttp errors into it but lets a few
through, and asyncio timeouts come from our own deadlines. A test walks every class.
"""

from __future__ import annotations

import asyncio

import httpx

from router.errors import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnreachable,
)


def map_transport_error(exc: BaseException, upstream: str) -> UpstreamError:
    """Name the upstream but never the URL's query or any header: those may carry credentials."""
    if isinstance(exc, UpstreamError):
        return exc
    if isinstance(exc, (httpx.TimeoutException, asyncio.TimeoutError, TimeoutError)):
        return UpstreamTimeout(f"upstream {upstream!r} timed out")
    if isinstance(exc, (httpx.ConnectError, httpx.UnsupportedProtocol, httpx.ProxyError, ConnectionRefusedError)):
        return UpstreamUnreachable(f"upstream {upstream!r} is unreachable (connection failed)")
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.DecodingError, httpx.ReadError, httpx.WriteError, ConnectionError)):
        return UpstreamProtocolError(f"upstream {upstream!r} closed the connection or sent a malformed response")
    if isinstance(exc, httpx.HTTPError):
        return UpstreamProtocolError(f"upstream {upstream!r} failed: {type(exc).__name__}")
    return _map_aiohttp(exc, upstream)


def _map_aiohttp(exc: BaseException, upstream: str) -> UpstreamError:
    """aiohttp errors the httpx-aiohttp transport does not translate (e.g. a payload cut mid-stream)."""
    try:
        import aiohttp
    except ImportError:  # pragma: no cover - aiohttp ships with httpx-aiohttp
        return UpstreamProtocolError(f"upstream {upstream!r} failed: {type(exc).__name__}")
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return UpstreamTimeout(f"upstream {upstream!r} timed out")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UpstreamUnreachable(f"upstream {upstream!r} is unreachable (connection failed)")
    return UpstreamProtocolError(f"upstream {upstream!r} failed: {type(exc).__name__}")
