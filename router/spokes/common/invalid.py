"""Request validation errors raised by converters, worded like msgspec's own decode errors.

Content blocks stay plain dicts (router/hub/messages.py), so msgspec cannot check the fields a
converter needs; the converter checks them itself and reports the JSON path the same way msgspec
would ("Object missing required field `x` - at `$.messages[3].content[0]`"), so a client sees one
style whichever layer caught the problem.
"""

from __future__ import annotations

from typing import Any

import msgspec

from router.core.errors import InvalidRequest

# msgspec's names for JSON types in "Expected `str`, got `int`".
_JSON_TYPE_NAMES = {
    type(None): "null",
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    list: "array",
    dict: "object",
}


def json_type_name(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def field_required(name: str, path: str) -> InvalidRequest:
    return InvalidRequest(f"Object missing required field `{name}` - at `{path}`")


def wrong_type(expected: str, value: object, path: str) -> InvalidRequest:
    return InvalidRequest(f"Expected `{expected}`, got `{json_type_name(value)}` - at `{path}`")


def invalid_value(value: object, path: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid enum value {value!r} - at `{path}`")


def require_str(obj: dict[str, Any], name: str, path: str) -> str:
    """`obj[name]` as a string, or the error naming `path` (the object) / `path.name` (the value)."""
    value: str = _required(obj, name, path, str, "str")
    return value


def require_object(obj: dict[str, Any], name: str, path: str) -> dict[str, Any]:
    value: dict[str, Any] = _required(obj, name, path, dict, "object")
    return value


def require_array(obj: dict[str, Any], name: str, path: str) -> list[Any]:
    value: list[Any] = _required(obj, name, path, list, "array")
    return value


def _required(obj: dict[str, Any], name: str, path: str, kind: type, expected: str) -> Any:
    value = obj.get(name)
    if type(value) is kind:
        return value
    if name not in obj:
        raise field_required(name, path)
    raise wrong_type(expected, value, f"{path}.{name}")


def raw_object(raw: msgspec.Raw, path: str) -> msgspec.Raw:
    """Raw JSON that must be an object, checked by its first byte (msgspec hands a value's bytes
    over from its first character); decoded only to word the error."""
    if len(raw) and memoryview(raw)[0] == 0x7B:  # "{"
        return raw
    raise wrong_type("object", msgspec.json.decode(raw), path)


def raw_string(raw: msgspec.Raw, path: str) -> msgspec.Raw | None:
    """Raw JSON that must be a string or null: the string's raw JSON (quotes and escapes as the
    client sent them), or None for null; checked by the first byte like `raw_object`."""
    first = memoryview(raw)[0] if len(raw) else 0
    if first == 0x22:  # '"'
        return raw
    value = msgspec.json.decode(raw)
    if value is None:
        return None
    raise wrong_type("str", value, path)
