"""JSON Schema cleaning for tool parameters sent to strict validators (`tool-schema = "clean"`).

Anthropic clients send JSON Schema 2020-12 (Claude Code: `$schema`, `propertyNames`, `const`,
`exclusiveMinimum`, `anyOf` ...). OpenAI itself takes it, but several OpenAI-compatible servers
validate tool parameters against an older or smaller dialect and reject the whole request over one
keyword. Cleaning removes what they reject and rewrites what has an equivalent, keeping every
constraint that carries meaning for the model (types, enums, required, descriptions, defaults).

The walk knows which keywords hold subschemas: a property *named* "const" or "$schema" inside
`properties` is a field name, not a keyword, and is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Annotations and meta-data strict validators reject and models do not need; `propertyNames` and
# `patternProperties` constrain keys, which OpenAI-style validators (and Gemini) refuse outright.
DROPPED_KEYWORDS = frozenset({"$schema", "$id", "$comment", "propertyNames", "patternProperties", "examples"})

# Keywords whose value is one subschema, a list of subschemas, or a name → subschema map.
SCHEMA_KEYWORDS = frozenset(
    {
        "items",
        "additionalItems",
        "additionalProperties",
        "unevaluatedItems",
        "unevaluatedProperties",
        "contains",
        "not",
        "if",
        "then",
        "else",
    }
)
SCHEMA_LIST_KEYWORDS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
SCHEMA_MAP_KEYWORDS = frozenset({"properties", "$defs", "definitions", "dependentSchemas"})
_REWRITTEN_KEYWORDS = frozenset({"const", "exclusiveMinimum", "exclusiveMaximum"})
_SPECIAL_KEYWORDS = (
    DROPPED_KEYWORDS | SCHEMA_KEYWORDS | SCHEMA_LIST_KEYWORDS | SCHEMA_MAP_KEYWORDS | _REWRITTEN_KEYWORDS
)


def clean_schema(schema: Any) -> Any:
    """The schema without the keywords strict validators reject. The input is never modified;
    subschemas that need no change are shared with it rather than copied (this runs per request
    over every tool, and most nodes are plain `{"type": ..., "description": ...}` leaves).
    Non-object schemas (`true`, `false`) are returned as they are.
    """
    if type(schema) is not dict or _SPECIAL_KEYWORDS.isdisjoint(schema):
        return schema
    out: dict[str, Any] = {}
    rewrite = False
    for key, value in schema.items():
        if key in _SPECIAL_KEYWORDS:
            if key in DROPPED_KEYWORDS:
                continue
            if key in _REWRITTEN_KEYWORDS:
                rewrite = True
            else:
                value = _clean_keyword(key, value)
        out[key] = value
    if rewrite:
        _rewrite_const(out)
        _rewrite_exclusive_bounds(out)
    return out


def _clean_keyword(key: str, value: Any) -> Any:
    if key in SCHEMA_MAP_KEYWORDS:
        return {name: clean_schema(sub) for name, sub in value.items()} if type(value) is dict else value
    if key in SCHEMA_LIST_KEYWORDS:
        return [clean_schema(sub) for sub in value] if type(value) is list else value
    # One subschema; `items` may still be a list of them (draft 4-7 tuple form).
    return [clean_schema(sub) for sub in value] if type(value) is list else clean_schema(value)


def _rewrite_const(schema: dict[str, Any]) -> None:
    """`const` (draft 6+) is the one-value `enum` every validator knows."""
    if "const" not in schema:
        return
    value = schema.pop("const")
    if "enum" not in schema:
        schema["enum"] = [value]


def _rewrite_exclusive_bounds(schema: dict[str, Any]) -> None:
    """Numeric `exclusiveMinimum`/`exclusiveMaximum` (draft 6+) become inclusive bounds: exact for
    integers (n + 1 / n - 1), one value looser for numbers, never stricter than the schema said.
    The draft-4 boolean form is dropped (it only qualifies `minimum`/`maximum`, which stay)."""
    integer = schema.get("type") == "integer"
    if "exclusiveMinimum" in schema:
        _set_bound(schema, "minimum", schema.pop("exclusiveMinimum"), 1 if integer else 0, max)
    if "exclusiveMaximum" in schema:
        _set_bound(schema, "maximum", schema.pop("exclusiveMaximum"), -1 if integer else 0, min)


def _set_bound(
    schema: dict[str, Any], inclusive: str, bound: Any, step: int, stricter: Callable[[Any, Any], Any]
) -> None:
    if type(bound) not in (int, float):
        return
    if type(bound) is int:
        bound += step
    current = schema.get(inclusive)
    schema[inclusive] = bound if type(current) not in (int, float) else stricter(current, bound)
