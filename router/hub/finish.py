"""Why the model stopped, as traces say it: `gen_ai.response.finish_reasons` (the GenAI semantic
conventions: an array of strings, one per generation). The conventions' provider-neutral values
are stop, length, content_filter, tool_call and error; the hub's (Anthropic's) stop_reason maps
onto them, and a reason they have no value for goes as the hub named it (`pause_turn`).

Also the passthrough reader of Anthropic JSON (`read_finish`): a unary answer's `stop_reason`
or a stream's message_delta `delta.stop_reason`. Traces only: nothing else decodes for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import msgspec

FINISH_REASONS: Mapping[str, str] = MappingProxyType({
    "end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
    "model_context_window_exceeded": "length", "tool_use": "tool_call", "refusal": "content_filter",
})
NONE: tuple[str, ...] = ()


def finish_reasons(stop_reason: str | None) -> tuple[str, ...]:
    """The finish reasons of one hub answer with this stop_reason (none when it has none)."""
    if stop_reason is None:
        return NONE
    return (FINISH_REASONS.get(stop_reason, stop_reason),)


class _Delta(msgspec.Struct, gc=False):
    stop_reason: str | None = None


class _Carrier(msgspec.Struct, gc=False):
    """An answer's stop_reason, or a message_delta's (msgspec skips the rest)."""

    stop_reason: str | None = None
    delta: _Delta | None = None


_decode_carrier = msgspec.json.Decoder(_Carrier).decode


def read_finish(data: bytes) -> tuple[str, ...]:
    """The finish reasons in one Anthropic JSON object (a unary answer, an event's data). Raises
    msgspec.DecodeError (or RecursionError) when `data` is not one JSON object."""
    carrier = _decode_carrier(data)
    stop_reason = carrier.stop_reason
    if stop_reason is None and carrier.delta is not None:
        stop_reason = carrier.delta.stop_reason
    return finish_reasons(stop_reason)
