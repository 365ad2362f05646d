"""`router check` on Azure credentials: an azure upstream needs api-key or entra; entra needs
azure-identity (simulated missing by patching find_spec) and no api-key; Claude on Azure AI
Foundry with entra needs no key either."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from importlib.machinery import ModuleSpec

import pytest

from router.config.load import LoadedConfig, load_config_text
from router.config.problems import InvalidConfig, Problem

ROUTES = """
[[routes]]
name = "gpt"
models = ["gpt-*"]
to = "{upstream}"
"""

LOCAL_FALLBACK = """
[upstreams.local]
kind = "mock"

[[routes]]
name = "rest"
models = ["*"]
to = "local"
"""


def _azure(settings: str, kind: str = "azure", base_url: str = "https://res.openai.azure.com") -> str:
    return f"""
[upstreams.az]
kind = "{kind}"
base-url = "{base_url}"
{settings}
{ROUTES.format(upstream="az")}"""


def _load(text: str, environ: dict[str, str] | None = None) -> LoadedConfig:
    return load_config_text(text, filename="routes.toml", environ=environ or {})


def _problems(text: str, environ: dict[str, str] | None = None) -> tuple[Problem, ...]:
    with pytest.raises(InvalidConfig) as raised:
        _load(text, environ)
    return raised.value.problems


@pytest.fixture
def without_azure_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    real: Callable[..., ModuleSpec | None] = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name == "azure.identity" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_an_api_key_resolves() -> None:
    loaded = _load(_azure('api-key = "env:AZ_KEY"\napi-version = "2024-10-21"'), {"AZ_KEY": "k"})
    assert loaded.upstream_api_keys["az"] == "k"


def test_entra_needs_no_key() -> None:
    loaded = _load(_azure('entra = {}'))
    assert loaded.upstream_api_keys["az"] is None and not loaded.warnings


def test_entra_on_claude_on_foundry_needs_no_key() -> None:
    loaded = _load(_azure('entra = { client-id = "mi" }', kind="anthropic",
                          base_url="https://res.services.ai.azure.com/anthropic"))
    assert loaded.upstream_api_keys["az"] is None and not loaded.warnings


def test_an_azure_upstream_without_credentials_is_an_error() -> None:
    [problem] = _problems(_azure(""))
    assert problem.path == "upstreams.az"
    assert problem.message == "an azure upstream needs api-key or entra"
    assert 'api-key = "env:AZ_API_KEY"' in problem.fix and "entra" in problem.fix


def test_entra_and_an_api_key_is_an_error() -> None:
    [problem] = _problems(_azure('entra = {}\napi-key = "env:AZ_KEY"'), {"AZ_KEY": "k"})
    assert problem.path == "upstreams.az.api-key"
    assert "remove api-key" in problem.message


def test_without_azure_identity_entra_is_an_error(without_azure_identity: None) -> None:
    [problem] = _problems(_azure("entra = {}"))
    assert problem.path == "upstreams.az.entra"
    assert "azure-identity" in problem.message and "pip install 'router[azure]'" in problem.fix


def test_without_azure_identity_an_optional_entra_upstream_is_off(without_azure_identity: None) -> None:
    loaded = _load(_azure("entra = {}\noptional = true") + LOCAL_FALLBACK)
    assert loaded.disabled_upstreams == frozenset({"az"})
    assert any("azure-identity" in warning.message for warning in loaded.warnings)
