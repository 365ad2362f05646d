"""Budgets end to end: the official anthropic and openai SDKs → the router (uvicorn, in this
process, so its clock can be injected) → the local mock upstream. A key or route that has spent
its budget gets a 429 in its client's protocol saying it is the budget and when it resets, with
`retry-after`; a request in flight when the budget runs out finishes; the next period lets the
key through again."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anthropic
import httpx
import openai
import pytest

from router.config.load import load_config_text
from router.gateway.state import RouterState, open_state
from router.ledger.periods import iso, period_end
from router.routing.lookup import build_table
from router.server.app import create_app
from tests.support.servers import serving_in_process

KEYS = {"CI_KEY": "sk-ci-0123456789abcdef", "DEV_KEY": "sk-dev-0123456789abcdef",
        "FREE_KEY": "sk-free-0123456789abcdef", "UP_KEY": "sk-upstream-0123456789"}
DAY = 86400.0

# $1 per token: any request spends a $1 budget at once.
ROUTES = """
[auth]
keys = [
  {{ name = "ci", key = "env:CI_KEY", budget = {{ usd = 1, period = "day" }} }},
  {{ name = "dev", key = "env:DEV_KEY", budget = {{ usd = 1, period = "day", warn-at = 0.5 }} }},
  {{ name = "free", key = "env:FREE_KEY" }},
]

[upstreams.up]
kind = "openai"
base-url = "{upstream}/v1"
api-key = "env:UP_KEY"
price = {{ input = 1_000_000, output = 1_000_000 }}

[[routes]]
name = "capped"
models = ["capped-*"]
to = "up/mock-model"
budget = {{ usd = 1, period = "week" }}

