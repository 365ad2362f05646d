"""What route conditions read from a Responses request. Tokens are counted as the hub request it
converts to (instructions and developer messages hoisted, calls as tool_use, tools as input
schemas), so one limit means the same thing at every front door."""

from __future__ import annotations

import msgspec

from router.core.errors import InvalidRequest
from router.hub.messages import CountTokensRequest, request_from_python
from router.hub.tokens import count_input_tokens, estimate_text_tokens
from router.spokes.responses.client.echo import declared_tools
from router.spokes.responses.client.request import messages_to_hub, system_for
from router.spokes.responses.client.tools import is_client_tool, tools_to_hub
from router.spokes.responses.request_wire import Item, ResponsesRequest

_encode_json = msgspec.json.Encoder().encode


def thinking(src: ResponsesRequest) -> bool:
    """`reasoning.effort` set to anything but "none" (an explicit "do not reason")."""
    effort = src.reasoning.effort if src.reasoning is not None else None
    return effort is not None and effort != "none"


def images(src: ResponsesRequest) -> bool:
    return type(src.input) is list and any(_has_image(item) for item in src.input)


def _has_image(item: Item) -> bool:
    parts = item.get("content") if item.get("type", "message") == "message" else item.get("output")
    return type(parts) is list and any(type(part) is dict and part.get("type") == "input_image" for part in parts)


def tools(src: ResponsesRequest) -> bool:
    """Tools the model may call here: function, custom and namespace tools (built-ins are left out
    for a converting target)."""
    return any(is_client_tool(tool) for tool in declared_tools(src))


def input_tokens(src: ResponsesRequest) -> int:
    try:
        return count_input_tokens(_as_hub(src))
    except (InvalidRequest, msgspec.ValidationError):
        # Malformed items the converter refuses: still route, on a cruder count of the JSON.
        return estimate_text_tokens(_encode_json(src.input))


def _as_hub(src: ResponsesRequest) -> CountTokensRequest:
    shaped = {
        "model": src.model,
        "system": system_for(src),
        "messages": messages_to_hub(src),
        "tools": tools_to_hub(src),
    }
    return request_from_python(shaped, CountTokensRequest)
