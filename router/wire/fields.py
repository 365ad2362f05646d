"""Request field names an override op may touch, per upstream protocol. `router check` rejects
others with a "did you mean": a typo there would silently do nothing."""

from __future__ import annotations

ANTHROPIC_REQUEST_FIELDS: frozenset[str] = frozenset(
    {
        "model", "messages", "max_tokens", "system", "stop_sequences", "temperature", "top_p",
        "top_k", "metadata", "tools", "tool_choice", "thinking", "stream", "service_tier",
        "container", "mcp_servers", "context_management", "output_config", "output_format",
        "inference_geo",
    }
)
