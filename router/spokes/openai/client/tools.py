"""OpenAI tools, tool_choice, parallel_tool_calls and response_format → Anthropic tools and
tool_choice.

Structured output. Anthropic has no `response_format`; a JSON-schema answer is asked for the way
Anthropic's own docs suggest, as a tool the model must call: `json_response`, whose input schema is
the client's schema. The response converter and the stream machine turn that call back into the
message content. The name is reserved: a client tool called `json_response` would be mistaken for
it on the way back, so it is refused up front.

How the forced tool meets the client's own tools and tool_choice:
    no client tools, or tool_choice "none"   → tool_choice {"type": "tool", "name": "json_response"}
    tool_choice naming a client function     → that function (the JSON answer comes on a later turn)
    otherwise (auto, required, unset)        → {"type": "any"}: a client tool or the JSON answer
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from router.core.errors import InvalidRequest
from router.spokes.common.invalid import invalid_value, require_object, require_str
from router.spokes.openai.wire import ChatRequest

JSON_RESPONSE_TOOL = "json_response"
JSON_OBJECT_INSTRUCTION = "Respond with a single JSON object and nothing else."
# The forced tool's description when the client's schema has none: the model must learn that
# calling it is how it answers.
JSON_RESPONSE_DESCRIPTION = "Give the final answer by calling this tool; its input is the answer."

_EMPTY_SCHEMA: Mapping[str, Any] = MappingProxyType({"type": "object", "properties": {}})
_CHOICES: Mapping[str, str] = MappingProxyType({"auto": "auto", "required": "any", "none": "none"})
# tool_choice types that make the model call a tool: Anthropic refuses thinking with them.
FORCING_CHOICES = frozenset({"any", "tool"})


# --- tools ---------------------------------------------------------------------------------------


def tools_to_anthropic(src: ChatRequest) -> list[dict[str, Any]] | None:
    tools = client_tools(src)
    schema = json_schema_format(src)
    if schema is not None:
        tools.append(json_response_tool(schema))
    return tools or None


def client_tools(src: ChatRequest) -> list[dict[str, Any]]:
    """Function tools. Other types (OpenAI's `custom` free-text tools, hosted tools) have no
    Anthropic form and are left out rather than refused."""
    tools = []
    for index, tool in enumerate(src.tools or ()):
        if tool.get("type", "function") == "function":
            tools.append(function_tool(tool, f"$.tools[{index}]"))
    return tools


def function_tool(tool: dict[str, Any], path: str) -> dict[str, Any]:
    function = require_object(tool, "function", path)
    function_path = f"{path}.function"
    name = require_str(function, "name", function_path)
    if name == JSON_RESPONSE_TOOL:
        raise InvalidRequest(
            f"Tool name `{JSON_RESPONSE_TOOL}` is reserved by this route (it carries response_format) "
            f"- at `{function_path}.name`"
        )
    out: dict[str, Any] = {"name": name}
    description = function.get("description")
    if type(description) is str and description:
        out["description"] = description
    parameters = function.get("parameters")
    # Anthropic requires an input schema; OpenAI allows none for a function without arguments.
    out["input_schema"] = parameters if type(parameters) is dict else dict(_EMPTY_SCHEMA)
    return out


def _has_function_tools(src: ChatRequest) -> bool:
    return any(tool.get("type", "function") == "function" for tool in src.tools or ())


# --- response_format -----------------------------------------------------------------------------


def json_schema_format(src: ChatRequest) -> dict[str, Any] | None:
    """`response_format.json_schema` when the client asked for a JSON-schema answer."""
    response_format = src.response_format
    if response_format is None or response_format.get("type") != "json_schema":
        return None
    return require_object(response_format, "json_schema", "$.response_format")


def wants_json_object(src: ChatRequest) -> bool:
    return src.response_format is not None and src.response_format.get("type") == "json_object"


def json_response_tool(json_schema: dict[str, Any]) -> dict[str, Any]:
    schema = json_schema.get("schema")
    description = json_schema.get("description")
    if type(description) is not str or not description:
        description = JSON_RESPONSE_DESCRIPTION
    return {
        "name": JSON_RESPONSE_TOOL,
        "description": description,
        "input_schema": schema if type(schema) is dict else {"type": "object"},
    }


# --- tool_choice ---------------------------------------------------------------------------------


def tool_choice_to_anthropic(src: ChatRequest) -> dict[str, Any] | None:
    """auto/required/none/{function} → auto/any/none/tool, then hub_tool_choice's rules."""
    return hub_tool_choice(
        client_tool_choice(src),
        has_client_tools=_has_function_tools(src),
        json_answer=json_schema_format(src) is not None,
        parallel_tool_calls=src.parallel_tool_calls,
    )


def hub_tool_choice(
    choice: dict[str, Any] | None, *, has_client_tools: bool, json_answer: bool, parallel_tool_calls: bool | None
) -> dict[str, Any] | None:
    """The hub tool_choice from the client's own (already in hub form), for both OpenAI client
    protocols (Chat and Responses share these rules): a JSON-schema answer forces `json_response`
    as the module docstring's table says; `parallel_tool_calls: false` → `disable_parallel_tool_use`
    (on an `auto` choice when the client gave none). Nothing without tools: Anthropic rejects a
    tool_choice then."""
    if json_answer:
        choice = _with_json_response(choice, has_client_tools)
    elif not has_client_tools:
        return None
    if parallel_tool_calls is False:
        choice = choice or {"type": "auto"}
        if choice["type"] != "none":  # Anthropic's `none` takes no other field
            choice = {**choice, "disable_parallel_tool_use": True}
    return choice


def client_tool_choice(src: ChatRequest) -> dict[str, Any] | None:
    choice = src.tool_choice
    if choice is None:
        return None
    if isinstance(choice, str):
        return named_mode_choice(choice)
    return _named_choice(choice)


def named_mode_choice(choice: str) -> dict[str, Any]:
    """A tool_choice given as a string (both OpenAI protocols have the same three)."""
    kind = _CHOICES.get(choice)
    if kind is None:
        raise invalid_value(choice, "$.tool_choice")
    return {"type": kind}


def _named_choice(choice: dict[str, Any]) -> dict[str, Any]:
    kind = require_str(choice, "type", "$.tool_choice")
    if kind != "function":
        raise invalid_value(kind, "$.tool_choice.type")
    function = require_object(choice, "function", "$.tool_choice")
    return {"type": "tool", "name": require_str(function, "name", "$.tool_choice.function")}


def _with_json_response(choice: dict[str, Any] | None, has_client_tools: bool) -> dict[str, Any]:
    """See the module docstring's table."""
    if not has_client_tools or (choice is not None and choice["type"] == "none"):
        return {"type": "tool", "name": JSON_RESPONSE_TOOL}
    if choice is not None and choice["type"] == "tool":
        return choice
    return {"type": "any"}


def forces_tool_use(src: ChatRequest) -> bool:
    choice = tool_choice_to_anthropic(src)
    return choice is not None and choice["type"] in FORCING_CHOICES

