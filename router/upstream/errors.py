"""The one boundary where transport exceptions become `UpstreamError`s (see router/core/errors.py).

Every transport the router uses raises httpx's exception tree (router.upstream.http1 does so on
purpose); OS-level and timeout errors that escape one are classified too. A test walks every class.
"""

from __future__ import annotations

import asyncio

import httpx

from router.core.errors import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnreachable,
)


def map_transport_error(exc: BaseException, upstream: str) -> UpstreamError:
    """Name the upstream but never the URL's query or any header: those may carry credentials."""
    if isinstance(exc, UpstreamError):
        return exc
    if isinstance(exc, httpx.TimeoutException | asyncio.TimeoutError | TimeoutError):
        return UpstreamTimeout(f"upstream {upstream!r} timed out")
    if isinstance(exc, httpx.ConnectError | httpx.UnsupportedProtocol | httpx.ProxyError | ConnectionRefusedError):
        return UpstreamUnreachable(f"upstream {upstream!r} is unreachable (connection failed)")
    if isinstance(exc, httpx.HTTPError | ConnectionError):
        return UpstreamProtocolError(
            f"upstream {upstream!r} closed the connection or sent a malformed response ({type(exc).__name__})"
        )
    return UpstreamProtocolError(f"upstream {upstream!r} failed ({type(exc).__name__})")
