"""The Gemini client table compiled the way a pair compiles it (router.routing.compose), for unit
tests that run independently of the spoke's registration; and the Gemini CLI's recordings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from router.config.target import Capabilities, TargetContext
from router.hub.messages import AnthropicMessage
from router.mapping.spec import PairSpec
from router.spokes.gemini.client import answer, request
from router.spokes.gemini.request_wire import GenerateContentRequest
from tests.support.pair_tables import PairTable, as_json, checked_hub_request

TABLE = "gemini.client"
FIXTURES = Path(__file__).resolve().parents[4].parent / "shared" / "fixtures" / "gemini-cli"  # ../shared beside the repo
FIXTURE_FILES = sorted(FIXTURES.glob("*/*.json")) if FIXTURES.is_dir() else []
needs_fixtures = pytest.mark.skipif(not FIXTURE_FILES, reason="the shared Gemini CLI fixtures are not on this machine")


_TABLE = PairTable(TABLE, request.FUNCTIONS, answer.FUNCTIONS, request.VARIANTS)


def spec() -> PairSpec:
    return _TABLE.spec


DEFAULT_CAPS = Capabilities()


def ctx_for(caps: Capabilities = DEFAULT_CAPS, model: str | None = "claude-test") -> TargetContext:
    return TargetContext(route="test", upstream="up", model=model, caps=caps)


def decode(body: dict[str, Any], model: str = "gemini-test", stream: bool = False) -> GenerateContentRequest:
    """The way the front door decodes: raw JSON bytes into the struct, then the URL's model and method."""
    src = msgspec.json.decode(msgspec.json.encode(body), type=GenerateContentRequest)
    src.model, src.stream = model, stream
    return src


def to_hub(body: dict[str, Any], ctx: TargetContext | None = None, stream: bool = False) -> dict[str, Any]:
    """The hub request as the upstream gets it, checked against the hub Struct."""
    out = _TABLE.request.function(decode(body, stream=stream), ctx or ctx_for())
    return checked_hub_request(out)


def to_response(message: dict[str, Any], body: dict[str, Any] | None = None,
                ctx: TargetContext | None = None) -> dict[str, Any]:
    """A hub answer → the client's GenerateContentResponse (the table, then complete_answer)."""
    hub = msgspec.json.decode(msgspec.json.encode(message), type=AnthropicMessage)
    src = decode(body or {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    out = answer.complete_answer(_TABLE.response.function(hub, ctx or ctx_for()), src)
    return as_json(out)


def fixture(case: str, index: int) -> dict[str, Any]:
    files = sorted((FIXTURES / case).glob("*.json"))
    recorded: dict[str, Any] = json.loads(files[index].read_text("utf-8"))
    return recorded
