"""The Gemini upstream table compiled the way a pair compiles it (router.routing.compose), for
unit tests that run before (and independently of) the spoke's registration; and helpers to
build Gemini stream chunks."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from typing import Any

import msgspec

from router.config.schema import Op
from router.config.target import Capabilities, TargetContext
from router.mapping.spec import PairSpec
from router.spokes.gemini.answer_wire import GenerateContentResponse
from router.spokes.gemini.upstream import answer, content, request
from router.spokes.gemini.upstream.stream import HubStreamFromGemini
from router.spokes.tables import read_pair_text
from tests.support.pair_tables import PairTable, as_json, decode_hub

TABLE = "gemini.upstream"
STOP_VALUES: dict[str, str] = tomllib.loads(read_pair_text(TABLE))["values"]["finish_reason"]


_TABLE = PairTable(TABLE, request.FUNCTIONS, answer.FUNCTIONS, content.VARIANTS)


def spec() -> PairSpec:
    return _TABLE.spec


DEFAULT_CAPS = Capabilities()


def ctx_for(caps: Capabilities = DEFAULT_CAPS, model: str | None = "gemini-2.5-pro",
            upstream: str = "up") -> TargetContext:
    return TargetContext(route="test", upstream=upstream, model=model, caps=caps)


CTX = ctx_for()


def to_upstream(body: dict[str, Any], ctx: TargetContext | None = None, ops: Sequence[Op] = ()) -> dict[str, Any]:
    """The Gemini request as the upstream gets it (through JSON: raw schemas are spliced in)."""
    compiled = _TABLE.compiled("request", ops) if ops else _TABLE.request
    out = compiled.function(decode_hub(body), ctx or CTX)
    return as_json(out)


def to_hub(response: dict[str, Any] | bytes, ctx: TargetContext = CTX) -> dict[str, Any]:
    """A Gemini answer → the hub message, as JSON."""
    raw = response if isinstance(response, bytes) else msgspec.json.encode(response)
    out = _TABLE.response.function(msgspec.json.decode(raw, type=GenerateContentResponse), ctx)
    return as_json(out)


def machine(ctx: TargetContext = CTX, model: str = "gemini-2.5-pro") -> HubStreamFromGemini:
    return HubStreamFromGemini(ctx, model=model, stop_values=STOP_VALUES)


def sse(*chunks: dict[str, Any]) -> bytes:
    """Chunks as Google frames them: one `data:` line each, CRLF line ends, no `event:` line."""
    return b"".join(b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n" for chunk in chunks)


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def hub_request(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "claude-x", "max_tokens": 1024, "messages": list(messages), **fields}
