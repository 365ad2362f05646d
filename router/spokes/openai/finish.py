"""Finish reasons (traces' `gen_ai.response.finish_reasons`, router.hub.finish) of an OpenAI Chat
answer or stream chunk, read only for a traced passthrough: each choice's `finish_reason`, as the
GenAI conventions name it (theirs are OpenAI's, but for the tool call's)."""

from __future__ import annotations

import msgspec

TOOL_CALL = frozenset({"tool_calls", "function_call"})


class _Choice(msgspec.Struct, gc=False):
    finish_reason: str | None = None


class _Carrier(msgspec.Struct, gc=False):
    choices: list[_Choice] | None = None


_decode_carrier = msgspec.json.Decoder(_Carrier).decode


def read_finish(data: bytes) -> tuple[str, ...]:
    """Raises msgspec.DecodeError (or RecursionError) when `data` is not one JSON object."""
    choices = _decode_carrier(data).choices or ()
    return tuple("tool_call" if choice.finish_reason in TOOL_CALL else choice.finish_reason
                 for choice in choices if choice.finish_reason is not None)
