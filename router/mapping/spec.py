"""Protocol-pair field tables (schemas/<spoke>.<side>.toml) → IR.

A section (`[request]`, `[response]`) is shaped like the output: each key is an output field and
its value an expression (router.mapping.expr) or `{ from = EXPR, values = "MAP" }` to pass the
value through a value map from the `[values.MAP]` table (`"*"` there is the fallback for
unlisted values).

Beside the sections, a table accounts for every field of the input it converts from
(tests/test_field_accounting.py): a field is read by a `src.…` path of an expression, handled by
a structural function, or dropped with a reason.

    [handles.request]               the input fields a function builds its output from
    messages_to_openai = ["system", "messages"]     (instead of the paths passed to it)

    [drop.request]                  input fields deliberately not carried over, and why
    "tools.cache_control" = "OpenAI tool definitions take no cache breakpoints"

Names are dotted paths into the input Struct; a path covers everything under it. Neither
generates code: they are accounting, and documentation (the README's "what is dropped, and
why" is generated from the drops, router.mapping.docs).

Tagged unions (content blocks, content parts) get a variant table, one entry per `type` tag:

    [variants.content_block]
    text = "text_part_of"           # a per-variant function (the spoke's VARIANTS registry)
    thinking = "drop: reason"       # this variant is left out, for this reason
    "*" = "drop: reason"            # tags not listed (block types added later)

The spoke turns its variant table into a dispatch dict (tag → function); regrouping (one block
→ many messages, many → one) stays in the spoke's Python.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from router.mapping.expr import Call, Expr, ExprError, Path, parse_expr

# Keys of a section that are not output fields.
SECTIONS = ("request", "response")
DROP_PREFIX = "drop:"
FALLBACK_TAG = "*"
_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """One output field: where it comes from, whether it may be omitted, which value map applies,
    and which input fields it is built from (its `src.` paths and its functions' `handles`)."""

    name: str
    expr: Expr
    optional: bool
    values: str | None = None
    reads: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Variant:
    """One tag of a variant table: the function converting it, or None and why it is dropped."""

    tag: str
    function: str | None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class PairSpec:
    pair: str
    request: tuple[FieldPlan, ...]
    response: tuple[FieldPlan, ...]
    values: Mapping[str, Mapping[str, Any]]
    # per section: input field path → why it is not carried over
    drops: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: _EMPTY)
    # per section: function → the input field paths it handles
    handles: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=lambda: _EMPTY)
    variants: Mapping[str, Mapping[str, Variant]] = field(default_factory=lambda: _EMPTY)


def parse_pair_spec(
    pair: str, text: str, functions: Collection[str], variant_functions: Collection[str] | None = None
) -> PairSpec:
    """`variant_functions`: the names a variant table may use (None: not checked here; the spoke
    that dispatches on the table resolves them when it loads it)."""
    data = tomllib.loads(text)
    for key in ("handles", "drop"):
        unknown = set(data.get(key, {})) - set(SECTIONS)
        if unknown:
            raise ExprError(f"[{key}.{sorted(unknown)[0]}]: the sections are {', '.join(SECTIONS)}")
    values = {name: MappingProxyType(dict(table)) for name, table in data.get("values", {}).items()}
    handles = {section: _handles(section, data.get("handles", {}).get(section, {})) for section in SECTIONS}
    drops = {section: _drops(section, data.get("drop", {}).get(section, {})) for section in SECTIONS}
    plans = {
        section: tuple(
            _field(name, spec, functions, values, handles[section])
            for name, spec in data.get(section, {}).items()
        )
        for section in SECTIONS
    }
    for section in SECTIONS:
        called = {func for plan in plans[section] for func in _calls(plan.expr)}
        for func in handles[section]:
            if func not in called:
                raise ExprError(f"[handles.{section}] {func!r}: no field of [{section}] calls it")
    return PairSpec(
        pair=pair,
        request=plans["request"],
        response=plans["response"],
        values=MappingProxyType(values),
        drops=MappingProxyType(drops),
        handles=MappingProxyType(handles),
        variants=MappingProxyType(
            {name: parse_variants(name, table, variant_functions) for name, table in data.get("variants", {}).items()}
        ),
    )


