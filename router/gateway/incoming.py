"""A model request as the two hot endpoints see it: the ASGI scope, its headers, its whole body.

The model endpoints are raw ASGI handlers (router.gateway.endpoint says why); this is the part of a
framework request they need, read straight off the ASGI messages: headers into one dict, the body
into one bytes object, with the [server] max-body-bytes limit applied while it arrives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from router.core.errors import PayloadTooLarge

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ClientGone(Exception):
    """The client hung up before its request body was in: there is no one to answer."""


@dataclass(slots=True)
class Incoming:
    """`headers`: lower-case names (ASGI servers lower-case them), repeated headers joined with
    ", " as HTTP allows; `body`: the raw request body."""

    scope: Scope
    headers: dict[str, str]
    body: bytes


def headers_of(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


async def read_incoming(scope: Scope, receive: Receive, max_body: int) -> Incoming:
    headers = headers_of(scope)
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body:
        raise _too_large(max_body)  # refused before reading a byte of it
    return Incoming(scope, headers, await _read_body(receive, max_body))


async def _read_body(receive: Receive, max_body: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > max_body:
            raise _too_large(max_body)
        parts.append(chunk)
        if not message.get("more_body", False):
            return parts[0] if len(parts) == 1 else b"".join(parts)


def _too_large(max_body: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body larger than {max_body} bytes ([server] max-body-bytes)")
