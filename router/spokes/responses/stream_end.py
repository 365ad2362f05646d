"""When a Responses stream has ended, for same-protocol passthrough: at `response.completed`,
`response.incomplete` (the answer is whole, cut by a limit) or `response.failed`, or at an
`error` event (nothing follows one). The same events end the converting machine
(router.spokes.responses.upstream.stream), so one upstream's behaviour has one outcome
whichever client reads it. Codex retries a stream that ends without one of them: the relay's
error event is what makes a cut stream look cut."""

from __future__ import annotations

from typing import Any

import msgspec

from router.core.errors import RouterError
from router.core.ids import new_id
from router.spokes.responses.errors import error_event_at, failure_object

END_EVENTS: frozenset[str] = frozenset({"response.completed", "response.incomplete", "response.failed", "error"})

_END_TYPES: frozenset[bytes] = frozenset(name.encode() for name in END_EVENTS)
_TYPE_HEAD = b'{"type":"'  # how OpenAI writes every event: its type first, compact


class _Typed(msgspec.Struct, gc=False):
    type: str | None = None


_decode_typed = msgspec.json.Decoder(_Typed).decode
_encode = msgspec.json.Encoder().encode


class _Numbered(msgspec.Struct, gc=False):
    sequence_number: int | None = None
    response: dict[str, Any] | None = None


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


def failure(error: RouterError, first: bytes | None, last: bytes | None) -> bytes:
    """A passed-through stream that broke ends as a converted one does: `error`, then
    `response.failed` with the response the stream created (status failed, the error's code
    and message), numbered on from the last event the client got. Codex acts on
    `response.failed`; SDKs check the numbers."""
    created, number = _read(first).response, _read(last).sequence_number
    following = -1 if number is None else number
    response: dict[str, Any] = {"id": new_id("resp_"), "object": "response", "output": [], "usage": None}
    if created is not None:
        response = {**created, "output": [], "usage": None}
    response.update(status="failed", error=failure_object(error), incomplete_details=None)
    failed = _encode({"type": "response.failed", "response": response, "sequence_number": following + 2})
    return error_event_at(error, following + 1) + b"event: response.failed\ndata: " + failed + b"\n\n"


def _read(data: bytes | None) -> _Numbered:
    if data is None:
        return _Numbered()
    try:
        return msgspec.json.decode(data, type=_Numbered)
    except (msgspec.DecodeError, msgspec.ValidationError):  # the broken event itself, maybe
        return _Numbered()
