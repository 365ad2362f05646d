"""Responses tools, tool_choice, parallel_tool_calls and text.format → hub tools and tool_choice.

Tools are declared in `tools` and in `additional_tools` input items (echo.declared_tools):
- `function` → a hub tool (`parameters` as its input schema; `strict` has no hub form);
- `custom` (free-form text, optionally in a grammar) → a hub tool taking one string argument,
  `input`, its description extended with the grammar so the model knows the language;
- `namespace` → each of its tools, named `<namespace>__<name>` (names.flat_name);
- built-in tools (web_search, file_search, mcp ...) → left out: no converting target can run
  them (complete.dropped_tools names them for the `x-router-dropped` header).

Structured output (`text.format`) is asked for the way the OpenAI Chat client spoke does for
`response_format` (router.spokes.openai.client.tools): a JSON schema becomes the forced
`json_response` tool, turned back into text by the answer and the stream; `json_object` an
instruction in `system`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from router.core.errors import InvalidRequest
from router.spokes.common.invalid import invalid_value, require_array, require_str, wrong_type
from router.spokes.openai.client.tools import (
    FORCING_CHOICES,
    JSON_OBJECT_INSTRUCTION,
    JSON_RESPONSE_DESCRIPTION,
    JSON_RESPONSE_TOOL,
    hub_tool_choice,
    named_mode_choice,
)
from router.spokes.responses.client.calls import CallNames
from router.spokes.responses.client.echo import declared_tools
from router.spokes.responses.names import CUSTOM_ARGUMENT, flat_name
from router.spokes.responses.request_wire import Item, ResponsesRequest, TextFormat

__all__ = ["JSON_OBJECT_INSTRUCTION", "JSON_RESPONSE_TOOL"]

HubTool = dict[str, Any]

FUNCTION_TOOLS = frozenset({"function", "custom", "namespace"})
_EMPTY_SCHEMA: Mapping[str, Any] = MappingProxyType({"type": "object", "properties": {}})


# --- tools ---------------------------------------------------------------------------------------


def tools_to_hub(src: ResponsesRequest) -> list[HubTool] | None:
    tools = client_tools(src)
    text_format = json_schema_format(src)
    if text_format is not None:
        tools.append(json_response_tool(text_format))
    return tools or None


def client_tools(src: ResponsesRequest) -> list[HubTool]:
    tools: list[HubTool] = []
    for index, tool in enumerate(declared_tools(src)):
        tools.extend(_hub_tools(tool, f"$.tools[{index}]"))
    return tools


def _hub_tools(tool: Item, path: str) -> Iterator[HubTool]:
    kind = tool.get("type")
    if isinstance(kind, (list, dict)):  # cannot be looked up among the tool types: the client's error
        raise wrong_type("string", kind, f"{path}.type")
    if kind == "namespace":
        namespace = require_str(tool, "name", path)
        inner_tools = tool.get("tools")
        if inner_tools is not None and type(inner_tools) is not list:
            raise wrong_type("array", inner_tools, f"{path}.tools")
        for index, inner in enumerate(inner_tools or ()):
            if type(inner) is dict:
                yield from _named_tool(inner, f"{path}.tools[{index}]", namespace)
    else:
        yield from _named_tool(tool, path, None)


def _named_tool(tool: Item, path: str, namespace: str | None) -> Iterator[HubTool]:
    kind = tool.get("type")
    if kind == "function":
        yield function_tool(tool, path, namespace)
    elif kind == "custom":
        yield custom_tool(tool, path, namespace)
    # built-in tools have no hub form


def function_tool(tool: Item, path: str, namespace: str | None) -> HubTool:
    out = _named(tool, path, namespace)
    parameters = tool.get("parameters")
    # The hub requires an input schema; Responses allows none for a function without arguments.
    out["input_schema"] = parameters if type(parameters) is dict else dict(_EMPTY_SCHEMA)
    return out


def custom_tool(tool: Item, path: str, namespace: str | None) -> HubTool:
    out = _named(tool, path, namespace)
    grammar = _grammar_note(tool.get("format"))
    if grammar:
        out["description"] = f"{out['description']}\n\n{grammar}" if "description" in out else grammar
    out["input_schema"] = {
        "type": "object",
        "properties": {CUSTOM_ARGUMENT: {"type": "string"}},
        "required": [CUSTOM_ARGUMENT],
    }
    return out


def _named(tool: Item, path: str, namespace: str | None) -> HubTool:
    name = require_str(tool, "name", path)
    if name == JSON_RESPONSE_TOOL and namespace is None:
        raise InvalidRequest(
            f"Tool name `{JSON_RESPONSE_TOOL}` is reserved by this route (it carries text.format) - at `{path}.name`"
        )
    out: HubTool = {"name": flat_name(namespace, name)}
    description = tool.get("description")
    if type(description) is str and description:
        out["description"] = description
    return out


def _grammar_note(text_format: Any) -> str:
    """A custom tool's input language, said in words: the hub has no grammar-constrained tools."""
    if type(text_format) is not dict or text_format.get("type") != "grammar":
        return ""
    syntax, definition = text_format.get("syntax"), text_format.get("definition")
    if type(definition) is not str or not definition:
        return ""
    language = "a regular expression" if syntax == "regex" else "a Lark grammar"
    return (f"Put the tool's whole input, as plain text, in the `{CUSTOM_ARGUMENT}` argument. "
            f"It must match this {language}:\n{definition}")


