"""Data-driven cases for the anthropic__openai pair: tests/cases/anthropic_openai/*.json.

Each file is one conversation step: the Anthropic request a client sends, the OpenAI request the
upstream must receive, the upstream's answer, and the Anthropic message the client must get back.
`supports` overrides Capabilities defaults; `model` is the route's target model (null: the
client's model goes through). Add a case by adding a file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from router.config.target import Capabilities, TargetContext
from router.routing.pairs import build_converters
from router.hub.messages import MessagesRequest, request_from_python
from router.spokes.openai.wire import ChatCompletion

CASES_DIR = Path(__file__).parent / "cases" / "anthropic_openai"
CASE_FILES = sorted(CASES_DIR.glob("*.json"))
CASE_KEYS = {
    "description",
    "supports",
    "model",
    "client_request",
    "upstream_request",
    "upstream_response",
    "client_response",
}


def load_case(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text("utf-8"))
    assert set(case) == CASE_KEYS, f"{path.name}: keys {sorted(set(case) ^ CASE_KEYS)}"
    return case


def context_for(case: dict[str, Any]) -> TargetContext:
    return TargetContext(
        route="case", upstream="test", model=case["model"], caps=Capabilities(**case["supports"])
    )


def test_cases_exist() -> None:
    assert len(CASE_FILES) >= 50


@pytest.mark.parametrize("path", CASE_FILES, ids=[path.stem for path in CASE_FILES])
def test_request(path: Path) -> None:
    case = load_case(path)
    ctx = context_for(case)
    converters = build_converters("anthropic__openai", ctx)
    src = request_from_python(case["client_request"], MessagesRequest)
    upstream = converters.request.function(src, ctx)
    # Compared as what goes on the wire: tool schemas pass through as the client's raw JSON.
    assert msgspec.json.decode(msgspec.json.encode(upstream)) == case["upstream_request"]


@pytest.mark.parametrize("path", CASE_FILES, ids=[path.stem for path in CASE_FILES])
def test_response(path: Path) -> None:
    case = load_case(path)
    ctx = context_for(case)
    converters = build_converters("anthropic__openai", ctx)
    completion = msgspec.convert(case["upstream_response"], ChatCompletion)
    assert converters.response.function(completion, ctx) == case["client_response"]


@pytest.mark.parametrize("path", CASE_FILES, ids=[path.stem for path in CASE_FILES])
def test_request_does_not_mutate_input(path: Path) -> None:
    """Converters build new dicts; the decoded client request is left as it came."""
    case = load_case(path)
    ctx = context_for(case)
    src = request_from_python(case["client_request"], MessagesRequest)
    before = msgspec.json.encode(src)
    build_converters("anthropic__openai", ctx).request.function(src, ctx)
    assert msgspec.json.encode(src) == before
