"""Schemas between JSON Schema 2020-12 and Gemini's `Schema` (router/spokes/gemini/schema.py).

Every tool schema Claude Code and Codex really sent must come out as a `Schema` Gemini accepts: the
check below encodes the API's rules (keywords of its Schema message only, upper-case types, a type
or anyOf on every node, enums only on STRING and only of strings, an ARRAY with items, no empty
properties, `required` naming defined properties), and google-genai's own `Schema` model must read it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.core.errors import InvalidRequest
from router.spokes.gemini.schema import (
    MAX_DEPTH,
    json_schema_from_openapi,
    normalized_json_schema,
    openapi_schema,
)

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"

# The keywords of Gemini's Schema message we produce (its `additionalProperties`, `defs` and `ref`
# are left out on purpose: AI Studio refuses the first, and references are inlined).
GEMINI_KEYWORDS = frozenset(
    {
        "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
        "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
        "propertyOrdering", "default", "items", "minimum", "maximum",
    }
)
GEMINI_TYPES = frozenset({"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT"})
GEMINI_FORMATS = {"STRING": {"enum", "date-time"}, "INTEGER": {"int32", "int64"}, "NUMBER": {"float", "double"}}


def gemini_problems(node: Any, path: str = "$") -> Iterator[str]:
    """What Gemini would reject in `node`, one message per problem."""
    if type(node) is not dict:
        yield f"{path}: not an object"
        return
    for key in node.keys() - GEMINI_KEYWORDS:
        yield f"{path}: keyword {key!r} is not in Gemini's Schema"
    kind = node.get("type")
    if kind is None and "anyOf" not in node:
        yield f"{path}: neither type nor anyOf"
    if kind is not None and kind not in GEMINI_TYPES:
        yield f"{path}: type {kind!r}"
    if "enum" in node and (kind != "STRING" or not all(type(value) is str for value in node["enum"])):
        yield f"{path}: enum on {kind} or of non-strings"
    if "format" in node and node["format"] not in GEMINI_FORMATS.get(str(kind), ()):
        yield f"{path}: format {node['format']!r} on {kind}"
    if node.get("format") == "enum" and not node.get("enum"):
        yield f"{path}: format enum without values"
    if kind == "ARRAY" and "items" not in node:
        yield f"{path}: ARRAY without items"
    if "properties" in node and not node["properties"]:
        yield f"{path}: empty properties"
    for name in node.get("required", ()):
        if name not in node.get("properties", {}):
            yield f"{path}: required {name!r} is not a property"
    for name, sub in node.get("properties", {}).items():
        yield from gemini_problems(sub, f"{path}.properties.{name}")
    if "items" in node:
        yield from gemini_problems(node["items"], f"{path}.items")
    for index, sub in enumerate(node.get("anyOf", ())):
        yield from gemini_problems(sub, f"{path}.anyOf[{index}]")


def assert_gemini_accepts(schema: dict[str, Any]) -> None:
    assert list(gemini_problems(schema)) == []


def fixture_bodies(client: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted((FIXTURES / client).glob("*/*.json")):
        body = json.loads(path.read_text())["body"]
        if type(body) is dict:
            yield f"{path.parent.name}/{path.name}", body


def tool_schemas() -> list[tuple[str, dict[str, Any]]]:
    """Every tool schema in the Claude Code and Codex fixtures (Codex namespaces opened), unique."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}

    def add(where: str, schema: Any) -> None:
        if type(schema) is dict:
            found.setdefault(json.dumps(schema, sort_keys=True), (where, schema))

    for name, body in [*fixture_bodies("claude-code"), *fixture_bodies("codex")]:
        for tool in body.get("tools") or []:
            add(f"{name}:{tool.get('name')}", tool.get("input_schema") or tool.get("parameters"))
            for inner in tool.get("tools") or []:
                add(f"{name}:{tool.get('name')}.{inner.get('name')}", inner.get("parameters"))
    return list(found.values())


TOOL_SCHEMAS = tool_schemas()


def test_the_fixtures_hold_tool_schemas_of_both_clients() -> None:
    assert len(TOOL_SCHEMAS) > 30
    assert any(where.endswith(":Bash") for where, _ in TOOL_SCHEMAS)
    assert any(where.endswith(":exec_command") for where, _ in TOOL_SCHEMAS)


