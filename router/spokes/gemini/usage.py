"""Token counts from Gemini's `usageMetadata`: a unary answer's, or a stream chunk's (Google
repeats the running counts on chunks; the last one has them all).

`promptTokenCount` already includes the cached tokens (`cachedContentTokenCount`, Tokens.cache_read),
which is what router.core.usage calls input; Gemini reports no cache writes (a cache is created
apart, with its own call, and billed as storage), so cache_write stays 0. The output is `candidatesTokenCount` plus `thoughtsTokenCount`
(the candidates exclude the thinking, which is billed as output)."""

from __future__ import annotations

import msgspec

from router.core.usage import Tokens


class _Usage(msgspec.Struct, rename="camel", gc=False):
    prompt_token_count: int | None = None
    candidates_token_count: int | None = None
    thoughts_token_count: int | None = None
    cached_content_token_count: int | None = None


class _Carrier(msgspec.Struct, rename="camel", gc=False):
    """Only the usage: msgspec skips the candidates without building them."""

    usage_metadata: _Usage | None = None


_decode_carrier = msgspec.json.Decoder(_Carrier).decode


def read_usage(raw: bytes) -> Tokens | None:
    """The counts in one Gemini JSON object, None when it has none. Raises msgspec.DecodeError
    (or RecursionError) when `raw` is not one JSON object."""
    usage = _decode_carrier(raw).usage_metadata
    if usage is None or (usage.prompt_token_count is None and usage.candidates_token_count is None
                         and usage.thoughts_token_count is None):
        return None
    return Tokens(usage.prompt_token_count or 0,
                  (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0),
                  usage.cached_content_token_count or 0)
