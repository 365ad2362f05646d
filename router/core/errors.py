"""The exception tree. Every error a client can see is one of these; the front door renders it in
the client's own protocol (see router/gateway/errors.py), so handlers never build error bodies.

    RouterError                      status, error_type (Anthropic vocabulary), message, headers
    ├── ClientError                  the request is wrong; never retried, never falls back
    │   ├── InvalidRequest           400 invalid_request_error (bad JSON, missing field; names the path)
    │   ├── AuthenticationFailed     401 authentication_error
    │   ├── PermissionDenied         403 permission_error (the key may not use this route or model)
    │   ├── ModelNotFound            404 not_found_error
    │   ├── PayloadTooLarge          413 request_too_large
    │   └── RateLimited              429 rate_limit_error (a key's or route's own limit; retry-after set)
    │       └── BudgetExceeded       429 rate_limit_error (a key's or route's spending budget is used up)
    ├── LimiterUnavailable           503 api_error (rate limits fail closed and their Redis is unreachable)
    └── UpstreamError                the upstream failed; `retryable` says whether a fallback may try again
        ├── UpstreamStatusError      non-2xx from the upstream, status mapped by `status_to_error`
        ├── UpstreamTimeout          504 timeout_error (connect/read/total/stream-idle timeout)
        ├── UpstreamUnreachable      502 api_error (refused, DNS, TLS, reset before a response)
        └── UpstreamProtocolError    502 api_error (a body or stream we could not parse)

`ConfigError` (routes.toml problems) is separate: it never reaches a client.

Foreign exceptions (httpx, msgspec) are mapped to this tree at exactly one boundary each:
`router.upstream.errors.map_transport_error` for the network, the front door for request decoding.
"""

from __future__ import annotations

from collections.abc import Mapping

# Retry-After we send on 429 when the upstream gave none: some clients (Codex CLI) never retry
# a 429 without one.
DEFAULT_RETRY_AFTER_SECONDS = 5


class RouterError(Exception):
    status: int = 500
    error_type: str = "api_error"
    retryable: bool = False

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None,
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})
        # For protocols whose errors name the request field at fault and a machine-readable
        # code (OpenAI's `param` and `code`); None: the protocol's default for the error type.
        self.param = param
        self.code = code


class ClientError(RouterError):
    status = 400
    error_type = "invalid_request_error"


class InvalidRequest(ClientError):
    pass


class AuthenticationFailed(ClientError):
    status = 401
    error_type = "authentication_error"


class PermissionDenied(ClientError):
    status = 403
    error_type = "permission_error"


class ModelNotFound(ClientError):
    status = 404
    error_type = "not_found_error"


class PayloadTooLarge(ClientError):
    status = 413
    error_type = "request_too_large"


class RateLimited(ClientError):
    """Over a limit of this router's own (`limits = { rpm, tpm }`), not the upstream's."""

    status = 429
    error_type = "rate_limit_error"
    limit: tuple[str, str] = ("", "")  # which limit: ("key", name) or ("route", name), for metrics


class BudgetExceeded(RateLimited):
    """A key's or route's `budget` is spent for its period; the message says it is the budget,
    how much, and when it resets (`retry-after`: the seconds until then)."""


class LimiterUnavailable(RouterError):
    """The shared rate-limit store cannot be reached and `[limits] fail-open = false`."""

    status = 503
    error_type = "api_error"


class UpstreamError(RouterError):
    status = 502
    error_type = "api_error"
    retryable = True


class UpstreamStatusError(UpstreamError):
    """A non-2xx answer. `upstream_status` is what the upstream said; `status` what the client gets."""

    def __init__(
        self,
        upstream_status: int,
        message: str,
        *,
        retry_after: str | None = None,
    ) -> None:
        status, error_type = status_to_error(upstream_status)
        headers = {}
        if status == 429 or retry_after:
            headers["retry-after"] = retry_after or str(DEFAULT_RETRY_AFTER_SECONDS)
        super().__init__(message, headers=headers)
        # The default is for the client's sake; it says nothing about when the upstream recovers.
        self.retry_after_default = not retry_after
        self.upstream_status = upstream_status
        self.status = status
        self.error_type = error_type
        self.retryable = upstream_status in (408, 429) or upstream_status >= 500


class UpstreamTimeout(UpstreamError):
    status = 504
    error_type = "timeout_error"


class UpstreamUnreachable(UpstreamError):
    status = 502


class UpstreamProtocolError(UpstreamError):
    status = 502


class ConfigError(Exception):
    """routes.toml could not be loaded; `problems` holds every message (see router.config.problems)."""


def status_to_error(upstream_status: int) -> tuple[int, str]:
    """Map an upstream HTTP status to the status and Anthropic error type the client sees."""
    if upstream_status in (503, 529):
        return 529, "overloaded_error"
    if upstream_status == 429:
        return 429, "rate_limit_error"
    if upstream_status == 504:
        return 504, "timeout_error"
    if upstream_status >= 500:
        return upstream_status, "api_error"
    if upstream_status in (401, 403):
        # The upstream refused *our* credentials: that is the gateway's fault, not the client's key.
        return 502, "api_error"
    if upstream_status == 404:
        return 404, "not_found_error"
    if upstream_status == 413:
        return 413, "request_too_large"
    return 400, "invalid_request_error"
