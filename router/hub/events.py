"""What every client spoke's stream machine does alike with the hub's stream events, whatever it
turns them into: decode one event's data, keep the usage it reports, and fail on an `error` event.

Plain functions, called once per event from each machine's `on_data` (no wrapper class): the
machines are hot paths.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from router.core.errors import UpstreamProtocolError, UpstreamStatusError
from router.hub.messages import StreamError, StreamEvent, Usage

_decode_event = msgspec.json.Decoder(StreamEvent).decode


def decode_event(data: bytes, upstream: str) -> StreamEvent:
    """One event's data. A broken event is the upstream's fault (it, or the upstream spoke that
    made the hub stream, sent it): UpstreamProtocolError, so the relay fails the stream."""
    try:
        return _decode_event(data)
    except msgspec.DecodeError as exc:
        raise UpstreamProtocolError(f"upstream {upstream!r} sent an invalid stream event: {exc}") from None


def merge_usage(into: Usage, given: Usage) -> None:
    """message_start's and message_delta's counts, into the stream's: message_delta's are
    cumulative, so each one given replaces the earlier value; one left out keeps it."""
    for name in Usage.__struct_fields__:
        value = getattr(given, name)
        if value is not None:
            setattr(into, name, value)


def stream_failure(error: StreamError | None, upstream: str, statuses: Mapping[str, int]) -> UpstreamStatusError:
    """What an `error` event means: the upstream failed mid-stream, with the status its error type
    stands for in the client's protocol (`statuses`: error type → status, 500 for the rest)."""
    kind = (error.type if error is not None else None) or "api_error"
    message = (error.message if error is not None else None) or kind
    return UpstreamStatusError(statuses.get(kind, 500), f"upstream {upstream!r} failed mid-stream: {message}")
