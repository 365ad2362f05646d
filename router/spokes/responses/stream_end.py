"""When a Responses stream has ended, for same-protocol passthrough: at `response.completed`,
`response.incomplete` (the answer is whole, cut by a limit) or `response.failed`, or at an
`error` event (nothing follows one). The same events end the converting machine
(router.spokes.responses.upstream.stream), so one upstream's behaviour has one outcome
whichever client reads it. Codex retries a stream that ends without one of them: the relay's
error event is what makes a cut stream look cut."""

from __future__ import annotations

import msgspec

END_EVENTS: frozenset[str] = frozenset({"response.completed", "response.incomplete", "response.failed", "error"})

_END_TYPES: frozenset[bytes] = frozenset(name.encode() for name in END_EVENTS)
_TYPE_HEAD = b'{"type":"'  # how OpenAI writes every event: its type first, compact


class _Typed(msgspec.Struct, gc=False):
    type: str | None = None


_decode_typed = msgspec.json.Decoder(_Typed).decode


def ends(data: bytes) -> bool:
    """Does this event's data (valid JSON) end the stream? Read by its first bytes when the type
    comes first (OpenAI's own streams, and nearly every event is a delta that is told apart
    there); otherwise the type is decoded, the rest skipped."""
    if data.startswith(_TYPE_HEAD):
        end = data.find(b'"', len(_TYPE_HEAD))
        if end > 0 and data.find(b"\\", len(_TYPE_HEAD), end) < 0:
            return data[len(_TYPE_HEAD):end] in _END_TYPES
    try:
        kind = _decode_typed(data).type
    except msgspec.DecodeError:
        return False  # not one JSON object: the passthrough machine reports that itself
    return kind is not None and kind in END_EVENTS
