"""The model endpoints' ASGI side: read the request, run the protocol's handler, write its
answer, and render any RouterError in the client's own protocol.

Each spoke's model endpoints (router.gateway.models) and /v1/messages/count_tokens are raw ASGI handlers inside
Litestar (routing, CORS, the exception handlers and the observing middleware still apply). The
framework's per-request machinery for ordinary handlers (a Request object, signature parsing,
response objects turned into ASGI messages) cost about a quarter of the router's CPU per request
in profiles (issue 7); these endpoints need none of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from router.core.answer import Answer
from router.core.errors import InvalidRequest, RouterError
from router.core.ids import new_id
from router.gateway.bodycheck import too_deep
from router.gateway.context import RequestContext
from router.gateway.incoming import (
    ClientGone,
    Receive,
    Scope,
    Send,
    read_incoming,
)
from router.gateway.send import error_answer, send_answer
from router.gateway.state import RouterState
from router.spokes.spoke import Spoke

Handler = Callable[[RequestContext], Awaitable[Answer]]


def new_request_id() -> str:
    return new_id("req_")


def router_state(scope: Scope) -> RouterState:
    state: RouterState = scope["litestar_app"].state.router
    return state


async def answer_request(scope: Scope, receive: Receive, send: Send, spoke: Spoke, handle: Handler) -> None:
    request_id = new_request_id()
    state = router_state(scope)
    body = b""
    try:
        if scope["method"] != "POST":
            raise _method_not_allowed(scope)
        incoming = await read_incoming(scope, receive, state.table.loaded.config.server.max_body_bytes)
        body = incoming.body
        ctx = RequestContext(state, incoming, spoke, request_id)  # looks the exchange up, once
        if ctx.exchange.log_bodies or ctx.exchange.tracing is not None:  # the access log's, or a trace's content
            ctx.exchange.request_body = body
        answer = await handle(ctx)
    except ClientGone:
        return
    except RouterError as error:
        answer = error_answer(error, spoke, request_id)
    except RecursionError:
        # The first decode refuses a body deeper than msgspec follows (router.gateway.context);
        # one just under that depth can still exhaust the stack in a converter that recurses
        # (a tool schema being cleaned, tokens being counted). Either way it is the client's
        # nesting, not a bug: a 400. Upstream answers are guarded where they are decoded.
        answer = error_answer(too_deep(body), spoke, request_id)
    await send_answer(answer, receive, send)


def _method_not_allowed(scope: Scope) -> InvalidRequest:
    error = InvalidRequest(f"method {scope['method']} is not allowed on {scope['path']}; use POST",
                           headers={"allow": "POST"})
    error.status = 405
    return error
