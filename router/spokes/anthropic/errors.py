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


_RETRY_LATER = frozenset({"overloaded_error", "rate_limit_error"})


def error_event(error: RouterError) -> bytes:
    """Mid-stream, Anthropic clients know `overloaded_error` and `rate_limit_error` (both: retry
    later; an upstream can throttle mid-stream, Bedrock does) and `api_error` for the rest."""
    error_type = error.error_type if error.error_type in _RETRY_LATER else "api_error"
    body = {"type": "error", "error": {"type": error_type, "message": error.message}}
    return encode_event("error", _encode(body))