[[routes]]
name = "main"
models = ["*"]
to = "up"
"""


@dataclass
class Clock:
    now: float

    def __call__(self) -> float:
        return self.now


@dataclass
class Router:
    url: str
    state: RouterState
    clock: Clock


@pytest.fixture
async def router(mock_upstream_url: str) -> AsyncIterator[Router]:
    loaded = load_config_text(ROUTES.format(upstream=mock_upstream_url), filename="routes.toml", environ=KEYS)
    clock = Clock(time.time())
    state = open_state(build_table(loaded), now=clock)
    async with serving_in_process(create_app(state)) as port:
        yield Router(f"http://127.0.0.1:{port}", state, clock)
    await state.aclose()


def anthropic_client(router: Router, key: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=router.url, api_key=KEYS[key], max_retries=0)


def openai_client(router: Router, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{router.url}/v1", api_key=KEYS[key], max_retries=0)


async def ask_anthropic(client: anthropic.AsyncAnthropic, model: str = "claude-test") -> str:
    message = await client.messages.create(model=model, max_tokens=50, messages=[{"role": "user", "content": "hello"}])
    block = message.content[0]
    assert block.type == "text"
    return block.text


async def ask_openai(client: openai.AsyncOpenAI, model: str = "gpt-test") -> str | None:
    answer = await client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hello"}])
    return answer.choices[0].message.content


def resets(router: Router, period: str = "day") -> tuple[str, int]:
    end = period_end(router.clock.now, period)  # type: ignore[arg-type]
    return iso(end), math.ceil(end - router.clock.now)


def assert_retry_after(headers: httpx.Headers, expected: int) -> None:
    assert abs(int(headers["retry-after"]) - expected) <= 1


async def test_anthropic_key_over_its_budget_gets_the_budget_429(router: Router) -> None:
    async with anthropic_client(router, "CI_KEY") as client:
        assert await ask_anthropic(client) == "Echo: hello"
        with pytest.raises(anthropic.RateLimitError) as refused:
            await ask_anthropic(client)
    error = refused.value
    reset_at, wait = resets(router)
    assert error.status_code == 429
    assert isinstance(error.body, dict)
    assert error.body["type"] == "error"
    assert error.body["error"]["type"] == "rate_limit_error"
    message = error.body["error"]["message"]
    assert message.startswith("key 'ci' has spent $")
    assert f"of its $1.00 daily budget; it resets at {reset_at}" in message
    assert_retry_after(error.response.headers, wait)


async def test_openai_key_over_its_budget_gets_the_budget_429(router: Router) -> None:
    async with openai_client(router, "DEV_KEY") as client:
        assert await ask_openai(client) == "Echo: hello"
        with pytest.raises(openai.RateLimitError) as refused:
            await ask_openai(client)
    error = refused.value
    reset_at, wait = resets(router)
    assert error.status_code == 429
    assert isinstance(error.body, dict)
    assert error.body["type"] in ("rate_limit_error", "rate_limit_exceeded", "requests")
    assert error.body["code"] == "budget_exceeded"
    assert "key 'dev' has spent $" in error.body["message"]
    assert f"daily budget; it resets at {reset_at}" in error.body["message"]
    assert_retry_after(error.response.headers, wait)


async def test_other_keys_are_not_held_by_one_keys_budget(router: Router) -> None:
    async with anthropic_client(router, "CI_KEY") as ci, anthropic_client(router, "FREE_KEY") as free:
        await ask_anthropic(ci)
        with pytest.raises(anthropic.RateLimitError):
            await ask_anthropic(ci)
        assert await ask_anthropic(free) == "Echo: hello"
        assert await ask_anthropic(free) == "Echo: hello"  # no budget of its own, and route "main" has none


async def test_a_route_budget_holds_every_key(router: Router) -> None:
    async with openai_client(router, "FREE_KEY") as free, openai_client(router, "DEV_KEY") as dev:
        assert await ask_openai(free, "capped-a") == "Echo: hello"
        for client in (free, dev):
            with pytest.raises(openai.RateLimitError) as refused:
                await ask_openai(client, "capped-b")
            assert "route 'capped' has spent $" in refused.value.body["message"]  # type: ignore[index]
            assert "of its $1.00 weekly budget" in refused.value.body["message"]  # type: ignore[index]


async def test_the_request_in_flight_finishes_and_the_next_is_refused(router: Router) -> None:
    async with anthropic_client(router, "CI_KEY") as client:
        # slow-50: the mock sends one word every 50 ms, so the stream is open while another request spends
        async with client.messages.stream(model="slow-50", max_tokens=50,
                                          messages=[{"role": "user", "content": "one two three four"}]) as stream:
            events = stream.__aiter__()
            await events.__anext__()
            assert await ask_anthropic(client) == "Echo: hello"  # spends the whole budget
            async for _ in events:
                pass
            final = await stream.get_final_message()
        assert final.stop_reason == "end_turn"
        assert "".join(b.text for b in final.content if b.type == "text") == "Echo: one two three four"
        with pytest.raises(anthropic.RateLimitError):
            await ask_anthropic(client)


async def test_the_next_period_lets_the_key_through_again(router: Router) -> None:
    async with anthropic_client(router, "CI_KEY") as client:
        await ask_anthropic(client)
        with pytest.raises(anthropic.RateLimitError):
            await ask_anthropic(client)
        router.clock.now = period_end(router.clock.now, "day") + 1  # past midnight UTC
        assert await ask_anthropic(client) == "Echo: hello"
        with pytest.raises(anthropic.RateLimitError):
            await ask_anthropic(client)  # and that request spent the new day's budget


async def test_usage_and_cost_reach_the_metrics_and_the_admin_endpoint(router: Router) -> None:
    async with anthropic_client(router, "FREE_KEY") as client:
        await ask_anthropic(client)
    async with httpx.AsyncClient(base_url=router.url) as http:
        metrics = (await http.get("/metrics")).text
        usage = (await http.get("/admin/usage", params={"by": "key", "since": "1h"})).json()
    assert 'router_cost_usd_total{key="free",route="main",target="up/*"}' in metrics
    assert 'router_usage_tokens_total{key="free",kind="input",route="main",target="up/*"}' in metrics
    rows = {row["name"]: row for row in usage["rows"]}
    assert rows["free"]["requests"] == 1
    assert rows["free"]["cost_usd"] == pytest.approx(rows["free"]["input_tokens"] + rows["free"]["output_tokens"])
    budgets = {(b["scope"], b["name"]): b for b in usage["budgets"]}
    assert set(budgets) == {("key", "ci"), ("key", "dev"), ("route", "capped")}
    assert budgets[("key", "ci")]["usd"] == 1.0
