"""The usage in one Bedrock JSON document: a Converse answer, or a ConverseStream `metadata`
event's data; both carry it as a top-level `usage` (Converse counts input like Anthropic:
`inputTokens` without the cache's reads and writes)."""

from __future__ import annotations

import msgspec

from router.core.usage import Tokens
from router.spokes.bedrock.stream_wire import TokenUsage


class _WithUsage(msgspec.Struct):
    usage: TokenUsage | None = None


_decode = msgspec.json.Decoder(_WithUsage).decode


def read_usage(raw: bytes) -> Tokens | None:
    usage = _decode(raw).usage
    if usage is None:
        return None
    cached = (usage.cache_read_input_tokens or 0) + (usage.cache_write_input_tokens or 0)
    return usage.input_tokens + cached, usage.output_tokens