@pytest.mark.parametrize(("where", "schema"), TOOL_SCHEMAS, ids=[where for where, _ in TOOL_SCHEMAS])
def test_every_real_tool_schema_converts_to_one_gemini_accepts(where: str, schema: dict[str, Any]) -> None:
    before = copy.deepcopy(schema)
    converted = openapi_schema(schema, "$.tools[0].input_schema")
    assert_gemini_accepts(converted)
    assert converted["type"] == "OBJECT"
    assert schema == before  # the request is never modified
    json.dumps(converted)  # plain JSON, nothing shared with a non-JSON type


def test_google_genai_reads_every_converted_schema() -> None:
    types = pytest.importorskip("google.genai.types")
    for where, schema in TOOL_SCHEMAS:
        parsed = types.Schema.model_validate(openapi_schema(schema, where))
        assert parsed.type == types.Type.OBJECT


def claude_code_tool(name: str) -> dict[str, Any]:
    for _, body in fixture_bodies("claude-code"):
        for tool in body.get("tools") or []:
            if tool["name"] == name:
                return tool["input_schema"]  # type: ignore[no-any-return]
    raise LookupError(name)


def test_claude_code_task_update_status_union_becomes_one_string_enum() -> None:
    status = openapi_schema(claude_code_tool("TaskUpdate"), "w")["properties"]["status"]
    assert status == {
        "type": "STRING",
        "enum": ["pending", "in_progress", "completed", "deleted"],
        "description": "New status for the task",
    }


def test_claude_code_free_metadata_object_keeps_no_key_constraints() -> None:
    metadata = openapi_schema(claude_code_tool("TaskCreate"), "w")["properties"]["metadata"]
    assert metadata == {"type": "OBJECT", "description": "Arbitrary metadata to attach to the task"}


def test_claude_code_any_value_argument_is_a_union_of_every_type() -> None:
    args = openapi_schema(claude_code_tool("Workflow"), "w")["properties"]["args"]
    assert args["description"].startswith("Optional input value")
    assert [branch["type"] for branch in args["anyOf"]] == ["STRING", "NUMBER", "BOOLEAN", "OBJECT", "ARRAY"]
    assert_gemini_accepts(args)


def test_claude_code_unsupported_format_and_meta_keywords_are_dropped() -> None:
    converted = openapi_schema(claude_code_tool("WebFetch"), "w")
    assert converted["properties"]["url"] == {"type": "STRING", "description": "The URL to fetch content from"}
    assert "$schema" not in converted and "additionalProperties" not in converted


# --- types, null, const, enums


def test_type_names_are_upper_case_and_annotations_kept() -> None:
    schema = {
        "type": "object",
        "title": "T",
        "properties": {"n": {"type": "integer", "default": 3, "examples": [4, 5], "description": "d"}},
    }
    assert openapi_schema(schema, "w") == {
        "type": "OBJECT",
        "title": "T",
        "properties": {"n": {"type": "INTEGER", "description": "d", "default": 3, "example": 4}},
    }


def test_type_array_with_null_is_nullable() -> None:
    assert openapi_schema({"type": ["string", "null"], "maxLength": 5}, "w") == {
        "type": "STRING",
        "maxLength": 5,
        "nullable": True,
    }


def test_type_array_of_several_types_is_an_anyof_keeping_each_types_keywords() -> None:
    converted = openapi_schema({"type": ["string", "number"], "description": "d", "maxLength": 3, "minimum": 1}, "w")
    assert converted == {
        "anyOf": [{"type": "STRING", "maxLength": 3}, {"type": "NUMBER", "minimum": 1}],
        "description": "d",
    }


def test_anyof_with_null_is_the_other_branch_made_nullable() -> None:
    schema = {"description": "outer", "anyOf": [{"type": "integer", "description": "inner"}, {"type": "null"}]}
    assert openapi_schema(schema, "w") == {"type": "INTEGER", "description": "outer", "nullable": True}


def test_oneof_becomes_anyof_and_outer_constraints_go_into_every_branch() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "oneOf": [{"required": ["a"]}, {"required": ["b"]}, {"type": "null"}],
    }
    converted = openapi_schema(schema, "w")
    assert converted["nullable"] is True
    assert [branch["required"] for branch in converted["anyOf"]] == [["a"], ["b"]]
    assert all(branch["type"] == "OBJECT" for branch in converted["anyOf"])
    assert_gemini_accepts(converted)


