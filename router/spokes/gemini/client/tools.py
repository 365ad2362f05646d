"""Gemini tools, toolConfig and structured output → hub tools and tool_choice.

Tools. Each `functionDeclarations` entry is a hub tool. Its schema is `parametersJsonSchema`
(JSON Schema, as Gemini CLI sends it) or `parameters` (Google's OpenAPI subset, upper-case type
names: converted to JSON Schema, router.spokes.gemini.schema). Upper-case type names are
lowered in a JSON Schema too: Google accepts `"OBJECT"` there (Gemini CLI's classifier sends
it), JSON Schema validators do not. Gemini's built-in tools (googleSearch, codeExecution, urlContext, ...) have no hub form:
left out, and named for the `x-router-dropped` header (`dropped_tools`).

toolConfig.functionCallingConfig:
    AUTO, VALIDATED, unset     → auto
    ANY                        → any; `tool` when allowedFunctionNames names exactly one
    NONE                       → none
    allowedFunctionNames       → only those tools are declared (the hub has no allow-list)

Names the hub refuses (`math.add`, `server:tool`) are declared, forced and allowed under their
rewrite (names.py); the allow-list is matched on the client's names.

Structured output (`responseMimeType: application/json` with `responseJsonSchema` or
`responseSchema`) is asked for the way the OpenAI client spokes ask for it: the forced
`json_response` tool whose input schema is the client's schema, turned back into the answer's
text by answer.py and stream.py; the same rules for how it meets the client's own tools
(router.spokes.openai.client.tools.hub_tool_choice). JSON without a schema is an instruction
in `system`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from router.core.errors import InvalidRequest
from router.spokes.common.invalid import invalid_value, require_str, wrong_type
from router.spokes.gemini.client.names import function_names
from router.spokes.gemini.client.parts import member
from router.spokes.gemini.request_wire import (
    GenerateContentRequest,
    generation_config,
    tool_config,
)
from router.spokes.gemini.schema import json_schema_from_openapi, normalized_json_schema
from router.spokes.openai.client.tools import (
    FORCING_CHOICES,
    JSON_OBJECT_INSTRUCTION,
    JSON_RESPONSE_DESCRIPTION,
    JSON_RESPONSE_TOOL,
    hub_tool_choice,
)

__all__ = ["JSON_OBJECT_INSTRUCTION", "JSON_RESPONSE_TOOL"]

HubTool = dict[str, Any]
Schema = dict[str, Any]

JSON_MIME_TYPE = "application/json"
_DECLARATION_KEYS = ("functionDeclarations", "function_declarations")
_EMPTY_SCHEMA: Mapping[str, Any] = MappingProxyType({"type": "object", "properties": {}})
_MODES: Mapping[str, str] = MappingProxyType({"AUTO": "auto", "VALIDATED": "auto", "ANY": "any", "NONE": "none",
                                              "MODE_UNSPECIFIED": "auto"})


# --- tools ---------------------------------------------------------------------------------------


def tools_to_hub(src: GenerateContentRequest) -> list[HubTool] | None:
    tools = client_tools(src)
    schema = json_schema_for(src)
    if schema is not None:
        tools.append({"name": JSON_RESPONSE_TOOL, "description": JSON_RESPONSE_DESCRIPTION, "input_schema": schema})
    return tools or None


def client_tools(src: GenerateContentRequest) -> list[HubTool]:
    allowed = allowed_names(src)
    names = function_names(src) if src.tools else None
    tools: list[HubTool] = []
    for index, tool in enumerate(src.tools or ()):
        path = f"$.tools[{index}]"
        if type(tool) is not dict:
            raise wrong_type("object", tool, path)
        declarations = member(tool, *_DECLARATION_KEYS)
        if declarations is None:
            continue  # a built-in tool: dropped_tools names it
        if type(declarations) is not list:
            raise wrong_type("array", declarations, f"{path}.functionDeclarations")
        for number, declaration in enumerate(declarations):
            hub_tool = function_tool(declaration, f"{path}.functionDeclarations[{number}]")
            if allowed is None or hub_tool["name"] in allowed:
                if names is not None:
                    hub_tool["name"] = names.hub(hub_tool["name"])
                tools.append(hub_tool)
    return tools


def function_tool(declaration: Any, path: str) -> HubTool:
    if type(declaration) is not dict:
        raise wrong_type("object", declaration, path)
    name = require_str(declaration, "name", path)
    if name == JSON_RESPONSE_TOOL:
        raise InvalidRequest(
            f"Tool name `{JSON_RESPONSE_TOOL}` is reserved by this route (it carries structured output) - at `{path}.name`"
        )
    out: HubTool = {"name": name}
    description = declaration.get("description")
    if type(description) is str and description:
        out["description"] = description
    out["input_schema"] = _input_schema(declaration, path)
    return out


def _input_schema(declaration: dict[str, Any], path: str) -> Schema:
    """`parametersJsonSchema` as it is (type names lowered), else `parameters` converted; the hub
    requires a schema, Gemini allows none for a function without arguments."""
    schema = member(declaration, "parametersJsonSchema", "parameters_json_schema")
    if schema is not None:
        if type(schema) is not dict:
            raise wrong_type("object", schema, f"{path}.parametersJsonSchema")
        return normalized_json_schema(schema)
    parameters = declaration.get("parameters")
    if parameters is None:
        return dict(_EMPTY_SCHEMA)
    if type(parameters) is not dict:
        raise wrong_type("object", parameters, f"{path}.parameters")
    return json_schema_from_openapi(parameters)


def has_client_tools(src: GenerateContentRequest) -> bool:
    """Whether any function is declared (and allowed), without converting a schema: the
    converters ask it several times per request."""
    allowed = allowed_names(src)
    for tool in src.tools or ():
        declarations = member(tool, *_DECLARATION_KEYS) if type(tool) is dict else None
        if type(declarations) is list and any(
                allowed is None or (type(item) is dict and item.get("name") in allowed) for item in declarations):
            return True
    return False


def dropped_tools(src: GenerateContentRequest) -> tuple[str, ...]:
    """Gemini's built-in tools in the request (googleSearch, codeExecution, ...), once each, in
    order, and `safetySettings` when set: only a Gemini upstream runs or applies them."""
    names: dict[str, None] = {}
    for tool in src.tools or ():
        if type(tool) is dict:
            for key in tool:
                if key not in _DECLARATION_KEYS:
                    names[key] = None
    if src.safety_settings:
        names["safetySettings"] = None
    return tuple(names)


# --- structured output ---------------------------------------------------------------------------


def wants_json(src: GenerateContentRequest) -> bool:
    config = generation_config(src)
    return config is not None and (config.response_mime_type or "").lower() == JSON_MIME_TYPE


def json_schema_for(src: GenerateContentRequest) -> Schema | None:
    """The schema a JSON answer must follow, as JSON Schema; None without one."""
    config = generation_config(src)
    if config is None or not wants_json(src):
        return None
    if config.response_json_schema is not None:
        return normalized_json_schema(config.response_json_schema)
    if config.response_schema is not None:
        return json_schema_from_openapi(config.response_schema)
    return None


def wants_json_object(src: GenerateContentRequest) -> bool:
    """JSON without a schema: said in `system`, as `response_format: json_object` is."""
    return wants_json(src) and json_schema_for(src) is None


# --- tool_choice ---------------------------------------------------------------------------------


def allowed_names(src: GenerateContentRequest) -> frozenset[str] | None:
    config = tool_config(src)
    calling = config.function_calling_config if config is not None else None
    names = calling.allowed_function_names if calling is not None else None
    return frozenset(names) if names else None


def client_tool_choice(src: GenerateContentRequest) -> dict[str, Any] | None:
    config = tool_config(src)
    calling = config.function_calling_config if config is not None else None
    if calling is None or calling.mode is None:
        return None
    kind = _MODES.get(calling.mode.upper())
    if kind is None:
        raise invalid_value(calling.mode, "$.toolConfig.functionCallingConfig.mode")
    names = calling.allowed_function_names or []
    if kind == "any" and len(names) == 1:
        renamed = function_names(src)
        return {"type": "tool", "name": names[0] if renamed is None else renamed.hub(names[0])}
    return {"type": kind}


def tool_choice_to_hub(src: GenerateContentRequest) -> dict[str, Any] | None:
    return hub_tool_choice(
        client_tool_choice(src),
        has_client_tools=has_client_tools(src),
        json_answer=json_schema_for(src) is not None,
        parallel_tool_calls=None,
    )


def forces_tool_use(src: GenerateContentRequest) -> bool:
    choice = tool_choice_to_hub(src)
    return choice is not None and choice["type"] in FORCING_CHOICES
