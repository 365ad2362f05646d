"""Anthropic Messages clients (Claude Code, the anthropic SDKs): /v1/messages and count_tokens."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import asgi

from router.core.answer import Answer, Unary
from router.core.errors import UpstreamError
from router.gateway.dispatch import decode_client, dispatch, route_request
from router.gateway.endpoint import answer_request
from router.gateway.incoming import Incoming, Receive, Scope, Send
from router.gateway.state import RouterState
from router.hub.tokens import count_input_tokens
from router.hub.messages import CountTokensRequest, RoutingFields

_encode = msgspec.json.Encoder().encode
_decode_count = msgspec.json.Decoder(CountTokensRequest).decode
_decode_object = msgspec.json.Decoder(dict[str, Any]).decode
_decode_routing = msgspec.json.Decoder(RoutingFields).decode  # count_tokens takes no max_tokens


@asgi("/v1/messages", copy_scope=False)
async def create_message(scope: Scope, receive: Receive, send: Send) -> None:
    await answer_request(scope, receive, send, "anthropic", _dispatch)


@asgi("/v1/messages/count_tokens", copy_scope=False)
async def count_tokens(scope: Scope, receive: Receive, send: Send) -> None:
    await answer_request(scope, receive, send, "anthropic", _count_tokens)


async def _dispatch(state: RouterState, incoming: Incoming, request_id: str) -> Answer:
    return await dispatch(state, incoming, "anthropic", request_id)


async def _count_tokens(state: RouterState, incoming: Incoming, request_id: str) -> Answer:
    """Forwarded to the target's native endpoint when it has one (Anthropic); otherwise counted
    here, offline, with the estimator routing also uses (router.hub.tokens)."""
    plan, _ = route_request(state, incoming, "anthropic", _decode_routing)
    target = plan.targets[0]
    client = state.pool.get(target.upstream)
    headers = {"request-id": request_id, "x-router-route": plan.route, "x-router-target": target.upstream}
    if client.count_tokens_url is None:
        counted = count_input_tokens(decode_client(_decode_count, incoming.body))
        return Unary(_encode({"input_tokens": counted}), headers)
    forwarded = decode_client(_decode_object, incoming.body)
    forwarded["model"] = target.ctx.model or forwarded["model"]
    try:
        raw = await client.call(_encode(forwarded), client.forwarded(incoming.headers), client.count_tokens_url)
    except UpstreamError as error:
        raise client.scrubber.error(error) from None
    return Unary(client.scrubber.data(raw), headers)
