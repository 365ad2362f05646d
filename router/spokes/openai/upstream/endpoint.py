"""OpenAI-compatible Chat Completions upstreams: the endpoint and our credentials."""

from __future__ import annotations

from router.config.schema import HttpUpstream, Upstream


def chat_url(base_url: str, model: str = "", stream: bool = False) -> str:
    """One endpoint whatever the model (it travels in the body)."""
    return base_url.rstrip("/") + "/chat/completions"


def headers(upstream: Upstream, api_key: str | None) -> dict[str, str]:
    """Credentials go in headers, never in the URL (URLs end up in logs and error messages)."""
    ours = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    if isinstance(upstream, HttpUpstream):
        ours.update(upstream.headers)
    if api_key:
        ours["authorization"] = f"Bearer {api_key}"
    return ours


def no_forwarding(upstream: Upstream) -> None:
    return None  # OpenAI upstreams get no client headers: only ours


def no_token_counter(base_url: str) -> None:
    return None
