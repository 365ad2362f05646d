"""Rate limits: the sliding window's arithmetic (a fake clock), the Redis backend against a real
redis-server, the 429s and headers both protocols see, token correction, and what happens when
Redis is down (fail-open, fail-closed)."""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from router.config.access import Rule
from router.config.load import load_config_text
from router.config.problems import InvalidConfig
from router.gateway.state import RouterState, open_state
from router.ratelimit.memory import MemoryBackend
from router.ratelimit.redis_backend import PREFIX, RedisBackend
from router.routing.lookup import build_table
from router.server.app import create_app
from router.spokes.registry import SPOKES
from tests.support.redis_server import redis_server
from tests.support.servers import free_port

BASE = 1_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = BASE

    def __call__(self) -> float:
        return self.now

    def at(self, offset: float) -> FakeClock:
        self.now = BASE + offset
        return self


def requests_rule(limit: int, name: str = "key:a:rpm") -> Rule:
    return Rule(name, 'key "a"', "requests", limit)


def tokens_rule(limit: int, name: str = "key:a:tpm") -> Rule:
    return Rule(name, 'key "a"', "tokens", limit)


# --- the window, exactly (memory backend, fake clock) ----------------------------------------------


async def test_requests_per_minute_hold_over_every_sliding_window() -> None:
    clock = FakeClock()
    backend = MemoryBackend(clock)
    rpm = requests_rule(3)
    for offset in (0, 10, 20):
        clock.at(offset)
        assert (await backend.acquire([rpm], f"e{offset}", [1])).allowed
    clock.at(30)
    refused = await backend.acquire([rpm], "late", [1])
    assert not refused.allowed
    assert refused.budgets[0].used == 3 and refused.budgets[0].retry_after == 30.0  # the t=0 entry leaves at 60
    clock.at(59.999)
    assert (await backend.acquire([rpm], "almost", [1])).budgets[0].retry_after == pytest.approx(0.001)
    clock.at(60)  # an entry counts during [t, t + 60): at 60 the first one is gone
    admitted = await backend.acquire([rpm], "e60", [1])
    assert admitted.allowed and admitted.budgets[0].used == 3
    assert admitted.budgets[0].reset == 10.0  # the t=10 entry is now the oldest
    clock.at(60.5)
    assert (await backend.acquire([rpm], "x", [1])).budgets[0].retry_after == 9.5
    assert backend.used(rpm.name) == 3


async def test_a_refused_request_draws_on_no_budget() -> None:
    clock = FakeClock()
    backend = MemoryBackend(clock)
    key, route = requests_rule(5), requests_rule(1, "route:r:rpm")
    assert (await backend.acquire([key, route], "first", [1, 1])).allowed
    refused = await backend.acquire([key, route], "second", [1, 1])
    assert not refused.allowed
    assert [b.retry_after for b in refused.budgets] == [0.0, 60.0]  # only the route's budget is full
    assert backend.used(key.name) == 1 and backend.used(route.name) == 1


async def test_token_budget_waits_for_enough_old_entries_to_leave() -> None:
    clock = FakeClock()
    backend = MemoryBackend(clock)
    tpm = tokens_rule(100)
    assert (await backend.acquire([tpm], "a", [60])).allowed
    clock.at(10)
    assert (await backend.acquire([tpm], "b", [30])).allowed
    clock.at(20)
    refused = await backend.acquire([tpm], "c", [50])
    assert not refused.allowed and refused.budgets[0].retry_after == 40.0  # "a" (60) leaves at 60
    assert (await backend.acquire([tpm], "d", [10])).allowed  # 60 + 30 + 10 fits exactly
    too_big = await backend.acquire([tpm], "e", [101])
    assert math.isinf(too_big.budgets[0].retry_after)


async def test_a_token_estimate_is_corrected_in_place() -> None:
    clock = FakeClock()
    backend = MemoryBackend(clock)
    tpm = tokens_rule(100)
    await backend.acquire([tpm], "a", [60])
    await backend.adjust([tpm], "a", 60, 10)
    assert backend.used(tpm.name) == 10
    assert (await backend.acquire([tpm], "b", [90])).allowed
    await backend.adjust([tpm], "unknown", 5, 50)  # no such entry: nothing changes
    clock.at(61)
    await backend.adjust([tpm], "a", 10, 99)  # already out of the window: nothing to correct
    assert backend.used(tpm.name) == 0


