"""Errors in OpenAI's shape: the JSON body, and the data chunk that fails a stream."""

from __future__ import annotations

import msgspec

from router.core.errors import RouterError

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


def error_status(error: RouterError) -> int:
    return _OPENAI_STATUSES.get(error.status, error.status)


def error_type(error: RouterError) -> str:
    """The error's `type` in OpenAI's names (Chat and Responses bodies alike)."""
    return _OPENAI_TYPES.get(error.error_type, "server_error")


def error_body(error: RouterError) -> bytes:
    return _encode({"error": {"message": error.message, "type": error_type(error), "param": error.param,
                              "code": error.code or error.error_type}})


def error_event(error: RouterError) -> bytes:
    """OpenAI streams have no error event; SDKs raise on a data chunk holding `error`. No [DONE]
    follows, so a client that ignores it still sees an unfinished stream."""
    return b"data: " + error_body(error) + b"\n\n"
