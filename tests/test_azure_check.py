"""`router check` on Azure credentials: an azure upstream needs api-key or entra; entra needs
azure-identity (simulated missing by patching find_spec) and no api-key; Claude on Azure AI
Foundry with entra needs no key either."""

from __future__ import annotations

import pytest

from tests.support.config_checks import LOCAL_FALLBACK, hide_module, load, problems

ROUTES = """
[[routes]]
name = "gpt"
models = ["gpt-*"]
to = "{upstream}"
"""



def _azure(settings: str, kind: str = "azure", base_url: str = "https://res.openai.azure.com") -> str:
    return f"""
[upstreams.az]
kind = "{kind}"
base-url = "{base_url}"
{settings}
{ROUTES.format(upstream="az")}"""




@pytest.fixture
def without_azure_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_module(monkeypatch, "azure.identity")


def test_an_api_key_resolves() -> None:
    loaded = load(_azure('api-key = "env:AZ_KEY"\napi-version = "2024-10-21"'), {"AZ_KEY": "k"})
    assert loaded.upstream_api_keys["az"] == "k"


def test_entra_needs_no_key() -> None:
    loaded = load(_azure('entra = {}'))
    assert loaded.upstream_api_keys["az"] is None and not loaded.warnings


def test_entra_on_claude_on_foundry_needs_no_key() -> None:
    loaded = load(_azure('entra = { client-id = "mi" }', kind="anthropic",
                          base_url="https://res.services.ai.azure.com/anthropic"))
    assert loaded.upstream_api_keys["az"] is None and not loaded.warnings


def test_an_azure_upstream_without_credentials_is_an_error() -> None:
    [problem] = problems(_azure(""))
    assert problem.path == "upstreams.az"
    assert problem.message == "an azure upstream needs api-key or entra"
    assert 'api-key = "env:AZ_API_KEY"' in problem.fix and "entra" in problem.fix


def test_entra_and_an_api_key_is_an_error() -> None:
    [problem] = problems(_azure('entra = {}\napi-key = "env:AZ_KEY"'), {"AZ_KEY": "k"})
    assert problem.path == "upstreams.az.api-key"
    assert "remove api-key" in problem.message


def test_without_azure_identity_entra_is_an_error(without_azure_identity: None) -> None:
    [problem] = problems(_azure("entra = {}"))
    assert problem.path == "upstreams.az.entra"
    assert "azure-identity" in problem.message and "pip install 'router[azure]'" in problem.fix


def test_without_azure_identity_an_optional_entra_upstream_is_off(without_azure_identity: None) -> None:
    loaded = load(_azure("entra = {}\noptional = true") + LOCAL_FALLBACK)
    assert loaded.disabled_upstreams == frozenset({"az"})
    assert any("azure-identity" in warning.message for warning in loaded.warnings)
