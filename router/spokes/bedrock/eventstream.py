"""AWS event streams (`application/vnd.amazon.eventstream`, what ConverseStream and
InvokeModelWithResponseStream answer) → the events the stream machines read (the spoke's
StreamFraming.reframer; the relay's ReframedTranslator hands them to the machine).

The events go to the machine as SSEEvent objects, never through SSE text: writing each frame out
as `event:`/`data:` lines only for the relay's SSE parser to split them again cost a quarter of
a Bedrock stream's conversion.

Each binary frame (prelude: total and headers lengths and a CRC32; typed headers; a payload; a
CRC32 of the whole) is parsed by botocore's EventStreamBuffer, which checks both CRCs. botocore is
an optional extra, imported here only when a stream is read: importing the spoke never needs it,
and a Bedrock upstream cannot be configured without it (`router check` says so).

    ConverseStream    `:message-type: event`, `:event-type: contentBlockDelta`, payload JSON
                      → SSEEvent("contentBlockDelta", <payload as sent>)
    InvokeModel       `:event-type: chunk`, payload `{"bytes": "<base64 of one Anthropic event>"}`
                      → SSEEvent(<the event's type>, <the event JSON>), the events the
                      Anthropic API itself streams
    either            `:message-type: exception` (`:exception-type: throttlingException`, payload
                      `{"message": …}`) → an UpstreamStatusError with the status the type means
                      (router.spokes.bedrock.errors): the relay sends the client's error event.

Frames may be split anywhere across reads. What a read converted before an exception or a broken
frame still goes out, then the error. A frame over 16 MiB, a CRC mismatch or a body that ends
mid-frame is an UpstreamProtocolError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import msgspec

from router.core.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError
from router.core.sse import SSEEvent
from router.spokes.bedrock.errors import error_status, without_signatures

# Larger than any event an LLM stream carries (a whole tool call's input is one delta at most),
# and small enough that a broken length never makes us buffer much. botocore allows 24 MiB.
MAX_FRAME_BYTES = 16 * 1024 * 1024

# (event type, payload, upstream) → the event it becomes (None for none)
_Convert = Callable[[str, bytes, str], SSEEvent | None]


def _buffer() -> Any:
    """botocore's incremental frame parser, imported only when a stream is read (botocore is an
    optional extra and ships no type hints), its header parsing cached (_parsed_headers)."""
    from botocore.eventstream import EventStreamBuffer  # type: ignore[import-untyped]

    buffer = EventStreamBuffer()
    if hasattr(buffer, "_header_parser"):  # botocore's attribute since 2018; without it, just slower
        buffer._header_parser = _CachedHeaderParser()
    return buffer


class _CachedHeaderParser:
    """botocore's EventStreamHeaderParser, asked once per distinct header block."""

    __slots__ = ()

    @staticmethod
    def parse(data: bytes) -> Mapping[str, Any]:
        return _parsed_headers(data)


@lru_cache(maxsize=64)
def _parsed_headers(data: bytes) -> Mapping[str, Any]:
    """A frame's headers, read-only. Bedrock's frames repeat a handful of header blocks (one per
    event type), and botocore parses headers a field at a time in Python: ~70 % of its time per
    frame, done here once per process instead. botocore checks a frame's CRC before it parses
    its headers, so only intact blocks get here; a stream of ever-new headers costs botocore's
    own time and evicts nothing that matters for long."""
    from botocore.eventstream import EventStreamHeaderParser

    return MappingProxyType(EventStreamHeaderParser().parse(data))


class _ExceptionPayload(msgspec.Struct, gc=False):
    """An exception frame's payload. ModelStreamErrorException adds what the model said."""

    message: str | None = None
    message_upper: str | None = msgspec.field(name="Message", default=None)  # some AWS services capitalise it
    original_status_code: int | None = msgspec.field(name="originalStatusCode", default=None)
    original_message: str | None = msgspec.field(name="originalMessage", default=None)


