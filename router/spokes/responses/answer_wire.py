"""What a Responses upstream answers, as much of it as the router reads: the response object (a
unary answer, and the `response` of a stream's lifecycle events), its output items and usage,
and one flat Struct for every stream event.

Read leniently, like the other spokes' answer Structs: OpenAI adds item types, event types and
fields often, and other servers that speak the protocol (vLLM, Ollama, proxies) send nulls and
leave fields out. Nothing is required except an item's or event's `type`. Output items are one
flat Struct (its `type` says which fields are set) rather than a tagged union, so an item type
added later decodes and is skipped instead of failing the answer.
"""

from __future__ import annotations

from typing import Any

import msgspec


class ContentPart(msgspec.Struct, gc=False):
    """A part of an output item: a message's `output_text` / `refusal`, a reasoning item's
    `summary_text` (its summary) and `reasoning_text` (its content)."""

    type: str | None = None
    text: str | None = None
    refusal: str | None = None


class OutputItem(msgspec.Struct):
    """One item of a response's `output`:

        reasoning          id, summary, content, encrypted_content
        message            id, role, content (output_text | refusal parts), status
        function_call      id, call_id, name, arguments (JSON text), namespace
        custom_tool_call   id, call_id, name, input (free text), namespace
        web_search_call, file_search_call, ...   built-in tools that ran at the upstream
    """

    type: str
    id: str | None = None
    status: str | None = None
    role: str | None = None
    content: list[ContentPart] | None = None
    summary: list[ContentPart] | None = None
    encrypted_content: str | None = None
    call_id: str | None = None
    name: str | None = None
    namespace: str | None = None
    # JSON text for a function_call; an object for other item types (tool_search_call), and
    # from some servers for function calls too (router.spokes.responses.upstream.answer.arguments_text).
    arguments: Any = None
    input: str | None = None


class InputTokensDetails(msgspec.Struct, gc=False):
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None


class OutputTokensDetails(msgspec.Struct, gc=False):
    reasoning_tokens: int | None = None


class ResponseUsage(msgspec.Struct, gc=False):
    """`input_tokens` counts every prompt token, cached ones included (the details say how
    many were cached); `output_tokens` includes the reasoning tokens."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    input_tokens_details: InputTokensDetails | None = None
    output_tokens_details: OutputTokensDetails | None = None


class IncompleteDetails(msgspec.Struct, gc=False):
    reason: str | None = None  # max_output_tokens | content_filter


class ResponseError(msgspec.Struct, gc=False):
    """A response's `error` (status `failed`), and the `error` member some servers nest in an
    `error` stream event."""

    code: str | None = None
    message: str | None = None
    type: str | None = None


class ResponseObject(msgspec.Struct):
    """A response object: the unary answer of `POST /responses` (the `[response]` table's input)."""

    id: str | None = None
    object: str | None = None  # always "response"
    created_at: float | None = None
    model: str | None = None
    status: str | None = None  # completed | incomplete | failed | cancelled | in_progress | queued
    output: list[OutputItem] = []
    usage: ResponseUsage | None = None
    incomplete_details: IncompleteDetails | None = None
    error: ResponseError | None = None


class StreamResponse(msgspec.Struct, gc=False):
    """The `response` of a stream's lifecycle events (created, in_progress, completed,
    incomplete, failed), without its `output`: the machine has seen every item already, and the
    final event repeats the whole answer, which would cost a second decode of all of it."""

    id: str | None = None
    model: str | None = None
    status: str | None = None
    usage: ResponseUsage | None = None
    incomplete_details: IncompleteDetails | None = None
    error: ResponseError | None = None


class StreamEvent(msgspec.Struct, gc=False):
    """Any Responses stream event, decoded in one pass; `type` says which fields are set:

        response.created / in_progress / completed / incomplete / failed   response
        response.output_item.added / done                                   output_index, item
        response.content_part.added / done                                  output_index, content_index, part
        response.output_text.delta, response.refusal.delta                 output_index, content_index, delta
        response.output_text.done / refusal.done                            ..., text / refusal
        response.reasoning_summary_text.delta                               output_index, summary_index, delta
        response.reasoning_text.delta                                       output_index, content_index, delta
        response.function_call_arguments.delta / done                       output_index, delta / arguments
        response.custom_tool_call_input.delta / done                        output_index, delta / input
        error                                                               code, message (or error)

    One flat Struct instead of a tagged union, so event types added later decode (and are
    skipped) instead of failing the stream. `item_id` finds the item when a server leaves
    `output_index` out."""

    type: str
    response: StreamResponse | None = None
    output_index: int | None = None
    content_index: int | None = None
    summary_index: int | None = None
    item_id: str | None = None
    item: OutputItem | None = None
    part: ContentPart | None = None
    delta: str | None = None
    text: str | None = None
    refusal: str | None = None
    arguments: str | None = None
    input: str | None = None
    code: str | None = None
    message: str | None = None
    error: ResponseError | None = None
