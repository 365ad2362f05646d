"""What a Gemini URL says: `/v1beta/models/{model}:{method}`, streaming as server-sent events
with `?alt=sse` (what Google's SDKs and the Gemini CLI ask for) or else as one JSON array."""

from __future__ import annotations

from typing import Literal
from urllib.parse import parse_qsl

from router.spokes.spoke import PathCall

PREFIXES = ("/v1beta/models", "/v1/models")

METHODS: dict[str, Literal["generate", "stream", "count_tokens"]] = {
    "generateContent": "generate",
    "streamGenerateContent": "stream",
    "countTokens": "count_tokens",
}


def path_call(rest: str, query: str) -> PathCall | None:
    """`rest` is what follows the prefix: "<model>:<method>"; None for a method not served
    (embedContent, batchGenerateContent, ...), answered 404 in Google's shape."""
    model, _, name = rest.rpartition(":")  # the ASGI path is percent-decoded already
    method = METHODS.get(name)
    if method is None or not model:
        return None
    return PathCall(model, method, sse=_alt(query) == "sse")


def _alt(query: str) -> str | None:
    if not query:
        return None
    return next((value for field, value in parse_qsl(query) if field == "alt"), None)
