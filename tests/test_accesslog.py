"""The access log: one JSON line per request on `router.access`, with the fields an operator
needs and nothing secret; a stream's line is written when the stream ends, with its tokens and
the status it really ended with."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from litestar.testing import AsyncTestClient

from router.config.load import load_config_text
from router.gateway.state import open_state
from router.observe import accesslog
from router.observe.accesslog import AccessLine, AccessLog
from router.routing.lookup import build_table
from router.server.app import create_app
from tests.support.servers import free_port, running

CLIENT_KEY = "rk-client-key-for-the-access-log-0123"
UPSTREAM_KEY = "sk-upstream-secret-for-the-access-log"
PROMPT = "the secret plans for tomorrow"
ROUTES = f"""
[auth]
keys = [{{ name = "team-a", sha256 = "{hashlib.sha256(CLIENT_KEY.encode()).hexdigest()}" }}]

[upstreams.up]
kind = "openai"
base-url = "https://llm.example/v1"
api-key = "env:UP_KEY"

[[routes]]
name = "claude"
models = ["claude-*"]
to = "up/target-model"
retry = {{ attempts = 1 }}
"""
URL = "https://llm.example/v1/chat/completions"
BODY = {"model": "claude-x", "max_tokens": 50, "messages": [{"role": "user", "content": PROMPT}]}
HEADERS = {"x-api-key": CLIENT_KEY}
COMPLETION = {"id": "c1", "model": "target-model", "choices": [
    {"index": 0, "message": {"role": "assistant", "content": "the answer"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 21, "completion_tokens": 4}}
SSE = {"content-type": "text/event-stream"}
FIELDS = {"time", "request_id", "method", "path", "client", "key", "model", "route", "target", "pair", "attempts",
          "status", "error", "stream", "tokens_in", "tokens_out", "total_ms", "upstream_ms", "ttft_ms"}


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.raw: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.raw.append(record.getMessage())

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.raw]


@pytest.fixture
def access() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("router.access")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def make_client(routes: str = ROUTES) -> AsyncTestClient:  # type: ignore[type-arg]
    loaded = load_config_text(routes, filename="routes.toml", environ={"UP_KEY": UPSTREAM_KEY})
    state = open_state(build_table(loaded), transport=lambda name, upstream: httpx.AsyncHTTPTransport())
    return AsyncTestClient(app=create_app(state))


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with make_client() as test_client:
        yield test_client


@respx.mock
async def test_one_line_per_request_with_the_fields(client: AsyncTestClient, access: Lines) -> None:  # type: ignore[type-arg]
    respx.post(URL).mock(return_value=httpx.Response(200, json=COMPLETION))
    response = await client.post("/v1/messages", json=BODY, headers=HEADERS)
    await client.get("/health")
    await client.get("/ready")
    await client.get("/metrics")
    [line] = access.lines  # probes are not logged
    assert set(line) == FIELDS
    assert line["request_id"] == response.headers["request-id"]
    assert line["method"] == "POST" and line["path"] == "/v1/messages" and line["client"]
    assert line["key"] == "team-a"  # the key's name, never the key
    assert (line["model"], line["route"], line["target"], line["pair"]) == ("claude-x", "claude", "up/target-model",
                                                                           "anthropic__openai")
    assert line["attempts"] == ["up/target-model=200"]
    assert (line["status"], line["error"], line["stream"]) == (200, None, False)
    assert (line["tokens_in"], line["tokens_out"]) == (21, 4)
    assert line["total_ms"] >= line["upstream_ms"] > 0 and line["ttft_ms"] is None
    assert line["time"].endswith("Z")
    raw = access.raw[0]
    for secret in (CLIENT_KEY, UPSTREAM_KEY, PROMPT, "the answer"):
        assert secret not in raw


@respx.mock
async def test_failures_name_status_and_error_type(client: AsyncTestClient, access: Lines) -> None:  # type: ignore[type-arg]
    respx.post(URL).mock(return_value=httpx.Response(503, text="busy"))
    await client.post("/v1/messages", json=BODY, headers=HEADERS)
    await client.post("/v1/messages", json=BODY, headers={"x-api-key": "wrong-key-do-not-log"})
    await client.post("/v1/messages", json={**BODY, "model": "unknown"}, headers=HEADERS)
    upstream, unauthenticated, unknown = access.lines
    assert (upstream["status"], upstream["error"], upstream["attempts"]) == (529, "overloaded_error", ["up/target-model=503"])
    assert upstream["upstream_ms"] > 0
    assert (unauthenticated["status"], unauthenticated["error"], unauthenticated["key"]) == (401, "authentication_error", None)
    assert "wrong-key-do-not-log" not in access.raw[1]
    assert (unknown["status"], unknown["error"], unknown["route"], unknown["key"]) == (404, "not_found_error", None, "team-a")


@respx.mock
async def test_a_stream_line_has_its_tokens_and_time_to_first_token(client: AsyncTestClient, access: Lines) -> None:  # type: ignore[type-arg]
    respx.post(URL).mock(return_value=httpx.Response(200, headers=SSE, content=(
        b'data: {"choices":[{"index":0,"delta":{"content":"he"}}]}\n\n'
        b'data: {"choices":[{"index":0,"delta":{"content":"llo"},"finish_reason":"stop"}],'
        b'"usage":{"prompt_tokens":8,"completion_tokens":2}}\n\ndata: [DONE]\n\n')))
    response = await client.post("/v1/messages", json={**BODY, "stream": True}, headers=HEADERS)
    assert "message_stop" in response.text
    [line] = access.lines
    assert (line["status"], line["error"], line["stream"]) == (200, None, True)
    assert (line["tokens_in"], line["tokens_out"]) == (8, 2)
    assert 0 < line["ttft_ms"] <= line["total_ms"]


@respx.mock
async def test_a_stream_that_ends_in_an_error_event_logs_that_error(client: AsyncTestClient, access: Lines) -> None:  # type: ignore[type-arg]
    respx.post(URL).mock(return_value=httpx.Response(
        200, headers=SSE, content=b'data: {"choices":[{"index":0,"delta":{"content":"he"}}]}\n\n'))
    response = await client.post("/v1/messages", json={**BODY, "stream": True}, headers=HEADERS)
    assert response.status_code == 200 and "event: error" in response.text
    [line] = access.lines
    assert (line["status"], line["error"], line["stream"]) == (502, "api_error", True)


@respx.mock
async def test_bodies_only_with_log_bodies(access: Lines) -> None:
    respx.post(URL).mock(return_value=httpx.Response(200, json=COMPLETION))
    async with make_client(ROUTES.replace("[auth]", "[server]\nlog-bodies = true\n\n[auth]")) as client:
        await client.post("/v1/messages", json=BODY, headers=HEADERS)
    [line] = access.lines
    assert PROMPT in line["request_body"] and "the answer" in line["response_body"]
    assert CLIENT_KEY not in access.raw[0] and UPSTREAM_KEY not in access.raw[0]  # headers never


@respx.mock
async def test_access_log_can_be_turned_off(access: Lines) -> None:
    respx.post(URL).mock(return_value=httpx.Response(200, json=COMPLETION))
    async with make_client(ROUTES.replace("[auth]", "[server]\naccess-log = false\n\n[auth]")) as client:
        assert (await client.post("/v1/messages", json=BODY, headers=HEADERS)).status_code == 200
    assert access.lines == []


def _line(request_id: str) -> AccessLine:
    return AccessLine(time=datetime.now(UTC), request_id=request_id, method="POST", path="/v1/messages",
                      client=None, key=None, model=None, route=None, target=None, pair=None, attempts=[],
                      status=200, error=None, stream=False, tokens_in=None, tokens_out=None, total_ms=1.0,
                      upstream_ms=0.5, ttft_ms=None)


def only_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    """router.access as `router serve` has it: our stderr handler alone (pytest adds its own)."""
    logger = logging.getLogger("router.access")
    monkeypatch.setattr(logger, "handlers", [accesslog._OWN])
    monkeypatch.setattr(logger, "disabled", False)


class Writes:
    """A stand-in stderr that records each write call."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def write(self, text: str) -> None:
        self.calls.append(text)


