"""Tool and answer schemas between JSON Schema 2020-12 and Gemini's `Schema` (an OpenAPI 3.0 subset).

Gemini's `FunctionDeclaration.parameters` and `GenerationConfig.responseSchema` take a `Schema`
object, not JSON Schema, and the API rejects a whole request over one node it cannot read:
- upper-case type names, no "null" type (`nullable: true` instead), a `type` on every node that has
  no `anyOf` ("type: must be specified when not using one_of, any_of or all_of fields");
- `enum` only on STRING and only with string values ("enum: only allowed for STRING type",
  "Invalid value at '...enum[0]' (TYPE_STRING), 60");
- few formats (STRING "enum"/"date-time", INTEGER int32/int64, NUMBER float/double);
- an ARRAY needs `items`, an OBJECT must not have an empty `properties`, `required` may only name
  defined properties;
- no `$ref`, `allOf`, `oneOf`, `const`, `additionalProperties` (AI Studio), ...

`openapi_schema` rewrites what has an equivalent, moves what Gemini cannot enforce but the model
should know (allowed numbers) into the description, and drops the rest. `json_schema_from_openapi`
goes the other way for Gemini clients that send `parameters` / `responseSchema`, and
`normalized_json_schema` lower-cases the upper-case type names the Gemini CLI puts in
`responseJsonSchema`, so either can be handed to an Anthropic or OpenAI upstream.

All three are pure: the input is never modified, nothing is cached between calls, and depth is
bounded (`MAX_DEPTH`) so a hostile or cyclic schema cannot raise RecursionError.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import msgspec

from router.core.errors import InvalidRequest
from router.spokes.common.json_schema import SCHEMA_KEYWORDS, SCHEMA_LIST_KEYWORDS, SCHEMA_MAP_KEYWORDS

# Nesting deeper than this becomes a placeholder: real tool schemas stay under 10 levels.
MAX_DEPTH = 32
# How often one `$ref` may be expanded inside itself before the recursion is cut: 2 shows the model
# one level of a recursive type (a tree node and its children) and then the placeholder.
MAX_REF_EXPANSIONS = 2
# Nodes one conversion may build before the rest become placeholders: `$ref`s to definitions that
# each use the next twice describe 2^n nodes in n lines ("billion laughs"). Real tools: 5-300.
MAX_NODES = 10_000

_GEMINI_TYPES = {
    "string": "STRING",
    "number": "NUMBER",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
    "array": "ARRAY",
    "object": "OBJECT",
}
# The formats Gemini accepts per type; any other format (uri, email, uuid ...) is dropped.
_FORMATS = {
    "STRING": frozenset({"enum", "date-time"}),
    "INTEGER": frozenset({"int32", "int64"}),
    "NUMBER": frozenset({"float", "double"}),
}
# Keywords that describe a node rather than constrain it: they stay on the outer node when an
# `anyOf` is rewritten, and the node's own win over those of a `$ref` target or an `allOf` part.
_ANNOTATIONS = frozenset({"description", "title", "default", "example", "examples"})
_UNION_KEYWORDS = ("anyOf", "oneOf")
# Keywords that make a node without `type` an object / array / string / number.
_OBJECT_HINTS = frozenset(
    {"properties", "required", "additionalProperties", "patternProperties", "minProperties", "maxProperties"}
)
_ARRAY_HINTS = frozenset({"items", "prefixItems", "minItems", "maxItems", "contains"})
_STRING_HINTS = frozenset({"minLength", "maxLength", "pattern"})
_NUMBER_HINTS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
_ENUM_ONLY_KEYS = frozenset({"type", "enum"})
_SCALAR_TYPES = {name: _GEMINI_TYPES[name] for name in ("string", "number", "integer", "boolean")}
# A scalar node with only these keywords converts as it is, type name aside.
_LEAF_KEYS = frozenset({"type", "description", "title", "default"})

_json_encoder = msgspec.json.Encoder()


# --- JSON Schema → Gemini Schema ---------------------------------------------------------------


def openapi_schema(schema: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Gemini's `Schema` for a JSON Schema (2020-12 or older drafts). `where` names the schema in
    the request (e.g. "$.tools[3].input_schema") for the one error this raises: a `$ref` that
    names nothing in the document."""
    root = dict(schema) if type(schema) is not dict else schema
    return _ToOpenApi(root, where).convert(root, 0)


