"""Token counts from OpenAI Chat usage: `usage.prompt_tokens` (cache included) and
`usage.completion_tokens`, in a unary answer or the last chunk of a stream."""

from __future__ import annotations

import msgspec

from router.core.usage import Tokens


class _Usage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class _Carrier(msgspec.Struct):
    """Only the usage: msgspec skips every other field without building it."""

    usage: _Usage | None = None


_decode_carrier = msgspec.json.Decoder(_Carrier).decode


def read_usage(data: bytes) -> Tokens | None:
    """The counts in one OpenAI JSON object, None when it has none. Raises msgspec.DecodeError
    (or RecursionError) when `data` is not one JSON object."""
    usage = _decode_carrier(data).usage
    if usage is None or (usage.prompt_tokens is None and usage.completion_tokens is None):
        return None
    return usage.prompt_tokens or 0, usage.completion_tokens or 0
