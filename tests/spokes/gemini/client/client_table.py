"""The Gemini client table compiled the way a pair compiles it (router.routing.compose), for unit
tests that run independently of the spoke's registration; and the Gemini CLI's recordings."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import pytest

from router.config.target import Capabilities, TargetContext
from router.hub.messages import AnthropicMessage, MessagesRequest
from router.mapping.compile import Compiled, compile_fields
from router.mapping.spec import PairSpec, parse_pair_spec
from router.spokes.gemini.client import answer, request
from router.spokes.gemini.request_wire import GenerateContentRequest
from router.spokes.tables import read_pair_text

TABLE = "gemini.client"
FIXTURES = Path(__file__).resolve().parents[4].parent / "shared" / "fixtures" / "gemini-cli"  # ../shared beside the repo
FIXTURE_FILES = sorted(FIXTURES.glob("*/*.json")) if FIXTURES.is_dir() else []
needs_fixtures = pytest.mark.skipif(not FIXTURE_FILES, reason="the shared Gemini CLI fixtures are not on this machine")


@cache
def spec() -> PairSpec:
    functions = {*request.FUNCTIONS, *answer.FUNCTIONS}
    return parse_pair_spec(TABLE, read_pair_text(TABLE), functions, set(request.VARIANTS))


@cache
def _compiled(section: str) -> Compiled:
    table = spec()
    fields = table.request if section == "request" else table.response
    functions = request.FUNCTIONS if section == "request" else answer.FUNCTIONS
    return compile_fields(name=f"convert_{section}", origin=f"test {section}", fields=fields, ops=(),
                          functions=functions, values=table.values)


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
    out = _compiled("request").function(decode(body, stream=stream), ctx or ctx_for())
    encoded = msgspec.json.encode(out)
    msgspec.json.decode(encoded, type=MessagesRequest)
    result: dict[str, Any] = json.loads(encoded)
    return result


def to_response(message: dict[str, Any], body: dict[str, Any] | None = None,
                ctx: TargetContext | None = None) -> dict[str, Any]:
    """A hub answer → the client's GenerateContentResponse (the table, then complete_answer)."""
    hub = msgspec.json.decode(msgspec.json.encode(message), type=AnthropicMessage)
    src = decode(body or {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    out = answer.complete_answer(_compiled("response").function(hub, ctx or ctx_for()), src)
    result: dict[str, Any] = json.loads(msgspec.json.encode(out))
    return result


def fixture(case: str, index: int) -> dict[str, Any]:
    files = sorted((FIXTURES / case).glob("*.json"))
    recorded: dict[str, Any] = json.loads(files[index].read_text("utf-8"))
    return recorded
