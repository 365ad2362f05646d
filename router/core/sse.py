"""Server-Sent Events: an incremental parser and an encoder, bytes in and bytes out.

The parser follows the WHATWG event-stream rules (https://html.spec.whatwg.org/#event-stream-interpretation)
with the `feed(chunk) -> list` / `flush() -> list` shape of httpx's `_decoders.py` and httpx-sse.

Lines end only at `\\r\\n`, `\\r` or `\\n`. `str.splitlines()` and httpx's `aiter_lines()` also split on
U+2028/U+2029 and other Unicode breaks, which models emit inside JSON strings; splitting there cuts a
chunk's JSON in half. Working on bytes also saves decoding every chunk twice (msgspec reads bytes).
"""

from __future__ import annotations

import msgspec

_BOM = b"\xef\xbb\xbf"


class SSEEvent(msgspec.Struct, gc=False):
    """One dispatched event. `event` is None when the stream named none (the spec's "message").
    A msgspec struct: made once per event, and its constructor costs half a dataclass's."""

    event: str | None
    data: bytes


class DataRun(msgspec.Struct, gc=False):
    """Consecutive events of one `data: ` line each and no name. `text` is them as sent, without
    the blank line after the last ("data: A\\n\\ndata: B"); `joined` is their payloads joined
    with commas ("A,B"); `count` is how many there are."""

    text: bytes
    joined: bytes
    count: int

    def payloads(self) -> list[bytes]:
        """Each event's data, in order."""
        if self.count == 1:
            return [self.joined]
        return [line[6:] for line in self.text.split(b"\n\n")]

    def json_array(self) -> bytes:
        """The payloads as the items of one JSON array, for decoding them in one call. Check that
        it decodes to `count` items: a payload holding two values, or none, changes the count."""
        return b"[" + self.joined + b"]"

    def before_last(self, payload: bytes) -> DataRun | None:
        """The run without its last event, if that event's data is `payload` and one precedes it."""
        text = self.text
        if not text.endswith(payload) or not text.endswith(b"\n\ndata: " + payload):  # the first test is cheaper
            return None
        return DataRun(text[: -len(payload) - 8], self.joined[: -len(payload) - 1], self.count - 1)


class SSEParser:
    """Turns arbitrary byte chunks into complete events; keeps the unfinished line between calls."""

    __slots__ = ("_partial", "_after_cr", "_at_start", "_event", "_data", "last_event_id")

    def __init__(self) -> None:
        self._partial = b""  # the current line so far: no line break in it
        self._after_cr = False  # the last chunk ended in "\r": a "\n" starting the next one is its pair
        self._at_start = True  # a UTF-8 BOM may open the stream and is not part of the first line
        self._event: str | None = None
        self._data: list[bytes] = []
        self.last_event_id = ""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Parse `chunk`; return the events it completed (usually zero or one per blank line)."""
        if not chunk:
            return []
        if self._after_cr:
            self._after_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        buffer = self._partial + chunk if self._partial else chunk
        if self._at_start:
            if len(buffer) < len(_BOM) and _BOM.startswith(buffer):
                self._partial = buffer  # too short to tell whether this is a BOM yet
                return []
            self._at_start = False
            if buffer.startswith(_BOM):
                buffer = buffer[len(_BOM) :]
        if b"\r" in buffer:
            # Rare (most servers send "\n"): normalise to "\n" once instead of scanning twice per line.
            self._after_cr = buffer.endswith(b"\r")
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buffer.split(b"\n")
        self._partial = lines.pop()
        events: list[SSEEvent] = []
        data = self._data
        for line in lines:
            # `_line` inlined for the two lines nearly every event is made of: a call per line
            # was most of the parser's cost.
            if line[:5] == b"data:":
                value = line[5:]
                data.append(value[1:] if value[:1] == b" " else value)
            elif not line:
                if data:
                    events.append(SSEEvent(self._event, data[0] if len(data) == 1 else b"\n".join(data)))
                    data = self._data = []
                self._event = None
            else:
                self._line(line)  # appends to self._data, which `data` is
        return events

    def data_run(self, chunk: bytes) -> DataRun | None:
        """`feed` for the shape nearly every LLM stream has, when it fits: the parser is between
        events and `chunk` completes only events made of one `data: ` line each, and leaves at most
        an unfinished line. Then those events come back as one DataRun (found with a few scans in
        C instead of a Python step per line) and the parser moves past them. Otherwise None, and
        nothing changed: call `feed`."""
        if self._data or self._event is not None or self._after_cr or not chunk:
            return None
        buffer = self._partial + chunk if self._partial else chunk
        if self._at_start:
            if _BOM.startswith(buffer[:3]):
                return None  # a BOM, or maybe one: feed's business
            self._at_start = False  # what feed would conclude from these bytes too
        if b"\r" in buffer:
            # Google separates events with CRLF ("data: {...}\r\n\r\n"): the same run once
            # those are plain line feeds. A lone CR (a line break of its own) or one that may
            # pair with the next chunk's LF is feed's business.
            if buffer[-1:] == b"\r":
                return None
            buffer = buffer.replace(b"\r\n", b"\n")
            if b"\r" in buffer:
                return None
        end = buffer.rfind(b"\n\n")
        if end < 0 or buffer[:6] != b"data: ":
            return None
        rest = buffer[end + 2 :]
        if b"\n" in rest:
            return None
        run = buffer[:end]
        joined = run[6:].replace(b"\n\ndata: ", b",")
        if b"\n" in joined:
            return None  # a line break that is not between two data events: some other line
        self._partial = rest
        # Each separator replaced is 7 bytes shorter: their number, without counting them.
        return DataRun(run, joined, (len(run) - 6 - len(joined)) // 7 + 1)

    def flush(self) -> list[SSEEvent]:
        """The stream ended: finish the last line and dispatch an event left without a blank line."""
        events: list[SSEEvent] = []
        if self._partial:
            line, self._partial = self._partial, b""
            event = self._line(line)
            if event is not None:
                events.append(event)
        event = self._dispatch()
        if event is not None:
            events.append(event)
        self._after_cr = False
        return events

    def _line(self, line: bytes) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(b"data:"):  # by far the most common line: skip partition()
            value = line[5:]
            self._data.append(value[1:] if value[:1] == b" " else value)
            return None
        if line[:1] == b":":
            return None  # a comment: servers send them as keep-alives
        field, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if field == b"event":
            self._event = value.decode("utf-8", "replace")
        elif field == b"data":  # "data" without a colon: an empty data line
            self._data.append(value)
        elif field == b"id" and b"\0" not in value:
            self.last_event_id = value.decode("utf-8", "replace")
        # "retry" and unknown fields are ignored, as the spec says.
        return None

    def _dispatch(self) -> SSEEvent | None:
        """A blank line ends an event, but only one that had data (an `event:` alone is dropped)."""
        data, event = self._data, self._event
        self._event = None
        if not data:
            return None
        self._data = []
        return SSEEvent(event, data[0] if len(data) == 1 else b"\n".join(data))


def encode_event(event: str, data: bytes) -> bytes:
    """One event with a name and a single line of data (JSON never contains a raw line break)."""
    return b"event: %s\ndata: %s\n\n" % (event.encode(), data)
