"""Token counts from Responses usage: a response object's `usage`, or the `response.usage` of a
stream's final event (response.completed, response.incomplete, response.failed).

`input_tokens` already counts cached prompt tokens (`input_tokens_details.cached_tokens` says how
many: Tokens.cache_read), which is what router.core.usage calls input; `output_tokens` includes
the reasoning tokens. OpenAI reports no cache writes; providers that do put them in
`input_tokens_details.cache_write_tokens` (as router.spokes.responses.upstream.answer reads them)."""

from __future__ import annotations

import msgspec

from router.core.usage import Tokens
from router.spokes.responses.answer_wire import ResponseUsage


class _Response(msgspec.Struct, gc=False):
    usage: ResponseUsage | None = None


class _Carrier(msgspec.Struct, gc=False):
    """Only the usage: msgspec skips every other field (the output, the echoed tools) without
    building it."""

    usage: ResponseUsage | None = None
    response: _Response | None = None


_decode_carrier = msgspec.json.Decoder(_Carrier).decode


def read_usage(doc: bytes) -> Tokens | None:
    """The counts in one Responses JSON object, None when it has none. Raises msgspec.DecodeError
    (or RecursionError) when `doc` is not one JSON object."""
    carrier = _decode_carrier(doc)
    usage = carrier.usage
    if usage is None and carrier.response is not None:
        usage = carrier.response.usage
    if usage is None or (usage.input_tokens is None and usage.output_tokens is None):
        return None
    return usage_tokens(usage)


def usage_tokens(usage: ResponseUsage) -> Tokens:
    """A Responses `usage` object's counts (a response's, or a stream's final one)."""
    details = usage.input_tokens_details
    if details is None:
        return Tokens(usage.input_tokens or 0, usage.output_tokens or 0)
    return Tokens(usage.input_tokens or 0, usage.output_tokens or 0,
                  details.cached_tokens or 0, details.cache_write_tokens or 0)
