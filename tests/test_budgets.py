"""Budgets end to end: the official anthropic, openai (Chat and Responses) and google-genai SDKs → the router (uvicorn, in this
process, so its clock can be injected) → the local mock upstream. A key or route that has spent
its budget gets a 429 in its client's protocol saying it is the budget and when it resets, with
`retry-after`; a request in flight when the budget runs out finishes; the next period lets the
key through again. A stream request over budget is refused before any event: a 429 JSON answer in
its protocol's error shape, never an event stream."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

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


async def ask_responses(client: openai.AsyncOpenAI, model: str = "gpt-test") -> str:
    response = await client.responses.create(model=model, input="hello")
    return response.output_text


async def ask_gemini(client: genai.Client, model: str = "gemini-test") -> str | None:
    answer = await client.aio.models.generate_content(model=model, contents="hello")
    return answer.text


def gemini_client(router: Router, key: str, http: httpx.AsyncClient) -> genai.Client:
    """Google's SDK on the given httpx client (so the error keeps its httpx response), no retries."""
    options = genai_types.HttpOptions(base_url=router.url, api_version="v1beta", httpx_async_client=http,
                                      retry_options=genai_types.HttpRetryOptions(attempts=1))
    return genai.Client(api_key=KEYS[key], http_options=options)


def resets(router: Router, period: str = "day") -> tuple[str, int]:
    end = period_end(router.clock.now, period)  # type: ignore[arg-type]
    return iso(end), math.ceil(end - router.clock.now)


def assert_retry_after(headers: Mapping[str, str], expected: int) -> None:
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


async def test_responses_key_over_its_budget_gets_the_budget_429(router: Router) -> None:
    async with openai_client(router, "CI_KEY") as client:
        assert await ask_responses(client) == "Echo: hello"
        with pytest.raises(openai.RateLimitError) as refused:
            await ask_responses(client)
    error = refused.value
    reset_at, wait = resets(router)
    assert error.status_code == 429
    assert isinstance(error.body, dict)
    assert set(error.body) == {"message", "type", "param", "code"}  # the Responses API's error object
    assert error.body["code"] == "budget_exceeded"
    assert error.body["message"].startswith("key 'ci' has spent $")
    assert f"of its $1.00 daily budget; it resets at {reset_at}" in error.body["message"]
    assert_retry_after(error.response.headers, wait)


async def test_gemini_key_over_its_budget_gets_the_budget_429(router: Router) -> None:
    async with httpx.AsyncClient() as http:
        client = gemini_client(router, "CI_KEY", http)
        assert await ask_gemini(client) == "Echo: hello"
        with pytest.raises(genai_errors.ClientError) as refused:
            await ask_gemini(client)
    error = refused.value
    reset_at, wait = resets(router)
    assert (error.code, error.status) == (429, "RESOURCE_EXHAUSTED")
    assert error.message is not None and error.message.startswith("key 'ci' has spent $")
    assert f"of its $1.00 daily budget; it resets at {reset_at}" in error.message
    assert isinstance(error.response, httpx.Response)
    assert_retry_after(error.response.headers, wait)


@dataclass(frozen=True)
class Protocol:
    """One client protocol spoken over raw HTTP: where it asks, how it sends the key, and its body."""

    path: str
    auth: Callable[[str], dict[str, str]]
    body: dict[str, Any]
    stream: dict[str, Any]  # what turns the request into a stream (a body field, or the params below)
    stream_path: str = ""
    stream_params: dict[str, str] | None = None

    def request(self, *, streamed: bool) -> dict[str, Any]:
        path = self.stream_path if streamed and self.stream_path else self.path
        body = {**self.body, **self.stream} if streamed else self.body
        return {"url": path, "json": body, "params": self.stream_params if streamed else None}


HELLO = [{"role": "user", "content": "hello"}]
PROTOCOLS = {
    "anthropic": Protocol("/v1/messages", lambda key: {"x-api-key": key},
                          {"model": "claude-test", "max_tokens": 50, "messages": HELLO}, {"stream": True}),
    "openai-chat": Protocol("/v1/chat/completions", lambda key: {"authorization": f"Bearer {key}"},
                            {"model": "gpt-test", "messages": HELLO}, {"stream": True}),
    "responses": Protocol("/v1/responses", lambda key: {"authorization": f"Bearer {key}"},
                          {"model": "gpt-test", "input": "hello"}, {"stream": True}),
    "gemini": Protocol("/v1beta/models/gemini-test:generateContent", lambda key: {"x-goog-api-key": key},
                       {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}, {},
                       stream_path="/v1beta/models/gemini-test:streamGenerateContent", stream_params={"alt": "sse"}),
}


def budget_message(protocol: str, answer: httpx.Response) -> str:
    """The refusal's message, after checking the answer is that protocol's rate-limit error."""
    error = answer.json()["error"]
    if protocol == "anthropic":
        assert answer.json()["type"] == "error" and error["type"] == "rate_limit_error"
    elif protocol == "gemini":
        assert (error["code"], error["status"]) == (429, "RESOURCE_EXHAUSTED")
    else:
        assert error["code"] == "budget_exceeded"
    message: str = error["message"]
    return message


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
async def test_a_stream_over_budget_is_refused_before_it_starts(router: Router, protocol: str) -> None:
    spoken = PROTOCOLS[protocol]
    async with httpx.AsyncClient(base_url=router.url, headers=spoken.auth(KEYS["FREE_KEY"])) as http:
        allowed = await http.post(**spoken.request(streamed=True))
        assert allowed.headers["content-type"].startswith("text/event-stream")  # what the request asks for
    async with httpx.AsyncClient(base_url=router.url, headers=spoken.auth(KEYS["CI_KEY"])) as http:
        spent = await http.post(**spoken.request(streamed=False))
        assert spent.status_code == 200, spent.text
        refused = await http.post(**spoken.request(streamed=True))
    reset_at, wait = resets(router)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/json")  # an answer, not an event stream
    assert not refused.text.startswith(("event:", "data:"))
    message = budget_message(protocol, refused)
    assert message.startswith("key 'ci' has spent $")
    assert f"of its $1.00 daily budget; it resets at {reset_at}" in message
    assert_retry_after(refused.headers, wait)


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
