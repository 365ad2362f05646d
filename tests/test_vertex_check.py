"""`router check` on Vertex AI upstreams: google-auth must be installed (simulated missing by
patching find_spec), no api-key, and the credentials file (its variable set, the file there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.config_checks import LOCAL_FALLBACK, hide_module, load, problems

ROUTE = """
[[routes]]
name = "claude"
models = ["claude-*"]
to = "vertex/claude-sonnet-4@20250514"
"""



def _table(vertex: str, *, extra: str = "") -> str:
    return f"""
[upstreams.vertex]
kind = "anthropic"
vertex = {{ {vertex} }}
{extra}
{ROUTE}"""




@pytest.fixture
def key_file(tmp_path: Path) -> str:
    path = tmp_path / "sa.json"
    path.write_text('{"type": "service_account"}')
    return str(path)


@pytest.fixture
def without_google_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_module(monkeypatch, "google.auth")


def test_application_default_credentials_need_nothing_more() -> None:
    loaded = load(_table('project = "p", location = "us-east5"'))
    assert loaded.upstream_api_keys["vertex"] is None
    assert not loaded.warnings


def test_a_key_files_variable_resolves_to_its_path(key_file: str) -> None:
    loaded = load(_table('project = "p", credentials = "env:VERTEX_SA"'), {"VERTEX_SA": key_file})
    assert loaded.upstream_api_keys["vertex"] == key_file  # what the upstream client is made with


def test_a_literal_path_is_fine(key_file: str) -> None:
    loaded = load(_table(f'project = "p", credentials = "{key_file}"'))
    assert loaded.upstream_api_keys["vertex"] == key_file


def test_without_google_auth_a_vertex_upstream_is_an_error(without_google_auth: None) -> None:
    [problem] = problems(_table('project = "p"'))
    assert problem.path == "upstreams.vertex.vertex"
    assert "vertex upstreams need google-auth" in problem.message
    assert "pip install 'router[google]'" in problem.fix


def test_without_google_auth_an_optional_vertex_upstream_is_off(without_google_auth: None) -> None:
    text = _table('project = "p"', extra="optional = true") + LOCAL_FALLBACK
    loaded = load(text)
    assert loaded.disabled_upstreams == frozenset({"vertex"})
    assert any("google-auth" in warning.message for warning in loaded.warnings)


def test_an_api_key_with_vertex_is_an_error() -> None:
    [problem] = problems(_table('project = "p"', extra='api-key = "env:ANTHROPIC_API_KEY"'),
                          {"ANTHROPIC_API_KEY": "sk-ant-x"})
    assert problem.path == "upstreams.vertex.api-key"
    assert problem.message == "vertex authenticates with Google Cloud credentials; remove api-key"


def test_an_unset_credentials_variable_is_an_error_naming_it_and_the_route() -> None:
    [problem] = problems(_table('project = "p", credentials = "env:VERTEX_SA"'))
    assert problem.path == "upstreams.vertex.vertex.credentials"
    assert "VERTEX_SA is not set" in problem.message and '"claude"' in problem.message


def test_an_unset_credentials_variable_turns_an_optional_upstream_off() -> None:
    text = _table('project = "p", credentials = "env:VERTEX_SA"', extra="optional = true") + LOCAL_FALLBACK
    loaded = load(text)
    assert loaded.disabled_upstreams == frozenset({"vertex"})
    assert loaded.disabled_routes == frozenset({"claude"})
    assert any("VERTEX_SA is not set" in warning.message for warning in loaded.warnings)


def test_a_missing_key_file_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "gone.json"
    [problem] = problems(_table('project = "p", credentials = "env:VERTEX_SA"'), {"VERTEX_SA": str(missing)})
    assert problem.path == "upstreams.vertex.vertex.credentials"
    assert str(missing) in problem.message and "does not exist" in problem.message
