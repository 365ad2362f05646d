"""Anthropic Messages API, as much of it as the router reads.

Request structs ignore unknown fields (clients add new ones all the time; we never 400 on them).
Content blocks stay plain dicts: new block types appear faster than we can name them, and the
converters validate the fields they use with a path in the error message.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec

Block = dict[str, Any]


class Metadata(msgspec.Struct):
    user_id: str | None = None


class Thinking(msgspec.Struct):
    """`thinking`: {"type": "enabled", "budget_tokens": N} | {"type": "adaptive"} | {"type": "disabled"}."""

    type: str = "enabled"
    budget_tokens: int | None = None


class OutputConfig(msgspec.Struct):
    """Claude Code's `output_config` (effort: low | medium | high | max)."""

    effort: str | None = None


# A tool's JSON Schema and description as the client sent them: most of an agent's request is
# tools (16 tools make ~64 of Claude Code's ~77 KB), and they usually pass through unchanged, so
# they are kept as raw JSON instead of being decoded into Python objects and encoded again
# (issue 7: a third of the CPU of such a request). Converters check their JSON type by the first
# byte (router.spokes.common.invalid) and decode one only when it must be read or cleaned.
NO_SCHEMA = msgspec.Raw(b"null")
NO_DESCRIPTION = NO_SCHEMA


class Tool(msgspec.Struct):
    name: str
    description: msgspec.Raw = NO_DESCRIPTION  # a raw JSON string (or null); see NO_SCHEMA
    input_schema: msgspec.Raw = NO_SCHEMA  # raw JSON; see NO_SCHEMA
    type: str | None = None
    cache_control: dict[str, Any] | None = None


class ToolChoice(msgspec.Struct):
    type: str = "auto"
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class Message(msgspec.Struct):
    role: str
    content: str | list[Block]


class MessagesRequest(msgspec.Struct):
    model: str
    messages: list[Message]
    max_tokens: int | None = None
    system: str | list[Block] | None = None
    stop_sequences: list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    metadata: Metadata | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None
    output_config: OutputConfig | None = None
    stream: bool = False


class RoutingFields(msgspec.Struct):
    """The two fields routing needs, decoded without touching the rest of the body."""

    model: str
    stream: bool | None = False  # some clients send null


class ModelRequestRouting(RoutingFields, kw_only=True):
    """Routing fields plus what every model request must carry, checked in the same first
    decode for converted and passthrough pairs alike (the real APIs answer 400 naming the field,
    so must we, before a byte goes upstream). `messages` stays raw: its items are read later,
    by the converter or by the upstream itself; here only its presence and that it is a
    non-empty array (router.gateway.dispatch) are checked."""

    messages: msgspec.Raw


class MessagesRouting(ModelRequestRouting, kw_only=True):
    """POST /v1/messages: `max_tokens` is required and at least 1, as Anthropic requires."""

    max_tokens: Annotated[int, msgspec.Meta(ge=1)]


class CountTokensRequest(msgspec.Struct):
    model: str
    messages: list[Message]
    system: str | list[Block] | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None


# --- the upstream side: what an Anthropic upstream answers ----------------------------------------
# Read leniently: Anthropic adds fields (service_tier, container, server_tool_use counts ...) and
# proxies in front of it send nulls; nothing here is required except an event's `type`.


class Usage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None


class AnthropicMessage(msgspec.Struct):
    """A Messages API answer (also the `message` of a stream's `message_start`)."""

    id: str | None = None
    model: str | None = None
    content: list[Block] = []
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: Usage | None = None


class StreamDelta(msgspec.Struct):
    """The `delta` of content_block_delta (text, thinking, signature, partial_json ...) and of
    message_delta (stop_reason, stop_sequence): one struct for both, since only `type`-specific
    fields are set. `signature` (signature_delta) is read for clients that carry it on (a Responses
    reasoning item's encrypted_content); an absent optional field costs the decoder nothing."""

    type: str | None = None
    text: str | None = None
    thinking: str | None = None
    signature: str | None = None
    partial_json: str | None = None
    stop_reason: str | None = None
    stop_sequence: str | None = None


class StreamError(msgspec.Struct):
    type: str | None = None
    message: str | None = None


class StreamEvent(msgspec.Struct):
    """Any Messages stream event, decoded in one pass: `type` says which of the optional fields
    are set. One flat struct instead of a tagged union, so event types Anthropic adds later decode
    (and are skipped) instead of failing the stream."""

    type: str
    index: int | None = None
    message: AnthropicMessage | None = None
    content_block: Block | None = None
    delta: StreamDelta | None = None
    usage: Usage | None = None
    error: StreamError | None = None


RequestStruct = TypeVar("RequestStruct", bound=msgspec.Struct)


def request_from_python(value: Any, kind: type[RequestStruct]) -> RequestStruct:
    """`msgspec.convert` for the request structs: they hold raw JSON (Tool's description and
    input_schema), which only the JSON decoder fills, so Python objects (explain's bodies, tests) go through JSON."""
    return msgspec.json.decode(msgspec.json.encode(value), type=kind)
