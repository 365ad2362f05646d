"""Azure OpenAI (`kind = "azure"`): OpenAI Chat Completions on an Azure resource, a dialect of
the OpenAI upstream side that differs only at the edges; requests, answers and streams are the
OpenAI spoke's own (its field table and stream machine).

- The endpoint. With an `api-version`, the deployment's: `{resource}/openai/deployments/
  {deployment}/chat/completions?api-version=...`, the route's model naming the deployment (the
  model in the URL, made per request). The body keeps `model` as the openai SDK's Azure client
  sends it: Azure goes by the URL and ignores it. Without one, the v1 API: `{resource}/openai/v1/
  chat/completions`, one URL per upstream, the model in the body as on OpenAI's API.
- The key in `api-key` (never `Authorization: Bearer`, which Azure reads as an Entra ID token);
  with `entra` no key at all: the upstream client adds the bearer token per request.
- What Azure adds to answers and streams, read or ignored: `prompt_filter_results` (in a first
  stream chunk with `choices: []` and an empty model; the machine skips a chunk without choices),
  `content_filter_results` per choice (ignored: unknown members), finish_reason `content_filter`
  (the table's value map: the hub's `refusal`).
- Errors (`fault`): a prompt the content filter refused is a 400 `content_filter` whose
  `innererror` says which categories were filtered; the client's 400 names them. A 429 says when
  to retry in `retry-after`, or only in `retry-after-ms`: then that, in whole seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import msgspec

from router.config.schema import AzureUpstream, Upstream
from router.spokes.openai.upstream import endpoint
from router.spokes.spoke import UpstreamFault

# What a base URL may already end with: the resource's endpoint is wanted (pasted from the
# portal or from an SDK's base_url, either works).
_API_SUFFIXES = ("/openai/v1", "/openai")


def resource_endpoint(base_url: str) -> str:
    """`https://{resource}.openai.azure.com`, without a trailing `/openai` or `/openai/v1`."""
    base = base_url.rstrip("/")
    for suffix in _API_SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def v1_url(base_url: str, model: str = "", stream: bool = False) -> str:
    """The v1 API's endpoint: one for every model (it travels in the body)."""
    return resource_endpoint(base_url) + "/openai/v1/chat/completions"


def deployment_url(api_version: str) -> Callable[[str, str, bool], str]:
    """The endpoint maker for a resource's deployments at `api_version`. The deployment name is
    escaped whole (`/` too), so a client's model name can neither leave the deployments path
    nor add a query."""
    query = "?api-version=" + quote(api_version, safe="")

    def url(base_url: str, model: str, stream: bool) -> str:
        return f"{resource_endpoint(base_url)}/openai/deployments/{quote(model, safe='')}/chat/completions{query}"

    return url


def headers(upstream: Upstream, api_key: str | None) -> dict[str, str]:
    """The OpenAI side's headers, with the key as `api-key`; none with `entra` (the bearer
    token is added per request)."""
    ours = endpoint.headers(upstream, None)
    if api_key and not (isinstance(upstream, AzureUpstream) and upstream.entra is not None):
        ours["api-key"] = api_key
    return ours


# --- error answers ------------------------------------------------------------------------------

class _InnerError(msgspec.Struct):
    code: str | None = None
    # Azure's documented error says `content_filter_result`; its OpenAPI spec `..._results`.
    content_filter_result: dict[str, Any] | None = None
    content_filter_results: dict[str, Any] | None = None


class _Error(msgspec.Struct):
    code: str | int | None = None
    message: str | None = None
    innererror: _InnerError | None = None


class _Body(msgspec.Struct):
    error: _Error | None = None


_decode_error = msgspec.json.Decoder(_Body).decode


def fault(status: int, headers: Mapping[str, str], raw: bytes) -> UpstreamFault | None:
    """UpstreamSide.fault: the content filter's categories for its 400, and `retry-after-ms`
    when it came without `retry-after`."""
    retry = None if "retry-after" in headers else retry_after_ms(headers.get("retry-after-ms"))
    detail = content_filter_detail(raw) if status == 400 else None
    hint = _AUTH_HINTS.get(status)
    if retry is None and detail is None and hint is None:
        return None
    return UpstreamFault(retry_after=retry, detail=detail, hint=hint)


# Azure's 401 and 403 are about our credentials (a 502 to the client): what to check.
_AUTH_HINTS: Mapping[int, str] = {
    401: "check the upstream's api-key (the resource's key, not an OpenAI key) or, with entra, that the "
         "token's tenant owns the resource",
    403: "with entra, the identity needs the 'Cognitive Services OpenAI User' role on the resource; "
         "also check the resource's network rules",
}


def retry_after_ms(value: str | None) -> str | None:
    """Whole seconds (rounded up, at least 1) from a `retry-after-ms` value; None for junk."""
    if value is None:
        return None
    try:
        millis = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(millis) or millis < 0:
        return None
    return str(max(1, math.ceil(millis / 1000)))


def content_filter_detail(raw: bytes) -> str | None:
    """Azure's message for a prompt its content filter refused, with the categories that were
    filtered: "... (filtered: hate (high), jailbreak)". None for any other error."""
    try:
        error = _decode_error(raw).error
    except (msgspec.DecodeError, RecursionError):
        return None
    if error is None or error.code != "content_filter":
        return None
    inner = error.innererror
    results = None if inner is None else inner.content_filter_result or inner.content_filter_results
    categories = filtered_categories(results or {})
    message = error.message or "The prompt was filtered by Azure OpenAI's content filter."
    return f"{message} (filtered: {', '.join(categories)})" if categories else message


def filtered_categories(results: Mapping[str, Any]) -> list[str]:
    """Each category whose result says `filtered`, with its severity when it has one (hate,
    sexual, violence, self_harm) or the blocklists that matched (custom_blocklists)."""
    named = []
    for category, result in results.items():
        if isinstance(result, dict) and result.get("filtered") is True:
            named.append(_with_reason(category, result))
        elif isinstance(result, list) and any(isinstance(item, dict) and item.get("filtered") is True for item in result):
            named.append(_with_reason(category, {"details": result}))
    return named


def _with_reason(category: str, result: Mapping[str, Any]) -> str:
    severity = result.get("severity")
    if isinstance(severity, str) and severity != "safe":
        return f"{category} ({severity})"
    details = result.get("details")
    ids = [str(item["id"]) for item in details or () if isinstance(item, dict) and item.get("filtered") is True and "id" in item]
    return f"{category} ({', '.join(ids)})" if ids else category
