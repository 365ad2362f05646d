"""Render a `RouterError` as a Litestar JSON response in the client's own protocol, for the
ordinary handlers and the app's exception handlers (the model endpoints use
router.gateway.send.error_answer, which this wraps)."""

from __future__ import annotations

from litestar import Response

from router.core.errors import RouterError
from router.gateway.send import error_answer
from router.spokes.spoke import Spoke


def error_response(error: RouterError, spoke: Spoke, request_id: str | None = None) -> Response[bytes]:
    answer = error_answer(error, spoke, request_id)
    return Response(answer.body, status_code=answer.status, media_type="application/json", headers=answer.headers)
