"""OpenAI Chat Completions clients (the openai SDKs, Codex, most tools): /v1/chat/completions."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.response import Stream

from router.errors import RouterError
from router.front.dispatch import dispatch, new_request_id
from router.front.errors import error_response


@post("/v1/chat/completions", status_code=200)
async def chat_completions(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    request_id = new_request_id()
    try:
        return await dispatch(request.app.state.router, request, "openai", request_id)
    except RouterError as error:
        return error_response(error, "openai", request_id)
