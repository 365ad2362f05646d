"""Gemini upstreams: the endpoint and our credentials.

The model and the method are in the path (`/models/{model}:generateContent`, or
`:streamGenerateContent?alt=sse` for Server-Sent Events; without `alt=sse` Google streams one
JSON array, which the stream machine does not read). The base URL is AI Studio's
`.../v1beta` or Vertex AI's project path (router.config.schema.base_url_of): both take the same
suffix.
"""

from __future__ import annotations

from urllib.parse import quote

from router.config.schema import GeminiUpstream, HttpUpstream, Upstream

MODELS_PREFIX = "models/"
# What stays as it is in a model name: Google's names are letters, digits, `-`, `.` and `_`
# (quote() keeps those anyway); `/`, `:`, `?`, `#` and the rest are escaped, so a client's model
# name can neither leave the models path nor pick another method.
_SAFE = ""


def gemini_url(base_url: str, model: str, stream: bool) -> str:
    """`{base}/models/{model}:streamGenerateContent?alt=sse` or `...:generateContent`."""
    name = model.removeprefix(MODELS_PREFIX)
    method = ":streamGenerateContent?alt=sse" if stream else ":generateContent"
    return f"{base_url.rstrip('/')}/models/{quote(name, safe=_SAFE)}{method}"


def headers(upstream: Upstream, api_key: str | None) -> dict[str, str]:
    """The key goes in `x-goog-api-key`, never in `?key=` (URLs end up in logs and error
    messages). Vertex AI's OAuth token is not a key: the upstream client adds it per request
    (router.upstream), so it is not made here."""
    ours = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    if isinstance(upstream, HttpUpstream):
        ours.update(upstream.headers)
    if api_key and not (isinstance(upstream, GeminiUpstream) and upstream.vertex is not None):
        ours["x-goog-api-key"] = api_key
    return ours


def no_forwarding(upstream: Upstream) -> None:
    return None  # Gemini upstreams get no client headers: only ours


def count_tokens_url(base_url: str) -> None:
    """Gemini's `:countTokens` is per model and takes its own request shape; the router's
    estimator answers instead, for now."""
