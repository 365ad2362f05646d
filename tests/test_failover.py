"""Failover across a route's targets: which failures move on, never after the first byte, backoff
with retry-after, cool-down and recovery, and the balance policies."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from litestar.testing import AsyncTestClient

from router.config.load import load_config_text
from router.config.schema import Retry
from router.core.errors import (
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from router.gateway.state import RouterState, open_state
from router.routing.failover import TargetHealth, attempt_order, retryable, wait_before
from router.routing.lookup import build_table
from router.server.app import create_app

ROUTES = """
[upstreams.a]
kind = "openai"
base-url = "https://a.example/v1"

[upstreams.b]
kind = "openai"
base-url = "https://b.example/v1"

[[routes]]
name = "pair"
models = ["m"]
to = ["a/ma", "b/mb"]
retry = {{ attempts = 3, backoff = 0.001, max-wait = {max_wait}, failures = 2, cooldown = 30 }}

[[routes]]
name = "single"
models = ["solo"]
to = "a/ma"
retry = {{ attempts = 2, backoff = 0.001, max-wait = {max_wait} }}

[[routes]]
name = "weighted"
models = ["w"]
to = [{{ target = "a/ma", weight = 3 }}, {{ target = "b/mb", weight = 1 }}]
balance = "weighted"
"""
A, B = "https://a.example/v1/chat/completions", "https://b.example/v1/chat/completions"
OK = {"id": "c", "choices": [{"index": 0, "message": {"role": "assistant", "content": "from b"}, "finish_reason": "stop"}]}
BODY = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
SSE = b'data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _state(max_wait: float = 1.0) -> RouterState:
    loaded = load_config_text(ROUTES.format(max_wait=max_wait), filename="routes.toml", environ={})
    return open_state(build_table(loaded), transport=lambda name, upstream: httpx.AsyncHTTPTransport())


@pytest.fixture
async def client() -> AsyncIterator[tuple[AsyncTestClient, RouterState]]:  # type: ignore[type-arg]
    state = _state()
    state.health.clock = Clock()
    async with AsyncTestClient(app=create_app(state)) as test_client:
        yield test_client, state


@respx.mock
@pytest.mark.parametrize(
    "failure",
    [httpx.Response(429), httpx.Response(500), httpx.Response(502), httpx.Response(503), httpx.Response(529),
     httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.ReadTimeout("slow")],
    ids=["429", "500", "502", "503", "529", "connect", "connect-timeout", "read-timeout"],
)
async def test_each_retryable_failure_moves_to_the_next_target(client, failure) -> None:  # type: ignore[no-untyped-def]
    test_client, _ = client
    a = respx.post(A).mock(side_effect=[failure])
    b = respx.post(B).mock(return_value=httpx.Response(200, json=OK))
    response = await test_client.post("/v1/messages", json=BODY)
    assert response.status_code == 200 and response.json()["content"][0]["text"] == "from b"
    assert a.call_count == 1 and b.call_count == 1
    assert response.headers["x-router-target"] == "b/mb"
    assert response.headers["x-router-attempts"].startswith("a/ma=") and response.headers["x-router-attempts"].endswith("b/mb=200")


@respx.mock
@pytest.mark.parametrize("status", [400, 401, 404, 413, 422])
async def test_client_errors_are_never_retried(client, status: int) -> None:  # type: ignore[no-untyped-def]
    test_client, _ = client
    respx.post(A).mock(return_value=httpx.Response(status, json={"error": {"message": "no"}}))
    b = respx.post(B).mock(return_value=httpx.Response(200, json=OK))
    response = await test_client.post("/v1/messages", json=BODY)
    assert response.status_code != 200 and b.call_count == 0


@respx.mock
async def test_stream_fails_over_before_the_first_byte(client) -> None:  # type: ignore[no-untyped-def]
    test_client, _ = client
    respx.post(A).mock(return_value=httpx.Response(503))
    respx.post(B).mock(return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, content=SSE))
    response = await test_client.post("/v1/messages", json={**BODY, "stream": True})
    assert response.status_code == 200 and "event: message_stop" in response.text


class _Broken(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'data: {"choices":[{"index":0,"delta":{"content":"par"}}]}\n\n'
        raise httpx.ReadError("connection reset")


@respx.mock
async def test_never_after_the_first_byte(client) -> None:  # type: ignore[no-untyped-def]
    test_client, _ = client
    respx.post(A).mock(return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_Broken()))
    b = respx.post(B).mock(return_value=httpx.Response(200, json=OK))
    response = await test_client.post("/v1/messages", json={**BODY, "stream": True})
    assert "event: error" in response.text and "message_stop" not in response.text
    assert b.call_count == 0


@respx.mock
async def test_same_target_honours_retry_after() -> None:
    state = _state(max_wait=1.0)
    route = respx.post(A).mock(side_effect=[httpx.Response(429, headers={"retry-after": "0.3"}),
                                            httpx.Response(200, json=OK)])
    async with AsyncTestClient(app=create_app(state)) as test_client:
        import time

        started = time.monotonic()
        response = await test_client.post("/v1/messages", json={**BODY, "model": "solo"})
        elapsed = time.monotonic() - started
    assert response.status_code == 200 and route.call_count == 2 and elapsed >= 0.3


@respx.mock
async def test_retry_after_beyond_max_wait_gives_up_at_once() -> None:
    state = _state(max_wait=1.0)
    route = respx.post(A).mock(return_value=httpx.Response(429, headers={"retry-after": "120"}))
    async with AsyncTestClient(app=create_app(state)) as test_client:
        response = await test_client.post("/v1/messages", json={**BODY, "model": "solo"})
    assert response.status_code == 429 and response.headers["retry-after"] == "120" and route.call_count == 1


@respx.mock
async def test_cool_down_and_recovery(client) -> None:  # type: ignore[no-untyped-def]
    test_client, state = client
    a = respx.post(A).mock(return_value=httpx.Response(500))
    respx.post(B).mock(return_value=httpx.Response(200, json=OK))
    for _ in range(2):  # failures = 2: the second puts `a` aside
        assert (await test_client.post("/v1/messages", json=BODY)).status_code == 200
    assert state.health.cooling() == ["a/ma"]
    calls = a.call_count
    response = await test_client.post("/v1/messages", json=BODY)
    assert response.headers["x-router-attempts"] == "b/mb=200" and a.call_count == calls  # not even tried
    state.health.clock.now += 31  # type: ignore[attr-defined]
    a.mock(return_value=httpx.Response(200, json=OK))
    response = await test_client.post("/v1/messages", json=BODY)
    assert response.headers["x-router-target"] == "a/ma" and state.health.cooling() == []


def test_weighted_distribution_over_1000_picks() -> None:
    state = _state()
    state.health.rng = random.Random(7)
    plan = state.table.lookup("anthropic", "w")
    assert plan is not None
    firsts = Counter(attempt_order(plan, state.health)[0].key for _ in range(1000))
    assert 700 <= firsts["a/ma"] <= 800  # weight 3 of 4: 750 expected
    assert firsts["a/ma"] + firsts["b/mb"] == 1000


def test_least_in_flight_prefers_the_idle_target() -> None:
    state = _state()
    plan = state.table.lookup("anthropic", "m")
    assert plan is not None
    plan = type(plan)(plan.route, plan.protocol, plan.targets, "least-in-flight", plan.retry)
    state.health.started("a/ma")
    assert [t.key for t in attempt_order(plan, state.health)] == ["b/mb", "a/ma"]


def test_retry_classes_and_waits() -> None:
    retry, rng = Retry(on=[429, "timeout"], max_wait=5, backoff=0.5), random.Random(1)
    assert retryable(UpstreamStatusError(429, "x"), retry)
    assert not retryable(UpstreamStatusError(500, "x"), retry)
    assert retryable(UpstreamTimeout("x"), retry)
    assert not retryable(UpstreamUnreachable("x"), retry) and not retryable(UpstreamProtocolError("x"), retry)
    with_after = UpstreamStatusError(429, "x", retry_after="3")
    assert wait_before(0, with_after, retry, same_target=True, rng=rng) == 3
    assert wait_before(0, with_after, retry, same_target=False, rng=rng) <= 0.5  # next target: no waiting
    assert wait_before(0, UpstreamStatusError(429, "x", retry_after="60"), retry, True, rng) is None
    assert 0 <= wait_before(3, UpstreamStatusError(429, "x"), retry, True, rng) <= 4  # default retry-after ignored


def test_breaker_counts_consecutive_failures_only() -> None:
    clock = Clock()
    health, retry = TargetHealth(clock=clock), Retry(failures=3, cooldown=10)
    assert not health.failed("t", retry) and not health.failed("t", retry)
    health.succeeded("t")
    assert not health.failed("t", retry) and not health.failed("t", retry) and health.failed("t", retry)
    assert not health.available("t")
    clock.now += 10
    assert health.available("t")