def test_anyof_and_oneof_together_are_both_kept() -> None:
    schema = {"anyOf": [{"type": "string"}, {"type": "integer"}], "oneOf": [{"maxLength": 3}, {"minimum": 2}]}
    converted = openapi_schema(schema, "w")
    assert_gemini_accepts(converted)
    assert converted["anyOf"][0] == {"anyOf": [{"type": "STRING", "maxLength": 3}, {"type": "STRING"}]}


def test_null_alone_is_a_nullable_string() -> None:
    assert openapi_schema({"type": "null", "description": "d"}, "w") == {
        "type": "STRING",
        "description": "d",
        "nullable": True,
    }


def test_const_is_a_one_value_enum() -> None:
    assert openapi_schema({"type": "string", "const": "x"}, "w") == {"type": "STRING", "enum": ["x"]}
    assert openapi_schema({"const": "x"}, "w") == {"type": "STRING", "enum": ["x"]}


def test_enum_of_ints_moves_to_the_description_as_gemini_refuses_enums_off_strings() -> None:
    converted = openapi_schema({"type": "integer", "enum": [60, 1440], "description": "Minutes."}, "w")
    assert converted == {"type": "INTEGER", "description": "Minutes. Allowed values: 60, 1440."}
    assert openapi_schema({"enum": [1, 2]}, "w") == {"type": "INTEGER", "description": "Allowed values: 1, 2."}
    assert openapi_schema({"enum": [True]}, "w") == {"type": "BOOLEAN", "description": "Allowed values: true."}
    assert openapi_schema({"enum": [1.5, 2]}, "w")["type"] == "NUMBER"


def test_enum_values_on_a_string_are_stringified_and_null_makes_it_nullable() -> None:
    converted = openapi_schema({"type": "string", "enum": ["a", 1, True, None, "a"]}, "w")
    assert converted == {"type": "STRING", "enum": ["a", "1", "true"], "nullable": True}
    assert openapi_schema({"enum": ["a", 1]}, "w") == {"type": "STRING", "enum": ["a", "1"]}


def test_formats_only_where_gemini_takes_them() -> None:
    assert openapi_schema({"type": "string", "format": "date-time"}, "w")["format"] == "date-time"
    assert "format" not in openapi_schema({"type": "string", "format": "email"}, "w")
    assert "format" not in openapi_schema({"type": "string", "format": "enum"}, "w")
    assert openapi_schema({"type": "string", "format": "enum", "enum": ["a"]}, "w")["format"] == "enum"
    assert openapi_schema({"type": "integer", "format": "int64"}, "w")["format"] == "int64"
    assert "format" not in openapi_schema({"type": "integer", "format": "float"}, "w")
    assert openapi_schema({"type": "number", "format": "double"}, "w")["format"] == "double"


def test_exclusive_bounds_become_inclusive_ones() -> None:
    assert openapi_schema({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10}, "w") == {
        "type": "INTEGER",
        "minimum": 1,
        "maximum": 9,
    }
    assert openapi_schema({"type": "number", "exclusiveMinimum": 0.5, "minimum": 2}, "w") == {
        "type": "NUMBER",
        "minimum": 2,
    }


# --- objects and arrays


def test_required_names_only_defined_properties_and_empty_properties_are_left_out() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "gone": False},
        "required": ["a", "missing", "gone", 3, "a"],
    }
    assert openapi_schema(schema, "w") == {
        "type": "OBJECT",
        "properties": {"a": {"type": "STRING"}},
        "required": ["a"],
    }
    assert openapi_schema({"type": "object", "properties": {}, "required": []}, "w") == {"type": "OBJECT"}


def test_keywords_gemini_lacks_are_dropped() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "x",
        "$comment": "c",
        "type": "object",
        "properties": {"a": {"type": "string", "not": {"const": "b"}, "contentEncoding": "base64"}},
        "additionalProperties": {"type": "string"},
        "patternProperties": {"^x": {"type": "string"}},
        "propertyNames": {"pattern": "^[a-z]+$"},
        "unevaluatedProperties": False,
        "dependentRequired": {"a": ["b"]},
        "if": {"required": ["a"]},
        "then": {"required": ["b"]},
        "else": {},
        "minProperties": 1,
    }
    assert openapi_schema(schema, "w") == {
        "type": "OBJECT",
        "properties": {"a": {"type": "STRING"}},
        "minProperties": 1,
    }


def test_property_ordering_is_kept_as_given() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "propertyOrdering": ["a"]}
    assert openapi_schema(schema, "w")["propertyOrdering"] == ["a"]


