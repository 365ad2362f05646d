"""POST /v1/messages: Anthropic Messages clients (Claude Code, the anthropic SDKs)."""

from __future__ import annotations

import secrets

import msgspec
from litestar import Request, Response, post
from litestar.response import Stream

from router.convert.openai_stream_to_anthropic import AnthropicStreamFromOpenAI
from router.convert.openai_to_anthropic import new_message_id
from router.convert.stream_relay import relay
from router.errors import InvalidRequest, ModelNotFound, RouterError, UpstreamProtocolError
from router.front.auth import authenticate
from router.front.errors import error_response
from router.state import RouterState
from router.table.lookup import Target
from router.upstream.client import UpstreamClient
from router.wire.anthropic import MessagesRequest
from router.wire.openai import ChatCompletion

_decode_request = msgspec.json.Decoder(MessagesRequest).decode
_decode_completion = msgspec.json.Decoder(ChatCompletion).decode
_encode = msgspec.json.Encoder().encode

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def new_request_id() -> str:
    return f"req_{secrets.token_hex(12)}"


@post("/v1/messages", status_code=200)
async def create_message(request: Request) -> Response[bytes] | Stream:
    request_id = new_request_id()
    try:
        return await _create_message(request.app.state.router, request, request_id)
    except RouterError as error:
        return error_response(error, "anthropic", request_id)


async def _create_message(state: RouterState, request: Request, request_id: str) -> Response[bytes] | Stream:
    table = state.table  # read once: a reload mid-request must not change this request
    authenticate(request.headers, state.key_hashes)
    src = decode_messages_request(await request.body())
    plan = table.lookup("anthropic", src.model)
    if plan is None:
        raise ModelNotFound(f"model {src.model!r} is not served here; GET /v1/models lists the models")
    target = plan.targets[0]
    body = _encode(target.converters.request.function(src, target.ctx))
    client = state.pool.get(target.upstream)
    headers = {"request-id": request_id, "x-router-route": plan.route, "x-router-target": target.upstream}
    if src.stream:
        return await _stream(client, target, src, body, headers)
    message = _convert_unary(await client.call(body), target, client.name)
    return Response(_encode(message), media_type="application/json", headers=headers)


def decode_messages_request(body: bytes) -> MessagesRequest:
    """msgspec's message names the field and its path: `Object missing required field `model``."""
    try:
        return _decode_request(body)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"invalid request: {exc}") from None
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"request body is not valid JSON: {exc}") from None


def _convert_unary(raw: bytes, target: Target, upstream: str) -> dict[str, object]:
    try:
        completion = _decode_completion(raw)
    except msgspec.DecodeError:
        raise UpstreamProtocolError(f"upstream {upstream!r} sent a response that is not a chat completion") from None
    return target.converters.response.function(completion, target.ctx)


async def _stream(
    client: UpstreamClient, target: Target, src: MessagesRequest, body: bytes, headers: dict[str, str]
) -> Stream:
    """Opened before answering, so an upstream error status becomes a normal JSON error response."""
    response = await client.open_stream(body)
    if "text/event-stream" not in response.headers.get("content-type", ""):
        await response.aclose()
        raise UpstreamProtocolError(f"upstream {client.name!r} answered a stream request without an event stream")
    machine = AnthropicStreamFromOpenAI(
        target.ctx,
        message_id=new_message_id(),
        model=target.ctx.model or src.model,
        input_tokens=None,
        finish_values=target.converters.values["finish_reason"],
    )
    events = relay(
        response.aiter_bytes(), machine, upstream=client.name, ping_interval=target.ctx.ping_interval,
        idle_timeout=client.timeouts.stream_idle, close=response.aclose,
    )
    return Stream(events, media_type="text/event-stream", headers={**SSE_HEADERS, **headers})
