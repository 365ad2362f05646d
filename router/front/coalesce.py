"""uvicorn's httptools protocol with a client transport that joins the writes of one event-loop
iteration into one.

uvicorn writes a response's status line and headers as soon as the app sends
`http.response.start`, and its body with the next message: two send() syscalls per response. On
loopback and in VMs a send is the most expensive thing a small request does (the kernel delivers
to the receiver, and wakes it, inside the sender's call): in the benchmark three writes per
request (two to the client, one upstream) were about 30% of the router's CPU. Writes made in the
same loop iteration (the head and body of a unary answer, the head and the whole of a stream
that is already in) now reach the socket in one write: when the response is complete, or at the
end of the iteration for the parts of a stream. Nothing waits longer than that; a large write goes
out at once, and closing the connection writes first.

`router serve` passes CoalescingHttpToolsProtocol to uvicorn as its `http` protocol class, an
extension point uvicorn offers (`--http module:Class`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Pending bytes past which a write goes out at once: big bodies gain nothing from waiting.
FLUSH_AT = 64 * 1024


class CoalescingTransport(asyncio.Transport):
    """Wraps the connection's transport; writes are held until the end of the loop iteration.
    Everything else is the wrapped transport's, and every call that must see the bytes in order
    (close, write_eof) writes what is held first."""

    __slots__ = ("_held", "_held_size", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] | None = None
        self._held_size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        held = self._held
        if held is None:
            held = self._held = []
            self._loop.call_soon(self.flush)
        held.append(bytes(data))
        self._held_size += len(data)
        if self._held_size >= FLUSH_AT:
            self.flush()

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Write what is held (a no-op when nothing is)."""
        held = self._held
        if held is None:
            return
        self._held = None
        self._held_size = 0
        self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None  # abort discards unsent data, held or buffered
        self._held_size = 0
        self._transport.abort()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._held_size

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, writing through a CoalescingTransport."""

    transport: CoalescingTransport

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))

    def on_response_complete(self) -> None:
        # A whole answer goes out now: the handler's bookkeeping after its last send (the access
        # log, metrics, closing the upstream) must not delay it to the end of the iteration.
        self.transport.flush()
        super().on_response_complete()
