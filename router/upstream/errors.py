"""The one boundary where transport exceptions become `UpstreamError`s (see router/errors.py).

httpx raises its own tree. The aiohttp transport translates aiohttp errors into it, but coarsely
(a refused connection arrives as httpx.ConnectTimeout), so the original aiohttp exception, kept as
`__cause__`, is classified first. A test walks every class.
"""

from __future__ import annotations

import asyncio

import aiohttp
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
    cause = exc.__cause__
    if isinstance(cause, aiohttp.ClientError | asyncio.TimeoutError):
        return _classify(cause, upstream)
    return _classify(exc, upstream)


def _classify(exc: BaseException, upstream: str) -> UpstreamError:
    if isinstance(exc, httpx.TimeoutException | aiohttp.ServerTimeoutError | asyncio.TimeoutError | TimeoutError):
        return UpstreamTimeout(f"upstream {upstream!r} timed out")
    if isinstance(exc, httpx.ConnectError | httpx.UnsupportedProtocol | httpx.ProxyError
                  | aiohttp.ClientConnectorError | ConnectionRefusedError):
        return UpstreamUnreachable(f"upstream {upstream!r} is unreachable (connection failed)")
    if isinstance(exc, httpx.HTTPError | aiohttp.ClientError | ConnectionError):
        return UpstreamProtocolError(
            f"upstream {upstream!r} closed the connection or sent a malformed response ({type(exc).__name__})"
        )
    return UpstreamProtocolError(f"upstream {upstream!r} failed ({type(exc).__name__})")
