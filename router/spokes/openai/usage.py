"""Token counts from OpenAI Chat usage: `usage.prompt_tokens` (cache included; the part read from
the cache is `usage.prompt_tokens_details.cached_tokens`, or DeepSeek's `prompt_cache_hit_tokens`)
and `usage.completion_tokens`, in a unary answer or the last chunk of a stream. OpenAI reports no
cache writes (its caching is automatic, writes are billed as plain input); providers that do
(OpenRouter) put them in `prompt_tokens_details.cache_write_tokens`. The same reading as
router.spokes.openai.upstream.answer.usage_to_anthropic, so a passthrough and a converted answer
count alike."""

from __future__ import annotations

import msgspec

from router.core.usage import Tokens


class _PromptDetails(msgspec.Struct, gc=False):
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_details: _PromptDetails | None = None
    prompt_cache_hit_tokens: int | None = None  # DeepSeek's context cache


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
    details = usage.prompt_tokens_details
    if details is None:
        return Tokens(usage.prompt_tokens or 0, usage.completion_tokens or 0, usage.prompt_cache_hit_tokens or 0)
    return Tokens(usage.prompt_tokens or 0, usage.completion_tokens or 0,
                  details.cached_tokens or usage.prompt_cache_hit_tokens or 0, details.cache_write_tokens or 0)
