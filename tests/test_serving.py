"""Serving: the body size limit (413 in the client's own protocol), CORS when configured, the
load balancer's forwarded headers, and graceful shutdown with real processes: SIGTERM turns
/ready to 503 while a running stream still completes, and shutdown-timeout bounds the wait."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from router.config.load import load_config_text
from router.gateway.state import open_state
from router.routing.lookup import build_table
from router.server.app import create_app
from router.server.shutdown import DrainOnSignal
from tests.support.servers import Process, free_port, running

MOCK_ROUTES = '[upstreams.m]\nkind = "mock"\n\n[[routes]]\nname = "demo"\nmodels = ["demo"]\nto = "m"\n'
MESSAGE = {"model": "demo", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
CHAT = {"model": "demo", "messages": [{"role": "user", "content": "hi"}]}


def client_for(server: str) -> AsyncTestClient:  # type: ignore[type-arg]
    loaded = load_config_text(f"[server]\n{server}\n\n{MOCK_ROUTES}", filename="routes.toml", environ={})
    return AsyncTestClient(app=create_app(open_state(build_table(loaded))))


@pytest.fixture
async def small_limit() -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with client_for("max-body-bytes = 1000") as client:
        yield client


async def test_body_over_the_limit_is_413_in_the_anthropic_shape(small_limit: AsyncTestClient) -> None:  # type: ignore[type-arg]
    big = {**MESSAGE, "messages": [{"role": "user", "content": "x" * 2000}]}
    response = await small_limit.post("/v1/messages", json=big)
    assert response.status_code == 413
    assert response.json() == {"type": "error", "error": {
        "type": "request_too_large", "message": "request body larger than 1000 bytes ([server] max-body-bytes)"}}
    assert (await small_limit.post("/v1/messages", json=MESSAGE)).status_code == 200


async def test_body_over_the_limit_is_413_in_the_openai_shape(small_limit: AsyncTestClient) -> None:  # type: ignore[type-arg]
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 2000}]}
    response = await small_limit.post("/v1/chat/completions", json=big)
    assert response.status_code == 413
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "request_too_large")
    assert "1000 bytes" in error["message"]
    assert (await small_limit.post("/v1/chat/completions", json=CHAT)).status_code == 200


@pytest.mark.parametrize(("path", "openai"), [("/v1/messages", False), ("/v1/messages/count_tokens", False),
                                               ("/v1/chat/completions", True)])
async def test_a_model_endpoint_answers_other_methods_with_405_in_its_shape(
    small_limit: AsyncTestClient, path: str, openai: bool,  # type: ignore[type-arg]
) -> None:
    response = await small_limit.get(path)
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.headers["request-id"].startswith("req_")
    body = response.json()
    message = body["error"]["message"]
    assert message == f"method GET is not allowed on {path}; use POST"
    assert ("type" in body) is not openai  # Anthropic's envelope has a top-level type; OpenAI's none


def test_default_body_limit_is_32_mib() -> None:
    loaded = load_config_text(MOCK_ROUTES, filename="routes.toml", environ={})
    assert create_app(open_state(build_table(loaded))).request_max_body_size == 32 * 1024 * 1024


async def test_cors_preflight_and_headers_when_configured() -> None:
    async with client_for('cors = { origins = ["https://app.example"] }') as client:
        preflight = await client.options("/v1/messages", headers={
            "origin": "https://app.example", "access-control-request-method": "POST",
            "access-control-request-headers": "x-api-key, content-type, anthropic-version"})
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "x-api-key" in preflight.headers["access-control-allow-headers"]
        assert preflight.headers["access-control-max-age"] == "600"
        answer = await client.post("/v1/messages", json=MESSAGE, headers={"origin": "https://app.example"})
        assert answer.headers["access-control-allow-origin"] == "https://app.example"
        assert "request-id" in answer.headers["access-control-expose-headers"]
        stranger = await client.options("/v1/messages", headers={
            "origin": "https://evil.example", "access-control-request-method": "POST"})
        assert "access-control-allow-origin" not in stranger.headers


async def test_no_cors_headers_by_default() -> None:
    async with client_for("") as client:
        answer = await client.post("/v1/messages", json=MESSAGE, headers={"origin": "https://app.example"})
        assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers
        preflight = await client.options("/v1/messages", headers={
            "origin": "https://app.example", "access-control-request-method": "POST"})
        assert "access-control-allow-origin" not in preflight.headers


# --- real processes -----------------------------------------------------------------------------


def _access(process: Process) -> list[dict[str, Any]]:
    return [json.loads(line) for line in process.lines if line.startswith('{"time"')]


def _config(tmp_path: Path, server: str, routes: str) -> Path:
    config = tmp_path / "routes.toml"
    config.write_text(f"[server]\n{server}\n\n{routes}")
    return config


@contextmanager
def serve(tmp_path: Path, server: str, routes: str = MOCK_ROUTES, env: dict[str, str] | None = None) -> Iterator[tuple[str, Process]]:
    port = free_port()
    config = _config(tmp_path, server, routes)
    with running(["router", "serve", "--config", str(config), "--port", str(port)], port, env) as process:
        yield f"http://127.0.0.1:{port}", process


def _wait_for_lines(process: Process, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while len(_access(process)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return _access(process)


@pytest.mark.parametrize(("setting", "client"), [("", "203.0.113.7"), ("forwarded-allow-ips = []", "127.0.0.1")])
def test_forwarded_client_address_from_a_trusted_balancer(tmp_path: Path, setting: str, client: str) -> None:
    """The default trusts a balancer on the same host (127.0.0.1); `[]` trusts nobody."""
    with serve(tmp_path, setting) as (url, process):
        response = httpx.post(f"{url}/v1/messages", json=MESSAGE, headers={"x-forwarded-for": "203.0.113.7"})
        assert response.status_code == 200
        [line] = _wait_for_lines(process, 1)
    assert line["client"] == client


def test_chunked_body_over_the_limit_is_413_from_a_real_server(tmp_path: Path) -> None:
    """No content-length to refuse early: the limit counts the bytes as they arrive."""
    with serve(tmp_path, "max-body-bytes = 1000") as (url, process):
        chunks = (b" " * 400 for _ in range(4))  # a generator: sent chunked
        response = httpx.post(f"{url}/v1/messages", content=chunks, headers={"content-type": "application/json"})
        assert response.status_code == 413 and response.json()["error"]["type"] == "request_too_large"
        [line] = _wait_for_lines(process, 1)
    assert (line["status"], line["error"]) == (413, "request_too_large")


UPSTREAM_ROUTES = """
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


