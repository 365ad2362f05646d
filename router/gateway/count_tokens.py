"""POST /v1/messages/count_tokens: the hub's token counter, for Anthropic clients (Claude Code
asks before long requests)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import asgi

from router.core.answer import Answer, Unary
from router.core.errors import UpstreamError
from router.gateway.context import RequestContext, decode_client
from router.gateway.dispatch import route
from router.gateway.endpoint import answer_request
from router.gateway.incoming import Receive, Scope, Send
from router.hub.messages import CountTokensRequest, RoutingFields
from router.hub.tokens import count_input_tokens
from router.spokes.registry import HUB

_encode = msgspec.json.Encoder().encode
_decode_count = msgspec.json.Decoder(CountTokensRequest).decode
_decode_object = msgspec.json.Decoder(dict[str, Any]).decode
_decode_routing = msgspec.json.Decoder(RoutingFields).decode  # count_tokens takes no max_tokens


@asgi("/v1/messages/count_tokens", copy_scope=False)
async def count_tokens(scope: Scope, receive: Receive, send: Send) -> None:
    await answer_request(scope, receive, send, HUB, _count_tokens)


async def _count_tokens(ctx: RequestContext) -> Answer:
    """Forwarded to the target's native endpoint when it has one (Anthropic); otherwise counted
    here, offline, with the estimator routing also uses (router.hub.tokens)."""
    plan, *_ = route(ctx, _decode_routing)  # allowed for the key; no budget is spent
    target = plan.targets[0]
    client = ctx.state.pool.get(target.upstream)
    headers = {"request-id": ctx.request_id, "x-router-route": plan.route, "x-router-target": target.upstream}
    if client.count_tokens_url is None:
        counted = count_input_tokens(decode_client(_decode_count, ctx.body))
        return Unary(_encode({"input_tokens": counted}), headers)
    forwarded = decode_client(_decode_object, ctx.body)
    forwarded["model"] = target.ctx.model or forwarded["model"]
    try:
        raw = await client.call(_encode(forwarded), client.forwarded(ctx.incoming.headers), client.count_tokens_url)
    except UpstreamError as error:
        raise client.scrubber.error(error) from None
    return Unary(client.scrubber.data(raw), headers)
