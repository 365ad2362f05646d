"""router.server.coalesce: the writes of one loop iteration reach the socket as one, in order, and
nothing is held past the iteration, a close, or a large write. Then the same against a real
uvicorn server on 127.0.0.1 running the protocol class `router serve` uses."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import uvicorn

from router.cli.main import HTTP_PROTOCOL
from router.server.coalesce import (
    FLUSH_AT,
    CoalescingHttpToolsProtocol,
    CoalescingTransport,
)
from tests.support.servers import serving_in_process as serving


class Recorder(asyncio.Transport):
    """A transport that records what reaches it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.calls: list[str] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))
        self.calls.append("write")

    def close(self) -> None:
        self.closing = True
        self.calls.append("close")

    def abort(self) -> None:
        self.closing = True
        self.calls.append("abort")

    def write_eof(self) -> None:
        self.calls.append("write_eof")

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 7

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5)}.get(name, default)


def wrapped() -> tuple[CoalescingTransport, Recorder]:
    inner = Recorder()
    return CoalescingTransport(inner, asyncio.get_running_loop()), inner


async def test_writes_of_one_iteration_go_out_as_one_at_its_end() -> None:
    transport, inner = wrapped()
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(bytearray(b"body"))
    transport.write(b"")
    assert inner.writes == []
    assert transport.get_write_buffer_size() == 7 + len(b"HTTP/1.1 200 OK\r\n\r\nbody")
    await asyncio.sleep(0)
    assert inner.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    transport.write(b"next")
    await asyncio.sleep(0)
    assert inner.writes[1:] == [b"next"]  # a later iteration: its own write
    await asyncio.sleep(0)
    assert len(inner.writes) == 2


async def test_close_and_write_eof_write_what_is_held_first() -> None:
    transport, inner = wrapped()
    transport.write(b"last words")
    transport.write_eof()
    transport.write(b"more")
    transport.close()
    assert inner.calls == ["write", "write_eof", "write", "close"]
    assert inner.writes == [b"last words", b"more"]
    await asyncio.sleep(0)
    assert inner.writes == [b"last words", b"more"]  # the scheduled flush finds nothing


async def test_abort_discards_what_is_held() -> None:
    transport, inner = wrapped()
    transport.write(b"never sent")
    transport.abort()
    await asyncio.sleep(0)
    assert inner.writes == [] and inner.calls == ["abort"]


async def test_what_is_held_when_the_peer_goes_away_is_dropped_not_written() -> None:
    """The soak found uvloop's "unable to perform operation ... the handler is closed" raised by
    the scheduled flush of a connection the client had closed meanwhile."""
    transport, inner = wrapped()
    transport.write(b"for a client that left")
    inner.closing = True  # connection_lost closed the real transport
    await asyncio.sleep(0)
    assert inner.writes == []


async def test_a_large_write_goes_out_at_once() -> None:
    transport, inner = wrapped()
    transport.write(b"head")
    transport.write(b"x" * FLUSH_AT)
    assert inner.writes == [b"head" + b"x" * FLUSH_AT]
    assert transport.get_write_buffer_size() == 7


async def test_the_rest_is_the_wrapped_transports() -> None:
    transport, inner = wrapped()
    assert transport.get_extra_info("peername") == ("127.0.0.1", 5)
    assert transport.get_extra_info("socket", "none") == "none"
    assert not transport.is_closing()
    transport.close()
    assert transport.is_closing()


async def _exchange(port: int, requests: bytes, until: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(requests)
    await writer.drain()
    received = b""
    while received.count(until) < requests.count(b"GET "):
        more = await asyncio.wait_for(reader.read(65536), 5)
        if not more:
            break
        received += more
    writer.close()
    return received


async def test_a_real_server_answers_keep_alive_and_pipelined_requests_whole() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = f"hello {scope['path']}".encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async with serving(app) as port:
        request = b"GET /%d HTTP/1.1\r\nhost: x\r\n\r\n"
        received = await _exchange(port, b"".join(request % i for i in range(3)), b"hello /")
    assert received.count(b"HTTP/1.1 200 OK") == 3
    assert [received.count(b"hello /%d" % i) for i in range(3)] == [1, 1, 1]


async def test_a_streamed_answer_arrives_in_order_and_ends() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for part in (b"one ", b"two ", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0.01)  # a later iteration: written on its own
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async with serving(app) as port:
        received = await _exchange(port, b"GET / HTTP/1.1\r\nhost: x\r\n\r\n", b"0\r\n\r\n")
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head
    assert body == b"4\r\none \r\n4\r\ntwo \r\n5\r\nthree\r\n0\r\n\r\n"


def _receive_blocking(port: int, request: bytes, until: bytes) -> tuple[bytes, float]:
    """In a thread: the response and when it had fully arrived (perf_counter)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        received = b""
        while until not in received:
            received += sock.recv(65536)
        return received, time.perf_counter()


async def test_a_complete_answer_is_not_held_behind_the_handlers_own_work() -> None:
    # The handler blocks the loop after its last send (as bookkeeping would, for longer): the
    # answer must already be on the wire, not held until the end of the loop iteration.
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4")]})
        await send({"type": "http.response.body", "body": b"done"})
        time.sleep(0.5)

    async with serving(app) as port:
        started = time.perf_counter()
        received, arrived = await asyncio.to_thread(_receive_blocking, port, b"GET / HTTP/1.1\r\nhost: x\r\n\r\n", b"done")
    assert received.endswith(b"\r\n\r\ndone")
    assert arrived - started < 0.4


def test_router_serve_names_the_coalescing_protocol_as_uvicorn_resolves_it() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        pass

    config = uvicorn.Config(app, http=HTTP_PROTOCOL, lifespan="off")
    config.load()
    assert config.http_protocol_class is CoalescingHttpToolsProtocol
