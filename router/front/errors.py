"""Render a `RouterError` in the client's own protocol: the only place error bodies are built."""

from __future__ import annotations

from typing import Literal

import msgspec
from litestar import Response

from router.errors import RouterError

Protocol = Literal["anthropic", "openai"]
_encode = msgspec.json.Encoder().encode

# OpenAI clients branch on `error.type`; these are the names OpenAI itself uses.
_OPENAI_TYPES = {
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "authentication_error",
    "not_found_error": "not_found_error",
    "request_too_large": "invalid_request_error",
    "rate_limit_error": "rate_limit_exceeded",
    "overloaded_error": "server_error",
    "timeout_error": "timeout",
    "api_error": "server_error",
}


def anthropic_error_body(error: RouterError) -> bytes:
    return _encode({"type": "error", "error": {"type": error.error_type, "message": error.message}})


def openai_error_body(error: RouterError) -> bytes:
    kind = _OPENAI_TYPES.get(error.error_type, "server_error")
    return _encode({"error": {"message": error.message, "type": kind, "param": None, "code": error.error_type}})


def error_response(error: RouterError, protocol: Protocol, request_id: str | None = None) -> Response[bytes]:
    body = anthropic_error_body(error) if protocol == "anthropic" else openai_error_body(error)
    headers = dict(error.headers)
    if request_id:
        headers["request-id"] = request_id
    return Response(body, status_code=error.status, media_type="application/json", headers=headers)