# --- the Redis backend, against a real redis-server -------------------------------------------------


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


def fresh(rule: Rule) -> Rule:
    """The same rule under a name no other test uses (the Redis outlives each test)."""
    return Rule(f"{rule.name}:{uuid.uuid4().hex[:8]}", rule.scope, rule.unit, rule.limit)


async def test_redis_replicas_share_one_budget(redis_url: str) -> None:
    replica_a, replica_b = RedisBackend(redis_url), RedisBackend(redis_url)
    rpm = fresh(requests_rule(3))
    try:
        outcomes = [(await backend.acquire([rpm], uuid.uuid4().hex, [1])).allowed
                    for backend in (replica_a, replica_b, replica_a, replica_b)]
        assert outcomes == [True, True, True, False]
        refused = await replica_b.acquire([rpm], "late", [1])
        assert refused.budgets[0].used == 3 and 59.0 < refused.budgets[0].retry_after <= 60.0
        ttls = [await replica_a._client.pttl(f"{PREFIX}{rpm.name}:{part}") for part in ("log", "sum")]
        assert all(0 < ttl <= 61_000 for ttl in ttls), ttls
    finally:
        await replica_a.aclose()
        await replica_b.aclose()


async def test_redis_window_slides(redis_url: str) -> None:
    backend = RedisBackend(redis_url, window=0.4)
    rpm = fresh(requests_rule(2))
    try:
        assert (await backend.acquire([rpm], "a", [1])).allowed
        assert (await backend.acquire([rpm], "b", [1])).allowed
        refused = await backend.acquire([rpm], "c", [1])
        assert not refused.allowed and 0 < refused.budgets[0].retry_after <= 0.4
        await asyncio.sleep(refused.budgets[0].retry_after + 0.05)
        assert (await backend.acquire([rpm], "d", [1])).allowed
    finally:
        await backend.aclose()


async def test_redis_tokens_all_or_none_and_correction(redis_url: str) -> None:
    backend = RedisBackend(redis_url)
    tpm, rpm = fresh(tokens_rule(100)), fresh(requests_rule(1, "route:r:rpm"))
    try:
        assert (await backend.acquire([tpm, rpm], "a", [60, 1])).allowed
        refused = await backend.acquire([tpm, rpm], "b", [10, 1])
        assert not refused.allowed and [b.used for b in refused.budgets] == [60, 1]
        assert refused.budgets[0].retry_after == 0 and refused.budgets[1].retry_after > 59
        await backend.adjust([tpm], "a", 60, 10)
        assert (await backend.acquire([tpm], "c", [90])).allowed
        full = await backend.acquire([tpm], "d", [1])
        assert full.budgets[0].used == 100 and not full.allowed
        assert math.isinf((await backend.acquire([tpm], "e", [500])).budgets[0].retry_after)
    finally:
        await backend.aclose()


# --- over HTTP: 429s and headers in each protocol's shape ----------------------------------------

ROUTES = """
[auth]
keys = [
  {{ name = "{alice}", key = "env:ALICE_KEY", limits = {{ rpm = 2 }} }},
  {{ name = "carol", key = "env:CAROL_KEY", limits = {{ tpm = 100000 }} }},
  {{ name = "dave", key = "env:DAVE_KEY", limits = {{ tpm = 3 }} }},
  "env:FREE_KEY",
]
{limits}

[upstreams.local]
kind = "mock"

[[routes]]
name = "shared"
models = ["shared"]
to = "local"
limits = {{ rpm = 3 }}

[[routes]]
name = "demo"
models = ["demo", "gpt-demo"]
to = "local"
"""
KEYS = {"ALICE_KEY": "k-alice", "CAROL_KEY": "k-carol", "DAVE_KEY": "k-dave", "FREE_KEY": "k-free"}
ANTHROPIC_BODY = {"model": "demo", "max_tokens": 50, "messages": [{"role": "user", "content": "hello there"}]}
OPENAI_BODY = {"model": "demo", "messages": [{"role": "user", "content": "hello there"}]}
Client = AsyncTestClient[Litestar]


