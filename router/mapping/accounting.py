"""Field accounting: every field of the input wire Struct a table section converts from is read
(a `src.` path, a function's `[handles.<section>]`), or dropped with a reason
(`[drop.<section>]`). A path covers everything under it; Structs inside lists and unions are
walked too (`choices.message.tool_calls.index`). Plain dicts (content blocks, tool definitions)
are leaves: their kinds are accounted by variant tables.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache

import msgspec

from router.mapping.spec import PairSpec


@dataclass(frozen=True, slots=True)
class Accounting:
    """What is wrong with one section's accounting; all empty when every field is accounted for."""

    unaccounted: tuple[str, ...]  # input fields neither read nor dropped
    unknown: tuple[str, ...]  # read or dropped paths the Struct does not have (typos, stale names)
    # dropped, yet read after all (itself or a field under it; a drop under a field a function
    # reads says which part of it the function leaves out)
    read_and_dropped: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not (self.unaccounted or self.unknown or self.read_and_dropped)

    def problems(self) -> list[str]:
        return [
            *(f"{path}: not read by the table, handled by a function, or dropped with a reason"
              for path in self.unaccounted),
            *(f"{path}: no such input field" for path in self.unknown),
            *(f"{path}: dropped, yet read" for path in self.read_and_dropped),
        ]


@cache
def field_paths(struct: type[msgspec.Struct]) -> tuple[str, ...]:
    """Every field of a Struct as a dotted path, parents before their children."""
    return tuple(_paths(struct, "", frozenset()))


def _paths(struct: type[msgspec.Struct], prefix: str, seen: frozenset[type]) -> Iterator[str]:
    hints = typing.get_type_hints(struct)
    for name in struct.__struct_fields__:
        path = f"{prefix}{name}"
        yield path
        for inner in _structs_in(hints[name]):
            if inner not in seen:  # recursive Structs stop at their second appearance
                yield from _paths(inner, f"{path}.", seen | {struct})


def _structs_in(annotation: object) -> Iterator[type[msgspec.Struct]]:
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _structs_in(arg)


def account(spec: PairSpec, section: str, struct: type[msgspec.Struct]) -> Accounting:
    plans = spec.request if section == "request" else spec.response
    read = {path for plan in plans for path in plan.reads}
    dropped = set(spec.drops.get(section, {}))
    paths = field_paths(struct)
    known = set(paths)
    leaves = [path for path in paths if not any(other.startswith(f"{path}.") for other in paths)]
    return Accounting(
        unaccounted=tuple(
            leaf for leaf in leaves if not _covered(leaf, read) and not _covered(leaf, dropped)
        ),
        unknown=tuple(sorted((read | dropped) - known)),
        read_and_dropped=tuple(
            sorted(path for path in dropped if path in read or any(r.startswith(f"{path}.") for r in read))
        ),
    )


def _covered(path: str, by: set[str]) -> bool:
    """`path` or one of its parents is in `by`."""
    parts = path.split(".")
    return any(".".join(parts[:end]) in by for end in range(1, len(parts) + 1))


def drops(spec: PairSpec) -> Iterator[tuple[str, str, str]]:
    """(section or variant table, input field or tag, reason) for every drop of a table."""
    for section, table in spec.drops.items():
        for path, reason in table.items():
            yield section, path, reason
    for name, variants in spec.variants.items():
        for tag, variant in variants.items():
            if variant.reason is not None:
                yield f"variants.{name}", tag, variant.reason


def variant_functions(spec: PairSpec) -> Mapping[str, set[str]]:
    """Variant table → the functions it names."""
    return {
        name: {variant.function for variant in variants.values() if variant.function is not None}
        for name, variants in spec.variants.items()
    }
