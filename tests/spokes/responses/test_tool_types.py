"""A tool whose `type` is not a string (a list, an object: a fuzzer found `"type": []`) is no
tool of ours and never reaches a set lookup, where a list raised TypeError and the client got a
500; the conversion refuses it with a 400 naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from router.config.target import Capabilities, TargetContext
from router.core.errors import InvalidRequest
from router.routing.compose import build_converters
from router.spokes.registry import SPOKES
from router.spokes.responses.client.complete import dropped_tools
from router.spokes.responses.client.tools import is_client_tool
from router.spokes.responses.client.view import tools

CTX = TargetContext(route="r", upstream="up", model="claude-target", caps=Capabilities())


def request(tool: dict[str, Any]) -> Any:
    body = {"model": "m", "reasoning": {"effort": "low"},
            "input": [{"type": "additional_tools", "role": "developer", "tools": [tool]},
                      {"role": "user", "content": "hi"}]}
    return SPOKES["responses"].client.request_decoder(json.dumps(body).encode())


@pytest.mark.parametrize("kind", [[], {}, 3, None])
def test_a_tool_type_that_is_not_a_string_is_no_client_tool(kind: Any) -> None:
    assert not is_client_tool({"name": "A", "type": kind})


def test_the_request_view_and_the_dropped_tools_read_it_without_raising() -> None:
    src = request({"name": "A", "type": []})
    assert tools(src) is False
    assert dropped_tools(src) == ("unknown",)


def test_the_conversion_refuses_it_naming_the_field() -> None:
    src = request({"name": "A", "type": []})
    with pytest.raises(InvalidRequest, match="type"):
        build_converters("responses__anthropic", CTX).request.function(src, CTX)
