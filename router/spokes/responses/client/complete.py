"""What a converted Responses answer needs from its request (ClientSide.complete_answer and
ClientSide.dropped):

- tool calls under the client's names: the field table's answer calls every tool by its hub
  name; a flattened namespaced tool becomes its bare name plus `namespace` (the openai SDK's
  ResponseFunctionToolCall / ResponseCustomToolCall field, which Codex reads into its tool name),
  a custom tool's call a `custom_tool_call` whose input is its one string argument;
- the request's settings, which every response object repeats (echo.echoed);
- the built-in tools a converting target cannot run, for the `x-router-dropped` header.
"""

from __future__ import annotations

from typing import Any

from router.spokes.responses.client.echo import declared_tools, echoed, tool_names
from router.spokes.responses.client.output import client_call_item
from router.spokes.responses.client.tools import is_client_tool
from router.spokes.responses.request_wire import ResponsesRequest


def complete_answer(answer: dict[str, Any], src: ResponsesRequest) -> dict[str, Any]:
    output = answer.get("output")
    if output and any(item["type"] == "function_call" for item in output):
        names = tool_names(src)
        answer["output"] = [
            client_call_item(item["id"], item["call_id"], item["arguments"], names.client_tool(item["name"]),
                             item["status"])
            if item["type"] == "function_call" else item
            for item in output
        ]
    answer.update(echoed(src))
    return answer


def dropped_tools(src: ResponsesRequest) -> tuple[str, ...]:
    """The types of the built-in tools in the request (web_search, file_search, mcp ...), once
    each, in order: only an OpenAI Responses upstream runs them."""
    kinds = (tool.get("type") for tool in declared_tools(src) if not is_client_tool(tool))
    return tuple(dict.fromkeys(kind if type(kind) is str else "unknown" for kind in kinds))
