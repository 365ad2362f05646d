"""Two stream machines in a row, for a pair of two spokes that are not the hub: the upstream
spoke's machine turns its events into hub events (Anthropic SSE bytes), which are parsed in
memory and fed to the client spoke's machine. Either machine's failure ends the client's stream
the client machine's way."""

from __future__ import annotations

from typing import Literal

from router.core.errors import RouterError
from router.core.sse import SSEParser
from router.core.stream import StreamMachine
from router.core.usage import Tokens


class ChainedMachine:
    """A StreamMachine: `first` (upstream → hub) feeding `second` (hub → client)."""

    __slots__ = ("_first", "_second", "_parser")
    reads: Literal["data"] = "data"

    def __init__(self, first: StreamMachine, second: StreamMachine) -> None:
        self._first, self._second, self._parser = first, second, SSEParser()

    def start(self) -> bytes:
        return self._second.start() + self._hub(self._first.start())

    def on_data(self, data: bytes) -> bytes:
        return self._hub(self._first.on_data(data))

    def finish(self) -> bytes:
        out = self._hub(self._first.finish())
        return out + self._hub_flush() + self._second.finish()

    def fail(self, error: RouterError) -> bytes:
        return self._second.fail(error)

    def ping(self) -> bytes:
        return self._second.ping()

    def tokens(self) -> Tokens | None:
        return self._second.tokens() or self._first.tokens()

    def _hub(self, events: bytes) -> bytes:
        if not events:
            return b""
        return b"".join(self._second.on_data(event.data) for event in self._parser.feed(events) if event.data)

    def _hub_flush(self) -> bytes:
        return b"".join(self._second.on_data(event.data) for event in self._parser.flush() if event.data)