def test_arrays_always_get_items() -> None:
    assert openapi_schema({"type": "array", "minItems": 1, "maxItems": 2.0}, "w")["items"]["anyOf"]
    tuple_items = openapi_schema({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]}, "w")
    assert tuple_items["items"] == {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]}
    assert openapi_schema({"type": "array", "items": [{"type": "string"}]}, "w")["items"] == {"type": "STRING"}


def test_types_are_inferred_where_missing() -> None:
    assert openapi_schema({"properties": {"a": {"type": "string"}}}, "w")["type"] == "OBJECT"
    assert openapi_schema({"items": {"type": "string"}}, "w")["type"] == "ARRAY"
    assert openapi_schema({"pattern": "^a"}, "w") == {"type": "STRING", "pattern": "^a"}
    assert openapi_schema({"maximum": 3}, "w") == {"type": "NUMBER", "maximum": 3}
    assert openapi_schema({"enum": ["a"]}, "w") == {"type": "STRING", "enum": ["a"]}


def test_allof_is_merged() -> None:
    schema = {
        "description": "mine",
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "description": "base"},
            {"properties": {"b": {"type": "integer"}, "a": {"maxLength": 3}}, "required": ["b"]},
        ],
    }
    assert openapi_schema(schema, "w") == {
        "type": "OBJECT",
        "description": "mine",
        "properties": {"a": {"type": "STRING", "maxLength": 3}, "b": {"type": "INTEGER"}},
        "required": ["a", "b"],
    }


def test_odd_values_are_dropped_not_raised() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": 42, "minLength": -1, "maxLength": "x", "description": 5},
            "b": {"type": "array", "items": "x", "minItems": 1.5},
            "c": True,
            "d": {"type": "integer", "minimum": "0", "enum": "x"},
        },
        "required": "a",
        "propertyOrdering": "a",
    }
    converted = openapi_schema(schema, "w")
    assert_gemini_accepts(converted)
    assert converted["properties"]["d"] == {"type": "INTEGER"}
    assert "required" not in converted and "propertyOrdering" not in converted


# --- references


def test_refs_to_defs_and_definitions_are_inlined_with_the_nodes_own_description_first() -> None:
    schema = {
        "type": "object",
        "properties": {
            "pet": {"$ref": "#/$defs/Pet", "description": "The pet."},
            "owner": {"$ref": "#/definitions/Owner"},
            "odd": {"$ref": "#/$defs/a~1b%20c"},
        },
        "$defs": {"Pet": {"type": "object", "description": "A pet.", "properties": {"name": {"type": "string"}}},
                  "a/b c": {"type": "boolean"}},
        "definitions": {"Owner": {"type": "string"}},
    }
    assert openapi_schema(schema, "w")["properties"] == {
        "pet": {"type": "OBJECT", "description": "The pet.", "properties": {"name": {"type": "STRING"}}},
        "owner": {"type": "STRING"},
        "odd": {"type": "BOOLEAN"},
    }


def test_a_ref_to_nothing_is_an_invalid_request_naming_the_tool() -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": "#/$defs/Missing"}}}
    with pytest.raises(InvalidRequest) as raised:
        openapi_schema(schema, "$.tools[2].input_schema")
    assert "#/$defs/Missing" in str(raised.value)
    assert "$.tools[2].input_schema" in str(raised.value)


@pytest.mark.parametrize("ref", ["https://example.com/schema.json", "#anchor", "other.json#/$defs/A"])
def test_a_ref_that_is_no_pointer_into_the_document_is_any_value_rather_than_an_error(ref: str) -> None:
    converted = openapi_schema({"type": "object", "properties": {"a": {"$ref": ref, "description": "d"}}}, "w")
    assert converted["properties"]["a"]["description"] == "d"
    assert "anyOf" in converted["properties"]["a"]
    assert_gemini_accepts(converted)


def depth_of(node: Any) -> int:
    if type(node) is not dict:
        return 0
    children = [*node.get("properties", {}).values(), *node.get("anyOf", ())]
    if "items" in node:
        children.append(node["items"])
    return 1 + max((depth_of(child) for child in children), default=0)


def test_a_recursive_ref_is_cut_after_one_level_with_a_placeholder() -> None:
    tree = {
        "$defs": {
            "Node": {
                "type": "object",
                "description": "A node.",
                "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
            }
        },
        "$ref": "#/$defs/Node",
    }
    converted = openapi_schema(tree, "w")
    assert_gemini_accepts(converted)
    child = converted["properties"]["children"]["items"]
    assert child["properties"]["name"] == {"type": "STRING"}
    placeholder = child["properties"]["children"]["items"]
    assert placeholder["type"] == "OBJECT" and "properties" not in placeholder
    assert placeholder["description"].startswith("A node. (same shape as `#/$defs/Node`")


