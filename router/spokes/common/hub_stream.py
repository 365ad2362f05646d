"""The part every upstream spoke's stream machine that writes a hub stream (a non-Anthropic
upstream's stream, converted) shares: the events one call produced, whether the stream has
ended, how the message opens and ends, and how it fails.

A base class rather than functions: fail and ping are StreamMachine methods, and `_out` and
`_ended` are read on the machines' per-event paths, where a slot is the quickest attribute.
"""

from __future__ import annotations

from typing import Any

from router.core.errors import RouterError, UpstreamProtocolError
from router.hub.event_bytes import MESSAGE_STOP, PING, message_delta, message_start
from router.hub.finish import finish_reasons
from router.spokes.anthropic.errors import error_event as hub_error_event


class HubEventWriter:
    """Holds `_out` (events produced by the current call, joined on return with
    router.hub.event_bytes.take) and `_ended` (message_stop or an error sent: nothing may follow)."""

    __slots__ = ("_ended", "_hub_stop", "_out")

    def __init__(self) -> None:
        self._out: list[bytes] = []
        self._ended = False
        self._hub_stop: str | None = None  # the stop_reason the message ended with

    def _start_message(self, message_id: str, model: str, input_tokens: int) -> None:
        """message_start, then a ping: how Anthropic opens its streams."""
        self._out.append(message_start(message_id, model, input_tokens))
        self._out.append(PING)

    def _end_message(self, stop_reason: str | None, usage: Any) -> None:
        """message_delta (the stop reason and usage, hub shape), then message_stop: nothing may follow."""
        self._out.append(message_delta(stop_reason, usage))
        self._out.append(MESSAGE_STOP)
        self._ended = True
        self._hub_stop = stop_reason

    def finish_reasons(self) -> tuple[str, ...]:
        return finish_reasons(self._hub_stop)

    def finish(self) -> bytes:
        """The upstream body ended. Before the upstream's own end of the answer it died
        mid-answer, and ending cleanly would pass a truncated answer off as complete. (A machine
        whose upstream may end by closing the body overrides this.)"""
        if not self._ended:
            raise UpstreamProtocolError("upstream stream ended before it finished")
        return b""

    def fail(self, error: RouterError) -> bytes:
        """End with an `error` event, dropping what the call had produced. Open blocks stay open:
        closing them would make a cut answer look finished to clients that ignore the error event."""
        if self._ended:
            return b""
        self._ended = True
        self._out.clear()
        return hub_error_event(error)

    def ping(self) -> bytes:
        return PING
