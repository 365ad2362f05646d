"""OpenAI Responses upstreams: the endpoint and our credentials. The credentials, and the
absence of a token counter and of forwarded client headers, are the OpenAI Chat upstreams'
(the same vendor's keys and conventions); the endpoint is its own."""

from __future__ import annotations

from router.spokes.openai.upstream.endpoint import (
    headers,
    no_forwarding,
    no_token_counter,
)

__all__ = ["headers", "no_forwarding", "no_token_counter", "responses_url"]


def responses_url(base: str, model: str = "", stream: bool = False) -> str:
    """One endpoint whatever the model and streaming (both travel in the body)."""
    return base.rstrip("/") + "/responses"
