"""The spokes' field tables (schemas/*.toml), shipped as package data (`router._schemas`)."""

from __future__ import annotations

from importlib import resources


def read_pair_text(pair: str) -> str:
    """The shipped field table of a protocol pair, from the package data (`router._schemas`)."""
    return resources.files("router._schemas").joinpath(f"{pair}.toml").read_text("utf-8")
