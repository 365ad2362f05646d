"""Errors in Google's shape: `{"error": {"code", "message", "status"}}`, as a body and as the
`data:` event that fails a stream.

`code` is the HTTP status and `status` its google.rpc name (INVALID_ARGUMENT, RESOURCE_EXHAUSTED
...): the google-genai SDKs raise ClientError / ServerError by the code and show the status. The
statuses of router.core.errors that Google never sends become Google's own: 529 (overloaded) is
503 UNAVAILABLE, which the SDKs and Gemini CLI retry; 413 is Google's 400 for a payload over its
size. A 429's `retry-after` stays in the error's headers (the front door sends them).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import msgspec

from router.core.errors import RouterError

_encode = msgspec.json.Encoder().encode

_HTTP_STATUSES: Mapping[int, int] = MappingProxyType({529: 503, 413: 400})

# HTTP status → google.rpc status name (https://cloud.google.com/apis/design/errors).
_STATUS_NAMES: Mapping[int, str] = MappingProxyType({
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
})

STREAM_EVENT_END = b"\r\n\r\n"  # how Google ends every SSE event


def error_status(error: RouterError) -> int:
    """The HTTP status the client gets."""
    return _HTTP_STATUSES.get(error.status, error.status)


def status_name(code: int) -> str:
    name = _STATUS_NAMES.get(code)
    if name is not None:
        return name
    return "INTERNAL" if code >= 500 else "FAILED_PRECONDITION"


def error_body(error: RouterError) -> bytes:
    code = error_status(error)
    return _encode({"error": {"code": code, "message": error.message, "status": status_name(code)}})


def error_event(error: RouterError) -> bytes:
    """The event that fails a stream. `error` must be the object's first key: the google-genai
    SDK raises APIError on a chunk that starts `{"error":` and would otherwise read it as an
    (empty) answer."""
    return b"data: " + error_body(error) + STREAM_EVENT_END
