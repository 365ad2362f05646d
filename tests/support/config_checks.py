"""What the `router check` tests of optional extras share: loading a routes.toml text with a given
environment, the problems an invalid one has, a route to the built-in mock that an optional
upstream which is off leaves behind, and an optional library made to look uninstalled."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from importlib.machinery import ModuleSpec

import pytest

from router.config.load import LoadedConfig, load_config_text
from router.config.problems import InvalidConfig, Problem

# What an optional upstream that is off leaves the config: another upstream and a route to it.
LOCAL_FALLBACK = """
[upstreams.local]
kind = "mock"

[[routes]]
name = "rest"
models = ["*"]
to = "local"
"""


def load(text: str, environ: dict[str, str] | None = None) -> LoadedConfig:
    return load_config_text(text, filename="routes.toml", environ=environ or {})


def problems(text: str, environ: dict[str, str] | None = None) -> tuple[Problem, ...]:
    with pytest.raises(InvalidConfig) as raised:
        load(text, environ)
    return raised.value.problems


def hide_module(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """`importlib.util.find_spec(module)` answers None, as when the extra is not installed (the
    config layer asks find_spec, never imports the library)."""
    real: Callable[..., ModuleSpec | None] = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name == module else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
