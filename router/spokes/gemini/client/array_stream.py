"""A Gemini stream without `alt=sse`: one JSON array whose items are the chunks, written as it
grows (`[{…}\r\n,{…}\r\n]`), which is how Google serves `:streamGenerateContent` by default.

The stream machines write SSE (`data: <chunk>` events); this wraps what they wrote. A piece of
input may hold several events, or end inside one (a passthrough relays the upstream's reads as
they came): the unfinished event waits for the next piece. Every piece gives one (perhaps
empty) piece out, so the front door's timing is the SSE stream's; the array opens with its first
item and closes when the input ends; a last
piece marked FinalChunk (router.core.answer: the writer ends the body in the same write) gives
its mark to the closing piece. An error event becomes the array's last item, as Google ends a
broken array stream.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from router.core.answer import FinalChunk

_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_LINE_END = re.compile(rb"\r\n|\n|\r")
_DATA = b"data:"


class _Framer:
    """SSE events → array items, across pieces."""

    __slots__ = ("_items", "_pending")

    def __init__(self) -> None:
        self._pending = b""  # the start of an event whose end has not come yet
        self._items = 0

    def feed(self, piece: bytes) -> bytes:
        text = self._pending + piece if self._pending else piece
        events = _EVENT_END.split(text)
        self._pending = events.pop()
        return b"".join(self._item(event) for event in events)

    def close(self) -> bytes:
        tail = self._item(self._pending) if self._pending.strip() else b""
        self._pending = b""
        return tail + (b"]" if self._items else b"[]")

    def _item(self, event: bytes) -> bytes:
        data = b"\n".join(
            line[len(_DATA):].removeprefix(b" ") for line in _LINE_END.split(event) if line.startswith(_DATA))
        if not data:
            return b""  # a comment, a ping: nothing to put in the array
        head = b"," if self._items else b"["
        self._items += 1
        return head + data + b"\r\n"


async def json_array(events: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    framer = _Framer()
    try:
        async for piece in events:
            out = framer.feed(piece)
            if isinstance(piece, FinalChunk):
                yield FinalChunk(out + framer.close())
                return
            yield out
        yield FinalChunk(framer.close())
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()
