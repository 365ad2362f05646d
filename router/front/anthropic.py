"""Anthropic Messages clients (Claude Code, the anthropic SDKs): /v1/messages and count_tokens."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.response import Stream

from router.errors import RouterError
from router.front.dispatch import decode_client, dispatch, new_request_id, route_request
from router.front.errors import error_response
from router.state import RouterState
from router.tokens import count_input_tokens
from router.wire.anthropic import CountTokensRequest

_encode = msgspec.json.Encoder().encode
_decode_count = msgspec.json.Decoder(CountTokensRequest).decode
_decode_object = msgspec.json.Decoder(dict[str, Any]).decode


@post("/v1/messages", status_code=200)
async def create_message(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    request_id = new_request_id()
    try:
        return await dispatch(request.app.state.router, request, "anthropic", request_id)
    except RouterError as error:
        return error_response(error, "anthropic", request_id)


@post("/v1/messages/count_tokens", status_code=200)
async def count_tokens(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Forwarded to the target's native endpoint when it has one (Anthropic); otherwise counted
    here, offline, with the estimator routing also uses (router.tokens)."""
    request_id = new_request_id()
    try:
        return await _count_tokens(request.app.state.router, request, request_id)
    except RouterError as error:
        return error_response(error, "anthropic", request_id)


async def _count_tokens(state: RouterState, request: Request[Any, Any, Any], request_id: str) -> Response[bytes]:
    body = await request.body()
    plan, _ = route_request(state, request, "anthropic", body)
    target = plan.targets[0]
    client = state.pool.get(target.upstream)
    headers = {"request-id": request_id, "x-router-route": plan.route, "x-router-target": target.upstream}
    if client.count_tokens_url is None:
        counted = count_input_tokens(decode_client(_decode_count, body))
        return Response(_encode({"input_tokens": counted}), media_type="application/json", headers=headers)
    forwarded = decode_client(_decode_object, body)
    forwarded["model"] = target.ctx.model or forwarded["model"]
    raw = await client.call(_encode(forwarded), client.forwarded(request.headers), client.count_tokens_url)
    return Response(client.scrubber.data(raw), media_type="application/json", headers=headers)
