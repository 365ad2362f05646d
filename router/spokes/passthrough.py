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

import msgspec

from router.config.target import TargetContext
from router.core.errors import RouterError, UpstreamProtocolError
from router.core.sse import SSEEvent
from router.core.usage import Tokens, merge
from router.spokes.spoke import Spoke


def passthrough_model(src: dict[str, Any], ctx: TargetContext) -> Any:
    """The target's model name for the body; none where the body has none, because the
    protocol's URL carries it (Gemini): its API rejects a `model` field it does not expect."""
    if "model" not in src:
        return None
    return ctx.model or src["model"]


FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType({"passthrough_model": passthrough_model})


class PassthroughStream:
    """A StreamMachine that forwards events; it knows only how its protocol ends a stream (the
    spoke's PassthroughRules), so an upstream that dies before that end still gets an error
    event, never a clean finish. An error event or chunk is the end of its stream too: nothing
    follows it."""

    __slots__ = ("_spoke", "_rules", "_upstream", "_finished", "_tokens", "_first", "_last", "_before_last")
    reads: Literal["events"] = "events"  # re-frames `event:` lines, so it needs the names

    def __init__(self, spoke: Spoke, upstream: str) -> None:
        self._spoke = spoke
        self._rules = spoke.client.passthrough
        self._upstream = upstream
        self._finished = False
        self._tokens: Tokens | None = None
        # The first event's data, kept only for a spoke whose failure events need it; the last
        # two events' (references, no copy), where the stop reason is: a trace reads them at the
        # end (Anthropic's message_delta before message_stop, OpenAI's finish chunk before the
        # usage chunk), and nothing else decodes anything for it.
        self._first: bytes | None = None
        self._last: bytes | None = None
        self._before_last: bytes | None = None

    def start(self) -> bytes:
        return b""

    def on_event(self, event: SSEEvent) -> bytes:
        data = event.data
        if not data:
            return b""  # an event without data carries nothing, and SDKs fail to parse ""
        rules = self._rules
        if data == rules.done_marker:
            self._finished = True
        else:
            self._tokens = merge(self._tokens, self._read(data))
            if event.event in rules.end_events or (not self._finished and rules.ends(data)):
                self._finished = True
            self._before_last, self._last = self._last, data
        if rules.failure is not None and self._first is None:  # read (above), so it is JSON
            self._first = data
        return _frame(event.event, data)

    def _read(self, data: bytes) -> Tokens | None:
        try:
            return self._spoke.read_usage(data)
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
        failure = self._rules.failure
        if failure is not None:
            return failure(error, self._first, self._last)
        return self._spoke.client.error_event(error)

    def ping(self) -> bytes:
        return self._rules.ping

    def tokens(self) -> Tokens | None:
        """The counts as the upstream reported them (each kind's latest non-zero), read only from
        the events that carry usage."""
        return self._tokens

    def finish_reasons(self) -> tuple[str, ...]:
        """Read from the last event that says (of the last two)."""
        read = self._spoke.read_finish
        for data in (self._last, self._before_last):
            if data is not None:
                reasons = read(data)  # JSON: on_event read each one whole already
                if reasons:
                    return reasons
        return ()


def _frame(event: str | None, data: bytes) -> bytes:
    head = b"event: " + event.encode() + b"\n" if event else b""
    if b"\n" in data:  # multi-line data goes back as it came: one data: line per line
        return head + b"".join(b"data: " + line + b"\n" for line in data.split(b"\n")) + b"\n"
    return head + b"data: " + data + b"\n\n"
