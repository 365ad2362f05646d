"""The usage in one Bedrock JSON document: a Converse answer, or a ConverseStream `metadata`
event's data; both carry it as a top-level `usage` (Converse counts input like Anthropic:
`inputTokens` without the cache's reads and writes, `cacheReadInputTokens` and
`cacheWriteInputTokens` apart; Tokens.input adds them back)."""

from __future__ import annotations

import msgspec

from router.core.usage import Tokens
from router.spokes.bedrock.stream_wire import TokenUsage


class _WithUsage(msgspec.Struct):
    usage: TokenUsage | None = None


_decode = msgspec.json.Decoder(_WithUsage).decode


def read_usage(raw: bytes) -> Tokens | None:
    usage = _decode(raw).usage
    return None if usage is None else usage_tokens(usage)


def usage_tokens(usage: TokenUsage) -> Tokens:
    """The counts of a decoded Converse usage (an answer's, a stream's metadata event's)."""
    read = usage.cache_read_input_tokens or 0
    written = usage.cache_write_input_tokens or 0
    return Tokens(usage.input_tokens + read + written, usage.output_tokens, read, written)