async def test_lines_of_one_loop_iteration_go_out_in_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    only_ours(monkeypatch)
    stderr = Writes()
    monkeypatch.setattr("sys.stderr", stderr)
    writer = AccessLog()
    writer.write(_line("req_1"))
    writer.write(_line("req_2"))
    assert stderr.calls == []  # not yet: the rest of this iteration may end more requests
    await asyncio.sleep(0)
    [call] = stderr.calls
    assert [json.loads(text)["request_id"] for text in call.splitlines()] == ["req_1", "req_2"]
    assert call.endswith("\n")
    writer.write(_line("req_3"))
    writer.flush()  # the lifespan's shutdown: nothing is left behind
    assert json.loads(stderr.calls[1])["request_id"] == "req_3"
    await asyncio.sleep(0)
    assert len(stderr.calls) == 2  # the scheduled flush found nothing left


def test_without_a_running_loop_a_line_is_written_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    only_ours(monkeypatch)
    stderr = Writes()
    monkeypatch.setattr("sys.stderr", stderr)
    AccessLog().write(_line("req_1"))
    assert [json.loads(text)["request_id"] for text in stderr.calls] == ["req_1"]


# --- a real server: the lines on stderr -------------------------------------------------------

E2E_ROUTES = """
[upstreams.up]
kind = "openai"
base-url = "{upstream}/v1"
api-key = "env:UP_KEY"

[[routes]]
name = "slow"
models = ["slow-*"]
to = "up"
retry = {{ attempts = 1 }}
"""


