"""Every transport exception maps to an UpstreamError, at one boundary, with the right status."""

from __future__ import annotations

import httpx
import pytest

from router.core.errors import (
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnreachable,
    status_to_error,
)
from router.upstream.errors import map_transport_error

REQUEST = httpx.Request("POST", "https://example.invalid/v1/chat/completions?key=secret")


def _all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_all_subclasses(sub)}
    return found


@pytest.mark.parametrize("cls", sorted(_all_subclasses(httpx.HTTPError), key=lambda c: c.__name__))
def test_every_httpx_error_is_mapped(cls: type[httpx.HTTPError]) -> None:
    if cls is httpx.HTTPStatusError:
        exc: httpx.HTTPError = cls("boom", request=REQUEST, response=httpx.Response(500))  # type: ignore[call-arg]
    else:
        try:
            exc = cls("boom", request=REQUEST)  # type: ignore[call-arg]
        except TypeError:
            exc = cls("boom")  # type: ignore[call-arg]
    mapped = map_transport_error(exc, "up")
    assert mapped.status in (502, 504)
    assert "secret" not in mapped.message and "example.invalid" not in mapped.message


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectError("refused"), UpstreamUnreachable),
        (httpx.ConnectTimeout("slow"), UpstreamTimeout),
        (httpx.ReadTimeout("slow"), UpstreamTimeout),
        (TimeoutError(), UpstreamTimeout),
        (httpx.RemoteProtocolError("cut"), UpstreamProtocolError),
        (httpx.ReadError("reset"), UpstreamProtocolError),
        (httpx.PoolTimeout("busy"), UpstreamTimeout),
        (httpx.WriteTimeout("slow"), UpstreamTimeout),
        (ConnectionRefusedError(), UpstreamUnreachable),
        (ConnectionResetError(), UpstreamProtocolError),
    ],
)
def test_classes(exc: BaseException, expected: type) -> None:
    assert type(map_transport_error(exc, "up")) is expected


@pytest.mark.parametrize(
    ("upstream", "status", "kind"),
    [(429, 429, "rate_limit_error"), (503, 529, "overloaded_error"), (529, 529, "overloaded_error"),
     (500, 500, "api_error"), (502, 502, "api_error"), (504, 504, "timeout_error"), (401, 502, "api_error"),
     (400, 400, "invalid_request_error"), (404, 404, "not_found_error"), (413, 413, "request_too_large")],
)
def test_status_table(upstream: int, status: int, kind: str) -> None:
    assert status_to_error(upstream) == (status, kind)


def test_429_always_carries_retry_after() -> None:
    assert UpstreamStatusError(429, "slow down").headers == {"retry-after": "5"}
    assert UpstreamStatusError(429, "slow down", retry_after="30").headers == {"retry-after": "30"}
    assert UpstreamStatusError(400, "bad").retryable is False
    assert UpstreamStatusError(503, "busy").retryable is True
