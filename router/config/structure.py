"""Shape checks: raw TOML data against the schema Structs, reporting every unknown key, missing
key and wrong type instead of msgspec's first one.

The walk follows the Struct definitions through msgspec's own field introspection (encode names,
required flags, tag fields), so a field added to schema.py is known here with no key list to
keep in sync. Leaves are checked with `msgspec.convert`, so type messages are msgspec's. The
walk also returns a copy without the unknown keys: a route whose only mistake is a typo in a key
still decodes, and the semantic checks (targets, overrides, shadowing) can look at it too.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

import msgspec

from router.config.problems import Finding, SchemaPath, choice_fix, did_you_mean

_AT_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_PATH_STEP = re.compile(r"\.(?P<key>[^.\[]+)|\[(?P<index>\d+)\]")


def walk(value: Any, tp: Any, path: SchemaPath, out: list[Finding]) -> Any:
    """Check `value` against type `tp`, appending findings to `out`; return it minus unknown
    keys (misspelt keys are moved to the key they were meant to be, see `_repair`)."""
    if _is_struct(tp):
        return _walk_struct(value, tp, path, out)
    members = _union_members(tp)
    if members and isinstance(value, dict):
        return _walk_union_table(value, tp, members, path, out)
    lists = [member for member in members if typing.get_origin(member) is list]
    if len(lists) == 1 and isinstance(value, list):
        return walk(value, lists[0], path, out)  # `str | list[str]` given a list: check items
    origin = typing.get_origin(tp)
    if origin is list and isinstance(value, list):
        (item_type,) = typing.get_args(tp)
        return [walk(item, item_type, (*path, i), out) for i, item in enumerate(value)]
    if origin is dict and isinstance(value, dict):
        _, value_type = typing.get_args(tp)
        return {key: walk(item, value_type, (*path, key), out) for key, item in value.items()}
    check_leaf(value, tp, path, out)
    return value


def check_leaf(value: Any, tp: Any, path: SchemaPath, out: list[Finding]) -> None:
    """A value with no further structure to walk: let msgspec judge it."""
    choices = _literal_choices(tp)
    if choices and isinstance(value, str) and value not in choices:
        out.append(Finding(path, f'invalid value "{value}"', choice_fix(value, choices)))
        return
    try:
        msgspec.convert(value, type=tp, str_keys=True)
    except msgspec.ValidationError as exc:
        out.append(from_validation_error(exc, tp, path))


def from_validation_error(exc: msgspec.ValidationError, tp: Any, path: SchemaPath) -> Finding:
    """msgspec's message, with its ` - at `$...`` suffix moved into the finding's path."""
    message = str(exc)
    match = _AT_PATH.search(message)
    if match is None:
        return Finding(path, message, f"write {describe_type(tp)} here")
    inner = _parse_msgspec_path(match.group("path"))
    return Finding((*path, *inner), message[: match.start()], "write a value of the expected type")


def describe_type(tp: Any) -> str:
    """A type as the operator writes it in TOML (the fix half of a type error)."""
    if typing.get_origin(tp) is typing.Annotated:  # a bound (ge=0, ...): msgspec's message states it
        return describe_type(typing.get_args(tp)[0])
    members = tuple(member for member in _union_members(tp) if member is not type(None))
    if set(members) == {int, float}:
        return "a number"
    if members:
        return " or ".join(describe_type(member) for member in members)
    choices = _literal_choices(tp)
    if choices:
        return "one of " + ", ".join(f'"{choice}"' for choice in choices)
    origin = typing.get_origin(tp)
    if origin is list:
        return "a list like [...]"
    if origin is dict or _is_struct(tp):
        return "a table like { key = value }"
    names = {str: "a quoted string", bool: "true or false", int: "a whole number",
             float: "a number"}  # fmt: skip
    return names.get(tp, f"a {getattr(tp, '__name__', tp)}")


def _walk_struct(
    value: Any, cls: type[msgspec.Struct], path: SchemaPath, out: list[Finding]
) -> Any:
    if not isinstance(value, dict):
        check_leaf(value, cls, path, out)
        return value
    fields = {field.encode_name: field for field in msgspec.structs.fields(cls)}
    tag_field = cls.__struct_config__.tag_field
    cleaned: dict[str, Any] = {}
    for written, item in value.items():
        if written == tag_field:
            cleaned[written] = item
            continue
        key = written
        if key not in fields:
            out.append(Finding((*path, key), f'unknown key "{key}"', _key_fix(key, fields)))
            key = _repair(key, value, fields)  # check the value under the key it was meant for
        if key in fields:
            # Findings point at the key as written: the meant-for key is nowhere in the file.
            cleaned[key] = walk(item, fields[key].type, (*path, written), out)
    for key, field in fields.items():
        if field.required and key not in cleaned:
            fix = f"add {key} = {describe_type(field.type)}"
            out.append(Finding(path, f'missing key "{key}"', fix))
    return cleaned


def _repair(key: str, value: dict[str, Any], fields: dict[str, Any]) -> str:
    """The field a misspelt key was meant to be, when that field is not also given.

    The typo is reported either way; reading the value as intended lets the rest of the item be
    checked (and avoids a second, confusing "missing key" message for the same mistake)."""
    guess = did_you_mean(key, fields)
    return guess if guess is not None and guess not in value else key


def _walk_union_table(
    value: dict[str, Any], tp: Any, members: tuple[Any, ...], path: SchemaPath, out: list[Finding]
) -> Any:
    """A table where a union is expected: pick the Struct by its tag (`kind`, `op`), or the only
    Struct of e.g. `str | KeyHash`."""
    structs = [member for member in members if _is_struct(member)]
    tag_field = structs[0].__struct_config__.tag_field if structs else None
    if tag_field is None:
        if len(structs) == 1:
            return _walk_struct(value, structs[0], path, out)
        check_leaf(value, tp, path, out)
        return value
    by_tag = {str(cls.__struct_config__.tag): cls for cls in structs}
    return _walk_tagged(value, by_tag, tag_field, path, out)


def _walk_tagged(
    value: dict[str, Any],
    by_tag: dict[str, type[msgspec.Struct]],
    tag_field: str,
    path: SchemaPath,
    out: list[Finding],
) -> Any:
    tag = value.get(tag_field)
    if tag_field not in value:
        fix = f'add {tag_field} = "..." (one of: {", ".join(sorted(by_tag))})'
        out.append(Finding(path, f'missing key "{tag_field}"', fix))
        return value
    cls = by_tag.get(tag) if isinstance(tag, str) else None
    if cls is None:
        message = f'unknown {tag_field} "{tag}"' if isinstance(tag, str) else f"bad {tag_field}"
        out.append(Finding((*path, tag_field), message, choice_fix(tag, by_tag)))
        return value
    return _walk_struct(value, cls, path, out)


def _key_fix(key: str, fields: dict[str, Any]) -> str:
    return choice_fix(key, fields, otherwise="remove it; the keys here are")


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def _union_members(tp: Any) -> tuple[Any, ...]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return ()


def _literal_choices(tp: Any) -> tuple[str, ...]:
    """The allowed strings of `Literal[...]` or `Literal[...] | None`; () for other types."""
    if typing.get_origin(tp) is typing.Literal:
        return tuple(str(arg) for arg in typing.get_args(tp))
    members = [m for m in _union_members(tp) if m is not type(None)]
    if len(members) == 1:
        return _literal_choices(members[0])
    return ()


def _parse_msgspec_path(text: str) -> SchemaPath:
    """`[1].a` → (1, 'a'); stops at msgspec's `[...]` (a dict key it does not print)."""
    parts: list[str | int] = []
    position = 0
    while position < len(text):
        match = _PATH_STEP.match(text, position)
        if match is None:
            break
        index = match.group("index")
        parts.append(int(index) if index is not None else match.group("key"))
        position = match.end()
    return tuple(parts)
