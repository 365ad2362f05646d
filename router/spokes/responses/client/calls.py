"""Which declared tool a call in the history (a `function_call` or `custom_tool_call` item, a
named `tool_choice`) means, by its hub name: the name the tool was given towards the upstream
(router.spokes.responses.names.flat_name), so a call sent back matches its definition.

An item may carry the tool's `namespace`; Codex leaves it out for its default namespace
(`functions`: Codex treats a call without one as a call in `functions`), and the fixtures show
it sending `exec` back for the `exec` tool it declared in that namespace. A bare name therefore
means, in this order: a top-level tool of that name, the tool of that name in `functions`, the
first namespace that declares it; else the name itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from router.spokes.responses.names import flat_name, namespace_tools

DEFAULT_NAMESPACE = "functions"  # Codex's namespace for its top-level function and custom tools


class CallNames:
    """Bare tool name → hub name, for the namespaced tools of one request (made on first use:
    most requests never ask)."""

    __slots__ = ("_by_bare_name", "_tools")

    def __init__(self, tools: Iterable[Mapping[str, Any]]) -> None:
        self._tools = tools
        self._by_bare_name: Mapping[str, str] | None = None

    def hub_name(self, name: str, namespace: Any = None) -> str:
        if type(namespace) is str and namespace:
            return flat_name(namespace, name)
        if self._by_bare_name is None:
            self._by_bare_name = _bare_names(self._tools)
        return self._by_bare_name.get(name, name)


def _bare_names(tools: Iterable[Mapping[str, Any]]) -> Mapping[str, str]:
    top_level: set[str] = set()
    namespaced: dict[str, str] = {}
    for tool in tools:
        kind, name = tool.get("type"), tool.get("name")
        if type(name) is not str:
            continue
        if kind != "namespace":
            top_level.add(name)
            continue
        for inner in namespace_tools(tool):
            inner_name = inner.get("name") if type(inner) is dict else None
            if type(inner_name) is str and (inner_name not in namespaced or name == DEFAULT_NAMESPACE):
                namespaced[inner_name] = flat_name(name, inner_name)
    return MappingProxyType({bare: hub for bare, hub in namespaced.items() if bare not in top_level})