class _PayloadPart(msgspec.Struct, gc=False):
    """An InvokeModel `chunk`: msgspec decodes the base64 string to the event's JSON bytes."""

    bytes_: bytes = msgspec.field(name="bytes", default=b"")


class _Typed(msgspec.Struct, gc=False):
    type: str = ""


_decode_exception = msgspec.json.Decoder(_ExceptionPayload).decode
_decode_part = msgspec.json.Decoder(_PayloadPart).decode
_decode_typed = msgspec.json.Decoder(_Typed).decode


class EventStreamReframer:
    """Binary frames in, at any split, events out; one per stream (a Reframer: router.spokes.spoke).

    `feed` returns the events the frames completed so far made. After an exception frame or a
    broken frame it returns what came before that frame, and `failure` holds the error: the
    caller ends the stream with it (router.upstream.relay.ReframedTranslator does); later feeds return nothing. `end`
    checks the body did not stop mid-frame."""

    __slots__ = ("_buffer", "_convert", "_pending", "_upstream", "failure")

    def __init__(self, convert: _Convert, upstream: str) -> None:
        self._buffer = _buffer()
        self._convert = convert
        self._upstream = upstream
        self._pending = 0  # bytes fed and not yet parsed into a frame
        self.failure: UpstreamError | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if self.failure is not None or not chunk:
            return []
        buffer = self._buffer
        buffer.add_data(chunk)
        self._pending += len(chunk)
        out: list[SSEEvent] = []
        convert, upstream = self._convert, self._upstream
        # One loop over botocore's whole frames, events converted as they come (a stream is all
        # events but its last frame, if that is an exception): per frame, botocore's parse and
        # one conversion call, nothing else.
        try:
            for message in buffer:
                size = message.prelude.total_length
                if size > MAX_FRAME_BYTES:
                    self.failure = self._broken(f"a frame of {size} bytes (at most {MAX_FRAME_BYTES})")
                    return out
                self._pending -= size
                headers = message.headers
                if headers.get(":message-type") == "event":
                    event_type = headers.get(":event-type")
                    event = convert(event_type, message.payload, upstream) if isinstance(event_type, str) else None
                    if event is not None:
                        out.append(event)
                else:
                    self._not_an_event(headers, message.payload)
        except UpstreamError as exc:  # an exception frame, or a payload that is not what its type says
            self.failure = exc
            return out
        except Exception as exc:  # noqa: BLE001 - botocore's parser on bytes it cannot parse
            # ChecksumMismatch, a length over botocore's bounds, an unknown header type, a
            # header that is not UTF-8: all the same to the client, a stream we cannot read.
            self.failure = self._broken(f"a malformed frame ({type(exc).__name__}: {exc})")
            return out
        if self._pending > MAX_FRAME_BYTES:  # a frame still incomplete past the bound
            self.failure = self._broken(f"a frame of over {MAX_FRAME_BYTES} bytes")
        return out

    def end(self) -> None:
        """The body ended: raises UpstreamProtocolError if it stopped inside a frame."""
        if self.failure is None and self._pending:
            self.failure = self._broken(f"a frame cut short ({self._pending} bytes of it)")
        if self.failure is not None:
            raise self.failure

    def _not_an_event(self, headers: Mapping[str, Any], payload: bytes) -> None:
        """A frame that is not an event: raises the error an exception or error frame carries;
        any other message type (none that Bedrock sends today) is nothing to convert."""
        kind = headers.get(":message-type")
        if kind == "exception":
            raise stream_exception(str(headers.get(":exception-type") or "exception"), payload, self._upstream)
        if kind == "error":  # the framing's own error message: its code and message are headers
            raise failed_mid_stream(str(headers.get(":error-code") or "error"),
                                    str(headers.get(":error-message") or "no message"), self._upstream)

    def _broken(self, what: str) -> UpstreamProtocolError:
        return UpstreamProtocolError(f"upstream {self._upstream!r} sent an unreadable event stream: {what}")


