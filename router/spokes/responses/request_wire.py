"""An OpenAI Responses request (POST /v1/responses), as clients send it.

Lenient like every client request: unknown fields are ignored, never a 400. Input items, tools
and content parts stay plain dicts (the Responses API adds item and tool types faster than we
can name them); the converters read the fields they use and name the path when one is wrong.
"""

from __future__ import annotations

from typing import Any

import msgspec

from router.hub.messages import RoutingFields

Item = dict[str, Any]


class Reasoning(msgspec.Struct):
    effort: str | None = None  # minimal | low | medium | high | xhigh | none
    summary: str | None = None  # auto | concise | detailed
    generate_summary: str | None = None  # the older name of `summary`


class TextFormat(msgspec.Struct):
    type: str = "text"  # text | json_schema | json_object
    name: str | None = None
    # Passes through as written. Raw JSON (`null` when absent): msgspec cannot decode a Raw
    # inside a union, so `Raw | None` would refuse every schema.
    schema: msgspec.Raw = msgspec.Raw(b"null")
    description: str | None = None
    strict: bool | None = None


class Text(msgspec.Struct):
    format: TextFormat | None = None
    verbosity: str | None = None  # low | medium | high


class ResponsesRequest(msgspec.Struct):
    model: str
    input: str | list[Item] = []
    instructions: str | None = None
    tools: list[Item] | None = None
    tool_choice: str | Item | None = None
    parallel_tool_calls: bool | None = None
    reasoning: Reasoning | None = None
    text: Text | None = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_logprobs: int | None = None
    metadata: dict[str, Any] | None = None
    user: str | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    service_tier: str | None = None
    include: list[str] | None = None
    store: bool | None = None  # the API's default is true
    previous_response_id: str | None = None
    truncation: str | None = None
    background: bool | None = None
    stream: bool | None = False
    stream_options: dict[str, Any] | None = None
    client_metadata: dict[str, Any] | None = None


class ResponsesRouting(RoutingFields, kw_only=True):
    """The first decode: routing fields, and `input` checked to be a string or an array when
    present (a request may leave it out when `previous_response_id` carries the history).
    `store` and `previous_response_id` are read here, in the decode every request pays anyway,
    so the response store (router/spokes/responses/history.py) costs nothing to a request that
    neither stores nor continues one (Codex sends `store: false`)."""

    input: str | list[msgspec.Raw] | None = None
    store: bool | None = None  # the API's default is true
    previous_response_id: str | None = None
