"""The Responses client table compiled the way a pair compiles it (router.routing.compose), for
unit tests that run before (and independently of) the spoke's registration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from router.config.target import Capabilities, TargetContext
from router.hub.messages import AnthropicMessage
from router.mapping.spec import PairSpec
from router.spokes.responses.client import answer, request
from router.spokes.responses.client.complete import complete_answer
from router.spokes.responses.request_wire import ResponsesRequest
from tests.support.pair_tables import PairTable, as_json, checked_hub_request

TABLE = "responses.client"
FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "codex"  # ../shared beside the repo
FIXTURE_FILES = sorted(FIXTURES.glob("*/*.json")) if FIXTURES.is_dir() else []
needs_fixtures = pytest.mark.skipif(not FIXTURE_FILES, reason="the shared Codex fixtures are not on this machine")


_TABLE = PairTable(TABLE, request.FUNCTIONS, answer.FUNCTIONS, request.VARIANTS)


def spec() -> PairSpec:
    return _TABLE.spec


DEFAULT_CAPS = Capabilities()


def ctx_for(caps: Capabilities = DEFAULT_CAPS, model: str | None = "claude-test") -> TargetContext:
    return TargetContext(route="test", upstream="up", model=model, caps=caps)


def decode(body: dict[str, Any]) -> ResponsesRequest:
    """The way the front door decodes: raw JSON bytes straight into the struct."""
    return msgspec.json.decode(msgspec.json.encode(body), type=ResponsesRequest)


def to_hub(body: dict[str, Any], ctx: TargetContext | None = None) -> dict[str, Any]:
    """The hub request as the upstream gets it: the table's output through JSON (raw fields
    such as a text.format schema are spliced in as written), checked against the hub Struct."""
    out = _TABLE.request.function(decode(body), ctx or ctx_for())
    return checked_hub_request(out)


def to_response(message: dict[str, Any], body: dict[str, Any] | None = None,
                ctx: TargetContext | None = None) -> dict[str, Any]:
    """A hub answer → the client's response object (the table, then complete_answer), as JSON."""
    hub = msgspec.json.decode(msgspec.json.encode(message), type=AnthropicMessage)
    src = decode(body or {"model": "gpt-test", "input": "hi"})
    out = complete_answer(_TABLE.response.function(hub, ctx or ctx_for()), src)
    return as_json(out)


def fixture_body(case: str, index: int = -1) -> dict[str, Any]:
    files = sorted((FIXTURES / case).glob("*.json"))
    body: dict[str, Any] = json.loads(files[index].read_text("utf-8"))["body"]
    return body