# --- text.format ---------------------------------------------------------------------------------


def json_schema_format(src: ResponsesRequest) -> TextFormat | None:
    text_format = src.text.format if src.text is not None else None
    return text_format if text_format is not None and text_format.type == "json_schema" else None


def wants_json_object(src: ResponsesRequest) -> bool:
    return src.text is not None and src.text.format is not None and src.text.format.type == "json_object"


def json_response_tool(text_format: TextFormat) -> HubTool:
    """The schema travels as the raw JSON the client sent (an object, checked by its first byte)."""
    schema = text_format.schema
    description = text_format.description or JSON_RESPONSE_DESCRIPTION
    has_object = len(schema) > 0 and memoryview(schema)[0] == 0x7B
    return {
        "name": JSON_RESPONSE_TOOL,
        "description": description,
        "input_schema": schema if has_object else {"type": "object"},
    }


# --- tool_choice ---------------------------------------------------------------------------------

ALLOWED_TOOLS_MODES = ("auto", "required")  # an allowed_tools choice's `mode`


def tool_choice_to_hub(src: ResponsesRequest) -> dict[str, Any] | None:
    """auto/required/none/{function|custom: name} → auto/any/none/tool, then the OpenAI client's
    hub_tool_choice rules (the forced `json_response`, `parallel_tool_calls: false`, nothing
    without tools)."""
    has_tools = _has_client_tools(src)
    return hub_tool_choice(
        client_tool_choice(src),
        has_client_tools=has_tools,
        json_answer=json_schema_format(src) is not None,
        parallel_tool_calls=src.parallel_tool_calls,
    )


def client_tool_choice(src: ResponsesRequest) -> dict[str, Any] | None:
    choice = src.tool_choice
    if choice is None:
        return None
    if isinstance(choice, str):
        return named_mode_choice(choice)
    return _object_choice(choice, src)


def _object_choice(choice: Item, src: ResponsesRequest) -> dict[str, Any]:
    kind = require_str(choice, "type", "$.tool_choice")
    if kind in ("function", "custom"):
        name = require_str(choice, "name", "$.tool_choice")
        return {"type": "tool", "name": CallNames(declared_tools(src)).hub_name(name, choice.get("namespace"))}
    if kind == "allowed_tools":
        # A subset the hub cannot express: any of the tools when the client requires one. Its
        # mode and tools are checked all the same: the answer echoes tool_choice as sent, and an
        # SDK refuses a response whose tool_choice is not one it knows.
        mode = require_str(choice, "mode", "$.tool_choice")
        if mode not in ALLOWED_TOOLS_MODES:
            raise invalid_value(mode, "$.tool_choice.mode")
        require_array(choice, "tools", "$.tool_choice")
        return {"type": "any" if mode == "required" else "auto"}
    return {"type": "auto"}  # a built-in tool's choice: the tool itself is left out


def is_client_tool(tool: Item) -> bool:
    """A function, custom or namespace tool: one the hub can carry. A type that is not a string is
    none of them (the conversion refuses it, naming the field, when it reaches the tool); it is
    never looked up in a set, where a list would raise."""
    kind = tool.get("type")
    return type(kind) is str and kind in FUNCTION_TOOLS


def _has_client_tools(src: ResponsesRequest) -> bool:
    return any(is_client_tool(tool) for tool in declared_tools(src))


def forces_tool_use(src: ResponsesRequest) -> bool:
    choice = tool_choice_to_hub(src)
    return choice is not None and choice["type"] in FORCING_CHOICES
