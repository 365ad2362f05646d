"""Two stream machines in a row, for a pair of two spokes that are not the hub: the upstream
spoke's machine turns its events into hub events (Anthropic SSE bytes), whose data are fed to
the client spoke's machine. Either machine's failure ends the client's stream the client
machine's way.

The hub events come from our own machines, never from the network: whole events, each one
`event:` line and one `data:` line (router.core.sse.encode_event), ended by a blank line. So they
are split, not parsed: an SSE parser here cost a third of a chained stream (issue 15's bench)."""

from __future__ import annotations

from typing import Literal, cast

from router.core.errors import RouterError
from router.core.sse import DataRun, SSEEvent
from router.core.stream import EventMachine, RunMachine, StreamMachine
from router.core.usage import Tokens


class ChainedMachine:
    """A StreamMachine: `first` (upstream → hub) feeding `second` (hub → client)."""

    __slots__ = ("_first", "_second", "reads")

    def __init__(self, first: StreamMachine, second: StreamMachine) -> None:
        self._first, self._second = first, second
        # Runs of upstream data when the first machine takes them (one decode per read, not per
        # event); whole events when it needs their names (Bedrock's Converse events, named by
        # the event line); the hub events it makes go to the second one by one as ever.
        self.reads: Literal["data", "events", "runs"] = first.reads

    def start(self) -> bytes:
        return self._second.start() + self._hub(self._first.start())

    def on_data(self, data: bytes) -> bytes:
        return self._hub(self._first.on_data(data))

    def on_event(self, event: SSEEvent) -> bytes:
        """Only asked when the first machine reads whole events."""
        return self._hub(cast(EventMachine, self._first).on_event(event))

    def on_run(self, run: DataRun) -> bytes | None:
        """Only asked when the first machine reads runs; None (nothing changed) when it declines."""
        converted = cast(RunMachine, self._first).on_run(run)
        return None if converted is None else self._hub(converted)

    def finish(self) -> bytes:
        return self._hub(self._first.finish()) + self._second.finish()

    def fail(self, error: RouterError) -> bytes:
        return self._second.fail(error)

    def ping(self) -> bytes:
        return self._second.ping()

    def tokens(self) -> Tokens | None:
        return self._second.tokens() or self._first.tokens()

    def finish_reasons(self) -> tuple[str, ...]:
        return self._second.finish_reasons() or self._first.finish_reasons()

    def _hub(self, events: bytes) -> bytes:
        """Each hub event's data to the client machine (see the module docstring for why a split
        is enough)."""
        if not events:
            return b""
        on_data = self._second.on_data
        out = []
        for event in events.split(b"\n\n"):
            at = event.find(b"data: ")
            if at >= 0:
                out.append(on_data(event[at + 6:]))
        return b"".join(out)