def routes(limits: str = "", alice: str = "alice") -> str:
    return ROUTES.format(limits=limits, alice=alice)


def make_state(limits: str = "", environ: dict[str, str] | None = None, alice: str = "alice") -> RouterState:
    loaded = load_config_text(routes(limits, alice), filename="routes.toml", environ={**KEYS, **(environ or {})})
    return open_state(build_table(loaded))


@pytest.fixture
async def app_state() -> RouterState:
    return make_state()


@pytest.fixture
async def client(app_state: RouterState) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(app_state)) as test_client:
        yield test_client


async def anthropic(client: Client, key: str, body: dict[str, Any] = ANTHROPIC_BODY) -> Any:
    return await client.post("/v1/messages", json=body, headers={"x-api-key": key})


async def openai(client: Client, key: str, body: dict[str, Any] = OPENAI_BODY) -> Any:
    return await client.post("/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"})


def assert_rate_headers(headers: Any, limit: int, remaining: int) -> None:
    assert headers["x-ratelimit-limit-requests"] == str(limit)
    assert headers["x-ratelimit-remaining-requests"] == str(remaining)
    assert headers["x-ratelimit-reset-requests"].endswith("s")
    assert headers["anthropic-ratelimit-requests-limit"] == str(limit)
    assert headers["anthropic-ratelimit-requests-remaining"] == str(remaining)
    datetime.strptime(headers["anthropic-ratelimit-requests-reset"], "%Y-%m-%dT%H:%M:%SZ")


async def test_anthropic_client_gets_an_anthropic_429(client: Client) -> None:
    for remaining in (1, 0):
        answer = await anthropic(client, "k-alice")
        assert answer.status_code == 200
        assert_rate_headers(answer.headers, 2, remaining)
    refused = await anthropic(client, "k-alice")
    assert refused.status_code == 429
    body = refused.json()
    assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
    assert 'key "alice"' in body["error"]["message"] and "2 requests per minute" in body["error"]["message"]
    assert 59 <= int(refused.headers["retry-after"]) <= 60
    assert_rate_headers(refused.headers, 2, 0)
    assert refused.headers["request-id"].startswith("req_")


async def test_openai_client_gets_an_openai_429(client: Client) -> None:
    for _ in range(2):
        assert (await openai(client, "k-alice", {**OPENAI_BODY, "model": "gpt-demo"})).status_code == 200
    refused = await openai(client, "k-alice")
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["type"] == "rate_limit_exceeded" and error["code"] == "rate_limit_error"
    assert int(refused.headers["retry-after"]) >= 1
    assert_rate_headers(refused.headers, 2, 0)


async def test_a_route_limit_is_shared_by_every_key(client: Client) -> None:
    body = {**ANTHROPIC_BODY, "model": "shared"}
    assert [(await anthropic(client, key, body)).status_code for key in ("k-free", "k-carol", "k-free")] == [200] * 3
    refused = await anthropic(client, "k-carol", body)
    assert refused.status_code == 429 and 'route "shared"' in refused.json()["error"]["message"]


async def test_unlimited_requests_carry_no_rate_headers(client: Client) -> None:
    answer = await anthropic(client, "k-free")
    assert answer.status_code == 200
    assert not [name for name in answer.headers if "ratelimit" in name]


async def test_a_request_larger_than_the_token_limit_is_refused_outright(client: Client) -> None:
    refused = await anthropic(client, "k-dave")
    assert refused.status_code == 429
    assert "more than the 3 tokens per minute" in refused.json()["error"]["message"]
    assert refused.headers["retry-after"] == "60"
    assert refused.headers["x-ratelimit-limit-tokens"] == "3"


# --- token correction: the estimate becomes the answer's usage ----------------------------------


def sse_usage(text: str) -> tuple[int, int]:
    """Input and output tokens as an Anthropic or OpenAI stream reports them to the client."""
    tokens_in = tokens_out = 0
    for line in text.splitlines():
        if not line.startswith("data:") or '"usage"' not in line or line.strip() == "data: [DONE]":
            continue
        event = msgspec.json.decode(line[5:])
        usage = (event.get("message") or {}).get("usage") or event.get("usage")
        if not usage:
            continue
        tokens_in = usage.get("input_tokens") or usage.get("prompt_tokens") or tokens_in
        tokens_out = usage.get("output_tokens") or usage.get("completion_tokens") or tokens_out
    return tokens_in, tokens_out