def _access_lines(output: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output if line.startswith('{"time"')]


def test_stderr_lines_and_a_client_that_hangs_up(tmp_path: Path, mock_upstream_url: str) -> None:
    config = tmp_path / "routes.toml"
    config.write_text(E2E_ROUTES.format(upstream=mock_upstream_url))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    body = {"model": "slow-100", "max_tokens": 10, "stream": True,
            "messages": [{"role": "user", "content": " ".join(f"w{i}" for i in range(50))}]}
    with running(["router", "serve", "--config", str(config), "--port", str(port)], port,
                 env={"UP_KEY": UPSTREAM_KEY}) as process:
        whole = {**body, "messages": [{"role": "user", "content": "a b c d"}]}
        with httpx.stream("POST", f"{url}/v1/messages", json=whole, timeout=10) as response:
            lines = response.iter_lines()
            for line in lines:
                if "content_block_delta" in line:
                    break
            time.sleep(0.3)
            assert _access_lines(process.lines) == []  # mid-stream: not yet
            assert "message_stop" in "".join(lines)
        with httpx.stream("POST", f"{url}/v1/messages", json=body, timeout=10) as response:
            for line in response.iter_lines():
                if "content_block_delta" in line:
                    break  # hang up mid-stream
        deadline = time.monotonic() + 5
        while len(_access_lines(process.lines)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        finished, abandoned = _access_lines(process.lines)
    assert (finished["status"], finished["stream"], finished["tokens_out"] > 0) == (200, True, True)
    assert (abandoned["status"], abandoned["error"], abandoned["stream"]) == (499, "cancelled", True)
    assert abandoned["ttft_ms"] is not None and abandoned["route"] == "slow"
    assert UPSTREAM_KEY not in process.output()
    assert not [line for line in process.lines if '"GET /health' in line or "POST /v1/messages HTTP" in line]  # uvicorn's log is off
