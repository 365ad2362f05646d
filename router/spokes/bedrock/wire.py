"""Bedrock's Converse answer (botocore's bedrock-runtime model, `ConverseResponse`), as much of
it as the hub answer needs; msgspec skips the rest. Content blocks stay plain dicts: a union in
AWS's model (text, toolUse, reasoningContent, citations, images ...), read by answer.py."""

from __future__ import annotations

from typing import Any

import msgspec

from router.spokes.bedrock.stream_wire import TokenUsage


class OutputMessage(msgspec.Struct):
    role: str = "assistant"
    content: list[dict[str, Any]] = []


class Output(msgspec.Struct):
    message: OutputMessage | None = None


class ConverseResponse(msgspec.Struct, rename="camel"):
    output: Output | None = None
    stop_reason: str | None = None
    usage: TokenUsage | None = None
    # The model's own fields the request asked for (additionalModelResponseFieldPaths): Claude's
    # `stop_sequence`.
    additional_model_response_fields: Any = None
    metrics: Any = None
    trace: Any = None
    performance_config: Any = None
    service_tier: Any = None
