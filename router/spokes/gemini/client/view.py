"""What route conditions read from a Gemini request. Tokens are counted as the hub request it
converts to (systemInstruction as system, calls as tool_use, declarations as input schemas), so
one limit means the same thing at every front door."""

from __future__ import annotations

from typing import Any

import msgspec

from router.core.errors import InvalidRequest
from router.hub.messages import CountTokensRequest, request_from_python
from router.hub.tokens import count_input_tokens, estimate_text_tokens
from router.spokes.gemini.client.parts import member
from router.spokes.gemini.client.tools import has_client_tools, tools_to_hub
from router.spokes.gemini.client.turns import hub_messages, system_text
from router.spokes.gemini.request_wire import GenerateContentRequest, generation_config

_encode_json = msgspec.json.Encoder().encode


def thinking(src: GenerateContentRequest) -> bool:
    """A thinkingConfig that asks for thinking: a budget other than 0, a level other than
    MINIMAL, or thoughts to be shown."""
    config = generation_config(src)
    asked = config.thinking_config if config is not None else None
    if asked is None:
        return False
    if asked.thinking_budget is not None:
        return asked.thinking_budget != 0
    if asked.thinking_level is not None:
        return asked.thinking_level.upper() != "MINIMAL"
    return asked.include_thoughts is True


def images(src: GenerateContentRequest) -> bool:
    return any(_has_image(content) for content in src.contents)


def _has_image(content: Any) -> bool:
    parts = content.get("parts") if type(content) is dict else None
    if type(parts) is not list:
        return False
    for part in parts:
        if type(part) is dict:
            media = member(part, "inlineData", "inline_data") or member(part, "fileData", "file_data")
            if type(media) is dict and str(member(media, "mimeType", "mime_type") or "").startswith("image/"):
                return True
    return False


def tools(src: GenerateContentRequest) -> bool:
    """Functions the model may call here (Gemini's built-in tools are left out for a converting target)."""
    return has_client_tools(src)


def input_tokens(src: GenerateContentRequest) -> int:
    try:
        return count_input_tokens(_as_hub(src))
    except (InvalidRequest, msgspec.ValidationError):
        # Malformed contents the converter refuses: still route, on a cruder count of the JSON.
        return estimate_text_tokens(_encode_json(src.contents))


def _as_hub(src: GenerateContentRequest) -> CountTokensRequest:
    shaped = {
        "model": src.model or "gemini",
        "system": system_text(src),
        "messages": hub_messages(src),
        "tools": tools_to_hub(src),
    }
    return request_from_python(shaped, CountTokensRequest)
