"""Data-driven cases for the openai__anthropic pair: tests/cases/openai_anthropic/*.json.

Each file is one conversation step: the OpenAI Chat Completions request a client sends, the
Anthropic Messages request the upstream must receive, the upstream's answer, and the
chat.completion the client must get back. `supports` overrides Capabilities defaults
(`thinking_budgets` as an object); `model` is the route's target model (null: the client's model
goes through). A case with `error` instead of the last three keys is a request the converter must
refuse with exactly that InvalidRequest message.

Volatile fields: `created` is the conversion time (Anthropic answers carry none). Cases write it as
"<now>"; the test checks the actual value is an int taken during the call, then compares the rest
exactly. The completion id is deterministic (`chatcmpl-` + the upstream message id).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from router.config.target import Capabilities, TargetContext
from router.core.errors import InvalidRequest
from router.routing.pairs import build_converters
from router.config.schema import ThinkingBudgets
from router.hub.messages import AnthropicMessage
from router.spokes.openai.wire import ChatRequest

PAIR = "openai__anthropic"
CASES_DIR = Path(__file__).parent / "cases" / "openai_anthropic"
CASE_FILES = sorted(CASES_DIR.glob("*.json"))
COMMON_KEYS = {"description", "supports", "model", "client_request"}
CONVERSION_KEYS = COMMON_KEYS | {"upstream_request", "upstream_response", "client_response"}
ERROR_KEYS = COMMON_KEYS | {"error"}
NOW = "<now>"


def load_case(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text("utf-8"))
    assert set(case) in (CONVERSION_KEYS, ERROR_KEYS), f"{path.name}: keys {sorted(case)}"
    return case


def context_for(case: dict[str, Any]) -> TargetContext:
    supports = dict(case["supports"])
    if "thinking_budgets" in supports:
        supports["thinking_budgets"] = ThinkingBudgets(**supports["thinking_budgets"])
    return TargetContext(route="case", upstream="test", model=case["model"], caps=Capabilities(**supports))


def convert_request(case: dict[str, Any]) -> dict[str, Any]:
    ctx = context_for(case)
    src = msgspec.convert(case["client_request"], ChatRequest)
    return build_converters(PAIR, ctx).request.function(src, ctx)


CONVERSIONS = [path for path in CASE_FILES if "error" not in load_case(path)]
ERRORS = [path for path in CASE_FILES if "error" in load_case(path)]


def _ids(paths: list[Path]) -> list[str]:
    return [path.stem for path in paths]


def test_cases_exist() -> None:
    assert len(CASE_FILES) >= 50
    assert ERRORS, "at least one refused request"


@pytest.mark.parametrize("path", CONVERSIONS, ids=_ids(CONVERSIONS))
def test_request(path: Path) -> None:
    case = load_case(path)
    upstream = convert_request(case)
    assert upstream == case["upstream_request"]
    # What goes on the wire must be JSON the upstream reads back identically.
    assert msgspec.json.decode(msgspec.json.encode(upstream)) == case["upstream_request"]


@pytest.mark.parametrize("path", CONVERSIONS, ids=_ids(CONVERSIONS))
def test_response(path: Path) -> None:
    case = load_case(path)
    ctx = context_for(case)
    message = msgspec.convert(case["upstream_response"], AnthropicMessage)
    before = int(time.time())
    convert = build_converters(PAIR, ctx).response
    assert convert is not None
    completion = convert.function(message, ctx)
    after = int(time.time())
    assert isinstance(completion["created"], int) and before <= completion["created"] <= after
    assert case["client_response"]["created"] == NOW
    assert {**completion, "created": NOW} == case["client_response"]


@pytest.mark.parametrize("path", ERRORS, ids=_ids(ERRORS))
def test_refused_request(path: Path) -> None:
    case = load_case(path)
    with pytest.raises(InvalidRequest) as caught:
        convert_request(case)
    assert caught.value.message == case["error"]
    assert caught.value.status == 400


@pytest.mark.parametrize("path", CONVERSIONS, ids=_ids(CONVERSIONS))
def test_request_does_not_mutate_input(path: Path) -> None:
    """Converters build new dicts; the decoded client request is left as it came."""
    case = load_case(path)
    ctx = context_for(case)
    src = msgspec.convert(case["client_request"], ChatRequest)
    before = msgspec.to_builtins(src)
    build_converters(PAIR, ctx).request.function(src, ctx)
    assert msgspec.to_builtins(src) == before


@pytest.mark.parametrize("path", CONVERSIONS, ids=_ids(CONVERSIONS))
def test_client_request_decodes_from_raw_json(path: Path) -> None:
    """The front door decodes bytes, not dicts: every case body must decode that way too."""
    case = load_case(path)
    raw = json.dumps(case["client_request"]).encode()
    assert msgspec.json.decode(raw, type=ChatRequest) == msgspec.convert(case["client_request"], ChatRequest)