async def test_unary_answers_correct_the_token_estimate(client: Client, app_state: RouterState) -> None:
    answer = await anthropic(client, "k-carol")
    usage = answer.json()["usage"]
    assert app_state.limiter.memory.used("key:carol:tpm") == usage["input_tokens"] + usage["output_tokens"]
    answer = await openai(client, "k-carol")
    usage_openai = answer.json()["usage"]
    expected = usage["input_tokens"] + usage["output_tokens"] + usage_openai["prompt_tokens"] + usage_openai["completion_tokens"]
    assert app_state.limiter.memory.used("key:carol:tpm") == expected


@pytest.mark.parametrize("protocol", ["anthropic", "openai"])
async def test_streams_correct_the_token_estimate_when_they_end(client: Client, app_state: RouterState, protocol: str) -> None:
    if protocol == "anthropic":
        path, body, headers = "/v1/messages", {**ANTHROPIC_BODY, "stream": True}, {"x-api-key": "k-carol"}
    else:
        body = {**OPENAI_BODY, "stream": True, "stream_options": {"include_usage": True}}
        path, headers = "/v1/chat/completions", {"authorization": "Bearer k-carol"}
    async with client.stream("POST", path, json=body, headers=headers) as stream:
        assert stream.headers["x-ratelimit-limit-tokens"] == "100000"
        text = "".join([chunk async for chunk in stream.aiter_text()])
    tokens_in, tokens_out = sse_usage(text)
    assert tokens_in > 0 and tokens_out > 0
    await _settled(app_state)
    assert app_state.limiter.memory.used("key:carol:tpm") == tokens_in + tokens_out


async def test_a_stream_without_usage_keeps_the_estimate(client: Client, app_state: RouterState) -> None:
    """The estimate is the one routing uses (the OpenAI request counted as the hub request it
    becomes), not a second, cruder one."""
    body = {**OPENAI_BODY, "stream": True}
    raw = msgspec.json.encode(body)
    async with client.stream("POST", "/v1/chat/completions", content=raw, headers={
        "authorization": "Bearer k-carol", "content-type": "application/json"}) as stream:
        text = "".join([chunk async for chunk in stream.aiter_text()])
    assert sse_usage(text) == (0, 0)
    await _settled(app_state)
    openai_spoke = SPOKES["openai"].client
    estimate = openai_spoke.view.input_tokens(openai_spoke.request_decoder(raw))
    assert estimate > 0
    assert app_state.limiter.memory.used("key:carol:tpm") == estimate


async def _settled(state: RouterState) -> None:
    """Corrections run as tasks; wait for those in flight."""
    for _ in range(50):
        if not state.limiter._tasks:
            return
        await asyncio.sleep(0.01)


# --- Redis shared between two app states, and Redis down ------------------------------------------


async def test_two_apps_on_one_redis_share_the_key_budget(redis_url: str) -> None:
    limits = '[limits]\nbackend = "redis"\nredis-url = "env:REDIS_URL"'
    name = f"alice-{uuid.uuid4().hex[:6]}"  # budgets are named after keys: a fresh one in this Redis
    states = [make_state(limits, {"REDIS_URL": redis_url}, alice=name) for _ in range(2)]
    async with AsyncTestClient(app=create_app(states[0])) as a, AsyncTestClient(app=create_app(states[1])) as b:
        statuses = [(await anthropic(c, "k-alice")).status_code for c in (a, b, a)]
    assert statuses == [200, 200, 429]


