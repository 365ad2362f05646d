"""The spokes' field tables (schemas/*.toml), shipped as package data (`router._schemas`)."""

from __future__ import annotations

from importlib import resources


def read_pair_text(table: str) -> str:
    """A shipped field table (`<spoke>.client`, `<spoke>.upstream`, `passthrough`)."""
    return resources.files("router._schemas").joinpath(f"{table}.toml").read_text("utf-8")