def test_a_ref_to_the_root_and_mutual_recursion_terminate() -> None:
    root = {"type": "object", "properties": {"self": {"$ref": "#"}, "a": {"$ref": "#/$defs/A"}},
            "$defs": {"A": {"anyOf": [{"$ref": "#/$defs/B"}, {"type": "null"}]},
                      "B": {"type": "array", "items": {"$ref": "#/$defs/A"}},
                      "Loop": {"allOf": [{"$ref": "#/$defs/Loop"}]}}}
    converted = openapi_schema(root, "w")
    assert_gemini_accepts(converted)
    assert depth_of(converted) < 20
    assert_gemini_accepts(openapi_schema({"$ref": "#/$defs/Loop", **{k: v for k, v in root.items() if k == "$defs"}}, "w"))


def test_deep_nesting_is_bounded_without_recursion_error() -> None:
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(5000):
        deep = {"type": "object", "properties": {"x": deep}}
    converted = openapi_schema(deep, "w")
    assert_gemini_accepts(converted)
    assert depth_of(converted) <= MAX_DEPTH + 2
    assert depth_of(json_schema_from_openapi(converted)) <= MAX_DEPTH + 2
    upper: dict[str, Any] = {"type": "STRING"}
    for index in range(5000):
        upper = {"type": "OBJECT", "properties": {"x": upper}} if index % 2 else {"anyOf": [upper], "type": "OBJECT"}
    assert depth_of(normalized_json_schema(upper)) <= MAX_DEPTH + 2
    assert depth_of(json_schema_from_openapi(upper)) <= MAX_DEPTH + 2


def test_refs_that_multiply_are_bounded_in_size() -> None:
    defs = {f"D{index}": {"type": "object", "properties": {"a": {"$ref": f"#/$defs/D{index + 1}"},
                                                           "b": {"$ref": f"#/$defs/D{index + 1}"}}}
            for index in range(30)}
    defs["D30"] = {"type": "string"}
    converted = openapi_schema({"$ref": "#/$defs/D0", "$defs": defs}, "w")
    assert_gemini_accepts(converted)
    assert len(json.dumps(converted)) < 2_000_000


def test_deep_anyof_and_items_are_bounded_too() -> None:
    deep: Any = {"type": "string"}
    for index in range(3000):
        deep = {"anyOf": [deep, {"type": "null"}]} if index % 2 else {"type": "array", "items": deep}
    assert_gemini_accepts(openapi_schema(deep, "w"))


# --- Gemini Schema → JSON Schema


def test_gemini_schema_becomes_json_schema() -> None:
    gemini = {
        "type": "OBJECT",
        "properties": {
            "unit": {"type": "STRING", "format": "enum", "enum": ["C", "F"], "nullable": True},
            "floor": {"type": "INTEGER", "format": "enum", "enum": ["101", "201"]},
            "when": {"type": "STRING", "format": "date-time", "example": "2026-01-01T00:00:00Z"},
            "tags": {"type": "ARRAY", "items": {"type": "STRING"}, "max_items": 3, "minItems": 1},
            "either": {"any_of": [{"type": "STRING"}, {"type": "NUMBER"}], "nullable": True},
            "pet": {"ref": "#/defs/Pet"},
        },
        "required": ["unit"],
        "propertyOrdering": ["unit", "floor"],
        "defs": {"Pet": {"type": "OBJECT", "properties": {"name": {"type": "STRING", "min_length": 1}}}},
    }
    assert json_schema_from_openapi(gemini) == {
        "type": "object",
        "properties": {
            "unit": {"type": ["string", "null"], "enum": ["C", "F", None]},
            "floor": {"type": "integer", "enum": [101, 201]},
            "when": {"type": "string", "format": "date-time", "examples": ["2026-01-01T00:00:00Z"]},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3, "minItems": 1},
            "either": {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]},
            "pet": {"$ref": "#/$defs/Pet"},
        },
        "required": ["unit"],
        "$defs": {"Pet": {"type": "object", "properties": {"name": {"type": "string", "minLength": 1}}}},
    }


