"""OpenAI Chat Completions, as much of it as the router reads from upstreams.

Upstreams are many (DeepSeek, OpenRouter, vLLM, Ollama, Groq ...) and each adds fields; all
structs ignore unknown fields and accept `null` wherever a provider has been seen to send it.
"""

from __future__ import annotations

from typing import Any

import msgspec


class FunctionCall(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class ToolCall(msgspec.Struct):
    function: FunctionCall
    id: str | None = None
    type: str | None = "function"
    index: int | None = None


class ChatMessage(msgspec.Struct):
    role: str | None = "assistant"
    content: str | list[dict[str, Any]] | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None


class Choice(msgspec.Struct):
    # Azure OpenAI may leave the message out of a choice its content filter stopped whole.
    message: ChatMessage = msgspec.field(default_factory=ChatMessage)
    index: int = 0
    finish_reason: str | None = None


class PromptTokensDetails(msgspec.Struct):
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None


class Usage(msgspec.Struct):
    prompt_tokens: int | None = 0
    completion_tokens: int | None = 0
    total_tokens: int | None = None
    prompt_tokens_details: PromptTokensDetails | None = None
    # DeepSeek reports its context cache this way instead of prompt_tokens_details.
    prompt_cache_hit_tokens: int | None = None


class ChatCompletion(msgspec.Struct):
    choices: list[Choice] = []
    id: str | None = None
    model: str | None = None
    usage: Usage | None = None


class FunctionCallDelta(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(msgspec.Struct):
    index: int = 0
    id: str | None = None
    type: str | None = None
    function: FunctionCallDelta | None = None


class Delta(msgspec.Struct):
    role: str | None = None
    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    refusal: str | None = None


class ChunkChoice(msgspec.Struct):
    delta: Delta | None = None
    index: int = 0
    finish_reason: str | None = None


class ChatCompletionChunk(msgspec.Struct):
    choices: list[ChunkChoice] = []
    id: str | None = None
    model: str | None = None
    usage: Usage | None = None


class ErrorDetail(msgspec.Struct):
    message: str | None = None
    type: str | None = None
    code: str | int | None = None


class ErrorBody(msgspec.Struct):
    error: ErrorDetail | str | None = None


# --- the client side: Chat Completions requests from OpenAI clients ------------------------------
# Lenient like the rest: clients send fields we do not use (logprobs, seed, modalities ...), and
# those are ignored, never a 400. Parts, tool calls and tools stay dicts: the converter checks the
# fields it needs and names the JSON path when one is missing (router/spokes/common/invalid.py).


class ChatRequestMessage(msgspec.Struct):
    """One message of a client request. `role` is optional here so a missing one is reported by the
    converter with its path, in the same words as every other missing field."""

    role: str | None = None
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    # DeepSeek's convention, echoed back by clients on assistant turns.
    reasoning_content: str | None = None


class StreamOptions(msgspec.Struct):
    include_usage: bool | None = None


class ChatRequest(msgspec.Struct):
    """An OpenAI Chat Completions request as a client sends it."""

    model: str
    messages: list[ChatRequestMessage]
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    # Not OpenAI's own, but vLLM/OpenRouter clients send it and Anthropic understands it.
    top_k: int | None = None
    stop: str | list[str] | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    user: str | None = None
    safety_identifier: str | None = None
    n: int | None = None
    metadata: dict[str, Any] | None = None
    seed: int | None = None
