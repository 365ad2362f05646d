"""The spokes' field tables (schemas/*.toml), shipped as package data (`router._schemas`)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import TypeVar

F = TypeVar("F")


def read_pair_text(table: str) -> str:
    """A shipped field table (`<spoke>.client`, `<spoke>.upstream`, `passthrough`)."""
    return resources.files("router._schemas").joinpath(f"{table}.toml").read_text("utf-8")


def mapped_value(values: Mapping[str, str], key: str | None) -> str | None:
    """`key` through a `[values.MAP]` table as a compiled table maps it: its entry, else the
    `"*"` entry, else the key itself (None, with no `"*"`, stays None)."""
    fallback = values.get("*", key)
    return fallback if key is None else values.get(key, fallback)


def variant_dispatch(table: str, variants: str, functions: Mapping[str, F]) -> Mapping[str, F | None]:
    """A shipped `[variants.NAME]` table as a dispatch dict: tag → function (None = dropped).
    A spoke reads its own table this way (spokes sit below router.mapping, which parses the same
    table for its accounting and the README)."""
    entries: Mapping[str, str] = tomllib.loads(read_pair_text(table))["variants"][variants]
    # A plain dict behind the read-only Mapping type: it is looked up once per content block.
    return {tag: None if entry.startswith("drop:") else functions[entry] for tag, entry in entries.items()}
