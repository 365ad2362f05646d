"""What every client spoke's stream machine does alike with the hub's stream events, whatever it
turns them into: decode one event's data, dispatch it by type, keep the stop reason and usage it
reports, fail on an `error` event, and refuse a stream that ends before message_stop.

`HubEventReader` is that half of a machine; the client spoke's subclass writes its protocol's
events from its handlers. Inheriting adds no call per event: `on_data` decodes and calls the
handler directly (one call fewer than the machines made on their own).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Literal

import msgspec

from router.config.target import TargetContext
from router.core.errors import UpstreamProtocolError, UpstreamStatusError
from router.core.usage import Tokens
from router.hub.finish import finish_reasons
from router.hub.messages import StreamError, StreamEvent, Usage
from router.hub.usage import usage_tokens

_decode_event = msgspec.json.Decoder(StreamEvent).decode


def _invalid_event(upstream: str, error: msgspec.DecodeError) -> UpstreamProtocolError:
    """A hub event that does not decode is the upstream's fault (it, or the upstream spoke that
    made the hub stream, sent it): the relay fails the stream."""
    return UpstreamProtocolError(f"upstream {upstream!r} sent an invalid stream event: {error}")


def merge_usage(into: Usage, given: Usage) -> None:
    """message_start's and message_delta's counts, into the stream's: message_delta's are
    cumulative, so each one given replaces the earlier value; one left out keeps it."""
    for name in Usage.__struct_fields__:
        value = getattr(given, name)
        if value is not None:
            setattr(into, name, value)


def _stream_failure(error: StreamError | None, upstream: str, statuses: Mapping[str, int]) -> UpstreamStatusError:
    """What an `error` event means: the upstream failed mid-stream, with the status its error type
    stands for in the client's protocol (`statuses`: error type → status, 500 for the rest)."""
    kind = (error.type if error is not None else None) or "api_error"
    message = (error.message if error is not None else None) or kind
    return UpstreamStatusError(statuses.get(kind, 500), f"upstream {upstream!r} failed mid-stream: {message}")


class HubEventReader:
    """A client spoke's stream machine, the part that reads hub events (the StreamMachine methods
    on_data, finish and tokens). A subclass sets `handlers` (event type → its method; types it
    does not name are skipped, so event types Anthropic adds later pass) and `error_statuses`
    (an `error` event's type → the status the client is told), and writes start, fail and ping."""

    __slots__ = ("_ctx", "_ended", "_handlers", "_stop_reason", "_usage")

    reads: Literal["data"] = "data"
    handlers: ClassVar[Mapping[str, Callable[[Any, StreamEvent], bytes]]] = MappingProxyType({})
    error_statuses: ClassVar[Mapping[str, int]] = MappingProxyType({})

    def __init__(self, ctx: TargetContext) -> None:
        self._ctx = ctx
        # The class's handlers in a slot: read per event, and a slot is the quickest attribute.
        self._handlers = self.handlers
        self._stop_reason: str | None = None  # message_delta's
        self._usage = Usage()  # message_start's and message_delta's, merged
        self._ended = False  # the client's stream has its end (or its error): nothing may follow

    def on_data(self, data: bytes) -> bytes:
        """One hub event's data. Raises UpstreamError on a broken event or an `error` event."""
        if self._ended or not data or data.isspace():
            return b""
        try:
            event = _decode_event(data)
        except msgspec.DecodeError as exc:
            raise _invalid_event(self._ctx.upstream, exc) from None
        handler = self._handlers.get(event.type)
        return handler(self, event) if handler is not None else b""

    def finish(self) -> bytes:
        """The hub stream ended. Without message_stop the answer was cut short, and ending
        cleanly would pass it off as complete."""
        if self._ended:
            return b""
        raise UpstreamProtocolError(f"upstream {self._ctx.upstream!r} stream ended before message_stop")

    def tokens(self) -> Tokens | None:
        """The counts message_start/message_delta reported (input with the cache's reads and writes)."""
        return usage_tokens(self._usage)

    def finish_reasons(self) -> tuple[str, ...]:
        return finish_reasons(self._stop_reason)

    def _on_message_delta(self, event: StreamEvent) -> bytes:
        if event.delta is not None and event.delta.stop_reason is not None:
            self._stop_reason = event.delta.stop_reason
        if event.usage is not None:
            merge_usage(self._usage, event.usage)
        return b""

    def _on_error(self, event: StreamEvent) -> bytes:
        raise _stream_failure(event.error, self._ctx.upstream, self.error_statuses)
