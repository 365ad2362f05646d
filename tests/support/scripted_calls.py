"""Which tool the loopback mocks call and with what, in every protocol alike.

A mock calls a tool when the request forces one (`tool_choice`) or when the last user text names
one: its name, or for a tool a Responses client declared in a namespace and the router flattened
to `<namespace>__<name>`, its own name after the `__`. The arguments are samples of the tool's
JSON Schema, except that a command the user wrote in backquotes (`echo hi`) fills the first
required string argument, so an end-to-end test can make a real client run a real shell command:

    "Use exec_command to run `echo marker-1`"   → exec_command {"cmd": "echo marker-1"}

Codex's default tool set has no shell function: its freeform `exec` tool (namespace `functions`)
takes JavaScript that calls the shell through `tools.exec_command`, so a command meant for a tool
called `exec` is wrapped in that JavaScript, as the recording of a real server's answer shows
(../shared/fixtures/codex/tool).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]
_WORD = re.compile(r"[A-Za-z0-9_\-]+")
_COMMAND = re.compile(r"`([^`]+)`")
FLAT_SEPARATOR = "__"  # router.spokes.responses.names.SEPARATOR
CODEX_JS_EXEC = "exec"


@dataclass(frozen=True)
class Offered:
    """A tool of the request: its name, and its JSON Schema (None for a freeform tool)."""

    name: str
    schema: Json | None


@dataclass(frozen=True)
class Call:
    """What the mock calls: the tool's name and its arguments (a dict) or freeform input (a str)."""

    name: str
    arguments: Any


def command_in(text: str) -> str | None:
    """The first backquoted command of the user's text."""
    match = _COMMAND.search(text)
    return match.group(1) if match else None


def chosen(offered: Iterable[Offered], text: str, forced: str | None = None) -> Call | None:
    """The call the mock makes: of the forced tool, else of the tool the text names; None when
    neither is offered."""
    tools = list(offered)
    tool = next((t for t in tools if t.name == forced), None) if forced else None
    if tool is None:
        words = set(_WORD.findall(text))
        tool = next((t for t in tools if t.name in words or _own_name(t.name) in words), None)
    if tool is None:
        return None
    command = command_in(text)
    value = _codex_js(command) if command and _own_name(tool.name) == CODEX_JS_EXEC else command
    if tool.schema is None:
        return Call(tool.name, value if value is not None else "demo")
    return Call(tool.name, with_value(sample(tool.schema), tool.schema, value))


def with_value(arguments: Any, schema: Json, value: str | None) -> Any:
    """`arguments` with `value` in the first required string property (unchanged without one)."""
    if value is None or not isinstance(arguments, dict):
        return arguments
    props = schema.get("properties") or {}
    for name in schema.get("required") or []:
        if (props.get(name) or {}).get("type", "string") == "string":
            return {**arguments, name: value}
    return arguments


def sample(schema: Json) -> Any:
    """A value of the schema's type, required properties of objects filled in, recursively
    (the same samples as router.upstream.mock)."""
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {name: sample(props.get(name) or {}) for name in schema.get("required") or []}
    return {"string": "demo", "integer": 1, "number": 1, "boolean": True, "array": []}.get(
        kind if isinstance(kind, str) else "string", "demo")


def _own_name(name: str) -> str:
    return name.rpartition(FLAT_SEPARATOR)[2]


def _codex_js(command: str) -> str:
    return (f"const r = await tools.exec_command({{cmd: {json.dumps(command)}}});\n"
            'text(typeof r === "string" ? r : JSON.stringify(r));')
