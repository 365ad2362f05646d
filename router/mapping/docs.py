"""The shipped field tables, and documentation generated from them: the README's "what is
dropped, and why" (`dropped_markdown`), kept in sync by tests/test_field_accounting.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import msgspec

from router.mapping.accounting import drops
from router.mapping.spec import PairSpec, parse_pair_spec
from router.spokes.registry import SPOKES
from router.spokes.spoke import FieldTable
from router.spokes.tables import read_pair_text


@dataclass(frozen=True, slots=True)
class ShippedTable:
    """A shipped table, the functions it may call, and the input Struct of each section."""

    table: str
    functions: Mapping[str, Mapping[str, Callable[..., Any]]]  # section → FUNCTIONS
    inputs: Mapping[str, type[msgspec.Struct]]  # section → the Struct it converts from
    variant_functions: Mapping[str, Callable[..., Any]]
    directions: Mapping[str, str]  # section or variant table → what it converts, for people


def _shipped(table: FieldTable) -> ShippedTable:
    return ShippedTable(
        table=table.name,
        functions={"request": table.request_functions, "response": table.response_functions},
        inputs=table.inputs, variant_functions=table.variant_functions, directions=table.directions,
    )


# Every spoke's tables, from the registry: upstream side first (the hub's requests go out first).
SHIPPED: tuple[ShippedTable, ...] = tuple(
    _shipped(table) for spoke in SPOKES.values()
    for side in (spoke.upstream_side, spoke.client_side) if side is not None
    for table in (side.table,) if table is not None
)


@cache
def shipped_spec(table: str) -> PairSpec:
    shipped = next(entry for entry in SHIPPED if entry.table == table)
    functions = {name for section in shipped.functions.values() for name in section}
    return parse_pair_spec(table, read_pair_text(table), functions, set(shipped.variant_functions))


def dropped_markdown() -> str:
    """The README's "what is dropped, and why": one row per drop of every shipped table."""
    lines = [
        "| Table | Converting | Dropped | Why |",
        "| --- | --- | --- | --- |",
    ]
    for shipped in SHIPPED:
        for where, name, reason in drops(shipped_spec(shipped.table)):
            kind = "type" if where.startswith("variants.") else "field"
            shown = "any other type" if name == "*" else f"`{name}` {kind}"
            lines.append(
                f"| `schemas/{shipped.table}.toml` | {shipped.directions.get(where, where)} | {shown} | "
                f"{_cell(reason)} |"
            )
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
