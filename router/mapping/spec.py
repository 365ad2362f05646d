"""Protocol-pair field tables (schemas/<client>__<upstream>.toml) → IR.

A table is shaped like the output: each key is an output field and its value an expression
(router.mapping.expr) or `{ from = EXPR, values = "MAP" }` to pass the value through a value map
from the `[values.MAP]` table (`"*"` there is the fallback for unlisted values).
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from router.mapping.expr import Expr, ExprError, parse_expr


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """One output field: where it comes from, whether it may be omitted, which value map applies."""

    name: str
    expr: Expr
    optional: bool
    values: str | None = None


@dataclass(frozen=True, slots=True)
class PairSpec:
    pair: str
    request: tuple[FieldPlan, ...]
    response: tuple[FieldPlan, ...]
    values: Mapping[str, Mapping[str, Any]]


def parse_pair_spec(pair: str, text: str, functions: Collection[str]) -> PairSpec:
    data = tomllib.loads(text)
    values = {name: MappingProxyType(dict(table)) for name, table in data.get("values", {}).items()}
    return PairSpec(
        pair=pair,
        request=_fields(data.get("request", {}), functions, values),
        response=_fields(data.get("response", {}), functions, values),
        values=MappingProxyType(values),
    )


def _fields(
    table: Mapping[str, Any], functions: Collection[str], values: Mapping[str, Any]
) -> tuple[FieldPlan, ...]:
    return tuple(_field(name, spec, functions, values) for name, spec in table.items())


def _field(name: str, spec: Any, functions: Collection[str], values: Mapping[str, Any]) -> FieldPlan:
    if not name.isidentifier():
        raise ExprError(f"output field {name!r} is not an identifier")
    if isinstance(spec, str):
        expr, optional = parse_expr(spec, functions)
        return FieldPlan(name, expr, optional)
    if isinstance(spec, dict) and set(spec) == {"from", "values"}:
        if spec["values"] not in values:
            raise ExprError(f"field {name!r}: no [values.{spec['values']}] table")
        expr, optional = parse_expr(spec["from"], functions)
        return FieldPlan(name, expr, optional, spec["values"])
    raise ExprError(f"field {name!r}: expected an expression string or {{ from, values }}")
