"""The Responses upstream table compiled the way a pair compiles it (router.routing.compose), for
unit tests that run before (and independently of) the spoke's registration; and helpers to
build Responses stream events."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from typing import Any

import msgspec

from router.config.schema import Op
from router.config.target import Capabilities, TargetContext
from router.mapping.spec import PairSpec
from router.spokes.responses.answer_wire import ResponseObject
from router.spokes.responses.upstream import answer, content, request
from router.spokes.responses.upstream.stream import HubStreamFromResponses
from router.spokes.tables import read_pair_text
from tests.support.pair_tables import PairTable, as_json, decode_hub

TABLE = "responses.upstream"
CTX = TargetContext(route="t", upstream="up", model="m", caps=Capabilities(reasoning="effort"))
STOP_VALUES: dict[str, str] = tomllib.loads(read_pair_text(TABLE))["values"]["response_status"]


_TABLE = PairTable(TABLE, request.FUNCTIONS, answer.FUNCTIONS, content.VARIANTS)


def spec() -> PairSpec:
    return _TABLE.spec


REASONING = Capabilities(reasoning="effort")


def ctx_for(caps: Capabilities = REASONING, model: str | None = "gpt-test",
            upstream: str = "up") -> TargetContext:
    return TargetContext(route="test", upstream=upstream, model=model, caps=caps)


def to_upstream(body: dict[str, Any], ctx: TargetContext | None = None, ops: Sequence[Op] = ()) -> dict[str, Any]:
    """The Responses request as the upstream gets it (through JSON: raw schemas are spliced in)."""
    compiled = _TABLE.compiled("request", ops) if ops else _TABLE.request
    out = compiled.function(decode_hub(body), ctx or ctx_for())
    return as_json(out)


def to_hub(response: dict[str, Any] | bytes, ctx: TargetContext = CTX) -> dict[str, Any]:
    """A Responses answer → the hub message, as JSON."""
    raw = response if isinstance(response, bytes) else msgspec.json.encode(response)
    out = _TABLE.response.function(msgspec.json.decode(raw, type=ResponseObject), ctx)
    return as_json(out)


def machine(ctx: TargetContext = CTX, model: str = "m") -> HubStreamFromResponses:
    return HubStreamFromResponses(ctx, model=model, stop_values=STOP_VALUES)


def sse(*events: dict[str, Any], named: bool = True) -> bytes:
    """Events as a Responses server frames them: `event: <type>` and one compact `data:` line."""
    out = []
    for event in events:
        head = f"event: {event['type']}\n" if named else ""
        out.append(f"{head}data: {json.dumps(event, separators=(',', ':'))}\n\n")
    return "".join(out).encode()
