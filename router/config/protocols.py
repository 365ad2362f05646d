"""What `router check` knows of each protocol: the fields a route's override ops may touch, so
a misspelt field is an error with a "did you mean" (it would silently do nothing otherwise).

Config sits below the spokes (they read its schema), so it cannot ask them; this is the one
place outside a spoke's package that describes a protocol, and tests/test_spoke_registry.py
fails when it and the registry disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

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

# Field names an override op may touch on an OpenAI Responses request.
RESPONSES_REQUEST_FIELDS: frozenset[str] = frozenset(
    {
        "model", "input", "instructions", "max_output_tokens", "max_tool_calls", "temperature",
        "top_p", "top_logprobs", "tools", "tool_choice", "parallel_tool_calls", "reasoning", "text",
        "stream", "stream_options", "store", "previous_response_id", "conversation", "include",
        "metadata", "user", "safety_identifier", "prompt_cache_key", "prompt_cache_retention",
        "service_tier", "truncation", "background", "prompt", "client_metadata",
    }
)

RESPONSES_ANSWER_FIELDS: frozenset[str] = frozenset(
    {
        "id", "object", "created_at", "status", "error", "incomplete_details", "instructions",
        "max_output_tokens", "model", "output", "parallel_tool_calls", "previous_response_id",
        "reasoning", "store", "temperature", "text", "tool_choice", "tools", "top_p", "truncation",
        "usage", "user", "metadata", "service_tier", "prompt_cache_key", "safety_identifier",
    }
)

# Gemini's generateContent body (the model and streaming are in the URL, not the body).
GEMINI_REQUEST_FIELDS: frozenset[str] = frozenset(
    {
        "contents", "systemInstruction", "tools", "toolConfig", "generationConfig",
        "safetySettings", "cachedContent", "labels",
    }
)

GEMINI_ANSWER_FIELDS: frozenset[str] = frozenset(
    {"candidates", "usageMetadata", "modelVersion", "responseId", "promptFeedback", "createTime"}
)


# Bedrock's Converse request (the model and streaming are in the URL, not the body).
CONVERSE_REQUEST_FIELDS: frozenset[str] = frozenset(
    {
        "messages", "system", "inferenceConfig", "toolConfig", "guardrailConfig",
        "additionalModelRequestFields", "additionalModelResponseFieldPaths", "promptVariables",
        "requestMetadata", "performanceConfig", "serviceTier",
    }
)

# Claude's InvokeModel body on Bedrock: the Messages request without `model` and `stream`, with
# its version and betas.
BEDROCK_CLAUDE_FIELDS: frozenset[str] = (
    ANTHROPIC_REQUEST_FIELDS - {"model", "stream"}) | {"anthropic_version", "anthropic_beta"}

# (title, request fields) per routes.toml upstream kind: what `request` ops are checked against.
UPSTREAM_REQUEST_FIELDS: Mapping[str, tuple[str, frozenset[str]]] = MappingProxyType({
    "openai": ("OpenAI Chat Completions", OPENAI_REQUEST_FIELDS),
    "mock": ("OpenAI Chat Completions", OPENAI_REQUEST_FIELDS),  # the mock speaks OpenAI
    "anthropic": ("Anthropic Messages", ANTHROPIC_REQUEST_FIELDS),
    "responses": ("OpenAI Responses", RESPONSES_REQUEST_FIELDS),
    "gemini": ("Gemini", GEMINI_REQUEST_FIELDS),
    # `api = "auto"` sends Anthropic targets InvokeModel's body and the rest Converse's: an op
    # may name a field of either.
    "bedrock": ("Bedrock Converse or Claude's InvokeModel", CONVERSE_REQUEST_FIELDS | BEDROCK_CLAUDE_FIELDS),
    "azure": ("OpenAI Chat Completions", OPENAI_REQUEST_FIELDS),
})

# (title, answer fields) per client protocol: what `response` ops are checked against.
CLIENT_ANSWER_FIELDS: Mapping[str, tuple[str, frozenset[str]]] = MappingProxyType({
    "anthropic": ("Anthropic Messages", frozenset(
        {"id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage", "container"})),
    "openai": ("OpenAI Chat Completions", frozenset(
        {"id", "object", "created", "model", "choices", "usage", "system_fingerprint", "service_tier"})),
    "responses": ("OpenAI Responses", RESPONSES_ANSWER_FIELDS),
    "gemini": ("Gemini", GEMINI_ANSWER_FIELDS),
})
