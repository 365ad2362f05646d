"""A small HTTP/1.1 client for upstream calls: asyncio protocols for the I/O, httptools for parsing.

Why it exists: sending a request upstream is most of the gateway's own CPU per request. Measured
on one machine (in-process, 16 concurrent calls to a local nginx, CPU per call): httpx over the
httpx-aiohttp transport 179 µs, bare aiohttp 107 µs, a 40-line asyncio.Protocol +
httptools.HttpResponseParser client 22 µs. This module is that last design made fit for
production. httptools (llhttp, in C) does all the parsing, chunked decoding included; what is
written here is pooling, framing, timeouts, flow control and cleanup.

Rules for callers:
- Read every `Http1Response` to the end (`aread`, or `aiter_bytes` until it stops) or `aclose` it.
  That returns its connection to the pool. A response dropped unread closes its connection when it
  is garbage collected, which frees the slot, but only then: close responses, do not rely on GC.
- Errors are httpx's exception classes, so code that classifies httpx errors classifies these.
  Messages never name a URL, a query or a header value: those can carry credentials.
- A pool belongs to the event loop that first used it.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import zlib
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import certifi
import httptools
import httpx

# Body bytes buffered for a slow consumer above which the socket stops being read (TCP then
# pushes back on the server); reading resumes once the consumer has taken what is buffered.
_HIGH_WATER = 1024 * 1024

# Framing headers are ours to write: a caller's copy could contradict the body we send.
_FRAMING = frozenset({"host", "content-length", "transfer-encoding"})
_FRAMING_RAW = frozenset({b"host", b"content-length", b"transfer-encoding"})

# Http1Response states.
_UNREAD, _READING, _CLOSED = 0, 1, 2

_DISCONNECTED = "Server disconnected without sending a response."
_READ_TIMED_OUT = "timed out waiting for the upstream's response"
_WRITE_TIMED_OUT = "timed out sending the request"
_POOL_TIMED_OUT = "timed out waiting for a free connection"
_POOL_CLOSED = "the connection pool is closed"


def default_ssl_context() -> ssl.SSLContext:
    """The verified context httpx 0.29 builds by default (`httpx.create_ssl_context()`): the CA
    bundle named by SSL_CERT_FILE or SSL_CERT_DIR when set, certifi's otherwise; plus ALPN
    offering http/1.1 only, as httpcore sets for HTTP/1.1 connections. Loading a CA bundle takes
    milliseconds: build it once per pool, never per request."""
    if cafile := os.environ.get("SSL_CERT_FILE"):
        context = ssl.create_default_context(cafile=cafile)
    elif capath := os.environ.get("SSL_CERT_DIR"):
        context = ssl.create_default_context(capath=capath)
    else:
        context = ssl.create_default_context(cafile=certifi.where())
    context.set_alpn_protocols(["http/1.1"])
    return context


def _expire(waiter: asyncio.Future[Any], error: type[Exception], message: str) -> None:
    """Timer callback: fail a wait for a free connection that has not been answered yet."""
    if not waiter.done():
        waiter.set_exception(error(message))


class _Connection(asyncio.Protocol):
    """One socket. At any time it is either idle in its pool or owned by exactly one exchange
    (a request and then its response); the owner is the only code that awaits it."""

    __slots__ = (
        "_buffered", "_busy", "_chunks", "_deadline", "_done", "_error", "_got_bytes",
        "_head_done", "_head_only", "_interim", "_keep_alive", "_loop", "_lost", "_parser", "_pool",
        "_raw", "_reading_paused", "_status", "_timeout_error", "_timer", "_timer_at",
        "_transport", "_uses", "_version", "_waiter", "_writing_paused", "idle_since",
    )

    def __init__(self, pool: Http1Pool, loop: asyncio.AbstractEventLoop) -> None:
        self._pool = pool
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        # One parser for the connection's life: llhttp resets itself between kept-alive messages.
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._deadline: float | None = None
        self._timeout_error: tuple[type[Exception], str] = (httpx.ReadTimeout, _READ_TIMED_OUT)
        self._chunks: list[bytes] = []
        self._busy = False
        self._uses = 0
        self._lost = False
        self._reading_paused = False
        self._writing_paused = False
        self.idle_since = 0.0
        self.begin(False)  # defines the per-exchange fields; no exchange has begun yet
        self._busy = False
        self._uses = 0

    # --- the owner's side -----------------------------------------------------------------

    def begin(self, head_only: bool) -> None:
        """Reset the per-exchange state before a request is written."""
        self._busy = True
        self._uses += 1
        self._got_bytes = False
        self._head_only = head_only
        self._head_done = False
        self._interim = False
        self._done = False
        self._keep_alive = False
        self._error: Exception | None = None
        self._status = 0
        self._version = "1.1"
        self._raw: list[tuple[bytes, bytes]] = []
        if self._chunks:  # normally already emptied by take()
            self._chunks = []
        self._buffered = 0

    def send(self, head: bytes, body: bytes) -> None:
        """Head and body in one write, without joining them: uvloop writes both with one
        writev (asyncio's own transport joins them itself)."""
        transport = self._transport
        if self._lost or transport is None or transport.is_closing():
            self._lost = True  # counts as "closed before any response byte" for the stale retry
            raise httpx.RemoteProtocolError(_DISCONNECTED)
        transport.writelines((head, body) if body else (head,))

    def arm(self, timeout: float | None, error: type[Exception], message: str) -> asyncio.Future[None]:
        """A future the next protocol event resolves (or, after `timeout`, fails with `error`).
        Awaited directly by the owner: one future per wait, no coroutine, no Task, no Queue.

        Timeouts do not cost a timer per wait (creating and cancelling one was the largest single
        item in this client's own CPU per call). A wait records its deadline; one timer per
        connection, created only when none is pending or the deadline is earlier than it, checks
        when it fires whether the current wait is overdue, re-arms for a later deadline, or lapses
        when nothing is waiting."""
        loop = self._loop
        waiter = self._waiter = loop.create_future()
        if timeout is None:
            self._deadline = None
        else:
            deadline = self._deadline = loop.time() + timeout
            self._timeout_error = (error, message)
            if self._timer is None or deadline < self._timer_at:
                self._schedule(deadline)
        return waiter

    def _schedule(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = self._loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        waiter, deadline = self._waiter, self._deadline
        if waiter is None or waiter.done() or deadline is None:
            return  # nothing is waiting: the timer lapses until the next wait needs one
        if self._loop.time() + 0.001 >= deadline:  # timers may fire a clock tick early
            error, message = self._timeout_error
            waiter.set_exception(error(message))
        else:
            self._schedule(deadline)

    async def drained(self, timeout: float | None) -> None:
        """Wait while the transport pushes back on a large request body, unless an answer or an
        error comes first."""
        while self._writing_paused and not self._head_done and self._error is None:
            await self.arm(timeout, httpx.WriteTimeout, _WRITE_TIMED_OUT)

    def take(self) -> list[bytes]:
        """Hand the buffered body chunks to the consumer; the buffer is drained, so read again."""
        chunks = self._chunks
        self._chunks = []
        self._buffered = 0
        if self._reading_paused:
            self._reading_paused = False
            if not self._lost and self._transport is not None:
                self._transport.resume_reading()
        return chunks

    def stale(self) -> bool:
        """A reused connection the server closed before sending any byte of our response: the
        keep-alive race, where the server saw no request (safe to send it once more)."""
        return self._uses > 1 and self._lost and not self._got_bytes

    def close(self) -> None:
        """Close the socket and give back the pool slot (idempotent). Unsent bytes are discarded:
        a server that stopped reading must not hold the socket open forever."""
        self._keep_alive = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        transport = self._transport
        if transport is not None:
            if transport.get_write_buffer_size():
                transport.abort()
            else:
                transport.close()
        self._pool._forget(self)

    def fail(self, error: Exception) -> None:
        """Close the connection, making `error` what its owner sees if its response is unfinished."""
        if self._busy and not self._done and self._error is None:
            self._error = error
        elif not self._busy:
            self._pool._drop_idle(self)
        self.close()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # --- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._pool._adopt(self)

    def data_received(self, data: bytes) -> None:
        if not self._busy or self._done:
            # Bytes nobody asked for: a server's 408 on an idle connection, or junk after the
            # response. Either way the stream can no longer be trusted.
            self.fail(httpx.RemoteProtocolError("unexpected data from the server"))
            return
        self._got_bytes = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.fail(httpx.RemoteProtocolError("the server switched protocols unasked"))
        except httptools.HttpParserError as exc:
            # llhttp's reasons are fixed strings ("Invalid header value char"), never the data.
            self.fail(httpx.RemoteProtocolError(f"malformed HTTP response: {exc}"))

    def eof_received(self) -> bool | None:
        return None  # close the transport; connection_lost decides what the EOF means

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self._busy:
            if not self._done and self._error is None:
                self._settle_eof(exc)
            self._wake()
        else:
            self._pool._drop_idle(self)
        self._pool._forget(self)

    def _settle_eof(self, exc: Exception | None) -> None:
        if self._head_done and exc is None and self._ends_at_eof():
            self._done = True  # no length, not chunked: the body is everything up to EOF
        elif not self._got_bytes:
            self._error = httpx.RemoteProtocolError(_DISCONNECTED)
        elif exc is None:
            self._error = httpx.RemoteProtocolError("the server closed the connection mid-response")
        else:
            self._error = httpx.ReadError(f"the connection was lost mid-response ({exc})")

    def _ends_at_eof(self) -> bool:
        """No content-length and not chunked: the body is everything up to EOF (the HTTP/1.0
        way). Only asked at EOF, so the hot path never scans the headers for it."""
        if self._head_only or self._status in (204, 304):
            return False
        for name, value in self._raw:
            key = name.lower()
            if key == b"content-length" or (key == b"transfer-encoding" and b"chunked" in value.lower()):
                return False
        return True

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake()

    # --- httptools callbacks --------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._done:
            raise RuntimeError("a second response to one request")  # becomes HttpParserError

    def on_header(self, name: bytes, value: bytes) -> None:
        # Raw pairs only: decoding into a dict happens if and when someone reads the headers
        # (httpx takes these pairs as they are).
        self._raw.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        status = parser.get_status_code()
        if status < 200:
            # Interim response (100 Continue, 103 Early Hints): the final one follows.
            self._interim = True
            self._raw = []
            return
        self._status = status
        self._version = parser.get_http_version()
        self._keep_alive = parser.should_keep_alive() and not self._head_only
        self._head_done = True
        if self._head_only:
            # llhttp cannot be told a response answers HEAD, so it would wait for the announced
            # body; we end the exchange here and never reuse the connection (keep_alive False).
            self._done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _HIGH_WATER and not self._reading_paused and not self._lost:
            self._reading_paused = True
            self._transport.pause_reading()  # type: ignore[union-attr]
        self._wake()

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        self._done = True
        self._wake()


class _Decoder:
    """gzip or deflate to identity. 'deflate' is meant to be zlib-wrapped but some servers send
    raw deflate: like httpx, try zlib first and fall back to raw on the first chunk."""

    __slots__ = ("_deflate", "_first", "_zlib")

    def __init__(self, deflate: bool) -> None:
        self._deflate = deflate
        self._first = True
        self._zlib = zlib.decompressobj() if deflate else zlib.decompressobj(zlib.MAX_WBITS | 16)

    def decode(self, data: bytes, final: bool) -> bytes:
        try:
            out = self._zlib.decompress(data)
            if final:
                out += self._zlib.flush()
        except zlib.error as exc:
            if self._deflate and self._first:
                self._first = False
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.decode(data, final)
            raise httpx.DecodingError(f"could not decode the response body: {exc}") from None
        if data:
            self._first = False
        return out


def _content_coding(raw: list[tuple[bytes, bytes]]) -> bytes | None:
    for name, value in raw:
        if len(name) == 16 and name.lower() == b"content-encoding":
            return value.strip().lower()
    return None


def _without_framing(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Once the body is decoded, content-encoding and content-length describe bytes the caller
    never sees: drop them."""
    return [(name, value) for name, value in raw if name.lower() not in (b"content-encoding", b"content-length")]


def _header_dict(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.lower().decode("latin-1")
        text = value.decode("latin-1")
        previous = headers.get(key)
        headers[key] = text if previous is None else f"{previous}, {text}"
    return headers


class Http1Response:
    """Status and headers of a response whose body is still on the wire.

    Read it to the end (`aread` or `aiter_bytes`) or `aclose` it: that returns the connection to
    the pool. Closing a response whose body has not fully arrived closes its connection."""

    __slots__ = ("_conn", "_decoder", "_headers", "_state", "http_version", "raw_headers", "status_code")

    def __init__(self, conn: _Connection) -> None:
        raw = conn._raw
        coding = _content_coding(raw)
        if coding in (b"gzip", b"x-gzip", b"deflate"):
            self._decoder: _Decoder | None = _Decoder(coding == b"deflate")
            raw = _without_framing(raw)
        else:
            self._decoder = None  # identity, or a coding the caller asked for: passed through
        self.status_code: int = conn._status
        self.raw_headers = raw  # (name, value) as received, minus framing headers made stale by decoding
        self.http_version = f"HTTP/{conn._version}"
        self._headers: dict[str, str] | None = None
        self._conn: _Connection | None = conn
        self._state = _UNREAD

    @property
    def headers(self) -> Mapping[str, str]:
        """Lowercased names, repeated headers joined with ", " (built on first use)."""
        headers = self._headers
        if headers is None:
            headers = self._headers = _header_dict(self.raw_headers)
        return headers

    async def aread(self) -> bytes:
        """The whole body (identity-coded); the connection goes back to the pool."""
        conn = self._claim()
        if conn._done:  # small bodies: usually in with the headers
            parts = conn.take()
        else:
            parts = []
            try:
                while not conn._done:
                    if conn._chunks:
                        parts += conn.take()  # keeps the buffer (and its flow control) out of the way
                    elif conn._error is not None:
                        raise conn._error
                    else:
                        await conn.arm(conn._pool._read_timeout, httpx.ReadTimeout, _READ_TIMED_OUT)
            except BaseException:
                self._abort()
                raise
            parts += conn.take()
        self._finish()
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        return body if self._decoder is None else self._decoder.decode(body, True)

    def aiter_bytes(self) -> Http1Body:
        """Body chunks (identity-coded) as they arrive; the connection goes back to the pool as
        soon as the last byte is in, before the last chunk is handed out."""
        return Http1Body(self, self._claim(), self._decoder)

    async def aclose(self) -> None:
        """Idempotent. A body that fully arrived (even if unread) leaves a clean connection,
        which goes back to the pool; otherwise the connection is closed."""
        self._state = _CLOSED
        conn = self._conn
        if conn is None:
            return
        if conn._done:
            conn.take()
            self._finish()
        else:
            self._abort()

    def _read_if_complete(self) -> bytes | None:
        """The body, if it has fully arrived and nobody has read it; the connection is released."""
        conn = self._conn
        if conn is None or self._state != _UNREAD or not conn._done:
            return None
        self._state = _READING
        parts = conn.take()
        self._finish()
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        return body if self._decoder is None else self._decoder.decode(body, True)

    def _claim(self) -> _Connection:
        if self._state == _CLOSED:
            raise httpx.StreamClosed()
        if self._state == _READING or self._conn is None:
            raise httpx.StreamConsumed()
        self._state = _READING
        return self._conn

    def _finish(self) -> None:
        conn = self._conn
        if conn is not None:
            self._conn = None
            conn._pool._release(conn)

    def _abort(self) -> None:
        conn = self._conn
        if conn is not None:
            self._conn = None
            conn.close()

    def __del__(self) -> None:
        # Dropped without aclose: close the connection so its pool slot comes back.
        if self._conn is not None:
            try:
                self._abort()
            except Exception:  # noqa: BLE001, S110 - the loop may already be closed at shutdown
                pass


class Http1Body:
    """A response body read chunk by chunk: `async for`, or without a coroutine per read, `poll`
    (what has arrived) and `wait` (sleep until more has). The stream relay uses the latter, so a
    stream whose body is all in already is converted and written without ever suspending."""

    __slots__ = ("_conn", "_decoder", "_ended", "_response")

    def __init__(self, response: Http1Response, conn: _Connection, decoder: _Decoder | None) -> None:
        self._response, self._conn, self._decoder = response, conn, decoder
        self._ended = False

    def poll(self) -> bytes | None:
        """The bytes that have arrived (b"" if none yet); None once the body is over and every
        byte has been handed out. Raises the connection's error (and closes it)."""
        if self._ended:
            return None
        conn = self._conn
        if self._response._conn is not conn:
            raise httpx.StreamClosed()  # aclose() while reading
        try:
            if conn._chunks:
                chunks = conn.take()
                data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                last = conn._done
            elif conn._done:
                data, last = b"", True
            elif conn._error is not None:
                raise conn._error
            else:
                return b""
            if last:
                self._ended = True
                self._response._finish()
            if self._decoder is not None:
                data = self._decoder.decode(data, last)
        except BaseException:
            self._response._abort()  # mid-message: the socket is closed, never reused
            raise
        return data if data or not last else None

    async def wait(self, timeout: float | None) -> bool:
        """Wait until `poll` has something new (bytes, the end or an error): True, or False after
        `timeout` seconds. The pool's read timeout still applies: httpx.ReadTimeout, and like a
        cancel mid-body it closes the connection."""
        conn = self._conn
        if self._ended or conn._chunks or conn._done or conn._error is not None:
            return True
        waiter = conn.arm(conn._pool._read_timeout, httpx.ReadTimeout, _READ_TIMED_OUT)
        lapse = None if timeout is None else conn._loop.call_later(timeout, _lapse, waiter)
        try:
            await waiter
        except BaseException:
            self._response._abort()  # a timeout or a cancel mid-body: the socket is unusable
            raise
        finally:
            if lapse is not None:
                lapse.cancel()
        return bool(conn._chunks or conn._done or conn._error is not None)

    def __aiter__(self) -> Http1Body:
        return self

    async def __anext__(self) -> bytes:
        while True:
            data = self.poll()
            if data is None:
                raise StopAsyncIteration
            if data:
                return data
            await self.wait(None)


def _lapse(waiter: asyncio.Future[None]) -> None:
    """Timer callback: end a wait that has a deadline of its own (the relay's next ping)."""
    if not waiter.done():
        waiter.set_result(None)


def _request_head(method: str, target: str, host: str, headers: Iterable[tuple[str, str]], length: int) -> bytes:
    lines = [f"{name}: {value}\r\n" for name, value in headers if name.lower() not in _FRAMING]
    head = f"{method} {target} HTTP/1.1\r\nhost: {host}\r\ncontent-length: {length}\r\n{''.join(lines)}\r\n"
    # Counting line breaks rejects CR/LF inside any name, value or the target (header injection,
    # request smuggling) in two C-speed passes instead of a check per field.
    expected = len(lines) + 4
    if head.count("\n") != expected or head.count("\r") != expected or " " in target or " " in method or not target:
        raise ValueError("invalid request: CR/LF in a header, or a space in the method or target")
    try:
        return head.encode("latin-1")
    except UnicodeEncodeError:
        return head.encode("utf-8")


def _raw_request_head(
    method: bytes, target: bytes, host: bytes, headers: Iterable[tuple[bytes, bytes]], length: int
) -> bytes:
    parts = [method, b" ", target, b" HTTP/1.1\r\nhost: ", host, b"\r\ncontent-length: ", b"%d" % length, b"\r\n"]
    count = 4
    for name, value in headers:
        if name.lower() not in _FRAMING_RAW:
            parts += (name, b": ", value, b"\r\n")
            count += 1
    parts.append(b"\r\n")
    head = b"".join(parts)
    if head.count(b"\n") != count or head.count(b"\r") != count or b" " in target or b" " in method or not target:
        raise ValueError("invalid request: CR/LF in a header, or a space in the method or target")
    return head


class Http1Pool:
    """Keep-alive connections to one origin (scheme, host, port).

    Up to `max_connections` are open at once; beyond that requests wait, first come first served,
    up to `connect_timeout` (then httpx.PoolTimeout). Idle connections are reused newest first, at
    most `max_keepalive` are kept, each for at most `keepalive_expiry` seconds."""

    __slots__ = (
        "_closed", "_connect_timeout", "_conns", "_host", "_host_header", "_host_header_raw",
        "_idle", "_keepalive_expiry", "_max_connections", "_max_keepalive", "_port", "_prune",
        "_raw_host", "_read_timeout", "_scheme", "_server_hostname", "_slots", "_ssl", "_waiters",
        "_write_timeout",
    )

    def __init__(
        self,
        origin: httpx.URL | str,
        *,
        max_connections: int = 10_000,
        max_keepalive: int = 64,
        keepalive_expiry: float = 60.0,
        connect_timeout: float | None = 10.0,
        read_timeout: float | None = 600.0,
        write_timeout: float | None = 60.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        url = httpx.URL(origin)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("Http1Pool needs an http:// or https:// origin with a host")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._scheme = url.scheme
        self._raw_host = url.raw_host
        self._host = url.raw_host.decode("ascii")  # IDNA-encoded; IPv6 without brackets
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._host_header_raw = url.netloc  # bracketed IPv6, port only when not the default
        self._host_header = url.netloc.decode("ascii")
        if url.scheme == "https":
            self._ssl: ssl.SSLContext | None = ssl_context or default_ssl_context()
            self._server_hostname: str | None = self._host
        else:
            self._ssl = None
            self._server_hostname = None
        self._max_connections = max_connections
        self._max_keepalive = max_keepalive
        self._keepalive_expiry = keepalive_expiry
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._idle: deque[_Connection] = deque()  # oldest left, newest right
        self._waiters: deque[asyncio.Future[_Connection | None]] = deque()
        self._conns: set[_Connection] = set()  # every open connection, idle or not
        self._slots = 0  # open connections plus connections being opened
        self._closed = False
        self._prune: asyncio.TimerHandle | None = None

    def serves(self, url: httpx.URL) -> bool:
        """Whether `url` is on this pool's origin."""
        return (
            url.scheme == self._scheme and url.raw_host == self._raw_host
            and (url.port or (443 if url.scheme == "https" else 80)) == self._port
        )

    async def request(self, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes) -> Http1Response:
        """Send one request; return once the final status line and headers are in.

        `target` is the path and query. host and content-length are added; every other header is
        sent exactly as given (no accept-encoding unless the caller gives one). The body is read
        through the response, which the caller must read to the end or aclose."""
        head = _request_head(method, target, self._host_header, headers, len(body))
        return await self._send(head, body, method == "HEAD")

    async def request_raw(
        self, method: bytes, target: bytes, headers: Iterable[tuple[bytes, bytes]], body: bytes
    ) -> Http1Response:
        """`request` for callers that already hold bytes (httpx's raw headers): no re-encoding."""
        head = _raw_request_head(method, target, self._host_header_raw, headers, len(body))
        return await self._send(head, body, method == b"HEAD")

    async def aclose(self) -> None:
        """Close every connection, idle or in use; later requests raise RuntimeError."""
        if self._closed:
            return
        self._closed = True
        if self._prune is not None:
            self._prune.cancel()
            self._prune = None
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(RuntimeError(_POOL_CLOSED))
        self._idle.clear()
        for conn in list(self._conns):
            conn.fail(httpx.ReadError(_POOL_CLOSED))
        await asyncio.sleep(0)  # let the transports run their close callbacks

    # --- one exchange -------------------------------------------------------------------------

    async def _send(self, head: bytes, body: bytes, head_only: bool) -> Http1Response:
        """One exchange up to the response head. Written as one coroutine on purpose: every
        nested coroutine costs a frame per call and per resumption on the hot path."""
        conn = self._pop_idle() or await self._acquire(fresh=False)
        retried = False
        while True:
            conn.begin(head_only)
            try:
                conn.send(head, body)
                if conn._writing_paused:
                    await conn.drained(self._write_timeout)
                while not conn._head_done:
                    if conn._error is not None:
                        raise conn._error
                    await conn.arm(self._read_timeout, httpx.ReadTimeout, _READ_TIMED_OUT)
            except BaseException as exc:
                conn.close()  # failed or cancelled: its state is unknown, so it is never reused
                if retried or self._closed or not isinstance(exc, httpx.TransportError) or not conn.stale():
                    raise
            else:
                if conn._writing_paused:
                    # The server answered (say, 413) before taking the whole request body: the
                    # rest is still queued, so this connection cannot carry another exchange.
                    conn._keep_alive = False
                return Http1Response(conn)
            # The keep-alive race: the server closed this idle connection as we reused it, so it
            # saw no request. Retry once, on a new connection; never after a response byte arrived.
            retried = True
            conn = await self._acquire(fresh=True)

    # --- slots and connections ----------------------------------------------------------------

    async def _acquire(self, fresh: bool) -> _Connection:
        """No idle connection to reuse (or `fresh`: one is not wanted): open one, or queue."""
        if self._closed:
            raise RuntimeError(_POOL_CLOSED)
        if fresh and self._idle and self._slots >= self._max_connections:
            self._idle.popleft().close()  # a new connection is wanted: the oldest idle one makes room
        if self._slots < self._max_connections:
            self._slots += 1
            return await self._connect()
        handed = await self._wait_for_slot()
        return handed if handed is not None else await self._connect()

    def _pop_idle(self) -> _Connection | None:
        idle = self._idle
        while idle:
            conn = idle.pop()
            if conn._loop.time() - conn.idle_since < self._keepalive_expiry and not conn._lost:
                return conn
            conn.close()
        return None

    async def _wait_for_slot(self) -> _Connection | None:
        """Queue for a connection (handed over by a finished exchange) or a slot (None: connect)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[_Connection | None] = loop.create_future()
        self._waiters.append(waiter)
        timeout = self._connect_timeout
        timer = None if timeout is None else loop.call_later(timeout, _expire, waiter, httpx.PoolTimeout, _POOL_TIMED_OUT)
        try:
            return await waiter
        except BaseException:
            self._give_back(waiter)
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def _give_back(self, waiter: asyncio.Future[_Connection | None]) -> None:
        """A waiter gave up (timeout, cancellation): leave the queue, and if it was handed a slot
        or a connection in the same instant, pass that on instead of losing it."""
        try:
            self._waiters.remove(waiter)
        except ValueError:
            pass
        if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
            handed = waiter.result()
            if handed is None:
                self._free_slot()
            else:
                self._release(handed)

    async def _connect(self) -> _Connection:
        """Open a connection in a slot the caller reserved; on failure the slot is freed."""
        loop = asyncio.get_running_loop()
        conn = _Connection(self, loop)
        try:
            async with asyncio.timeout(self._connect_timeout):
                await loop.create_connection(
                    lambda: conn, self._host, self._port, ssl=self._ssl, server_hostname=self._server_hostname
                )
        except BaseException as exc:
            if conn._transport is not None:
                conn.close()  # connection_made ran, so the connection owns the slot: closing frees it
            else:
                self._free_slot()
            if isinstance(exc, TimeoutError):
                raise httpx.ConnectTimeout("timed out connecting to the upstream") from None
            if isinstance(exc, OSError):  # refused, unreachable, DNS, TLS (ssl.SSLError is an OSError)
                raise httpx.ConnectError(f"could not connect to the upstream: {exc}") from exc
            raise
        if self._closed:
            conn.close()
            raise RuntimeError(_POOL_CLOSED)
        return conn

    def _adopt(self, conn: _Connection) -> None:
        """connection_made: from now on the connection owns its slot (`_forget` gives it back)."""
        self._conns.add(conn)

    def _forget(self, conn: _Connection) -> None:
        """The connection is closed or closing: give its slot back, once."""
        if conn in self._conns:
            self._conns.discard(conn)
            self._free_slot()

    def _free_slot(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes straight to the first waiter
                return
        self._slots -= 1

    def _release(self, conn: _Connection) -> None:
        """An exchange finished cleanly: hand the connection to a waiter, keep it idle, or close it."""
        conn._busy = False
        transport = conn._transport
        if self._closed or not conn._keep_alive or conn._lost or transport is None or transport.is_closing():
            conn.close()
            return
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if len(self._idle) >= self._max_keepalive:
            conn.close()
            return
        conn.idle_since = conn._loop.time()
        self._idle.append(conn)
        if self._prune is None:
            self._arm_prune()

    def _drop_idle(self, conn: _Connection) -> None:
        """connection_lost on an idle connection (the server closed it): never hand it out."""
        try:
            self._idle.remove(conn)
        except ValueError:
            pass

    def _arm_prune(self) -> None:
        """One timer per pool closes idle connections as they expire, even with no traffic."""
        if self._idle:
            oldest = self._idle[0]
            self._prune = oldest._loop.call_at(oldest.idle_since + self._keepalive_expiry, self._prune_idle)

    def _prune_idle(self) -> None:
        self._prune = None
        idle = self._idle
        if idle:
            # A little slack so a timer firing a hair early does not re-arm for the same instant.
            cutoff = idle[0]._loop.time() - self._keepalive_expiry + 0.005
            while idle and idle[0].idle_since <= cutoff:
                idle.popleft().close()
        self._arm_prune()


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, response: Http1Response) -> None:
        self._response = response

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._response.aiter_bytes()

    async def aclose(self) -> None:
        await self._response.aclose()


class Http1Transport(httpx.AsyncBaseTransport):
    """httpx's transport interface over an Http1Pool: `httpx.AsyncClient(transport=...)` works,
    responses stream. The pool's timeouts apply; httpx's per-request timeout extension is not
    read. Requests for any other origin raise httpx.UnsupportedProtocol."""

    def __init__(self, pool: Http1Pool) -> None:
        self.pool = pool  # public: a caller may also use the pool natively, without httpx's objects

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self.pool
        url = request.url
        if not pool.serves(url):
            raise httpx.UnsupportedProtocol("this transport serves a single origin, and not this one")
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = await request.aread()  # a streamed request body: sent with a content-length
        response = await pool.request_raw(request.method.encode("ascii"), url.raw_path, request.headers.raw, body)
        content = response._read_if_complete()
        if content is not None:
            # The whole body came in with the head (most non-streaming answers): hand httpx bytes,
            # not a stream; that skips its async-generator layers when the caller reads it.
            return httpx.Response(
                response.status_code,
                headers=response.raw_headers,
                content=content,
                request=request,
                extensions={"http_version": response.http_version.encode("ascii")},
            )
        return httpx.Response(
            response.status_code,
            headers=response.raw_headers,
            stream=_ResponseStream(response),
            request=request,
            extensions={"http_version": response.http_version.encode("ascii")},
        )

    async def aclose(self) -> None:
        await self.pool.aclose()
