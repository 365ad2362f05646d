"""router.observe.otlp_post: one kept-alive connection to the OTLP receiver (loopback only)."""

from __future__ import annotations

import socket
import threading

import pytest

from router.observe.otlp_post import Poster

ANSWER = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}"


def _read_request(connection: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += connection.recv(65536)
    return head


def test_a_kept_connection_the_receiver_closed_is_replaced_at_once() -> None:
    """The receiver answers each connection's first post, then closes it while idle: the next
    post finds it closed and goes again on a new one, without an error."""
    heads: list[bytes] = []
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(10)

        def serve() -> None:
            for _ in range(2):
                connection, _ = server.accept()
                with connection:
                    heads.append(_read_request(connection))
                    connection.sendall(ANSWER)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        poster = Poster(f"http://127.0.0.1:{server.getsockname()[1]}/v1/traces", {"authorization": "t"}, 5.0)
        try:
            assert poster.post(b"{}") == 200
            thread.join(0.2)  # the first connection is closed by now
            assert poster.post(b"{}") == 200
        finally:
            poster.close()
        thread.join(5)
    assert len(heads) == 2 and all(head.startswith(b"POST /v1/traces ") and b"authorization: t" in head
                                   for head in heads)


def test_a_receiver_behind_a_proxy_is_reached_through_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    proxied = Poster("http://collector.invalid:4318/v1/traces", {}, 1.0)
    assert proxied._proxied is not None
    proxied.close()
    monkeypatch.setenv("NO_PROXY", "collector.invalid")
    direct = Poster("http://collector.invalid:4318/v1/traces", {}, 1.0)
    assert direct._proxied is None
    direct.close()
