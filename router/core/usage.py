"""Token counts for metrics and the access log, read from whatever usage an answer or a stream
event carries, in either protocol's shape:

    Anthropic  usage.input_tokens (+ cache_read_input_tokens + cache_creation_input_tokens), usage.output_tokens;
               a stream's message_start carries them under `message`
    OpenAI     usage.prompt_tokens (cache included), usage.completion_tokens

"in" is every prompt token the upstream read, cached or not; "out" what it generated.
"""

from __future__ import annotations

import msgspec

Tokens = tuple[int, int]


class _Usage(msgspec.Struct):
    input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    output_tokens: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class _Message(msgspec.Struct):
    usage: _Usage | None = None


class _Carrier(msgspec.Struct):
    """Only the usage: msgspec skips every other field without building it."""

    usage: _Usage | None = None
    message: _Message | None = None


_decode_carrier = msgspec.json.Decoder(_Carrier).decode


def usage_tokens(usage: _Usage | None) -> Tokens | None:
    if usage is None:
        return None
    if usage.prompt_tokens is not None or usage.completion_tokens is not None:
        return usage.prompt_tokens or 0, usage.completion_tokens or 0
    if usage.input_tokens is None and usage.output_tokens is None:
        return None
    prompt = (usage.input_tokens or 0) + (usage.cache_read_input_tokens or 0) + (usage.cache_creation_input_tokens or 0)
    return prompt, usage.output_tokens or 0


def tokens_in(data: bytes) -> Tokens | None:
    """The counts in one JSON document (a unary answer, a stream event's data), or None when it
    has none or is not JSON."""
    try:
        return read_tokens(data)
    except (msgspec.DecodeError, RecursionError):
        return None


def read_tokens(data: bytes) -> Tokens | None:
    """The counts in one JSON object, None when it has none. Raises msgspec.DecodeError (or
    RecursionError, nested too deep) when `data` is not one JSON object: decoding it whole is
    also what proves a passed-through answer is JSON a client can parse."""
    carrier = _decode_carrier(data)
    if carrier.usage is None and carrier.message is not None:
        return usage_tokens(carrier.message.usage)
    return usage_tokens(carrier.usage)


def carries_usage(data: bytes) -> bool:
    """A cheap test before decoding an OpenAI chunk: does `"usage"` hold an object (not null)?
    Chunks of a stream with include_usage say `"usage":null` every time; only the last counts."""
    at = data.find(b'"usage"')
    if at < 0:
        return False
    return data[at + 7:at + 16].lstrip(b": \t\r\n")[:1] == b"{"


def merge(earlier: Tokens | None, later: Tokens | None) -> Tokens | None:
    """Anthropic streams report input at message_start and cumulative output at message_delta
    (sometimes input again): keep each side's latest non-zero value."""
    if later is None:
        return earlier
    if earlier is None:
        return later
    return later[0] or earlier[0], later[1] or earlier[1]
