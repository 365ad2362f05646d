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

# Field names an override op may touch on an OpenAI Chat Completions request. `router check`
# rejects others with a "did you mean" (a typo there would silently do nothing).
OPENAI_REQUEST_FIELDS: frozenset[str] = frozenset(
    {
        "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p",
        "top_k", "n", "stop", "stream", "stream_options", "presence_penalty",
        "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "user", "seed",
        "tools", "tool_choice", "parallel_tool_calls", "response_format", "reasoning_effort",
        "reasoning", "service_tier", "store", "metadata", "modalities", "prediction", "audio",
        "web_search_options", "thinking", "min_p", "repetition_penalty", "safety_identifier",
        "prompt_cache_key", "verbosity", "extra_body", "chat_template_kwargs",
    }
)
