"""router.upstream.http1 against real servers on 127.0.0.1: raw-byte servers scripted per test
(asyncio.start_server), so every framing and failure case is exact bytes on a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import gzip
import random
import shutil
import ssl
import subprocess
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from router.upstream.http1 import (
    Http1Pool,
    Http1Response,
    Http1Transport,
    default_ssl_context,
)

HEADERS = [("content-type", "application/json"), ("authorization", "Bearer k")]


# --- scripted servers ---------------------------------------------------------------------


class Peer:
    """The server's side of one accepted connection."""

    def __init__(self, server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, index: int):
        self.server, self.reader, self.writer, self.index = server, reader, writer, index

    async def request(self) -> bytes | None:
        """The next request (head and body), or None at EOF."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length)
        self.server.requests.append(head + body)
        return head + body

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def close(self) -> None:
        self.writer.close()


Script = Callable[[Peer], Awaitable[None]]


class Server:
    def __init__(self) -> None:
        self.port = 0
        self.connections = 0
        self.requests: list[bytes] = []
        self.closed_by_client = asyncio.Event()  # set when a peer reads EOF in `until_eof`

    @property
    def origin(self) -> httpx.URL:
        return httpx.URL(f"http://127.0.0.1:{self.port}")


@asynccontextmanager
async def serve(script: Script, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    server = Server()
    handlers: set[asyncio.Task[None]] = set()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        server.connections += 1
        try:
            await script(Peer(server, reader, writer, server.connections))
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, asyncio.CancelledError):
            pass  # a cancelled handler ends quietly: asyncio's stream callback would log it
        finally:
            writer.close()

    listener = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=ssl_context)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)


def reply(body: bytes = b"hello", *, status: bytes = b"200 OK", headers: bytes = b"",
          version: bytes = b"HTTP/1.1", length: bool = True) -> bytes:
    framing = b"content-length: %d\r\n" % len(body) if length else b""
    return version + b" " + status + b"\r\n" + framing + headers + b"\r\n" + body


def chunked(*chunks: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)


async def answer_all(peer: Peer, response: bytes = reply()) -> None:
    while await peer.request() is not None:
        await peer.send(response)


async def until_eof(peer: Peer) -> None:
    await peer.reader.read()
    peer.server.closed_by_client.set()


async def call(pool: Http1Pool, target: str = "/v1/x", body: bytes = b"{}") -> tuple[Http1Response, bytes]:
    response = await pool.request("POST", target, HEADERS, body)
    return response, await response.aread()


# --- bodies and framing -------------------------------------------------------------------


async def test_content_length_body_and_exact_request_head() -> None:
    response_bytes = reply(b'{"ok":true}', headers=b"X-A: 1\r\nContent-Type: application/json\r\nx-a: 2\r\n")
    async with serve(lambda peer: answer_all(peer, response_bytes)) as server:
        pool = Http1Pool(server.origin)
        response, body = await call(pool, "/v1/chat?q=1", b'{"m":1}')
        assert (response.status_code, body) == (200, b'{"ok":true}')
        assert response.headers["x-a"] == "1, 2"
        assert response.headers["content-type"] == "application/json"
        assert response.http_version == "HTTP/1.1"
        head = server.requests[0]
        assert head == (
            f"POST /v1/chat?q=1 HTTP/1.1\r\nhost: 127.0.0.1:{server.port}\r\ncontent-length: 7\r\n"
            "content-type: application/json\r\nauthorization: Bearer k\r\n\r\n{\"m\":1}"
        ).encode()
        await pool.aclose()


async def test_caller_framing_headers_are_replaced_and_injection_rejected() -> None:
    async with serve(answer_all) as server:
        pool = Http1Pool(server.origin)
        response = await pool.request("POST", "/", [("Host", "evil"), ("Content-Length", "99"), ("x", "y")], b"ab")
        await response.aread()
        head = server.requests[0].lower()
        assert head.count(b"host:") == 1 and b"evil" not in head
        assert head.count(b"content-length:") == 1 and b"content-length: 2\r\n" in head
        for bad in ([("x", "a\r\nx-injected: 1")], [("x\n", "a")], [("x", "a\rb")]):
            with pytest.raises(ValueError) as caught:
                await pool.request("POST", "/", bad, b"")
            assert "injected" not in str(caught.value)
        with pytest.raises(ValueError):
            await pool.request("POST", "/a b", [], b"")
        assert len(server.requests) == 1
        await pool.aclose()


async def test_chunked_body_streams_before_the_end() -> None:
    first_seen = asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(reply(b"", headers=b"transfer-encoding: chunked\r\n", length=False) + chunked(b"first"))
        await first_seen.wait()  # the rest only comes once the client has yielded the first chunk
        await peer.send(chunked(b"second", b"third") + b"0\r\n\r\n")
        await until_eof(peer)

    async with serve(script) as server:
        pool = Http1Pool(server.origin)
        response = await pool.request("POST", "/", HEADERS, b"{}")
        chunks = response.aiter_bytes()
        assert await asyncio.wait_for(anext(chunks), 2) == b"first"
        first_seen.set()
        rest = [chunk async for chunk in chunks]
        assert b"".join(rest) == b"secondthird"
        await response.aclose()
        await pool.aclose()


async def test_body_polled_without_a_task_per_read() -> None:
    # The relay's way to read: poll what is in, wait (with its own deadline) for more.
    more = asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(reply(b"", headers=b"transfer-encoding: chunked\r\n", length=False) + chunked(b"first"))
        await more.wait()
        await peer.send(chunked(b"second") + b"0\r\n\r\n")
        await answer_all(peer)

    async with serve(script) as server:
        pool = Http1Pool(server.origin)
        response = await pool.request("POST", "/", HEADERS, b"{}")
        body = response.aiter_bytes()
        assert await body.wait(2.0) is True
        assert body.poll() == b"first"
        assert body.poll() == b""  # nothing more yet
        assert await body.wait(0.05) is False  # its own deadline: not an error
        more.set()
        assert await body.wait(2.0) is True
        assert body.poll() == b"second"
        assert body.poll() is None and body.poll() is None  # the end, and it stays the end
        assert await body.wait(0.01) is True
        assert (await call(pool))[1] == b"hello"  # the connection went back to the pool, clean
        assert server.connections == 1
        await pool.aclose()


async def test_polled_body_errors_close_the_connection() -> None:
    async def script(peer: Peer) -> None:
        await peer.request()
        if peer.index == 1:
            await peer.send(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789")
            peer.close()
        else:
            await peer.send(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n123")
            await until_eof(peer)

    async with serve(script) as server:
        pool = Http1Pool(server.origin, read_timeout=0.2)
        body = (await pool.request("POST", "/", HEADERS, b"")).aiter_bytes()
        assert await body.wait(2.0) and body.poll() == b"0123456789"
        assert await body.wait(2.0)
        with pytest.raises(httpx.RemoteProtocolError):
            body.poll()
        stalled = (await pool.request("POST", "/", HEADERS, b"")).aiter_bytes()
        assert await stalled.wait(2.0) and stalled.poll() == b"123"
        with pytest.raises(httpx.ReadTimeout):  # the pool's read timeout still holds
            await stalled.wait(5.0)
        await asyncio.wait_for(server.closed_by_client.wait(), 2)
        await pool.aclose()


async def test_read_until_close_body_and_no_reuse() -> None:
    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(reply(b"all of it", length=False))
        peer.close()

    async with serve(script) as server:
        pool = Http1Pool(server.origin)
        assert (await call(pool))[1] == b"all of it"
        assert (await call(pool))[1] == b"all of it"
        assert server.connections == 2
        await pool.aclose()


async def test_interim_responses_are_skipped() -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n"
    async with serve(lambda peer: answer_all(peer, interim + reply(b"final", headers=b"x-final: 1\r\n"))) as server:
        pool = Http1Pool(server.origin)
        response, body = await call(pool)
        assert (response.status_code, body) == (200, b"final")
        assert "link" not in response.headers and response.headers["x-final"] == "1"
        await call(pool)
        assert server.connections == 1
        await pool.aclose()


async def test_head_request_ends_at_the_headers() -> None:
    async with serve(lambda peer: answer_all(peer, b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n")) as server:
        pool = Http1Pool(server.origin)
        response = await pool.request("HEAD", "/", [], b"")
        assert await asyncio.wait_for(response.aread(), 2) == b""
        assert response.headers["content-length"] == "5"
        await pool.aclose()


@pytest.mark.parametrize(
    ("coding", "compress"),
    [
        (b"gzip", gzip.compress),
        (b"deflate", zlib.compress),
        (b"deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
    ],
)
async def test_compressed_bodies_are_decoded(coding: bytes, compress: Callable[[bytes], bytes]) -> None:
    plain = b'{"text":"' + b"abc" * 5000 + b'"}'
    packed = compress(plain)

    async def script(peer: Peer) -> None:
        await peer.request()  # one answer with a length, one chunked in small pieces
        await peer.send(reply(packed, headers=b"content-encoding: " + coding + b"\r\n"))
        await peer.request()
        pieces = [packed[i:i + 100] for i in range(0, len(packed), 100)]
        await peer.send(reply(b"", headers=b"content-encoding: " + coding + b"\r\ntransfer-encoding: chunked\r\n",
                              length=False) + chunked(*pieces) + b"0\r\n\r\n")
        await until_eof(peer)

    async with serve(script) as server:
        pool = Http1Pool(server.origin)
        response, body = await call(pool)
        assert body == plain
        assert "content-encoding" not in response.headers and "content-length" not in response.headers
        response = await pool.request("POST", "/", HEADERS, b"")
        assert b"".join([chunk async for chunk in response.aiter_bytes()]) == plain
        await pool.aclose()


async def test_other_content_codings_pass_through() -> None:
    async with serve(lambda peer: answer_all(peer, reply(b"\x00br", headers=b"content-encoding: br\r\n"))) as server:
        pool = Http1Pool(server.origin)
        response, body = await call(pool)
        assert body == b"\x00br" and response.headers["content-encoding"] == "br"
        await pool.aclose()


async def test_corrupt_gzip_is_a_decoding_error() -> None:
    async with serve(lambda peer: answer_all(peer, reply(b"not gzip", headers=b"content-encoding: gzip\r\n"))) as server:
        pool = Http1Pool(server.origin)
        with pytest.raises(httpx.DecodingError):
            await call(pool)
        await pool.aclose()


# --- pooling ------------------------------------------------------------------------------


async def test_keep_alive_reuses_one_connection() -> None:
    async with serve(answer_all) as server:
        pool = Http1Pool(server.origin)
        for _ in range(3):
            assert (await call(pool))[1] == b"hello"
        assert server.connections == 1
        await pool.aclose()


async def test_connection_close_and_http10_are_not_reused() -> None:
    responses = [
        reply(headers=b"connection: close\r\n"),
        reply(version=b"HTTP/1.0"),
    ]
    for response_bytes in responses:
        async with serve(lambda peer, r=response_bytes: answer_all(peer, r)) as server:
            pool = Http1Pool(server.origin)
            await call(pool)
            await call(pool)
            assert server.connections == 2
            await pool.aclose()
    async with serve(lambda peer: answer_all(peer, reply(version=b"HTTP/1.0", headers=b"connection: keep-alive\r\n"))) as server:
        pool = Http1Pool(server.origin)
        await call(pool)
        await call(pool)
        assert server.connections == 1
        await pool.aclose()


async def test_idle_connection_closed_by_server_is_dropped() -> None:
    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(reply())
        peer.close()  # keep-alive announced, then closed while idle

    async with serve(script) as server:
        pool = Http1Pool(server.origin)
        await call(pool)
        await asyncio.sleep(0.05)
        assert (await call(pool))[1] == b"hello"
        assert server.connections == 2
        await pool.aclose()


async def test_stale_reused_connection_is_retried_once_on_a_new_one() -> None:
    async def script(peer: Peer) -> None:
        if peer.index == 1:
            await peer.request()
            await peer.send(reply(b"one"))
            await peer.request()  # the keep-alive race: the server closes as the request arrives
            peer.close()
        else:
            await answer_all(peer, reply(b"two"))

    async with serve(script) as server:
        pool = Http1Pool(server.origin)
        assert (await call(pool))[1] == b"one"
        assert (await call(pool))[1] == b"two"
        assert server.connections == 2
        await pool.aclose()


async def test_fresh_connection_failure_is_not_retried() -> None:
    async def script(peer: Peer) -> None:
        await peer.request()
        peer.close()

    async with serve(script) as server:
        pool = Http1Pool(server.origin)
        with pytest.raises(httpx.RemoteProtocolError):
            await call(pool)
        assert server.connections == 1
        await pool.aclose()


async def test_no_retry_once_a_response_byte_arrived() -> None:
    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(reply())
        await peer.request()
        await peer.send(b"HTTP/1.1 200 OK\r\ncontent-le")
        peer.close()

    async with serve(script) as server:
        pool = Http1Pool(server.origin)
        await call(pool)
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await call(pool)
        assert server.connections == 1
        await pool.aclose()


async def test_max_connections_queue_then_pool_timeout() -> None:
    async with serve(answer_all) as server:
        pool = Http1Pool(server.origin, max_connections=1, connect_timeout=0.2)
        held = await pool.request("POST", "/", HEADERS, b"")  # body unread: holds the only slot
        with pytest.raises(httpx.PoolTimeout):
            await pool.request("POST", "/", HEADERS, b"")
        waiting = asyncio.create_task(call(pool))  # queued; served when the slot is handed over
        await asyncio.sleep(0.05)
        assert not waiting.done()
        assert await held.aread() == b"hello"
        assert (await asyncio.wait_for(waiting, 2))[1] == b"hello"
        assert server.connections == 1
        await pool.aclose()


async def test_waiters_are_served_first_come_first_served() -> None:
    async with serve(answer_all) as server:
        pool = Http1Pool(server.origin, max_connections=1)
        held = await pool.request("POST", "/", HEADERS, b"")
        order: list[int] = []

        async def queued(number: int) -> None:
            await call(pool, f"/{number}")
            order.append(number)

        tasks = []
        for number in range(4):
            tasks.append(asyncio.create_task(queued(number)))
            await asyncio.sleep(0.01)
        await held.aread()
        await asyncio.wait_for(asyncio.gather(*tasks), 2)
        assert order == [0, 1, 2, 3]
        assert [r.split(b" ")[1] for r in server.requests[1:]] == [b"/0", b"/1", b"/2", b"/3"]
        await pool.aclose()


async def test_keepalive_expiry_closes_idle_connections() -> None:
    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(reply())
        await until_eof(peer)

    async with serve(script) as server:
        pool = Http1Pool(server.origin, keepalive_expiry=0.1)
        await call(pool)
        await asyncio.wait_for(server.closed_by_client.wait(), 2)  # closed by the pool's timer
        await call(pool)
        assert server.connections == 2
        await pool.aclose()


async def test_max_keepalive_bounds_idle_connections() -> None:
    async with serve(answer_all) as server:
        pool = Http1Pool(server.origin, max_keepalive=1)
        held = [await pool.request("POST", "/", HEADERS, b"") for _ in range(3)]
        for response in held:
            await response.aread()
        assert server.connections == 3
        await asyncio.gather(*(call(pool) for _ in range(3)))
        assert server.connections == 5  # only one of the first three was kept
        await pool.aclose()


async def test_response_aclose_reuses_only_a_complete_connection() -> None:
    async def script(peer: Peer) -> None:
        while await peer.request() is not None:
            if peer.server.requests[-1].startswith(b"POST /partial"):
                await peer.send(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n12345")
            else:
                await peer.send(reply())

    async with serve(script) as server:
        pool = Http1Pool(server.origin)
        response = await pool.request("POST", "/full", HEADERS, b"")
        await asyncio.sleep(0.05)
        await response.aclose()  # unread but complete: the connection is clean
        await response.aclose()  # idempotent
        with pytest.raises(httpx.StreamClosed):
            await response.aread()
        response = await pool.request("POST", "/partial", HEADERS, b"")
        await response.aclose()  # half a body on the wire: the connection is closed
        await call(pool)
        assert server.connections == 2
        await pool.aclose()


async def test_a_body_is_read_once() -> None:
    async with serve(answer_all) as server:
        pool = Http1Pool(server.origin)
        response, _ = await call(pool)
        with pytest.raises(httpx.StreamConsumed):
            await response.aread()
        await pool.aclose()


# --- failures -----------------------------------------------------------------------------


async def test_connect_refused_is_connect_error() -> None:
    async with serve(answer_all) as server:
        origin = server.origin
    pool = Http1Pool(origin, connect_timeout=2)  # the listener is gone: nothing on that port
    with pytest.raises(httpx.ConnectError):
        await call(pool)
    await pool.aclose()


async def test_tls_handshake_that_never_finishes_is_connect_timeout() -> None:
    async with serve(until_eof) as server:  # accepts TCP, never answers the ClientHello
        pool = Http1Pool(httpx.URL(f"https://127.0.0.1:{server.port}"), connect_timeout=0.2)
        with pytest.raises(httpx.ConnectTimeout):
            await call(pool)
        # the slot came back: a second attempt times out the same way, not with PoolTimeout
        with pytest.raises(httpx.ConnectTimeout):
            await call(pool)
        await pool.aclose()


async def test_no_response_is_read_timeout() -> None:
    async with serve(until_eof) as server:
        pool = Http1Pool(server.origin, read_timeout=0.2)
        with pytest.raises(httpx.ReadTimeout):
            await call(pool)
        await asyncio.wait_for(server.closed_by_client.wait(), 2)  # the connection was closed
        await pool.aclose()


async def test_stalled_body_is_read_timeout() -> None:
    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n123")
        await until_eof(peer)

    async with serve(script) as server:
        pool = Http1Pool(server.origin, read_timeout=0.2)
        response = await pool.request("POST", "/", HEADERS, b"")
        with pytest.raises(httpx.ReadTimeout):
            await response.aread()
        await asyncio.wait_for(server.closed_by_client.wait(), 2)
        await pool.aclose()


async def test_read_timeout_is_per_chunk_not_per_body() -> None:
    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(reply(b"", headers=b"transfer-encoding: chunked\r\n", length=False))
        for _ in range(6):  # 0.6 s in all, never more than 0.1 s apart
            await asyncio.sleep(0.1)
            await peer.send(chunked(b"tick"))
        await peer.send(b"0\r\n\r\n")
        await peer.request()
        await peer.send(reply(b"", headers=b"transfer-encoding: chunked\r\n", length=False) + chunked(b"tick"))
        await until_eof(peer)  # then silence

    async with serve(script) as server:
        pool = Http1Pool(server.origin, read_timeout=0.25)
        assert (await call(pool))[1] == b"tick" * 6
        response = await pool.request("POST", "/", HEADERS, b"")
        chunks = response.aiter_bytes()
        assert await anext(chunks) == b"tick"
        with pytest.raises(httpx.ReadTimeout):
            await anext(chunks)
        await pool.aclose()


async def test_close_mid_body_is_a_protocol_error() -> None:
    async def script(peer: Peer) -> None:
        await peer.request()
        if peer.index == 1:
            await peer.send(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789")
        else:
            await peer.send(reply(b"", headers=b"transfer-encoding: chunked\r\n", length=False) + chunked(b"part"))
        peer.close()

    async with serve(script) as server:
        pool = Http1Pool(server.origin)
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await call(pool)
        response = await pool.request("POST", "/", HEADERS, b"")
        received = []
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            async for chunk in response.aiter_bytes():
                received.append(chunk)
        assert received == [b"part"]
        await pool.aclose()


@pytest.mark.parametrize(
    "garbage",
    [b"HTTX/1.1 200 OK\r\n\r\n", b"HTTP/1.1 2000 OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
     b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n"],
)
async def test_malformed_response_is_a_protocol_error(garbage: bytes) -> None:
    async with serve(lambda peer: answer_all(peer, garbage)) as server:
        pool = Http1Pool(server.origin)
        if garbage.startswith(b"HTTP/1.1 200 OK\r\ncontent-length: 2"):
            # a second response to one request: the first is fine, the connection is not reused
            assert (await call(pool))[1] == b"ok"
            await call(pool)
            assert server.connections == 2
        else:
            with pytest.raises(httpx.RemoteProtocolError):
                await call(pool)
        await pool.aclose()


async def test_write_blocked_past_write_timeout_is_write_timeout() -> None:
    async def script(peer: Peer) -> None:
        await peer.reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(10)  # never reads the body

    async with serve(script) as server:
        pool = Http1Pool(server.origin, write_timeout=0.2)
        with pytest.raises(httpx.WriteTimeout):
            await pool.request("POST", "/", HEADERS, b"x" * (48 * 1024 * 1024))
        await pool.aclose()


async def test_large_request_body_waits_for_the_reader() -> None:
    async def script(peer: Peer) -> None:
        await asyncio.sleep(0.2)  # let the client's transport fill and pause writing
        request = await peer.request()
        assert request is not None
        await peer.send(reply(b"%d" % request.split(b"\r\n\r\n", 1)[1].count(b"y")))

    async with serve(script) as server:
        pool = Http1Pool(server.origin, write_timeout=5)
        size = 24 * 1024 * 1024
        assert (await call(pool, body=b"y" * size))[1] == b"%d" % size
        await pool.aclose()


async def test_slow_consumer_pauses_reading() -> None:
    size = 16 * 1024 * 1024

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size + b"z" * size)
        await until_eof(peer)

    async with serve(script) as server:
        pool = Http1Pool(server.origin)
        response = await pool.request("POST", "/", HEADERS, b"")
        chunks = response.aiter_bytes()
        total = len(await anext(chunks))
        await asyncio.sleep(0.3)  # a slow consumer: the socket must stop being read
        connection = response._conn
        assert connection is not None and connection._reading_paused
        assert connection._buffered <= 2 * 1024 * 1024
        async for chunk in chunks:
            total += len(chunk)
        assert total == size
        await pool.aclose()


# --- cancellation, cleanup, shutdown ------------------------------------------------------


async def test_cancelled_request_releases_its_slot() -> None:
    async def script(peer: Peer) -> None:
        if peer.index == 1:
            await until_eof(peer)  # never answers
        else:
            await answer_all(peer)

    async with serve(script) as server:
        pool = Http1Pool(server.origin, max_connections=1, connect_timeout=0.5)
        task = asyncio.create_task(call(pool))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await call(pool))[1] == b"hello"  # PoolTimeout here would mean a leaked slot
        await asyncio.wait_for(server.closed_by_client.wait(), 2)
        await pool.aclose()


async def test_cancelled_body_read_releases_its_slot() -> None:
    async def script(peer: Peer) -> None:
        await peer.request()
        if peer.index == 1:
            await peer.send(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n12")
            await until_eof(peer)
        else:
            await peer.send(reply())

    async with serve(script) as server:
        pool = Http1Pool(server.origin, max_connections=1, connect_timeout=0.5)
        response = await pool.request("POST", "/", HEADERS, b"")
        task = asyncio.create_task(response.aread())
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await call(pool))[1] == b"hello"
        await pool.aclose()


async def test_cancelled_waiter_leaves_the_queue() -> None:
    async with serve(answer_all) as server:
        pool = Http1Pool(server.origin, max_connections=1)
        held = await pool.request("POST", "/", HEADERS, b"")
        task = asyncio.create_task(call(pool))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await held.aread()
        assert (await asyncio.wait_for(call(pool), 2))[1] == b"hello"
        assert server.connections == 1
        await pool.aclose()


async def test_garbage_collected_response_gives_back_its_slot() -> None:
    async def script(peer: Peer) -> None:
        if peer.index == 1:
            await peer.request()
            await peer.send(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n12")
            await until_eof(peer)
        else:
            await answer_all(peer)

    async with serve(script) as server:
        pool = Http1Pool(server.origin, max_connections=1, connect_timeout=0.5, read_timeout=2)
        response: Http1Response | None = await pool.request("POST", "/", HEADERS, b"")
        assert response is not None
        response = None  # dropped without aclose
        gc.collect()
        assert (await call(pool))[1] == b"hello"
        await pool.aclose()


async def test_pool_aclose_closes_everything() -> None:
    async def script(peer: Peer) -> None:
        if peer.index == 1:
            await peer.request()
            await peer.send(reply())
        await until_eof(peer)  # the second connection never answers

    async with serve(script) as server:
        pool = Http1Pool(server.origin)
        await call(pool)
        pending = asyncio.create_task(call(pool))
        await asyncio.sleep(0.05)  # an idle connection, and one waiting for its answer
        server.closed_by_client.clear()
        await pool.aclose()
        with pytest.raises(httpx.TransportError):
            await asyncio.wait_for(pending, 2)
        await asyncio.wait_for(server.closed_by_client.wait(), 2)
        with pytest.raises(RuntimeError):
            await call(pool)
        await pool.aclose()  # idempotent


async def test_chaos_keeps_the_slot_accounting_exact() -> None:
    """Servers that answer, stall, cut bodies and close; callers that cancel, stop reading and
    drop responses. Afterwards every slot belongs to an open connection and the pool still works."""
    rnd = random.Random(7)

    async def script(peer: Peer) -> None:
        while await peer.request() is not None:
            roll = rnd.random()
            if roll < 0.5:
                await peer.send(reply(b"ok" * rnd.randint(0, 3000)))
            elif roll < 0.6:
                await asyncio.sleep(rnd.random() * 0.02)
                await peer.send(reply())
            elif roll < 0.7:
                await peer.send(b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\nabc")
                return
            elif roll < 0.8:
                return
            elif roll < 0.9:
                await peer.send(reply(b"", headers=b"transfer-encoding: chunked\r\n", length=False)
                                + chunked(b"a", b"b") + b"0\r\n\r\n")
            else:
                await peer.send(reply(headers=b"connection: close\r\n"))
                return

    async def one(pool: Http1Pool) -> None:
        response = await pool.request("POST", "/", [], b"x")
        roll = rnd.random()
        if roll < 0.3:
            async for _ in response.aiter_bytes():
                if rnd.random() < 0.2:
                    break
            await response.aclose()
        elif roll < 0.4:
            del response  # dropped unread
        else:
            await response.aread()

    async def guarded(pool: Http1Pool) -> None:
        with contextlib.suppress(httpx.TransportError, TimeoutError):
            await asyncio.wait_for(one(pool), rnd.choice([0.005, 0.01, 0.05, 1, 1]))

    async with serve(script) as server:
        pool = Http1Pool(server.origin, max_connections=4, max_keepalive=2, connect_timeout=1, read_timeout=0.5)
        await asyncio.gather(*(guarded(pool) for _ in range(200)))
        gc.collect()
        await asyncio.sleep(0.05)
        assert pool._slots == len(pool._conns) <= 4
        assert not pool._waiters and len(pool._idle) <= 2
        await pool.aclose()


# --- httpx transport ----------------------------------------------------------------------


async def test_transport_through_async_client() -> None:
    plain = b"data: " + b"x" * 2000 + b"\n\n"

    async def script(peer: Peer) -> None:
        while (request := await peer.request()) is not None:
            if b" /stream " in request:
                await peer.send(reply(b"", headers=b"transfer-encoding: chunked\r\ncontent-encoding: gzip\r\n",
                                      length=False) + chunked(gzip.compress(plain)) + b"0\r\n\r\n")
            else:
                await peer.send(reply(request.split(b"\r\n\r\n", 1)[1], headers=b"set-cookie: a\r\nset-cookie: b\r\n"))

    async def streamed_body() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    async with serve(script) as server:
        transport = Http1Transport(Http1Pool(server.origin))
        async with httpx.AsyncClient(transport=transport, base_url=str(server.origin)) as client:
            response = await client.post("/v1/echo?x=1", content=b"payload", headers={"x-key": "k"})
            assert (response.status_code, response.content) == (200, b"payload")
            assert response.headers.get_list("set-cookie") == ["a", "b"]
            assert response.http_version == "HTTP/1.1"
            assert b"x-key: k\r\n" in server.requests[0] and b"POST /v1/echo?x=1 HTTP/1.1" in server.requests[0]
            async with client.stream("POST", "/stream", content=b"{}") as streamed:
                assert "content-encoding" not in streamed.headers
                body = b"".join([chunk async for chunk in streamed.aiter_bytes()])
            assert body == plain
            response = await client.post("/v1/echo", content=streamed_body())
            assert response.content == b"abcd"
            with pytest.raises(httpx.UnsupportedProtocol):
                await client.get("http://other.invalid/")
            with pytest.raises(httpx.UnsupportedProtocol):
                await client.get(f"http://127.0.0.1:{server.port + 1}/")
        assert server.connections == 1


async def test_transport_used_directly_like_the_gateway() -> None:
    async with serve(answer_all) as server:
        transport = Http1Transport(Http1Pool(server.origin))
        request = httpx.Request("POST", server.origin.join("/v1/chat/completions"), content=b"{}",
                                headers={"content-type": "application/json"})
        response = await transport.handle_async_request(request)
        assert (response.status_code, await response.aread()) == (200, b"hello")
        await response.aclose()
        await transport.aclose()


# --- TLS ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl CLI: `cryptography` is not a dependency)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


async def tls_round_trip(cert: Path, key: Path) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    async with serve(answer_all, ssl_context=server_context) as server:
        origin = httpx.URL(f"https://127.0.0.1:{server.port}")
        pool = Http1Pool(origin, ssl_context=ssl.create_default_context(cafile=str(cert)))
        assert (await call(pool))[1] == b"hello"
        assert (await call(pool))[1] == b"hello"
        assert server.connections == 1
        assert server.requests[0].startswith(b"POST /v1/x HTTP/1.1\r\nhost: 127.0.0.1:")
        await pool.aclose()
        untrusting = Http1Pool(origin, ssl_context=ssl.create_default_context(cafile=None, capath=None,
                                                                             cadata=None))
        with pytest.raises(httpx.ConnectError):
            await call(untrusting)
        await untrusting.aclose()


async def test_tls(certificate: tuple[Path, Path]) -> None:
    await tls_round_trip(*certificate)


def test_default_ssl_context_matches_httpx(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    context = default_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "127.0.0.1"),),)]
    monkeypatch.delenv("SSL_CERT_FILE")
    ours, httpx_s = default_ssl_context(), httpx.create_ssl_context()
    assert len(ours.get_ca_certs()) > 50  # certifi's bundle
    assert ours.get_ca_certs() == httpx_s.get_ca_certs()
    assert (ours.verify_mode, ours.check_hostname, ours.minimum_version, ours.options) == (
        httpx_s.verify_mode, httpx_s.check_hostname, httpx_s.minimum_version, httpx_s.options)


def test_pool_rejects_other_schemes() -> None:
    with pytest.raises(ValueError):
        Http1Pool(httpx.URL("ftp://127.0.0.1/"))


# --- the same scenarios on uvloop ---------------------------------------------------------

ON_UVLOOP = [
    test_content_length_body_and_exact_request_head,
    test_chunked_body_streams_before_the_end,
    test_read_until_close_body_and_no_reuse,
    test_keep_alive_reuses_one_connection,
    test_idle_connection_closed_by_server_is_dropped,
    test_stale_reused_connection_is_retried_once_on_a_new_one,
    test_max_connections_queue_then_pool_timeout,
    test_connect_refused_is_connect_error,
    test_no_response_is_read_timeout,
    test_read_timeout_is_per_chunk_not_per_body,
    test_close_mid_body_is_a_protocol_error,
    test_write_blocked_past_write_timeout_is_write_timeout,
    test_large_request_body_waits_for_the_reader,
    test_slow_consumer_pauses_reading,
    test_cancelled_request_releases_its_slot,
    test_garbage_collected_response_gives_back_its_slot,
    test_pool_aclose_closes_everything,
    test_chaos_keeps_the_slot_accounting_exact,
    test_transport_through_async_client,
]


@pytest.mark.parametrize("scenario", ON_UVLOOP, ids=lambda f: f.__name__.removeprefix("test_"))
def test_on_uvloop(scenario: Callable[[], Awaitable[None]]) -> None:
    uvloop = pytest.importorskip("uvloop")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())  # type: ignore[arg-type]


def test_tls_on_uvloop(certificate: tuple[Path, Path]) -> None:
    uvloop = pytest.importorskip("uvloop")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(tls_round_trip(*certificate))
