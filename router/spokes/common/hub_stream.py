"""The part every upstream spoke's stream machine that writes a hub stream (a non-Anthropic
upstream's stream, converted) shares: the events one call produced, whether the stream has
ended, and how it fails.

A base class rather than functions: fail and ping are StreamMachine methods, and `_out` and
`_ended` are read on the machines' per-event paths, where a slot is the quickest attribute.
"""

from __future__ import annotations

from router.core.errors import RouterError
from router.hub.event_bytes import PING
from router.spokes.anthropic.errors import error_event as hub_error_event


class HubEventWriter:
    """Holds `_out` (events produced by the current call, joined on return with
    router.hub.event_bytes.take) and `_ended` (message_stop or an error sent: nothing may follow)."""

    __slots__ = ("_ended", "_out")

    def __init__(self) -> None:
        self._out: list[bytes] = []
        self._ended = False

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
