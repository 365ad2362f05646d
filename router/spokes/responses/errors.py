"""Errors in the Responses shape (OpenAI's): the JSON body, and the `error` event that fails a
stream.

The body is OpenAI's `{"error": {"message", "type", "param", "code"}}`: its `type` and the
status are the Chat spoke's (router.spokes.openai.errors, one OpenAI vocabulary); the codes are
the ones OpenAI sends on Responses streams. A 429 carries `retry-after` (router.core.errors puts
it on every rate-limit error and the front door sends an error's headers): Codex gives up at once
on a 429 without one.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import msgspec

from router.core.errors import RouterError
from router.spokes.openai.errors import error_status, error_type

__all__ = ["error_body", "error_code", "error_event", "error_event_at", "error_status", "failure_object"]

_encode = msgspec.json.Encoder().encode

# The `code` of a stream's error event and of a failed response: the codes OpenAI sends there
# (Codex reads `rate_limit_exceeded` and `server_is_overloaded` to decide on retrying).
_CODES: Mapping[str, str] = MappingProxyType({
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "invalid_api_key",
    "permission_error": "permission_denied",
    "not_found_error": "model_not_found",
    "request_too_large": "invalid_request_error",
    "rate_limit_error": "rate_limit_exceeded",
    "overloaded_error": "server_is_overloaded",
    "timeout_error": "timeout",
    "api_error": "server_error",
})


def error_code(error: RouterError) -> str:
    return error.code or _CODES.get(error.error_type, "server_error")


def error_body(error: RouterError) -> bytes:
    return _encode({"error": {"message": error.message, "type": error_type(error), "param": error.param,
                              "code": error_code(error)}})


def error_event_at(error: RouterError, sequence_number: int) -> bytes:
    """The `error` event, numbered after the last event the client got (the stream machine
    counts them: call it with its next sequence number)."""
    data = _encode({"type": "error", "code": error_code(error), "message": error.message, "param": error.param,
                    "sequence_number": sequence_number})
    return b"event: error\ndata: " + data + b"\n\n"


def error_event(error: RouterError) -> bytes:
    """For a stream whose events we did not number (passthrough, an error before any event)."""
    return error_event_at(error, 0)


def failure_object(error: RouterError) -> dict[str, str]:
    """A failed response's `error`: the code the error event has too. Codex reads a rate
    limit's delay only from the message ("try again in N s")."""
    code = error_code(error)
    message = error.message
    retry_after = error.headers.get("retry-after")
    if code == "rate_limit_exceeded" and retry_after and retry_after.isdigit():
        message = f"{message} Please try again in {retry_after}s."
    return {"code": code, "message": message}
