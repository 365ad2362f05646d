"""A Gemini upstream's RetryInfo becomes the client's `retry-after`."""

from __future__ import annotations

import json

import pytest

from router.spokes.gemini.upstream.retry import retry_hint


def body(delay: object) -> bytes:
    return json.dumps({"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED",
                                 "details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
                                             {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}]}}).encode()


@pytest.mark.parametrize(("delay", "said"), [("7s", "7"), ("0.2s", "1"), ("31.5s", "32"), ("0s", "1")])
def test_retry_delay_in_whole_seconds(delay: str, said: str) -> None:
    assert retry_hint(body(delay)) == said


@pytest.mark.parametrize("raw", [body("7"), body(7), body("-1s"), body("nans"), b"{", b"[]", b"<html>busy</html>",
                                 json.dumps({"error": {"code": 429, "message": "slow down"}}).encode(),
                                 json.dumps({"error": {"details": "not a list"}}).encode()])
def test_no_hint_without_a_readable_retry_info(raw: bytes) -> None:
    assert retry_hint(raw) is None
