"""The request head is bounded ([server] max-header-bytes, max-headers; issue 13, hole 3): a head
over either limit is answered 431 in the client's protocol and the server goes on serving, on the
same connection when the head ended, on a new one when it was cut off. First the protocol class
in-process under uvicorn, then a real `router serve`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import select
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from router.server.coalesce import (
    HEAD_LIMITS_KEY,
    HeadLimits,
    head_refusal,
    path_of,
)
from tests.support.servers import serving_in_process as serving

MOCK_ROUTES = '[upstreams.m]\nkind = "mock"\n\n[[routes]]\nname = "demo"\nmodels = ["demo"]\nto = "m"\n'
MESSAGE = json.dumps({"model": "demo", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}).encode()
CHAT = json.dumps({"model": "demo", "messages": [{"role": "user", "content": "hi"}]}).encode()


# -- raw HTTP/1.1 on a socket ----------------------------------------------------------------


def request(path: str, headers: Sequence[tuple[str, str]] = (), body: bytes = b"", method: str = "POST") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "host: x"]
    if body:
        lines += ["content-type: application/json", f"content-length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def filler(count: int) -> list[tuple[str, str]]:
    return [(f"x-h{i}", "v") for i in range(count)]


def counted(url: str, headers: Sequence[tuple[str, str]]) -> int:
    """The head's size as the limit counts it: the URL, and each header's name and value plus 4
    (": " and CRLF)."""
    return len(url) + sum(len(name) + len(value) + 4 for name, value in headers)


class Responses:
    """Reads whole responses (content-length framed) off one socket, noting the server's close."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.closed = False

    def next(self, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
        deadline = time.monotonic() + timeout
        while True:
            parsed = self._parse()
            if parsed is not None:
                return parsed
            if self.closed:
                raise ConnectionError(f"closed after {self.buffer[:200]!r}")
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                more = self.sock.recv(65536)
            except ConnectionResetError:
                more = b""
            if not more:
                self.closed = True
            self.buffer += more

    def _parse(self) -> tuple[int, dict[str, str], bytes] | None:
        head, found, rest = self.buffer.partition(b"\r\n\r\n")
        if not found:
            return None
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        length = int(headers.get("content-length", "0"))
        if len(rest) < length:
            return None
        self.buffer = rest[length:]
        return int(status_line.split()[1]), headers, rest[:length]

    def sees_close(self, timeout: float = 5.0) -> bool:
        """True when the server closes (or resets) the connection within `timeout`."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(65536) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False


@contextlib.contextmanager
def connection(port: int) -> Iterator[tuple[socket.socket, Responses]]:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        yield sock, Responses(sock)


def anthropic_message(body: bytes) -> str:
    document = json.loads(body)
    assert document["type"] == "error" and document["error"]["type"] == "invalid_request_error"
    return str(document["error"]["message"])


def openai_message(body: bytes) -> str:
    error = json.loads(body)["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", None, "invalid_request_error")
    return str(error["message"])


def send_head_slowly(sock: socket.socket, head: bytes, piece: int, responses: Responses) -> int:
    """Send `head` in pieces the server reads one by one; stop when an answer is waiting. Returns
    the bytes sent by then."""
    sent = 0
    while sent < len(head):
        try:
            sock.sendall(head[sent:sent + piece])
        except (BrokenPipeError, ConnectionResetError):
            return sent
        sent += piece
        if select.select([sock], [], [], 0.03)[0]:
            return sent
    return sent


# -- the protocol class in-process -----------------------------------------------------------


class EchoApp:
    """A plain ASGI app carrying head limits in its state, as serve.app_factory leaves them."""

    def __init__(self, limits: HeadLimits) -> None:
        self.state = {"router": None, HEAD_LIMITS_KEY: limits}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        body = f"{scope['path']} {len(scope['headers'])}".encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


SMALL = HeadLimits(max_bytes=2048, max_count=10)


async def test_heads_at_the_limits_pass_and_over_them_get_431_on_a_connection_that_stays() -> None:
    def exchange(port: int) -> None:
        with connection(port) as (sock, responses):
            # 10 headers in all (host is one), and as many bytes as allowed.
            used = counted("/v1/messages", [("host", "x"), *filler(8), ("x-pad", "")])
            sock.sendall(request("/v1/messages", [*filler(8), ("x-pad", "p" * (2048 - used))], method="GET"))
            assert responses.next()[2] == b"/v1/messages 10"
            sock.sendall(request("/v1/messages", [*filler(8), ("x-pad", "p" * (2048 - used + 1))], method="GET"))
            status, headers, body = responses.next()
            assert status == 431 and headers["request-id"].startswith("req_")
            assert anthropic_message(body) == (
                "request head (URL and headers) larger than 2048 bytes ([server] max-header-bytes)")
            sock.sendall(request("/v1/chat/completions", filler(10), body=b"{}"))
            status, _, body = responses.next()
            assert status == 431
            assert openai_message(body) == "more than 10 request headers ([server] max-headers)"
            sock.sendall(request("/v1/messages", filler(9), method="GET"))  # the same connection serves on
            assert responses.next()[2] == b"/v1/messages 10"

    async with serving(EchoApp(SMALL)) as port:
        await asyncio.to_thread(exchange, port)


async def test_pipelined_requests_around_a_refused_one_are_answered_in_order() -> None:
    def exchange(port: int) -> list[tuple[int, bytes]]:
        with connection(port) as (sock, responses):
            sock.sendall(request("/a", method="GET") + request("/b", filler(11), b"{}") + request("/c", method="GET"))
            return [(status, body) for status, _, body in (responses.next() for _ in range(3))]

    async with serving(EchoApp(SMALL)) as port:
        answers = await asyncio.to_thread(exchange, port)
    assert [status for status, _ in answers] == [200, 431, 200]
    assert answers[0][1] == b"/a 1" and answers[2][1] == b"/c 1"


async def test_a_long_url_counts_and_picks_the_shape_by_its_path() -> None:
    def exchange(port: int) -> tuple[int, bytes]:
        with connection(port) as (sock, responses):
            sock.sendall(request("/v1/chat/completions?q=" + "x" * 3000, body=b"{}"))
            status, _, body = responses.next()
            sock.sendall(request("/ok", method="GET"))
            assert responses.next()[2] == b"/ok 1"
            return status, body

    async with serving(EchoApp(SMALL)) as port:
        status, body = await asyncio.to_thread(exchange, port)
    assert status == 431 and "2048 bytes" in openai_message(body)


async def test_a_head_that_goes_on_is_refused_before_it_ends_and_the_connection_closed() -> None:
    # Piece by piece, each read on its own: the 431 comes long before the megabyte is sent, then
    # the server closes; a new connection is served.
    def exchange(port: int) -> tuple[int, int, bytes, bool]:
        with connection(port) as (sock, responses):
            head = b"GET /v1/messages HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * (1 << 20)
            sent = send_head_slowly(sock, head, 512, responses)
            status, headers, body = responses.next()
            assert headers["connection"] == "close"
            closed = responses.sees_close()
        with connection(port) as (sock, responses):
            sock.sendall(request("/after", method="GET"))
            assert responses.next()[2] == b"/after 1"
        return sent, status, body, closed

    async with serving(EchoApp(SMALL)) as port:
        sent, status, body, closed = await asyncio.to_thread(exchange, port)
    assert status == 431 and "2048 bytes" in anthropic_message(body)
    assert sent < 16 * 1024  # the limit, and a few pieces for reads that straddle it
    assert closed


async def test_a_megabyte_header_sent_at_once_is_answered_431() -> None:
    def exchange(port: int) -> int:
        with connection(port) as (sock, responses):
            sock.sendall(request("/v1/messages", [("x-big", "a" * (1 << 20))], method="GET"))
            return responses.next()[0]

    async with serving(EchoApp(HeadLimits())) as port:
        assert await asyncio.to_thread(exchange, port) == 431


def test_refusals_name_the_limit_and_take_the_paths_protocol() -> None:
    limits = HeadLimits(max_bytes=4096, max_count=7)
    anthropic = head_refusal(b"/v1/messages?beta=true", limits, too_many=True)
    assert anthropic.status == 431
    assert anthropic_message(anthropic.body) == "more than 7 request headers ([server] max-headers)"
    openai = head_refusal(b"http://example.com/v1/responses", limits, too_many=False)
    assert openai_message(openai.body) == (
        "request head (URL and headers) larger than 4096 bytes ([server] max-header-bytes)")
    assert path_of(b"/v1/chat/completions?x=1") == "/v1/chat/completions"
    assert path_of(b"\x00not a url") == "/"
    assert HeadLimits() == HeadLimits(64 * 1024, 100)


# -- a real `router serve` -------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_router(start_router: Callable[..., str]) -> int:
    return int(start_router(MOCK_ROUTES).rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def small_router(start_router: Callable[..., str]) -> int:
    routes = f"[server]\nmax-header-bytes = 4096\nmax-headers = 20\n\n{MOCK_ROUTES}"
    return int(start_router(routes).rsplit(":", 1)[1])


def test_router_serve_refuses_a_megabyte_header_and_serves_the_next_request(default_router: int) -> None:
    with connection(default_router) as (sock, responses):
        sock.sendall(request("/v1/messages", [("x-big", "a" * (1 << 20))], MESSAGE))
        status, _, body = responses.next()
    assert status == 431
    assert anthropic_message(body) == (
        "request head (URL and headers) larger than 65536 bytes ([server] max-header-bytes)")
    with connection(default_router) as (sock, responses):
        sock.sendall(request("/v1/messages", body=MESSAGE))
        assert responses.next()[0] == 200


def test_router_serve_refuses_too_many_headers_and_the_connection_serves_on(default_router: int) -> None:
    with connection(default_router) as (sock, responses):
        sock.sendall(request("/v1/chat/completions", filler(300), CHAT))
        status, _, body = responses.next()
        assert status == 431
        assert openai_message(body) == "more than 100 request headers ([server] max-headers)"
        sock.sendall(request("/v1/chat/completions", body=CHAT))
        assert responses.next()[0] == 200


def test_router_serve_takes_a_head_just_under_the_limits(default_router: int) -> None:
    with connection(default_router) as (sock, responses):
        # 3 framing headers (host, content-type, content-length) + 97 = 100 headers.
        sock.sendall(request("/v1/messages", filler(97), MESSAGE))
        assert responses.next()[0] == 200
        sock.sendall(request("/v1/messages", [("x-big", "a" * (63 * 1024))], MESSAGE))
        assert responses.next()[0] == 200
        sock.sendall(request("/v1/messages", [("x-big", "a" * (65 * 1024))], MESSAGE))
        assert responses.next()[0] == 431
        sock.sendall(request("/v1/messages", body=MESSAGE))
        assert responses.next()[0] == 200


def test_router_serve_honours_the_server_settings(small_router: int) -> None:
    with connection(small_router) as (sock, responses):
        sock.sendall(request("/v1/messages", [("x-big", "a" * 3500)], MESSAGE))
        assert responses.next()[0] == 200
        sock.sendall(request("/v1/messages", [("x-big", "a" * 4200)], MESSAGE))
        status, _, body = responses.next()
        assert status == 431 and "larger than 4096 bytes ([server] max-header-bytes)" in anthropic_message(body)
        sock.sendall(request("/v1/messages", filler(17), MESSAGE))
        assert responses.next()[0] == 200
        sock.sendall(request("/v1/messages", filler(18), MESSAGE))
        status, _, body = responses.next()
        assert status == 431 and anthropic_message(body) == "more than 20 request headers ([server] max-headers)"
        sock.sendall(request("/v1/messages", body=MESSAGE))
        assert responses.next()[0] == 200
