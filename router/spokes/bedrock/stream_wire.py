"""The payloads of ConverseStream's events (botocore's bedrock-runtime model, `ConverseStreamOutput`),
one struct per event type, decoded once per event (router.spokes.bedrock.stream).

Only what the hub stream needs is declared: msgspec skips the rest (the `p` padding Bedrock adds
to every payload, `metrics`, `trace`, citation and image deltas).
"""

from __future__ import annotations

from typing import Any

import msgspec


class ToolUseStart(msgspec.Struct, gc=False):
    tool_use_id: str = msgspec.field(name="toolUseId")
    name: str


class BlockStart(msgspec.Struct, gc=False):
    """A union in AWS's model: a tool call is the one member the hub has a block for (toolResult
    and image blocks belong to server-side tools and image output, which Converse does not
    stream to us)."""

    tool_use: ToolUseStart | None = msgspec.field(name="toolUse", default=None)


class ContentBlockStart(msgspec.Struct, gc=False):
    start: BlockStart
    index: int = msgspec.field(name="contentBlockIndex")


class ToolUseDelta(msgspec.Struct, gc=False):
    input: str = ""  # a piece of the arguments' JSON text


class ReasoningDelta(msgspec.Struct, gc=False):
    """One of the three, per AWS's model (a union)."""

    text: str | None = None
    signature: str | None = None
    # A blob: base64 in JSON. Kept as sent, the redacted_thinking block's opaque `data`, which
    # goes back to Bedrock as the same base64 string.
    redacted_content: str | None = msgspec.field(name="redactedContent", default=None)


class Delta(msgspec.Struct, gc=False):
    text: str | None = None
    tool_use: ToolUseDelta | None = msgspec.field(name="toolUse", default=None)
    reasoning_content: ReasoningDelta | None = msgspec.field(name="reasoningContent", default=None)


class ContentBlockDelta(msgspec.Struct, gc=False):
    delta: Delta
    index: int = msgspec.field(name="contentBlockIndex")


class ContentBlockStop(msgspec.Struct, gc=False):
    index: int = msgspec.field(name="contentBlockIndex")


class MessageStop(msgspec.Struct):
    stop_reason: str | None = msgspec.field(name="stopReason", default=None)
    # The model's own fields, when the request asked for them (additionalModelResponseFieldPaths):
    # Claude's `stop_sequence` is the one the hub has a place for.
    additional_model_response_fields: Any = msgspec.field(name="additionalModelResponseFields", default=None)


class TokenUsage(msgspec.Struct, gc=False):
    input_tokens: int = msgspec.field(name="inputTokens", default=0)
    output_tokens: int = msgspec.field(name="outputTokens", default=0)
    cache_read_input_tokens: int | None = msgspec.field(name="cacheReadInputTokens", default=None)
    cache_write_input_tokens: int | None = msgspec.field(name="cacheWriteInputTokens", default=None)


class Metadata(msgspec.Struct, gc=False):
    usage: TokenUsage | None = None
