"""`router check` on Bedrock upstreams: botocore must be installed (simulated missing by patching
find_spec), with an API key or without (streams are read with its parser either way), and an
optional upstream without it is off rather than an error."""

from __future__ import annotations

import pytest

from tests.support.config_checks import LOCAL_FALLBACK, hide_module, load, problems

BEDROCK = """
[upstreams.bedrock]
kind = "bedrock"
region = "eu-west-3"
{extra}

[[routes]]
name = "claude"
models = ["eu.anthropic.claude-*"]
to = "bedrock"
"""





@pytest.fixture
def without_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_module(monkeypatch, "botocore")


def test_the_aws_credential_chain_needs_no_key() -> None:
    loaded = load(BEDROCK.format(extra=""))
    assert loaded.upstream_api_keys["bedrock"] is None  # SigV4 with botocore's chain
    assert not loaded.warnings


def test_a_bedrock_api_key_comes_from_the_environment() -> None:
    loaded = load(BEDROCK.format(extra='api-key = "env:AWS_BEARER_TOKEN_BEDROCK"'),
                   {"AWS_BEARER_TOKEN_BEDROCK": "bedrock-api-key-1"})
    assert loaded.upstream_api_keys["bedrock"] == "bedrock-api-key-1"


@pytest.mark.parametrize("extra", ["", 'api-key = "env:AWS_BEARER_TOKEN_BEDROCK"'])
def test_without_botocore_a_bedrock_upstream_is_an_error(without_botocore: None, extra: str) -> None:
    [problem] = problems(BEDROCK.format(extra=extra), {"AWS_BEARER_TOKEN_BEDROCK": "k"})
    assert problem.path == "upstreams.bedrock"
    assert problem.message == "bedrock upstreams need botocore"
    assert "pip install 'router[bedrock]'" in problem.fix


def test_without_botocore_an_optional_bedrock_upstream_is_off(without_botocore: None) -> None:
    loaded = load(BEDROCK.format(extra="optional = true") + LOCAL_FALLBACK)
    assert loaded.disabled_upstreams == frozenset({"bedrock"})
    assert any("botocore" in warning.message for warning in loaded.warnings)


def test_a_literal_api_key_is_refused_without_being_repeated() -> None:
    [problem] = problems(BEDROCK.format(extra='api-key = "ABSKQmVkcm9ja0FQSUtleS1zZWNyZXQ="'))
    assert problem.path == "upstreams.bedrock.api-key"
    assert "ABSKQ" not in problem.message + problem.fix
