"""What a model request is answered with, before it is written to any server: a whole body or a
stream of SSE bytes, and the headers the request path adds on the way (request-id, route,
rate-limit headers). router.gateway.send writes them as ASGI messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass(slots=True)
class Unary:
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200


class FinalChunk(bytes):
    """A stream's last chunk, so the writer ends the HTTP body in the same write."""

    __slots__ = ()


@dataclass(slots=True)
class Streamed:
    """`iterator` yields the client's SSE bytes; it is closed (aclose) whatever happens. Its
    first chunk comes without waiting for the upstream; its last may be a FinalChunk."""

    iterator: AsyncIterator[bytes]
    headers: dict[str, str] = field(default_factory=dict)
    content_type: bytes = b"text/event-stream"  # a protocol may frame its stream otherwise


Answer = Unary | Streamed