def stream_exception(exception_type: str, payload: bytes, upstream: str) -> UpstreamError:
    """An exception frame → the error the client's stream ends with."""
    try:
        body = _decode_exception(payload)
    except (msgspec.DecodeError, RecursionError):
        body = _ExceptionPayload()
    message = body.message or body.message_upper or "no message"
    said = " ".join(str(part) for part in (body.original_status_code, body.original_message) if part)
    if said:  # ModelStreamErrorException: what the model itself answered
        message += f" (the model said {said})"
    return failed_mid_stream(exception_type, message, upstream)


def failed_mid_stream(exception_type: str, message: str, upstream: str) -> UpstreamStatusError:
    return UpstreamStatusError(error_status(exception_type),
                               f"upstream {upstream!r} failed mid-stream: {exception_type}: {without_signatures(message)}")


# --- ConverseStream ---------------------------------------------------------------------------


def converse_event(event_type: str, payload: bytes, upstream: str) -> SSEEvent:
    """One ConverseStream event, named by its type, the payload as sent: only our own machine
    reads it (router.spokes.bedrock.stream), and it ignores names it does not know."""
    return SSEEvent(event_type, payload)


# --- InvokeModelWithResponseStream --------------------------------------------------------------

_ANTHROPIC_EVENTS = ("message_start", "content_block_start", "content_block_delta", "content_block_stop",
                     "message_delta", "message_stop", "ping", "error")
# What an Anthropic event's JSON starts with, as Claude on Bedrock sends it (`type` first, no
# spaces) → its name: the event named without decoding the JSON.
_ANTHROPIC_NAMES: Mapping[bytes, str] = MappingProxyType(
    {b'{"type":"' + name.encode() + b'"': name for name in _ANTHROPIC_EVENTS})
_TYPE_END = len('{"type":"') + 1  # where the closing quote of the shortest event name may be found from


def invoke_event(event_type: str, payload: bytes, upstream: str) -> SSEEvent | None:
    """One InvokeModel `chunk` → the Anthropic event it carries, as the Anthropic API streams it.

    Its name goes out to Anthropic clients as the `event:` line (passthrough re-frames it), so a
    name that could forge SSE lines drops the event; and its data on one line, since a bare
    carriage return inside an SSE data line would end it early."""
    if event_type != "chunk":
        return None  # nothing else is an Anthropic event
    try:
        data = _decode_part(payload).bytes_
    except (msgspec.DecodeError, RecursionError) as exc:
        raise UpstreamProtocolError(f"upstream {upstream!r} sent an unreadable stream chunk: {exc}") from None
    name = _ANTHROPIC_NAMES.get(data[: data.find(b'"', _TYPE_END) + 1]) or _named_by_type(data, upstream)
    return None if name is None else SSEEvent(name, _one_line(data))


def _named_by_type(data: bytes, upstream: str) -> str | None:
    """The slow way, for JSON spaced differently or a type we have no name for: the type if it is
    one word (a name with a line break would forge SSE lines), else None."""
    try:
        name = _decode_typed(data).type
    except (msgspec.DecodeError, RecursionError) as exc:
        raise UpstreamProtocolError(f"upstream {upstream!r} sent a stream chunk that is not an event: {exc}") from None
    if name and name.isascii() and name.replace("_", "").replace("-", "").isalnum():
        return name
    return None


def _one_line(payload: bytes) -> bytes:
    """JSON may hold line breaks only as whitespace between tokens (never raw in a string), so
    they become spaces."""
    if b"\n" in payload or b"\r" in payload:
        return b" ".join(payload.splitlines())
    return payload


def converse_reframer(upstream: str) -> EventStreamReframer:
    """ConverseStream's body → events named as Converse names them (StreamFraming.reframer)."""
    return EventStreamReframer(converse_event, upstream)


def invoke_reframer(upstream: str) -> EventStreamReframer:
    """InvokeModelWithResponseStream's body → the Anthropic events it carries (StreamFraming.reframer)."""
    return EventStreamReframer(invoke_event, upstream)
