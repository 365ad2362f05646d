"""Render a `RouterError` as a JSON response in the client's own protocol."""

from __future__ import annotations

from typing import Literal

from litestar import Response

from router.error_bodies import anthropic_error_body, openai_error_body
from router.errors import RouterError

Protocol = Literal["anthropic", "openai"]


def error_response(error: RouterError, protocol: Protocol, request_id: str | None = None) -> Response[bytes]:
    body = anthropic_error_body(error) if protocol == "anthropic" else openai_error_body(error)
    headers = dict(error.headers)
    if request_id:
        headers["request-id"] = request_id
    return Response(body, status_code=error.status, media_type="application/json", headers=headers)