def _handles(section: str, table: Any) -> Mapping[str, tuple[str, ...]]:
    if not isinstance(table, dict):
        raise ExprError(f"[handles.{section}] must be a table of `function = [\"field\", ...]`")
    for func, paths in table.items():
        if not (isinstance(paths, list) and all(isinstance(path, str) and path for path in paths)):
            raise ExprError(f"handles.{section}.{func}: expected a list of input field paths")
    return MappingProxyType({func: tuple(paths) for func, paths in table.items()})


def _drops(section: str, table: Any, prefix: str = "") -> Mapping[str, str]:
    """`a.b = "why"` unquoted in TOML is a nested table; flattened back to dotted input paths."""
    if not isinstance(table, dict):
        raise ExprError(f"[drop.{section}] must be a table of `field = \"reason\"`")
    drops: dict[str, str] = {}
    for name, reason in table.items():
        path = f"{prefix}{name}"
        if isinstance(reason, dict):
            drops.update(_drops(section, reason, f"{path}."))
        elif isinstance(reason, str) and reason.strip():
            drops[path] = reason.strip()
        else:
            raise ExprError(f"drop.{section}.{path}: the value is the reason, a non-empty string")
    return MappingProxyType(drops)


def _calls(expr: Expr) -> Iterator[str]:
    if isinstance(expr, Call):
        yield expr.func
        for arg in expr.args:
            yield from _calls(arg)


def reads(expr: Expr, handles: Mapping[str, tuple[str, ...]]) -> Iterator[str]:
    """The input fields an expression reads: its `src.` paths (`src.a[0].b` → "a.b"), except
    that a function with a `handles` entry reads exactly what that entry says."""
    if isinstance(expr, Path) and expr.root == "src":
        names = [step for step in expr.steps if isinstance(step, str)]
        if names:
            yield ".".join(names)
    elif isinstance(expr, Call):
        if expr.func in handles:
            yield from handles[expr.func]
        else:
            for arg in expr.args:
                yield from reads(arg, handles)


def _field(
    name: str,
    spec: Any,
    functions: Collection[str],
    values: Mapping[str, Any],
    handles: Mapping[str, tuple[str, ...]],
) -> FieldPlan:
    if not name.isidentifier():
        raise ExprError(f"output field {name!r} is not an identifier")
    if isinstance(spec, str):
        expr, optional = parse_expr(spec, functions)
        table = None
    elif isinstance(spec, dict) and set(spec) == {"from", "values"}:
        table = spec["values"]
        if table not in values:
            raise ExprError(f"field {name!r}: no [values.{table}] table")
        expr, optional = parse_expr(spec["from"], functions)
    else:
        raise ExprError(f"field {name!r}: expected an expression string or {{ from, values }}")
    return FieldPlan(name, expr, optional, table, tuple(dict.fromkeys(reads(expr, handles))))


def parse_variants(name: str, table: Any, functions: Collection[str] | None = None) -> Mapping[str, Variant]:
    """One `[variants.NAME]` table: tag → a function name or `"drop: reason"`."""
    if not isinstance(table, dict):
        raise ExprError(f"[variants.{name}] must be a table of `tag = \"function\" | \"drop: reason\"`")
    variants: dict[str, Variant] = {}
    for tag, entry in table.items():
        if not isinstance(entry, str):
            raise ExprError(f"variants.{name}.{tag}: expected a function name or \"drop: reason\"")
        if entry.startswith(DROP_PREFIX):
            reason = entry[len(DROP_PREFIX):].strip()
            if not reason:
                raise ExprError(f"variants.{name}.{tag}: a drop needs a reason (\"drop: why\")")
            variants[tag] = Variant(tag, None, reason)
        elif not entry.isidentifier():
            raise ExprError(f"variants.{name}.{tag}: {entry!r} is not a function name")
        elif functions is not None and entry not in functions:
            raise ExprError(f"variants.{name}.{tag}: unknown function {entry!r}")
        else:
            variants[tag] = Variant(tag, entry)
    return MappingProxyType(variants)