class _ToOpenApi:
    """One conversion: the document `$ref`s resolve against and the refs being expanded."""

    __slots__ = ("_budget", "_expanding", "_root", "_where")

    def __init__(self, root: dict[str, Any], where: str) -> None:
        self._root = root
        self._where = where
        self._expanding: list[str] = []
        self._budget = MAX_NODES

    def convert(self, schema: Any, depth: int) -> dict[str, Any]:
        if type(schema) is not dict:
            # `true`, `{}`-like booleans and junk all mean "any value" to a lenient reader.
            return _any_value()
        kind = schema.get("type")
        if type(kind) is str and kind in _SCALAR_TYPES and _LEAF_KEYS.issuperset(schema):
            # Most nodes of a tool schema are `{"type": "string", "description": ...}`.
            description = schema.get("description")
            if len(schema) == 2 and type(description) is str:
                return {"type": _SCALAR_TYPES[kind], "description": description}
            out: dict[str, Any] = {"type": _SCALAR_TYPES[kind]}
            if len(schema) > 1:
                _copy_annotations(schema, out)
            return out
        if depth > MAX_DEPTH:
            return _cut(schema, "nested too deep to describe further")
        self._budget -= 1
        if self._budget < 0:
            return _cut(schema, "too large to describe further")
        if "$ref" in schema:
            return self._expand_ref(schema, depth)
        if "allOf" in schema:
            return self.convert(self._merged_all_of(schema), depth + 1)
        for union in _UNION_KEYWORDS:
            branches = schema.get(union)
            if type(branches) is list:
                return self._union(schema, union, branches, depth)
        return self._typed(schema, depth)

    # -- references and combinators

    def _expand_ref(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        ref = schema["$ref"]
        if not _is_pointer(ref):
            # A remote, `$id`-relative or `$anchor` reference: nothing to fetch or find it in; the
            # node's own keywords (often a description) still say something.
            rest = _without(schema, "$ref")
            return self.convert(rest, depth + 1) if rest else _any_value()
        target = self._resolve(ref)
        if self._expanding.count(ref) >= MAX_REF_EXPANSIONS:
            described = schema if "description" in schema or type(target) is not dict else target
            return _cut(described, f"same shape as `{ref}`, not expanded again")
        # 2020-12: keywords beside `$ref` apply together with the target; the node's own
        # description or default is the more specific one.
        merged = _merged(_without(schema, "$ref"), target) if type(target) is dict else target
        self._expanding.append(ref)
        try:
            return self.convert(merged, depth + 1)
        finally:
            self._expanding.pop()

    def _resolve(self, ref: str) -> Any:
        """The node a local JSON pointer (`#`, `#/$defs/Name`, `#/definitions/Name`, ...) names."""
        node: Any = self._root
        for token in ref[1:].split("/")[1:]:
            if "%" in token:
                token = unquote(token)
            token = token.replace("~1", "/").replace("~0", "~")
            if type(node) is dict and token in node:
                node = node[token]
            elif type(node) is list and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise InvalidRequest(f"`$ref` {ref!r} names no schema in the document - at `{self._where}`")
        return node

    def _merged_all_of(self, schema: dict[str, Any]) -> dict[str, Any]:
        """`allOf` folded into its node: properties and `required` united, otherwise the first
        value of a keyword wins. Exact for the usual "base + extension" use; a contradiction
        (two types) keeps the first rather than failing the request."""
        merged = _without(schema, "allOf")
        parts = schema["allOf"]
        for part in parts if type(parts) is list else ():
            if type(part) is dict and _is_pointer(part.get("$ref")):
                target = self._resolve(part["$ref"])
                part = _merged(_without(part, "$ref"), target) if type(target) is dict else {}
            if type(part) is dict:
                merged = _merged(merged, part)
        return merged

    def _union(self, schema: dict[str, Any], union: str, branches: list[Any], depth: int) -> dict[str, Any]:
        """`anyOf`/`oneOf` (Gemini has only anyOf): null branches become `nullable`, the node's other
        constraints (a second union among them) are distributed into every branch:
        A ∧ (B ∨ C) = (A ∧ B) ∨ (A ∧ C)."""
        outer = _without(schema, union)
        constraints = {key: value for key, value in outer.items() if key not in _ANNOTATIONS}
        nullable = schema.get("nullable") is True
        converted: list[dict[str, Any]] = []
        for branch in branches:
            if _is_null_schema(branch):
                nullable = True
                continue
            if constraints and type(branch) is dict:
                branch = _merged(branch, constraints)
            node = self.convert(branch, depth + 1)
            if node.pop("nullable", False):
                nullable = True
            converted.append(node)
        if not converted:
            out = self._typed(_without(outer, "type") | {"type": "null"}, depth)
        elif len(converted) == 1:
            out = converted[0]
        else:
            out = _joined_string_enums(converted) or {"anyOf": converted}
        _copy_annotations(outer, out)
        if nullable:
            out["nullable"] = True
        return out

    # -- one typed node

    def _typed(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        kind = schema.get("type")
        if type(kind) is str and kind in _GEMINI_TYPES:  # the usual case: one lower-case name
            out = self._node(schema, _GEMINI_TYPES[kind], depth, annotate=True)
            if schema.get("nullable") is True:
                out["nullable"] = True
            return out
        types, nullable = _type_names(kind)
        if schema.get("nullable") is True:
            nullable = True
        if not types:
            inferred = _inferred_type(schema)
            if inferred is None:
                if nullable and "type" in schema:
                    # `{"type": "null"}` alone: Gemini has no null type; a nullable string is the
                    # closest it can say.
                    inferred = "STRING"
                else:
                    out = _any_value()
                    _copy_annotations(schema, out)
                    if nullable:
                        out["nullable"] = True
                    return out
            types = [inferred]
        if len(types) > 1:
            # ["string", "number"]: one branch per type, each keeping the keywords that apply to it.
            out = {"anyOf": [self._node(schema, gemini_type, depth, annotate=False) for gemini_type in types]}
            _copy_annotations(schema, out)
        else:
            out = self._node(schema, types[0], depth, annotate=True)
        if nullable:
            out["nullable"] = True
        return out

    def _node(self, schema: dict[str, Any], gemini_type: str, depth: int, *, annotate: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"type": gemini_type}
        if annotate:
            _copy_annotations(schema, out)
        if gemini_type == "OBJECT":
            self._object_keywords(schema, out, depth)
        elif gemini_type == "ARRAY":
            self._array_keywords(schema, out, depth)
        elif gemini_type == "STRING":
            if not _STRING_HINTS.isdisjoint(schema):
                _string_keywords(schema, out)
        elif gemini_type != "BOOLEAN":
            if not _NUMBER_HINTS.isdisjoint(schema):
                _number_keywords(schema, out, gemini_type)
        if "enum" in schema or "const" in schema:
            _enum(schema, out, gemini_type)
        format_ = schema.get("format")
        # Vertex refuses format "enum" without values ("should be non-empty for STRING type with enum format").
        if type(format_) is str and format_ in _FORMATS.get(gemini_type, ()) and (format_ != "enum" or "enum" in out):
            out["format"] = format_
        return out

    def _object_keywords(self, schema: dict[str, Any], out: dict[str, Any], depth: int) -> None:
        properties = schema.get("properties")
        converted: dict[str, Any] = {}
        if type(properties) is dict:
            for name, sub in properties.items():
                if sub is not False:  # `false`: the property must be absent, so do not offer it
                    converted[name] = self.convert(sub, depth + 1)
        if converted:  # Gemini rejects an empty `properties` ("should be non-empty for OBJECT type")
            out["properties"] = converted
            required = schema.get("required")
            if type(required) is list and required:
                names = [name for name in required if type(name) is str and name in converted]
                if names:
                    out["required"] = names if len(set(names)) == len(names) else list(dict.fromkeys(names))
        ordering = schema.get("propertyOrdering")
        if type(ordering) is list:
            out["propertyOrdering"] = ordering
        if "minProperties" in schema or "maxProperties" in schema:
            _copy_counts(schema, out, ("minProperties", "maxProperties"))

    def _array_keywords(self, schema: dict[str, Any], out: dict[str, Any], depth: int) -> None:
        items = schema.get("items")
        prefix = schema.get("prefixItems")
        if type(items) is list or (type(prefix) is list and prefix and type(items) is not dict):
            # Tuples (draft 4-7 `items: [...]`, 2020-12 `prefixItems`): Gemini has no positions,
            # so each element may be any of the listed shapes.
            shapes = items if type(items) is list else prefix
            out["items"] = self.convert({"anyOf": shapes}, depth + 1) if shapes else _any_value()
        else:
            # Gemini requires `items` on every ARRAY ("items: missing field").
            out["items"] = self.convert(items, depth + 1) if type(items) is dict else _any_value()
        _copy_counts(schema, out, ("minItems", "maxItems"))


def _string_keywords(schema: dict[str, Any], out: dict[str, Any]) -> None:
    _copy_counts(schema, out, ("minLength", "maxLength"))
    pattern = schema.get("pattern")
    if type(pattern) is str:
        out["pattern"] = pattern


def _number_keywords(schema: dict[str, Any], out: dict[str, Any], gemini_type: str) -> None:
    """minimum/maximum, with the 2020-12 numeric exclusive bounds made inclusive: exact for
    integers (n + 1 / n - 1), the bound itself for numbers (one value looser, never stricter)."""
    step = 1 if gemini_type == "INTEGER" else 0
    for inclusive, exclusive, sign, stricter in (
        ("minimum", "exclusiveMinimum", 1, max),
        ("maximum", "exclusiveMaximum", -1, min),
    ):
        bound = schema.get(inclusive)
        bound = bound if _is_number(bound) else None
        open_bound = schema.get(exclusive)
        if _is_number(open_bound):
            open_bound = open_bound + sign * step if type(open_bound) is int else open_bound
            bound = open_bound if bound is None else stricter(bound, open_bound)
        if bound is not None:
            out[inclusive] = bound


def _enum(schema: dict[str, Any], out: dict[str, Any], gemini_type: str) -> None:
    """`enum` / `const` as Gemini takes them: string values on a STRING; on any other type Gemini
    refuses an enum, so the allowed values go into the description for the model to read."""
    values = schema.get("enum")
    if type(values) is not list:
        if "const" not in schema:
            return
        values = [schema["const"]]
    present = [value for value in values if value is not None]
    if len(present) < len(values):
        out["nullable"] = True
    if not present:
        return
    if gemini_type == "STRING":
        out["enum"] = list(dict.fromkeys(_enum_text(value) for value in present))
    else:
        listed = ", ".join(_enum_text(value) for value in present)
        out["description"] = _with_note(out.get("description"), f"Allowed values: {listed}.")


def _enum_text(value: Any) -> str:
    return value if type(value) is str else _json_encoder.encode(value).decode()


def _with_note(description: Any, note: str) -> str:
    return f"{description.rstrip()} {note}" if type(description) is str and description.strip() else note


def _type_names(value: Any) -> tuple[list[str], bool]:
    """Gemini type names for `type` (a name or a list of names, any case) and whether "null" was one."""
    names = value if type(value) is list else [value]
    types: list[str] = []
    nullable = False
    for name in names:
        if type(name) is not str:
            continue
        lowered = name.lower()
        if lowered == "null":
            nullable = True
        elif lowered in _GEMINI_TYPES and _GEMINI_TYPES[lowered] not in types:
            types.append(_GEMINI_TYPES[lowered])
    return types, nullable


def _inferred_type(schema: dict[str, Any]) -> str | None:
    """The type a node without one implies by its keywords (Gemini needs a type on every node)."""
    if "enum" in schema or "const" in schema:
        values = schema["enum"] if type(schema.get("enum")) is list else [schema.get("const")]
        return _enum_type([value for value in values if value is not None])
    if not _OBJECT_HINTS.isdisjoint(schema):
        return "OBJECT"
    if not _ARRAY_HINTS.isdisjoint(schema):
        return "ARRAY"
    if not _STRING_HINTS.isdisjoint(schema):
        return "STRING"
    if not _NUMBER_HINTS.isdisjoint(schema):
        return "NUMBER"
    return None


def _enum_type(values: list[Any]) -> str | None:
    if not values:
        return None
    kinds = {type(value) for value in values}
    if kinds == {bool}:
        return "BOOLEAN"
    if kinds == {int}:
        return "INTEGER"
    if kinds <= {int, float}:
        return "NUMBER"
    return "STRING"  # strings, or a mix that only a string can name


def _is_pointer(ref: Any) -> bool:
    """A JSON pointer into this document: "#" or "#/...", not an anchor ("#name") or a URL."""
    return type(ref) is str and (ref == "#" or ref.startswith("#/"))


def _is_null_schema(schema: Any) -> bool:
    if type(schema) is not dict:
        return False
    kind = schema.get("type")
    return kind == "null" or kind == ["null"]


def _is_number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def _copy_counts(schema: dict[str, Any], out: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Non-negative integer keywords (minItems, maxLength ...); `3.0` is read as 3, junk dropped."""
    for key in keys:
        value = schema.get(key)
        if type(value) is float and value.is_integer():
            value = int(value)
        if type(value) is int and value >= 0:
            out[key] = value


def _copy_annotations(schema: dict[str, Any], out: dict[str, Any]) -> None:
    if type(title := schema.get("title")) is str:
        out["title"] = title
    if type(description := schema.get("description")) is str:
        out["description"] = description
    if "default" in schema:
        out["default"] = schema["default"]
    if "example" in schema:
        out["example"] = schema["example"]
    elif type(examples := schema.get("examples")) is list and examples:
        out["example"] = examples[0]


def _merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`base` with the keywords of `extra` it lacks; properties and `required` are united (a
    property in both becomes an `allOf` of the two, merged in turn)."""
    out = dict(base)
    for key, value in extra.items():
        mine = out.get(key)
        if key not in out:
            out[key] = value
        elif key == "properties" and type(mine) is dict and type(value) is dict:
            out[key] = mine | {
                name: {"allOf": [mine[name], sub]} if name in mine else sub for name, sub in value.items()
            }
        elif key == "required" and type(mine) is list and type(value) is list:
            out[key] = list(dict.fromkeys([*mine, *value]))
    return out


def _without(schema: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in schema.items() if name != key}


def _any_value() -> dict[str, Any]:
    """Any JSON value, in Gemini's terms: it has no untyped node, so a union of every type (an
    array of scalars or objects: ARRAY needs `items`). Built fresh: callers may mutate it."""
    scalars_and_object: list[dict[str, Any]] = [
        {"type": "STRING"},
        {"type": "NUMBER"},
        {"type": "BOOLEAN"},
        {"type": "OBJECT"},
    ]
    array = {"type": "ARRAY", "items": {"anyOf": [dict(node) for node in scalars_and_object]}}
    return {"anyOf": [*scalars_and_object, array]}


def _cut(schema: dict[str, Any], why: str) -> dict[str, Any]:
    """The placeholder where a recursive or too deep schema stops: an object the model may fill
    freely, whose description says what it stands for."""
    return {"type": "OBJECT", "description": _with_note(schema.get("description"), f"({why})")}


def _joined_string_enums(branches: list[dict[str, Any]]) -> dict[str, Any] | None:
    """anyOf of bare string enums (Claude Code: `[{enum: [a, b]}, {const: c}]`) as one enum."""
    values: list[str] = []
    for branch in branches:
        if branch.get("type") != "STRING" or "enum" not in branch or not _ENUM_ONLY_KEYS.issuperset(branch):
            return None
        values.extend(branch["enum"])
    return {"type": "STRING", "enum": list(dict.fromkeys(values))}


# --- Gemini Schema → JSON Schema ---------------------------------------------------------------

_SCALAR_NAMES = {gemini: name for name, gemini in _SCALAR_TYPES.items()}
# The API reads requests in snake_case as well as camelCase.
_CAMEL_NAMES = {
    "any_of": "anyOf",
    "property_ordering": "propertyOrdering",
    "max_items": "maxItems",
    "min_items": "minItems",
    "max_length": "maxLength",
    "min_length": "minLength",
    "max_properties": "maxProperties",
    "min_properties": "minProperties",
    "additional_properties": "additionalProperties",
}
# Gemini Schema keywords that mean the same in JSON Schema and are copied as they are.
_SAME_IN_JSON_SCHEMA = frozenset(
    {
        "description",
        "title",
        "required",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "minProperties",
        "maxProperties",
        "minimum",
        "maximum",
        "pattern",
        "default",
    }
)


def json_schema_from_openapi(schema: Mapping[str, Any]) -> dict[str, Any]:
    """JSON Schema for a Gemini `Schema` (what Gemini clients send in `parameters` and
    `responseSchema`): lower-case types, `nullable` as a "null" type, `defs`/`ref` as
    `$defs`/`$ref`; Gemini-only keywords (propertyOrdering, the "enum" format) dropped."""
    return _from_openapi(schema if type(schema) is dict else dict(schema), 0)


def _from_openapi(schema: dict[str, Any], depth: int) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        return {}
    kind = schema.get("type")
    if len(schema) == 2 and type(kind) is str and kind in _SCALAR_NAMES and type(schema.get("description")) is str:
        return {"type": _SCALAR_NAMES[kind], "description": schema["description"]}  # most nodes
    out: dict[str, Any] = {}
    nullable = False
    for raw_key, value in schema.items():
        key = _CAMEL_NAMES.get(raw_key, raw_key)
        if key in _SAME_IN_JSON_SCHEMA:
            out[key] = value
        elif key == "type":
            if type(value) is str and value.lower() in _GEMINI_TYPES:
                out["type"] = value.lower()
            elif type(value) is str and value.lower() == "null":
                nullable = True
        elif key == "nullable":
            nullable = value is True
        elif key == "properties" and type(value) is dict:
            out["properties"] = {name: _sub_from_openapi(sub, depth) for name, sub in value.items()}
        elif key == "items" or (key == "additionalProperties" and type(value) is dict):
            out[key] = _sub_from_openapi(value, depth)
        elif key == "additionalProperties" and type(value) is bool:
            out[key] = value
        elif key == "anyOf" and type(value) is list:
            out["anyOf"] = [_sub_from_openapi(sub, depth) for sub in value]
        elif key == "defs" and type(value) is dict:
            out["$defs"] = {name: _sub_from_openapi(sub, depth) for name, sub in value.items()}
        elif key == "ref" and type(value) is str:
            out["$ref"] = "#/$defs/" + value.removeprefix("#/defs/") if value.startswith("#/defs/") else value
        elif key == "format":
            if value != "enum":  # Gemini's marker for enums, not a JSON Schema format
                out["format"] = value
        elif key == "enum" and type(value) is list:
            out["enum"] = value
        elif key == "example":
            out["examples"] = [value]
    if "enum" in out:
        _typed_enum(out)
    if nullable:
        _allow_null(out)
    return out


def _sub_from_openapi(schema: Any, depth: int) -> Any:
    return _from_openapi(schema, depth + 1) if type(schema) is dict else schema


def _typed_enum(schema: dict[str, Any]) -> None:
    """Gemini lists enum values as strings whatever the type (`{type: INTEGER, enum: ["101"]}`);
    JSON Schema compares values, so numbers become numbers (or the enum goes if they are not)."""
    kind = schema.get("type")
    if kind != "integer" and kind != "number":
        return
    numbers: list[Any] = []
    for value in schema["enum"]:
        number = _parsed_number(value, kind)
        if number is None:
            del schema["enum"]
            return
        numbers.append(number)
    schema["enum"] = numbers


def _parsed_number(value: Any, kind: str) -> int | float | None:
    if _is_number(value):
        return value  # type: ignore[no-any-return]
    if type(value) is not str:
        return None
    try:
        return int(value) if kind == "integer" else float(value)
    except ValueError:
        return None


def _allow_null(schema: dict[str, Any]) -> None:
    kind = schema.get("type")
    if type(kind) is str:
        schema["type"] = [kind, "null"]
    elif "anyOf" in schema:
        schema["anyOf"].append({"type": "null"})
    if type(enum := schema.get("enum")) is list and None not in enum:
        schema["enum"] = [*enum, None]  # a new list: this one is the caller's


# --- JSON Schema with Gemini's type names → JSON Schema -----------------------------------------


def normalized_json_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON Schema with its type names lower-cased (the Gemini CLI writes `"type": "OBJECT"` in
    `responseJsonSchema` and Gemini accepts it; other validators do not). The input is never
    modified; subschemas that need no change are shared with it."""
    node = schema if type(schema) is dict else dict(schema)
    result = _normalized(node, 0)
    return result if type(result) is dict else node


def _normalized(schema: Any, depth: int) -> Any:
    if type(schema) is not dict:
        return schema
    kind = schema.get("type")
    if _NESTING_KEYWORDS.isdisjoint(schema) and (kind is None or type(kind) is str and kind.islower()):
        return schema  # a leaf already in lower case: most nodes
    if depth > MAX_DEPTH:
        return {}  # any value: as deep as no real schema goes, and as `json_schema_from_openapi` cuts
    changed: dict[str, Any] | None = None
    for key, value in schema.items():
        new = value
        if key == "type":
            new = _lower_type(value)
        elif key in SCHEMA_MAP_KEYWORDS:
            if type(value) is dict:
                new = _each_normalized(value, depth)
        elif key in SCHEMA_LIST_KEYWORDS or key in SCHEMA_KEYWORDS:
            if type(value) is list:
                new = _all_normalized(value, depth)
            else:
                new = _normalized(value, depth + 1)
        if new is not value:
            if changed is None:
                changed = dict(schema)
            changed[key] = new
    return changed if changed is not None else schema


_NESTING_KEYWORDS = SCHEMA_KEYWORDS | SCHEMA_LIST_KEYWORDS | SCHEMA_MAP_KEYWORDS


def _lower_type(value: Any) -> Any:
    if type(value) is str:
        return value if value.islower() else value.lower()
    if type(value) is list and any(type(name) is str and not name.islower() for name in value):
        return [name.lower() if type(name) is str else name for name in value]
    return value


def _each_normalized(schemas: dict[str, Any], depth: int) -> dict[str, Any]:
    out = {name: _normalized(sub, depth + 1) for name, sub in schemas.items()}
    return schemas if all(out[name] is sub for name, sub in schemas.items()) else out


def _all_normalized(schemas: list[Any], depth: int) -> list[Any]:
    out = [_normalized(sub, depth + 1) for sub in schemas]
    return schemas if all(new is old for new, old in zip(out, schemas, strict=True)) else out
