"""Token counts from usage in the hub's (Anthropic's) shape:

    usage.input_tokens (+ cache_read_input_tokens + cache_creation_input_tokens), usage.output_tokens;
    a stream's message_start carries them under `message`

"in" is every prompt token the upstream read, cached or not; "out" what it generated. Every
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
    return (fresh or 0) + (cache_read or 0) + (cache_write or 0), output or 0
