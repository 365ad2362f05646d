"""When a Gemini upstream says to retry: Google sends no `retry-after` header on a 429, only a
RetryInfo detail in the error body (`"retryDelay": "7s"`, a protobuf Duration). The client gets
it as `retry-after` (Codex and Claude Code retry only with one)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import msgspec

from router.spokes.spoke import UpstreamFault

RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


class _Error(msgspec.Struct):
    details: list[Any] = []


class _Body(msgspec.Struct):
    error: _Error | None = None


_decode = msgspec.json.Decoder(_Body).decode


def fault(status: int, headers: Mapping[str, str], raw: bytes) -> UpstreamFault | None:
    """UpstreamSide.fault: the RetryInfo's delay, when the answer came without `retry-after`."""
    if "retry-after" in headers:
        return None
    hint = retry_hint(raw)
    return None if hint is None else UpstreamFault(retry_after=hint)


def retry_hint(raw: bytes) -> str | None:
    """Whole seconds (rounded up, at least 1) from the body's RetryInfo; None without one."""
    try:
        error = _decode(raw).error
    except (msgspec.DecodeError, RecursionError):
        return None
    for detail in error.details if error is not None else ():
        if type(detail) is dict and detail.get("@type") == RETRY_INFO:
            return _seconds(detail.get("retryDelay"))
    return None


def _seconds(delay: object) -> str | None:
    if type(delay) is not str or not delay.endswith("s"):
        return None
    try:
        seconds = float(delay[:-1])
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return str(max(1, math.ceil(seconds)))
