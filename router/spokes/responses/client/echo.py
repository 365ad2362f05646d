"""What a Responses answer repeats of its request, and the request's tool-name table: both the
unary answer (complete.py) and the stream (stream.py) need them, made the same way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from router.spokes.responses.names import ToolNames
from router.spokes.responses.request_wire import Item, ResponsesRequest, Text


_NO_SCHEMA = msgspec.Raw(b"null")  # TextFormat.schema when the format has none


def _to_builtins(value: msgspec.Struct) -> Any:
    """Raw JSON fields (text.format.schema) stay Raw: the encoder writes them as they came."""
    return msgspec.to_builtins(value, builtin_types=(msgspec.Raw,))


def declared_tools(src: ResponsesRequest) -> Iterator[Item]:
    """Top-level `tools`, then those of `additional_tools` input items (Codex's lite shape)."""
    yield from src.tools or ()
    if isinstance(src.input, list):
        for item in src.input:
            if item.get("type") == "additional_tools" and isinstance(item.get("tools"), list):
                yield from (tool for tool in item["tools"] if isinstance(tool, dict))


def tool_names(src: ResponsesRequest) -> ToolNames:
    return ToolNames.of(declared_tools(src))


def echoed(src: ResponsesRequest) -> dict[str, Any]:
    """The request's settings as the Responses API repeats them in every response object."""
    return {
        "instructions": src.instructions,
        "max_output_tokens": src.max_output_tokens,
        "parallel_tool_calls": True if src.parallel_tool_calls is None else src.parallel_tool_calls,
        "previous_response_id": src.previous_response_id,
        "reasoning": _to_builtins(src.reasoning) if src.reasoning is not None else {"effort": None, "summary": None},
        "store": True if src.store is None else src.store,
        "temperature": 1.0 if src.temperature is None else src.temperature,
        "text": text_echoed(src.text),
        "tool_choice": src.tool_choice if src.tool_choice is not None else "auto",
        "tools": list(declared_tools(src)),
        "top_p": 1.0 if src.top_p is None else src.top_p,
        "truncation": src.truncation or "disabled",
        "user": src.user,
        "metadata": src.metadata or {},
    }


def text_echoed(text: Text | None) -> dict[str, Any]:
    """`text` as the API repeats it: the format with only the fields it has (a `text` or
    `json_object` format is just its type) and `{"type": "text"}` when none was given."""
    echoed: dict[str, Any] = {"format": {"type": "text"}}
    if text is None:
        return echoed
    if text.format is not None:
        fields = _to_builtins(text.format)
        echoed["format"] = {name: value for name, value in fields.items() if value is not None and value != _NO_SCHEMA}
    if text.verbosity is not None:
        echoed["verbosity"] = text.verbosity
    return echoed
