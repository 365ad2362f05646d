"""Anthropic Messages upstreams: the endpoint, our credentials, and the client headers they get."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from router.config.schema import AnthropicUpstream, HttpUpstream, Upstream


def messages_url(base_url: str, model: str = "", stream: bool = False) -> str:
    """One endpoint whatever the model (it travels in the body)."""
    # Anthropic's documented base URL has no /v1; accept both spellings.
    base = base_url.rstrip("/")
    return base + ("/messages" if base.endswith("/v1") else "/v1/messages")


def count_tokens_url(base_url: str) -> str:
    return messages_url(base_url) + "/count_tokens"


def headers(upstream: Upstream, api_key: str | None) -> dict[str, str]:
    """Credentials go in headers, never in the URL (URLs end up in logs and error messages)."""
    ours = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    if isinstance(upstream, HttpUpstream):
        ours.update(upstream.headers)
    if isinstance(upstream, AnthropicUpstream):
        ours["anthropic-version"] = upstream.anthropic_version
    if api_key:
        ours["x-api-key"] = api_key
    return ours


@dataclass(frozen=True, slots=True)
class HeaderForwarding:
    """Which client headers an Anthropic upstream gets: its `anthropic-version` (ours is only the
    default), and `anthropic-beta` flags per the upstream's `beta` policy."""

    beta: str | frozenset[str]  # "all", "none", or the allowed flags

    def pick(self, incoming: Mapping[str, str]) -> dict[str, str]:
        picked = {}
        version = incoming.get("anthropic-version")
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