DEAD_REDIS = '[limits]\nbackend = "redis"\nredis-url = "redis://127.0.0.1:{port}/0"\nfail-open = {fail_open}'


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_fail_open_serves_and_warns_once_per_interval() -> None:
    state = make_state(DEAD_REDIS.format(port=free_port(), fail_open="true"))
    records = _Records()
    logging.getLogger("router.ratelimit").addHandler(records)  # the app's logging may not propagate
    try:
        async with AsyncTestClient(app=create_app(state)) as client:
            statuses = [(await anthropic(client, "k-alice")).status_code for _ in range(4)]
    finally:
        logging.getLogger("router.ratelimit").removeHandler(records)
    assert statuses == [200] * 4  # rpm = 2, but nothing can count: served
    assert state.limiter.stats.unavailable == 4
    assert len(records.records) == 1 and "fail-open" in records.records[0].getMessage()
    assert state.metrics.limiter_unavailable._value.get() == 4  # and the metrics say so too


async def test_fail_closed_answers_503_in_the_clients_shape() -> None:
    state = make_state(DEAD_REDIS.format(port=free_port(), fail_open="false"))
    async with AsyncTestClient(app=create_app(state)) as client:
        refused = await anthropic(client, "k-alice")
        refused_openai = await openai(client, "k-alice")
        unlimited = await anthropic(client, "k-free")  # no budget to check: Redis is not needed
    assert refused.status_code == 503 and refused.json()["error"]["type"] == "api_error"
    assert refused.headers["retry-after"] == "1"
    assert refused_openai.status_code == 503 and refused_openai.json()["error"]["type"] == "server_error"
    assert unlimited.status_code == 200


async def test_redis_that_goes_away_fails_open_then_counts_again() -> None:
    port = free_port()
    state = make_state(f'[limits]\nbackend = "redis"\nredis-url = "redis://127.0.0.1:{port}/0"')
    async with AsyncTestClient(app=create_app(state)) as client:
        with redis_server(port):
            assert (await anthropic(client, "k-alice")).headers["x-ratelimit-remaining-requests"] == "1"
        down = await anthropic(client, "k-alice")
        assert down.status_code == 200 and "x-ratelimit-remaining-requests" not in down.headers  # fail-open
        assert state.limiter.stats.unavailable == 1
        with redis_server(port):  # a new, empty Redis on the same address
            await asyncio.sleep(1.1)  # the backend leaves Redis alone for a second after a failure
            assert (await anthropic(client, "k-alice")).headers["x-ratelimit-remaining-requests"] == "1"
        assert state.limiter.stats.unavailable == 1


# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(("limits", "message"), [
    ('[limits]\nbakend = "redis"', 'unknown key "bakend" — did you mean "backend"?'),
    ('[limits]\nbackend = "redis"', 'backend "redis" needs a redis-url'),
    ('[limits]\nbackend = "redis"\nredis-url = "redis://:hunter2@db:6379/0"', "redis-url holds a password (value not shown"),
    ('[limits]\nbackend = "redis"\nredis-url = "env:NOT_SET_ANYWHERE"', "environment variable NOT_SET_ANYWHERE is not set"),
    ('[limits]\nbackend = "redis"\nredis-url = "http://db:6379"', "is not a redis:// URL"),
    ('[limits]\nbackend = "memcached"', 'invalid value "memcached"'),
])
def test_limits_section_is_checked(limits: str, message: str) -> None:
    with pytest.raises(InvalidConfig) as caught:
        load_config_text(routes(limits), filename="routes.toml", environ=KEYS)
    rendered = "\n".join(problem.render() for problem in caught.value.problems)
    assert message in rendered
    assert "hunter2" not in rendered


def test_a_limit_of_zero_is_an_error() -> None:
    text = routes().replace("limits = { rpm = 3 }", "limits = { rpm = 0, tpm = 10 }")
    with pytest.raises(InvalidConfig) as caught:
        load_config_text(text, filename="routes.toml", environ=KEYS)
    assert [p.path for p in caught.value.problems] == ["routes[0].limits.rpm"]


def test_memory_limits_with_several_workers_warn() -> None:
    loaded = load_config_text("[server]\nworkers = 4\n" + routes(), filename="routes.toml", environ=KEYS)
    assert any("4 workers" in w.message and 'backend = "redis"' in w.fix for w in loaded.warnings)


def test_no_limits_no_keys_policies_means_an_inactive_access() -> None:
    text = '[upstreams.local]\nkind = "mock"\n[[routes]]\nname = "d"\nmodels = ["d"]\nto = "local"\n'
    assert not load_config_text(text, filename="routes.toml", environ={}).access.active
