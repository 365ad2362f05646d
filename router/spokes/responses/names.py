"""Responses tools that other protocols have no form for, made function tools and back.

A Responses request may group function tools in a `namespace` and may declare `custom` tools
(free-form text input, optionally constrained by a grammar). Chat Completions and Anthropic
upstreams know only flat function tools taking a JSON object, so towards them:

- a namespaced tool is flattened to `<namespace>__<name>` (shortened with a digest when that
  would pass the 64 characters upstreams allow), and
- a custom tool becomes a function tool taking one string argument, `input`.

The answer's tool calls are mapped back with the same table, built from the request: a call of
a flattened name becomes a call of the tool in its namespace, a call of a custom tool a
`custom_tool_call` whose input is that string argument again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

SEPARATOR = "__"
MAX_NAME = 64  # OpenAI's and Anthropic's limit on a function / tool name
CUSTOM_ARGUMENT = "input"  # the one string argument a custom tool takes as a function


@dataclass(frozen=True, slots=True)
class ClientTool:
    """A tool as the Responses client declared it."""

    name: str
    custom: bool = False  # a `custom` tool: its call is a custom_tool_call with string input
    namespace: str | None = None


def flat_name(namespace: str | None, name: str) -> str:
    """The one name a tool has for an upstream without namespaces."""
    if namespace is None:
        return name
    joined = f"{namespace}{SEPARATOR}{name}"
    if len(joined) <= MAX_NAME:
        return joined
    digest = hashlib.sha256(joined.encode()).hexdigest()[:8]
    return f"{joined[:MAX_NAME - 9]}_{digest}"


@dataclass(frozen=True, slots=True)
class ToolNames:
    """Upstream (hub) tool name → the tool the client declared. Names not in it are plain
    function tools of that name."""

    by_hub_name: Mapping[str, ClientTool]

    @classmethod
    def of(cls, tools: Iterable[Mapping[str, Any]]) -> ToolNames:
        """From the request's tool definitions (top-level `tools` and those of
        `additional_tools` input items), as plain dicts."""
        table: dict[str, ClientTool] = {}
        for tool in tools:
            _add(table, tool, None)
        return cls(MappingProxyType(table))

    def client_tool(self, hub_name: str) -> ClientTool:
        return self.by_hub_name.get(hub_name) or ClientTool(hub_name)


EMPTY = ToolNames(MappingProxyType({}))


def namespace_tools(tool: Mapping[str, Any]) -> list[Any]:
    """A namespace tool's own tools; none when `tools` is not an array (the request's conversion
    refuses that, naming the field: readers of names before it must not trip on it)."""
    inner = tool.get("tools")
    return inner if type(inner) is list else []


def _add(table: dict[str, ClientTool], tool: Mapping[str, Any], namespace: str | None) -> None:
    kind, name = tool.get("type"), tool.get("name")
    if not isinstance(name, str):
        return
    if kind == "namespace" and namespace is None:
        for inner in namespace_tools(tool):
            if isinstance(inner, Mapping):
                _add(table, inner, name)
    elif kind in ("function", "custom") and (kind == "custom" or namespace is not None):
        table[flat_name(namespace, name)] = ClientTool(name, kind == "custom", namespace)