def _slow_stream(ms: int, words: int) -> dict[str, Any]:
    return {"model": f"slow-{ms}", "max_tokens": 10, "stream": True,
            "messages": [{"role": "user", "content": " ".join(f"w{i}" for i in range(words))}]}


def _refused(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/ready", timeout=0.5)
        except httpx.ConnectError:
            return True
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    return False


def test_sigterm_turns_ready_off_first_and_lets_a_stream_finish(tmp_path: Path, mock_upstream_url: str) -> None:
    routes = UPSTREAM_ROUTES.format(upstream=mock_upstream_url)
    with serve(tmp_path, "drain-delay = 1.0\nshutdown-timeout = 20", routes, {"UP_KEY": "sk-up"}) as (url, process):
        assert httpx.get(f"{url}/ready").json()["status"] == "ready"
        with httpx.stream("POST", f"{url}/v1/messages", json=_slow_stream(250, 10), timeout=30) as response:
            lines = response.iter_lines()
            for line in lines:
                if "content_block_delta" in line:
                    break
            process.send_signal(signal.SIGTERM)
            time.sleep(0.1)
            ready = httpx.get(f"{url}/ready", timeout=2)  # a new connection, during the drain delay
            assert (ready.status_code, ready.json()) == (503, {"status": "draining"})
            assert _refused(url, 5), "the listener should close after the drain delay"
            assert process.poll() is None, "exited while a stream was still running"
            rest = "\n".join(lines)
        assert rest.rstrip().endswith('data: {"type":"message_stop"}')
        assert process.wait(timeout=20) in (0, -signal.SIGTERM)
        [line] = _wait_for_lines(process, 1)
    assert (line["status"], line["stream"], line["error"]) == (200, True, None)
    assert "Application shutdown complete" in process.output()


def test_shutdown_timeout_cuts_a_stream_that_runs_too_long(tmp_path: Path, mock_upstream_url: str) -> None:
    routes = UPSTREAM_ROUTES.format(upstream=mock_upstream_url)
    with serve(tmp_path, "shutdown-timeout = 1", routes, {"UP_KEY": "sk-up"}) as (url, process):
        received = []
        with httpx.stream("POST", f"{url}/v1/messages", json=_slow_stream(300, 60), timeout=30) as response:
            lines = response.iter_lines()
            for line in lines:
                if "content_block_delta" in line:
                    break
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            with pytest.raises(httpx.HTTPError):  # the connection goes away mid-body
                received.extend(lines)
        assert process.wait(timeout=10) in (0, -signal.SIGTERM)
        assert time.monotonic() - started < 6  # about the 1 s timeout, far from the 18 s stream
        [line] = _wait_for_lines(process, 1)
    assert not [text for text in received if "message_stop" in text]
    assert (line["status"], line["error"]) == (499, "cancelled")


async def test_drain_on_signal_runs_before_the_servers_handler() -> None:
    """In front of a stand-in for uvicorn's handler: readiness off at once, the signal passed on
    after the delay, a second signal passed on at once, the handler restored afterwards."""
    calls: list[int] = []

    def server_handler(sig: int, frame: FrameType | None) -> None:
        calls.append(sig)

    class State:
        ready = True

    state = State()
    original = signal.signal(signal.SIGTERM, server_handler)
    try:
        drain = DrainOnSignal(state, 0.2)
        drain.install()
        signal.raise_signal(signal.SIGTERM)
        assert state.ready is False and calls == []
        await asyncio.sleep(0.1)
        assert calls == []
        await asyncio.sleep(0.3)
        assert calls == [signal.SIGTERM]
        signal.raise_signal(signal.SIGTERM)
        assert calls == [signal.SIGTERM, signal.SIGTERM]
        drain.uninstall()
        assert signal.getsignal(signal.SIGTERM) is server_handler
    finally:
        signal.signal(signal.SIGTERM, original)


async def test_drain_on_signal_leaves_default_handlers_alone() -> None:
    """Outside `router serve` (tests, embedding) there is no server handler to stand in front of."""
    original = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        drain = DrainOnSignal(type("S", (), {"ready": True})(), 1.0)
        drain.install()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        drain.uninstall()
    finally:
        signal.signal(signal.SIGTERM, original)


def test_the_start_summary_names_weighted_targets(capsys: pytest.CaptureFixture[str]) -> None:
    """`router serve` printed its summary with ', '.join(route.to), which raised TypeError for
    `{ target, weight }` entries: a table with a weighted route could not be served."""
    from router.cli.main import _print_summary

    loaded = load_config_text(
        '[upstreams.m]\nkind = "mock"\n\n[[routes]]\nname = "spread"\nmodels = ["chat"]\n'
        'balance = "weighted"\nto = [{ target = "m/a", weight = 3 }, "m/b"]\n',
        filename="routes.toml", environ={})
    _print_summary(loaded, "127.0.0.1", 8080)
    assert "-> m/a, m/b  [on]" in capsys.readouterr().out
