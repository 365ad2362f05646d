"""The Responses upstream table compiled the way a pair compiles it (router.routing.compose), for
unit tests that run before (and independently of) the spoke's registration; and helpers to
build Responses stream events."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from functools import cache
from typing import Any

import msgspec

from router.config.schema import Op
from router.config.target import Capabilities, TargetContext
from router.hub.messages import MessagesRequest
from router.mapping.compile import Compiled, compile_fields
from router.mapping.spec import PairSpec, parse_pair_spec
from router.spokes.responses.answer_wire import ResponseObject
from router.spokes.responses.upstream import answer, content, request
from router.spokes.responses.upstream.stream import HubStreamFromResponses
from router.spokes.tables import read_pair_text

TABLE = "responses.upstream"
CTX = TargetContext(route="t", upstream="up", model="m", caps=Capabilities(reasoning="effort"))
STOP_VALUES: dict[str, str] = tomllib.loads(read_pair_text(TABLE))["values"]["response_status"]


@cache
def spec() -> PairSpec:
    functions = {*request.FUNCTIONS, *answer.FUNCTIONS}
    return parse_pair_spec(TABLE, read_pair_text(TABLE), functions, set(content.VARIANTS))


def _compiled(section: str, ops: Sequence[Op] = ()) -> Compiled:
    table = spec()
    fields = table.request if section == "request" else table.response
    functions = request.FUNCTIONS if section == "request" else answer.FUNCTIONS
    return compile_fields(name=f"convert_{section}", origin=f"test {section}", fields=fields, ops=ops,
                          functions=functions, values=table.values)


_REQUEST = _compiled("request")
_RESPONSE = _compiled("response")


REASONING = Capabilities(reasoning="effort")


def ctx_for(caps: Capabilities = REASONING, model: str | None = "gpt-test",
            upstream: str = "up") -> TargetContext:
    return TargetContext(route="test", upstream=upstream, model=model, caps=caps)


def decode_hub(body: dict[str, Any]) -> MessagesRequest:
    """The way the front door decodes: raw JSON bytes straight into the struct."""
    return msgspec.json.decode(msgspec.json.encode(body), type=MessagesRequest)


def to_upstream(body: dict[str, Any], ctx: TargetContext | None = None, ops: Sequence[Op] = ()) -> dict[str, Any]:
    """The Responses request as the upstream gets it (through JSON: raw schemas are spliced in)."""
    compiled = _compiled("request", ops) if ops else _REQUEST
    out = compiled.function(decode_hub(body), ctx or ctx_for())
    result: dict[str, Any] = json.loads(msgspec.json.encode(out))
    return result


def to_hub(response: dict[str, Any] | bytes, ctx: TargetContext = CTX) -> dict[str, Any]:
    """A Responses answer → the hub message, as JSON."""
    raw = response if isinstance(response, bytes) else msgspec.json.encode(response)
    out = _RESPONSE.function(msgspec.json.decode(raw, type=ResponseObject), ctx)
    result: dict[str, Any] = json.loads(msgspec.json.encode(out))
    return result


def machine(ctx: TargetContext = CTX, model: str = "m") -> HubStreamFromResponses:
    return HubStreamFromResponses(ctx, model=model, stop_values=STOP_VALUES)


def sse(*events: dict[str, Any], named: bool = True) -> bytes:
    """Events as a Responses server frames them: `event: <type>` and one compact `data:` line."""
    out = []
    for event in events:
        head = f"event: {event['type']}\n" if named else ""
        out.append(f"{head}data: {json.dumps(event, separators=(',', ':'))}\n\n")
    return "".join(out).encode()