def test_gemini_integer_enum_that_is_not_numeric_is_dropped() -> None:
    assert json_schema_from_openapi({"type": "INTEGER", "enum": ["one"]}) == {"type": "integer"}


def test_gemini_schema_round_trips() -> None:
    gemini = {
        "type": "OBJECT",
        "description": "d",
        "properties": {
            "a": {"type": "STRING", "enum": ["x", "y"], "nullable": True},
            "b": {"type": "ARRAY", "items": {"type": "INTEGER", "minimum": 1}, "maxItems": 4},
            "c": {"anyOf": [{"type": "STRING"}, {"type": "BOOLEAN"}]},
            "d": {"type": "NUMBER", "format": "float", "default": 1.5},
        },
        "required": ["a", "b"],
    }
    assert openapi_schema(json_schema_from_openapi(gemini), "w") == gemini


def test_json_schema_round_trips_through_gemini_for_what_both_can_say() -> None:
    schema = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "p", "minLength": 1},
            "limit": {"type": ["integer", "null"], "maximum": 100},
            "mode": {"type": "string", "enum": ["a", "b"]},
            "lines": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "number"}}}},
        },
        "required": ["path"],
    }
    assert json_schema_from_openapi(openapi_schema(schema, "w")) == schema


def test_the_fixture_tools_survive_a_round_trip_as_valid_json_schema() -> None:
    for where, schema in TOOL_SCHEMAS:
        back = json_schema_from_openapi(openapi_schema(schema, where))
        assert back["type"] == "object"
        assert set(back.get("properties", {})) <= set(schema.get("properties", {}))
        assert back.get("required", []) == [name for name in schema.get("required", []) if name in back["properties"]]


# --- JSON Schema with Gemini's type names


def test_gemini_cli_response_json_schema_gets_lower_case_types() -> None:
    body = json.loads((FIXTURES / "gemini-cli" / "plain" / "0001-gemini_generateContent.json").read_text())["body"]
    given = body["generationConfig"]["responseJsonSchema"]
    before = copy.deepcopy(given)
    normalized = normalized_json_schema(given)
    assert normalized == {
        "type": "object",
        "properties": {
            "complexity_reasoning": {"type": "string", "description": "Brief explanation for the score."},
            "complexity_score": {"type": "integer", "description": "Complexity score from 1-100."},
        },
        "required": ["complexity_reasoning", "complexity_score"],
    }
    assert given == before
    assert_gemini_accepts(openapi_schema(normalized, "w"))


def test_normalizing_shares_what_needs_no_change_and_knows_keywords_from_names() -> None:
    leaf = {"type": "string"}
    schema = {
        "type": "object",
        "properties": {"type": {"type": "STRING"}, "kept": leaf},
        "$defs": {"X": {"type": ["INTEGER", "null"]}},
        "items": [{"type": "BOOLEAN"}],
        "anyOf": [leaf],
        "enum": ["STRING"],
    }
    normalized = normalized_json_schema(schema)
    assert normalized["properties"] == {"type": {"type": "string"}, "kept": leaf}
    assert normalized["properties"]["kept"] is leaf
    assert normalized["$defs"]["X"]["type"] == ["integer", "null"]
    assert normalized["items"] == [{"type": "boolean"}]
    assert normalized["anyOf"] is schema["anyOf"]
    assert normalized["enum"] == ["STRING"]
    already = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert normalized_json_schema(already) is already


# --- anything a client may send


KEYWORDS = [
    "type", "properties", "items", "prefixItems", "anyOf", "oneOf", "allOf", "$ref", "$defs", "enum", "const",
    "required", "nullable", "format", "minimum", "exclusiveMaximum", "minItems", "maxLength", "description",
    "default", "examples", "propertyOrdering", "additionalProperties", "any_of", "defs", "ref", "example",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.sampled_from(
        ["string", "NUMBER", "integer", "null", "object", "ARRAY", "#", "#/$defs/a", "#/defs/a", "date-time"]
    ),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYWORDS + ["a", "b"]), children, max_size=5),
    max_leaves=40,
)


@given(json_values)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_json_converts_or_names_a_missing_ref(schema: Any) -> None:
    if type(schema) is not dict:
        schema = {"items": schema}
    before = copy.deepcopy(schema)
    try:
        converted = openapi_schema(schema, "w")
    except InvalidRequest as error:
        assert "$ref" in str(error)
    else:
        assert_gemini_accepts(converted)
    json_schema_from_openapi(schema)
    normalized_json_schema(schema)
    assert schema == before
