"""What route conditions read from an OpenAI Chat request. Tokens are counted as the hub request
it converts to (system hoisted, tool calls as tool_use, tools as input schemas), so one limit
means the same thing at every front door."""

from __future__ import annotations

import msgspec

from router.core.errors import InvalidRequest
from router.hub.messages import CountTokensRequest, request_from_python
from router.hub.tokens import count_input_tokens, estimate_text_tokens
from router.spokes.openai.client.request import messages_to_anthropic, system_for
from router.spokes.openai.client.tools import tools_to_anthropic
from router.spokes.openai.wire import ChatRequest

# Content parts that carry an image in a chat message.
IMAGE_PARTS = frozenset({"image_url", "input_image"})

_encode_json = msgspec.json.Encoder().encode


def thinking(src: ChatRequest) -> bool:
    """`reasoning_effort` set to anything but "none" (which newer OpenAI models take as an
    explicit "do not reason")."""
    return src.reasoning_effort is not None and src.reasoning_effort != "none"


def images(src: ChatRequest) -> bool:
    return any(
        isinstance(message.content, list)
        and any(isinstance(part, dict) and part.get("type") in IMAGE_PARTS for part in message.content)
        for message in src.messages
    )


def tools(src: ChatRequest) -> bool:
    return bool(src.tools)


def input_tokens(src: ChatRequest) -> int:
    try:
        return count_input_tokens(_as_hub(src))
    except (InvalidRequest, msgspec.ValidationError):
        # Malformed messages the converter refuses: still route, on a cruder count of the JSON.
        return estimate_text_tokens(_encode_json(src.messages))


def _as_hub(src: ChatRequest) -> CountTokensRequest:
    shaped = {
        "model": src.model,
        "system": system_for(src),
        "messages": messages_to_anthropic(src),
        "tools": tools_to_anthropic(src),
    }
    return request_from_python(shaped, CountTokensRequest)
