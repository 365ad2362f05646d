"""Anthropic Messages upstreams: the endpoint, our credentials, and the client headers they get;
and Claude on Vertex AI, the same protocol with the model in the URL (`:rawPredict`,
`:streamRawPredict`), `anthropic_version` in the body, and Google Cloud credentials (added per
request by the upstream client, router.upstream.google_credentials) instead of `x-api-key`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from router.config.schema import AnthropicUpstream, HttpUpstream, Upstream

# The Messages API version Vertex AI takes, in the body (it reads no anthropic-version header).
VERTEX_VERSION = "vertex-2023-10-16"
# Azure AI Foundry's resource hosts, where Claude is served under /anthropic.
FOUNDRY_HOST_SUFFIX = ".services.ai.azure.com"


def messages_url(base_url: str, model: str = "", stream: bool = False) -> str:
    """One endpoint whatever the model (it travels in the body)."""
    # Anthropic's documented base URL has no /v1; accept both spellings.
    base = base_url.rstrip("/")
    return base + ("/messages" if base.endswith("/v1") else "/v1/messages")


def count_tokens_url(base_url: str) -> str:
    return messages_url(base_url) + "/count_tokens"


def headers(upstream: Upstream, api_key: str | None) -> dict[str, str]:
    """Credentials go in headers, never in the URL (URLs end up in logs and error messages).
    With `entra` there is no key: the upstream client adds an Entra ID bearer token per request."""
    ours = _plain_headers(upstream)
    if isinstance(upstream, AnthropicUpstream):
        ours["anthropic-version"] = upstream.anthropic_version
        if upstream.entra is not None:
            return ours
    if api_key:
        ours["x-api-key"] = api_key
        if on_foundry(upstream):
            # Azure AI Foundry takes `x-api-key`; the anthropic SDK's Foundry client sends the
            # key as `api-key` too, "for backwards compatibility" (deployments that read only
            # Azure's usual header), and so do we, to Foundry hosts only.
            ours["api-key"] = api_key
    return ours


def on_foundry(upstream: Upstream) -> bool:
    """Claude on Azure AI Foundry: `https://{resource}.services.ai.azure.com/anthropic`."""
    if not isinstance(upstream, AnthropicUpstream) or upstream.base_url is None:
        return False
    host = urlsplit(upstream.base_url).hostname or ""
    return host.endswith(FOUNDRY_HOST_SUFFIX)


def _plain_headers(upstream: Upstream) -> dict[str, str]:
    ours = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    if isinstance(upstream, HttpUpstream):
        ours.update(upstream.headers)
    return ours


def vertex_url(base_url: str, model: str, stream: bool) -> str:
    """`{project's anthropic models}/{model}:streamRawPredict` or `...:rawPredict`. The model is
    escaped (Vertex AI's names are like `claude-sonnet-4@20250514`), so a client's model name
    can neither leave the models path nor pick another method."""
    method = ":streamRawPredict" if stream else ":rawPredict"
    return f"{base_url.rstrip('/')}/models/{quote(model, safe='@')}{method}"


def vertex_headers(upstream: Upstream, api_key: str | None) -> dict[str, str]:
    """No `x-api-key` and no `anthropic-version` (the version travels in the body); the
    bearer token is added per request."""
    return _plain_headers(upstream)


def vertex_body(body: dict[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
    """The Messages request as Vertex AI takes it: the model is in the URL, the version in the
    body (a route's `request` op may set another)."""
    body.pop("model", None)
    body.setdefault("anthropic_version", VERTEX_VERSION)
    return body


def no_token_counter(base_url: str) -> None:
    return None  # Vertex AI has no Messages count_tokens endpoint: the router's estimate answers


@dataclass(frozen=True, slots=True)
class HeaderForwarding:
    """Which client headers an Anthropic upstream gets: its `anthropic-version` (ours is only the
    default), and `anthropic-beta` flags per the upstream's `beta` policy."""

    beta: str | frozenset[str]  # "all", "none", or the allowed flags
    version: bool = True  # pass on the client's anthropic-version (not to Vertex AI: body only)

    def pick(self, incoming: Mapping[str, str]) -> dict[str, str]:
        picked = {}
        version = incoming.get("anthropic-version") if self.version else None
        if version:
            picked["anthropic-version"] = version
        beta = self._beta(incoming.get("anthropic-beta"))
        if beta:
            picked["anthropic-beta"] = beta
        return picked

    def _beta(self, flags: str | None) -> str | None:
        if not flags or self.beta == "none":
            return None
        if self.beta == "all":
            return flags
        kept = [flag.strip() for flag in flags.split(",") if flag.strip() in self.beta]
        return ",".join(kept) or None


def forwarding(upstream: Upstream) -> HeaderForwarding | None:
    if not isinstance(upstream, AnthropicUpstream):
        return None
    policy = upstream.beta
    return HeaderForwarding(policy if isinstance(policy, str) else frozenset(policy))


def vertex_forwarding(upstream: Upstream) -> HeaderForwarding | None:
    """`anthropic-beta` per the upstream's policy, as on the Anthropic API; no version header."""
    if not isinstance(upstream, AnthropicUpstream):
        return None
    policy = upstream.beta
    return HeaderForwarding(policy if isinstance(policy, str) else frozenset(policy), version=False)


def on_vertex(upstream: Upstream) -> bool:
    return isinstance(upstream, AnthropicUpstream) and upstream.vertex is not None
