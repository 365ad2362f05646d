"""Token counts from usage in the hub's (Anthropic's) shape:

    usage.input_tokens (+ cache_read_input_tokens + cache_creation_input_tokens), usage.output_tokens;
    a stream's message_start carries them under `message`

Anthropic's input_tokens leaves the cache's reads and writes out; Tokens.input adds them back
(every prompt token the upstream read), and keeps them apart as cache_read / cache_write. Every
converted answer passes through the hub, so this is where its usage is read, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from router.core.usage import Tokens
from router.hub.messages import AnthropicMessage, Usage


class _Message(msgspec.Struct):
    usage: Usage | None = None


class _Carrier(msgspec.Struct):
    """Only the usage: msgspec skips every other field without building it."""

    usage: Usage | None = None
    message: _Message | None = None


_decode_carrier = msgspec.json.Decoder(_Carrier).decode


def read_usage(data: bytes) -> Tokens | None:
    """The counts in one Anthropic JSON object (an answer, an event's data), None when it has
    none. Raises msgspec.DecodeError (or RecursionError) when `data` is not one JSON object."""
    carrier = _decode_carrier(data)
    usage = carrier.usage if carrier.usage is not None or carrier.message is None else carrier.message.usage
    if usage is None:
        return None
    return _tokens(usage.input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens, usage.output_tokens)


def answer_tokens(answer: Mapping[str, Any]) -> Tokens | None:
    """The counts of a hub answer built in memory (a converted upstream answer)."""
    usage = answer.get("usage")
    if not isinstance(usage, Mapping):
        return None
    return _tokens(usage.get("input_tokens"), usage.get("cache_read_input_tokens"),
                   usage.get("cache_creation_input_tokens"), usage.get("output_tokens"))


def message_tokens(message: AnthropicMessage) -> Tokens | None:
    """The counts of a decoded hub answer (an Anthropic upstream's, before a client converts it)."""
    usage = message.usage
    return None if usage is None else usage_tokens(usage)


def usage_tokens(usage: Usage) -> Tokens | None:
    """The counts of a decoded hub Usage (a stream's, as its machine gathered them)."""
    return _tokens(usage.input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens, usage.output_tokens)


def _tokens(fresh: Any, cache_read: Any, cache_write: Any, output: Any) -> Tokens | None:
    if fresh is None and output is None:
        return None
    read = cache_read or 0
    written = cache_write or 0
    return Tokens((fresh or 0) + read + written, output or 0, read, written)
