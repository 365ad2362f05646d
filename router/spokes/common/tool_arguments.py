"""A hub tool_use's input as the arguments text of OpenAI's protocols (Chat and Responses alike,
to an upstream and to a client): both carry a call's arguments as a JSON string, where the hub
carries an object."""

from __future__ import annotations

from typing import Any

import msgspec

_encode = msgspec.json.Encoder().encode


def arguments_text(hub_input: Any) -> str:
    """The input as JSON text; a missing input is a call without arguments, "{}" (clients parse
    the arguments they get, and "" is not JSON)."""
    return "{}" if hub_input is None else _encode(hub_input).decode()
