"""The Bedrock Converse table compiled the way a pair compiles it (router.routing.compose), for
unit tests of the request and the unary answer, one rule at a time."""

from __future__ import annotations

from typing import Any

import msgspec

from router.config.schema import Guardrail
from router.config.target import Capabilities, TargetContext
from router.spokes.bedrock import answer, content, request
from router.spokes.bedrock.wire import ConverseResponse
from tests.support.pair_tables import PairTable, as_json, decode_hub

TABLE = PairTable("bedrock.upstream", request.FUNCTIONS, answer.FUNCTIONS, content.VARIANTS)
CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "us.amazon.nova-pro-v1:0"
LLAMA = "meta.llama3-3-70b-instruct-v1:0"


def ctx_for(model: str | None = CLAUDE, caps: Capabilities | None = None,
            guardrail: Guardrail | None = None) -> TargetContext:
    return TargetContext(route="test", upstream="up", model=model, caps=caps or Capabilities(), guardrail=guardrail)


CTX = ctx_for()


def to_converse(body: dict[str, Any], ctx: TargetContext = CTX) -> dict[str, Any]:
    """The Converse request as Bedrock gets it (through JSON: raw schemas are spliced in)."""
    return as_json(TABLE.request.function(decode_hub(body), ctx))


def to_hub(response: dict[str, Any], ctx: TargetContext = CTX) -> dict[str, Any]:
    """A Converse answer → the hub message, as JSON."""
    decoded = msgspec.json.decode(msgspec.json.encode(response), type=ConverseResponse)
    return as_json(TABLE.response.function(decoded, ctx))


def hub_request(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "claude-x", "max_tokens": 1024, "messages": list(messages), **fields}


def user(content: str | list[dict[str, Any]]) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: str | list[dict[str, Any]]) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def converse_answer(*blocks: dict[str, Any], stop: str = "end_turn", **fields: Any) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": list(blocks)}},
        "stopReason": stop,
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
        "metrics": {"latencyMs": 120},
        **fields,
    }
