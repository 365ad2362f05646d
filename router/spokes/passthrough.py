"""Same protocol on both sides: the request is the client's own body with the model and the
route's overrides applied; the stream is the upstream's events, data untouched (the relay scrubs
what goes out).

Events are re-framed (`event:` / `data:` lines) from the parser's output rather than copied as raw
bytes, so a ping or an error event can only ever land between two whole events. Each event's data
is decoded once, whole: that reads the usage it may carry and proves it is JSON a client can
parse. One that is not ends the stream with the protocol's error event instead of reaching a
client SDK that would crash on it; unknown fields and event types still pass untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Literal

from router.config.target import TargetContext
import msgspec

from router.core.usage import Tokens, merge, read_tokens
from router.spokes.error_shapes import anthropic_error_event, openai_error_event
from router.core.errors import RouterError, UpstreamProtocolError
from router.core.sse import SSEEvent

Protocol = Literal["anthropic", "openai"]
ANTHROPIC_PING = b'event: ping\ndata: {"type": "ping"}\n\n'
OPENAI_PING = b": ping\n\n"  # OpenAI streams have no ping event; SDKs skip comment lines


def passthrough_model(src: dict[str, Any], ctx: TargetContext) -> Any:
    return ctx.model or src.get("model")


FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType({"passthrough_model": passthrough_model})


class PassthroughStream:
    """A StreamMachine that forwards events; it knows only how each protocol ends a stream, so an
    upstream that dies before that end still gets an error event, never a clean finish.

    An OpenAI stream has ended once it said `[DONE]`, or once a chunk carried a finish_reason
    (the answer is whole then; the OpenAI SDKs end a stream without [DONE] quietly): the same
    rule the converting machine for Anthropic clients follows, so one upstream's behaviour has
    one outcome whichever client reads it."""

    __slots__ = ("_protocol", "_upstream", "_finished", "_tokens")

    def __init__(self, protocol: Protocol, upstream: str) -> None:
        self._protocol = protocol
        self._upstream = upstream
        self._finished = False
        self._tokens: Tokens | None = None

    def start(self) -> bytes:
        return b""

    def on_event(self, event: SSEEvent) -> bytes:
        data = event.data
        if not data:
            return b""  # an event without data carries nothing, and SDKs fail to parse ""
        if self._protocol == "openai" and data == b"[DONE]":
            self._finished = True
        else:
            self._tokens = merge(self._tokens, self._read(data))
            if event.event in ("message_stop", "error"):
                self._finished = True  # an upstream error event is the end of its stream too
            elif self._protocol == "openai" and not self._finished and (_finishes(data) or _is_error(data)):
                self._finished = True  # an error chunk ends an OpenAI stream: no second one after it
        return _frame(event.event, data)

    def _read(self, data: bytes) -> Tokens | None:
        try:
            return read_tokens(data)
        except (msgspec.DecodeError, RecursionError):
            raise UpstreamProtocolError(
                f"upstream {self._upstream!r} sent a stream event that is not a JSON object") from None

    def on_data(self, data: bytes) -> bytes:
        return self.on_event(SSEEvent(None, data))

    def finish(self) -> bytes:
        if not self._finished:
            raise UpstreamProtocolError("upstream stream ended before it finished")
        return b""

    def fail(self, error: RouterError) -> bytes:
        self._finished = True
        return anthropic_error_event(error) if self._protocol == "anthropic" else openai_error_event(error)

    def ping(self) -> bytes:
        return ANTHROPIC_PING if self._protocol == "anthropic" else OPENAI_PING

    def tokens(self) -> Tokens | None:
        """(in, out) as the upstream reported them, read only from the events that carry usage."""
        return self._tokens


def _finishes(chunk: bytes) -> bool:
    """Does this (valid JSON) chunk carry a non-null finish_reason? A byte test: every other
    chunk says `"finish_reason":null` or nothing."""
    at = chunk.find(b'"finish_reason"')
    if at < 0:
        return False
    value = chunk[at + 15:at + 40].lstrip(b": \t\r\n")[:1]
    return value not in (b"n", b"")


def _is_error(chunk: bytes) -> bool:
    """`{"error": {...}}`, how OpenAI-compatible servers fail mid-stream."""
    return chunk.lstrip()[:8] == b'{"error"'


def _frame(event: str | None, data: bytes) -> bytes:
    head = b"event: " + event.encode() + b"\n" if event else b""
    if b"\n" in data:  # multi-line data goes back as it came: one data: line per line
        return head + b"".join(b"data: " + line + b"\n" for line in data.split(b"\n")) + b"\n"
    return head + b"data: " + data + b"\n\n"
