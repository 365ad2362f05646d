"""One kept-alive HTTP connection to the OTLP receiver, for the export thread's POSTs.

Why not httpx for it: a post through httpx's sync client costs ~1.7 M instructions of the
router's CPU (callgrind, a 200 KB body), through http.client ~0.4 M; a batch of 512 spans is
one post, so that is ~7 against ~1.5 k instructions a small request (two spans). httpx is kept
where it does more: when the environment routes the receiver through a proxy (HTTP(S)_PROXY,
unless NO_PROXY names it), which http.client does not follow.
"""

from __future__ import annotations

import http.client
import ssl
import urllib.request
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

# A kept-alive connection the receiver closed while idle fails with one of these on its next use.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
# What a failed post raises (retryable: the receiver may be back soon).
TRANSPORT_ERRORS = (OSError, http.client.HTTPException, httpx.TransportError)


class Poster:
    """POSTs to `url` with `headers`; `post` returns the status, raises TRANSPORT_ERRORS. One
    thread at a time."""

    def __init__(self, url: str, headers: Mapping[str, str], timeout: float) -> None:
        parts = urlsplit(url)
        self.url = url
        self._headers = dict(headers)
        self._timeout = timeout
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname or "localhost", parts.port
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._connection: http.client.HTTPConnection | None = None
        self._proxied = httpx.Client(headers=self._headers, timeout=timeout) if _proxied(parts.scheme, self._host) else None

    def post(self, body: bytes) -> int:
        if self._proxied is not None:
            return self._proxied.post(self.url, content=body).status_code
        reused = self._connection is not None
        try:
            return self._send(body)
        except _STALE:
            if not reused:
                raise
            return self._send(body)  # the kept connection had been closed: once more on a new one

    def _send(self, body: bytes) -> int:
        connection = self._connection or self._connect()
        try:
            connection.request("POST", self._target, body=body, headers=self._headers)
            response = connection.getresponse()
            response.read()
        except BaseException:
            self.close()
            raise
        if response.will_close:
            self.close()
        return response.status

    def _connect(self) -> http.client.HTTPConnection:
        if self._https:
            self._connection = http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout,
                                                           context=ssl.create_default_context())
        else:
            self._connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._proxied is not None:
            self._proxied.close()


def _proxied(scheme: str, host: str) -> bool:
    """Whether the environment sends requests to `host` through a proxy (as httpx would)."""
    return bool(urllib.request.getproxies().get(scheme)) and not urllib.request.proxy_bypass(host)
