"""create_app(state) -> Litestar. The lifespan closes the upstream clients; nothing happens at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Request, Response
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from router.errors import InvalidRequest, ModelNotFound, PayloadTooLarge, RouterError
from router.front.anthropic import count_tokens, create_message
from router.front.openai import chat_completions
from router.front.errors import Protocol, error_response
from router.front.ops import auth_token, health, list_models, ready
from router.state import RouterState

log = logging.getLogger("router")

# Claude Code sends screenshots and 65 KB+ agentic bodies; 32 MiB leaves room for several images.
MAX_BODY_BYTES = 32 * 1024 * 1024


def protocol_of(path: str) -> Protocol:
    return "openai" if path.startswith(("/v1/chat/completions", "/v1/responses")) else "anthropic"


def _http_exception(request: Request, exc: HTTPException) -> Response[bytes]:
    """Litestar's own errors (no such path, wrong method, body too large) in the client's shape."""
    error: RouterError
    if exc.status_code == 404:
        error = ModelNotFound(f"no endpoint {request.method} {request.url.path}")
    elif exc.status_code == 413:
        error = PayloadTooLarge(f"request body larger than {MAX_BODY_BYTES} bytes")
    else:
        error = InvalidRequest(str(exc.detail))
        error.status = exc.status_code
    return error_response(error, protocol_of(request.url.path))


def _unexpected(request: Request, exc: Exception) -> Response[bytes]:
    """A bug: log it with the traceback, answer without one."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    error = RouterError("internal error in the router")
    error.status = HTTP_500_INTERNAL_SERVER_ERROR
    return error_response(error, protocol_of(request.url.path))


def create_app(state: RouterState) -> Litestar:
    # httpx logs every request at INFO: a formatted line per call on the hot path, and noise.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            state.ready = False
            await state.pool.aclose()

    return Litestar(
        route_handlers=[create_message, count_tokens, chat_completions, list_models, health, ready, auth_token],
        lifespan=[lifespan],
        state=State({"router": state}),
        exception_handlers={HTTPException: _http_exception, Exception: _unexpected},
        openapi_config=None,
        request_max_body_size=MAX_BODY_BYTES,
        debug=False,
    )

