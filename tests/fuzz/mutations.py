"""Invalid inputs made from valid ones: a node of another JSON type at any path, a required field
taken away, JSON nested far too deep, a body cut short. Each names what it broke, so a property
can check the 400 names it too."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

Json = Any
PathKey = str | int
JsonPath = tuple[PathKey, ...]

# One representative per JSON type (int and float apart: a float where an int belongs is wrong).
_BY_TYPE: dict[str, tuple[Json, ...]] = {
    "null": (None,),
    "bool": (True, False),
    "int": (0, -1, 7, 2**63),
    "float": (1.5, -0.0, 1e308),
    "str": ("", "x", "\u2028"),
    "array": ([], [1], [None, "x"]),
    "object": ({}, {"k": "v"}, {"type": 1}),
}


def json_type(value: Json) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return "array" if isinstance(value, list) else "object"


def paths(value: Json, prefix: JsonPath = ()) -> list[JsonPath]:
    """Every node below the root, parents before children."""
    found: list[JsonPath] = []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


def at(value: Json, path: JsonPath) -> Json:
    for key in path:
        value = value[key]
    return value


def replaced(value: Json, path: JsonPath, new: Json) -> Json:
    out = copy.deepcopy(value)
    at(out, path[:-1])[path[-1]] = new
    return out


@dataclass(frozen=True)
class Mutation:
    body: Json
    path: JsonPath

    @property
    def field_names(self) -> tuple[str, ...]:
        """The names a message about this mutation may use: the keys on the path."""
        return tuple(key for key in self.path if isinstance(key, str))


@st.composite
def wrong_types(draw: st.DrawFn, valid: st.SearchStrategy[Json]) -> Mutation:
    """A valid body with one node (any depth) replaced by a value of another JSON type."""
    body = draw(valid)
    path = draw(st.sampled_from(paths(body)))
    old_type = json_type(at(body, path))
    new_type = draw(st.sampled_from(sorted(set(_BY_TYPE) - {old_type})))
    return Mutation(replaced(body, path, draw(st.sampled_from(_BY_TYPE[new_type]))), path)


def nested(depth: int, leaf: Json = 1) -> str:
    """JSON text of `depth` arrays around `leaf`, built as text (Python's own json would recurse)."""
    return "[" * depth + str(leaf) + "]" * depth
