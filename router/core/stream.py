"""The two interfaces a relayed stream is made of (router.upstream.relay drives them): the
per-request machine that translates events, and the observer told how the stream went."""

from __future__ import annotations

from typing import Literal, Protocol

from router.core.errors import RouterError
from router.core.sse import DataRun, SSEEvent
from router.core.usage import Tokens


class StreamMachine(Protocol):
    """A per-request translator from the upstream's SSE data payloads to the client's SSE bytes.

    Every method returns ready-to-write bytes (several events concatenated, or b"").
    `on_data` and `finish` raise `UpstreamError` when the upstream broke the stream; after that
    (or any other failure) the relay calls `fail`, and nothing else, once.

    `reads` declares how the relay feeds it: "data" (each event's data, `on_data`), "events"
    (whole events with their names, `on_event`: an EventMachine) or "runs" (a read made only of
    plain data events as one DataRun when it can, `on_run`: a RunMachine; `on_data` otherwise).
    """

    @property
    def reads(self) -> Literal["data", "events", "runs"]: ...

    def start(self) -> bytes:
        """The opening event(s), sent before the upstream's first byte."""
        ...

    def on_data(self, data: bytes) -> bytes:
        """One SSE event's data from the upstream."""
        ...

    def finish(self) -> bytes:
        """The upstream body ended; raise UpstreamError if it ended before finishing."""
        ...

    def fail(self, error: RouterError) -> bytes:
        """The error event(s) that end the client's stream; the machine is done afterwards."""
        ...

    def ping(self) -> bytes:
        """A keep-alive the client ignores."""
        ...

    def tokens(self) -> Tokens | None:
        """The token counts from the usage the upstream reported so far; None if none."""
        ...

    def finish_reasons(self) -> tuple[str, ...]:
        """Why the model stopped (router.hub.finish's values), as far as the stream said; asked
        once at its end, and only for a traced request (traces' gen_ai.response.finish_reasons)."""
        ...


class EventMachine(StreamMachine, Protocol):
    """A machine that needs events whole, names included (passthrough re-frames `event:` lines)."""

    def on_event(self, event: SSEEvent) -> bytes: ...


class RunMachine(StreamMachine, Protocol):
    """A machine that converts a run of data events in one call, for speed."""

    def on_run(self, run: DataRun) -> bytes | None:
        """The data of several events at once (router.core.sse.SSEParser.data_run), or None,
        having changed nothing: then they come one by one through `on_data`."""
        ...


class StreamObserver(Protocol):
    """Told about a relayed stream; both calls are cheap and never raise."""

    def first_output(self) -> None:
        """The first bytes made from upstream data (not the opening event, not a ping) went out."""
        ...

    def ended(self, error: RouterError | None, completed: bool, tokens: Tokens | None,
              machine: StreamMachine | None = None) -> None:
        """The stream is over: finished (`completed`), failed (`error`, sent as an error event),
        or neither (the client went away, or the server cancelled it). `machine`: the stream's,
        for what only a trace asks of it at the end (finish_reasons)."""
        ...
