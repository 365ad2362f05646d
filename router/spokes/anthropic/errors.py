"""Errors in Anthropic's shape: the JSON body and the stream's `error` event.

router.core.errors speaks Anthropic's vocabulary (error types and statuses), so the status is
the error's own."""

from __future__ import annotations

import msgspec

from router.core.errors import RouterError
from router.core.sse import encode_event

_encode = msgspec.json.Encoder().encode


def error_status(error: RouterError) -> int:
    return error.status


def error_body(error: RouterError) -> bytes:
    return _encode({"type": "error", "error": {"type": error.error_type, "message": error.message}})


def error_event(error: RouterError) -> bytes:
    """Mid-stream, Anthropic clients know `overloaded_error` (retry later) and `api_error`."""
    error_type = "overloaded_error" if error.error_type == "overloaded_error" else "api_error"
    body = {"type": "error", "error": {"type": error_type, "message": error.message}}
    return encode_event("error", _encode(body))
