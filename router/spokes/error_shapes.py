"""Error bodies in each client protocol's shape, for JSON responses and for stream error events.
The only place they are built, so a client sees one shape whatever failed."""

from __future__ import annotations

import msgspec

from router.core.errors import RouterError
from router.core.sse import encode_event

_encode = msgspec.json.Encoder().encode

# OpenAI clients branch on `error.type`; these are the names OpenAI itself uses.
_OPENAI_TYPES = {
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "authentication_error",
    "permission_error": "permission_error",
    "not_found_error": "not_found_error",
    "request_too_large": "invalid_request_error",
    "rate_limit_error": "rate_limit_exceeded",
    "overloaded_error": "server_error",
    "timeout_error": "timeout",
    "api_error": "server_error",
}


# Statuses the Anthropic vocabulary of router.core.errors uses that OpenAI never sends: an OpenAI
# client gets OpenAI's own (its SDKs retry 503; 529 is unknown to them and to proxies).
_OPENAI_STATUSES = {529: 503}


def client_status(error: RouterError, protocol: str) -> int:
    """The HTTP status an error is answered with in the client's protocol."""
    if protocol == "openai":
        return _OPENAI_STATUSES.get(error.status, error.status)
    return error.status


def anthropic_error_body(error: RouterError) -> bytes:
    return _encode({"type": "error", "error": {"type": error.error_type, "message": error.message}})


def openai_error_body(error: RouterError) -> bytes:
    kind = _OPENAI_TYPES.get(error.error_type, "server_error")
    return _encode({"error": {"message": error.message, "type": kind, "param": None, "code": error.error_type}})


def anthropic_error_event(error: RouterError) -> bytes:
    """Mid-stream, Anthropic clients know `overloaded_error` (retry later) and `api_error`."""
    error_type = "overloaded_error" if error.error_type == "overloaded_error" else "api_error"
    body = {"type": "error", "error": {"type": error_type, "message": error.message}}
    return encode_event("error", _encode(body))


def openai_error_event(error: RouterError) -> bytes:
    """OpenAI streams have no error event; SDKs raise on a data chunk holding `error`. No [DONE]
    follows, so a client that ignores it still sees an unfinished stream."""
    return b"data: " + openai_error_body(error) + b"\n\n"
