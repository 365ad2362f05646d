"""GET /metrics: requests through the in-process app (upstreams mocked by respx), then a scrape
shows each counter and histogram with the right labels; and `router serve --workers 2` sums the
counts of both workers in one scrape."""

from __future__ import annotations

import concurrent.futures
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import respx
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from router.config.load import load_config_text
from router.gateway.state import RouterState, open_state
from router.observe.batched import FLUSH_SECONDS
from router.observe.metrics import MULTIPROC_ENV, Metrics, multiprocess_directory
from router.routing.lookup import build_table
from router.server.app import create_app
from tests.support.servers import free_port, running

ROUTES = """
[upstreams.a]
kind = "openai"
base-url = "https://a.example/v1"
api-key = "env:UP_KEY"

[upstreams.b]
kind = "openai"
base-url = "https://b.example/v1"
api-key = "env:UP_KEY"

[upstreams.claude]
kind = "anthropic"
base-url = "https://anthropic.example"
api-key = "env:UP_KEY"

[[routes]]
name = "flaky"
models = ["flaky"]
to = ["a/m1", "b/m2"]
retry = { attempts = 2, backoff = 0, failures = 1, cooldown = 60 }

[[routes]]
name = "claude"
models = ["claude-*"]
to = "claude"
retry = { attempts = 1 }

[[routes]]
name = "gpt"
models = ["gpt-*"]
to = "a/gpt-x"
retry = { attempts = 1 }
"""
A_URL = "https://a.example/v1/chat/completions"
B_URL = "https://b.example/v1/chat/completions"
CLAUDE_URL = "https://anthropic.example/v1/messages"
MESSAGE = {"max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
CHAT = {"messages": [{"role": "user", "content": "hi"}]}
COMPLETION = {"id": "c1", "model": "m2", "choices": [
    {"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3}}
OPENAI_SSE = (b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
              b'data: {"choices":[{"index":0,"delta":{"content":"he"}}]}\n\n'
              b'data: {"choices":[{"index":0,"delta":{"content":"llo"},"finish_reason":"stop"}]}\n\n'
              b'data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2}}\n\n'
              b"data: [DONE]\n\n")
OPENAI_SSE_CUT = b'data: {"choices":[{"index":0,"delta":{"content":"he"}}]}\n\n'
ANTHROPIC_SSE = b"".join(
    b"event: " + name + b"\ndata: " + data + b"\n\n" for name, data in [
        (b"message_start", (b'{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",'
                            b'"model":"claude-x","content":[],"stop_reason":null,'
                            b'"usage":{"input_tokens":11,"cache_read_input_tokens":4,"output_tokens":1}}}')),
        (b"content_block_start", b'{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'),
        (b"content_block_delta", b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}'),
        (b"content_block_stop", b'{"type":"content_block_stop","index":0}'),
        (b"message_delta", b'{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}'),
        (b"message_stop", b'{"type":"message_stop"}'),
    ]
)
SSE = {"content-type": "text/event-stream"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, metric: str, /, **labels: str) -> float | None:
    return samples.get((metric, frozenset(labels.items())))


@pytest.fixture
async def app() -> AsyncIterator[tuple[AsyncTestClient, RouterState]]:  # type: ignore[type-arg]
    loaded = load_config_text(ROUTES, filename="routes.toml", environ={"UP_KEY": "sk-up"})
    state = open_state(build_table(loaded), transport=lambda name, upstream: httpx.AsyncHTTPTransport())
    async with AsyncTestClient(app=create_app(state)) as client:
        yield client, state


async def scrape(client: AsyncTestClient) -> Samples:  # type: ignore[type-arg]
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse(response.text)


@respx.mock
async def test_retry_fallback_and_cooldown_are_counted(app: tuple[AsyncTestClient, RouterState]) -> None:  # type: ignore[type-arg]
    client, _ = app
    respx.post(A_URL).mock(return_value=httpx.Response(503, text="busy"))
    respx.post(B_URL).mock(return_value=httpx.Response(200, json=COMPLETION))
    response = await client.post("/v1/messages", json={**MESSAGE, "model": "flaky"})
    assert response.status_code == 200 and response.headers["x-router-target"] == "b/m2"
    samples = await scrape(client)
    assert value(samples, "router_requests_total", route="flaky", target="b/m2", pair="anthropic__openai", status="200") == 1
    assert value(samples, "router_retries_total", route="flaky", target="a/m1") == 1
    assert value(samples, "router_fallbacks_total", route="flaky", target="b/m2") == 1
    assert value(samples, "router_cooldowns_total", target="a/m1") == 1
    # Upstream time per attempt and the router's own time: separate histograms.
    assert value(samples, "router_upstream_seconds_count", target="a/m1", stream="false") == 1
    assert value(samples, "router_upstream_seconds_count", target="b/m2", stream="false") == 1
    assert value(samples, "router_overhead_seconds_count", pair="anthropic__openai", stream="false") == 1
    assert value(samples, "router_overhead_seconds_bucket", pair="anthropic__openai", stream="false", le="+Inf") == 1
    assert value(samples, "router_tokens_total", route="flaky", target="b/m2", direction="in") == 12
    assert value(samples, "router_tokens_total", route="flaky", target="b/m2", direction="out") == 3
    assert value(samples, "router_ttft_seconds_count", route="flaky", target="b/m2") is None  # unary


@respx.mock
async def test_stream_counts_ttft_tokens_and_the_status_it_ended_with(app: tuple[AsyncTestClient, RouterState]) -> None:  # type: ignore[type-arg]
    client, _ = app
    respx.post(A_URL).mock(side_effect=[httpx.Response(200, headers=SSE, content=OPENAI_SSE),
                                        httpx.Response(200, headers=SSE, content=OPENAI_SSE_CUT)])
    whole = await client.post("/v1/messages", json={**MESSAGE, "model": "gpt-1", "stream": True})
    assert whole.text.rstrip().endswith('data: {"type":"message_stop"}')
    cut = await client.post("/v1/messages", json={**MESSAGE, "model": "gpt-1", "stream": True})
    assert "event: error" in cut.text and cut.status_code == 200
    samples = await scrape(client)
    labels = {"route": "gpt", "target": "a/gpt-x", "pair": "anthropic__openai"}
    assert value(samples, "router_requests_total", **labels, status="200") == 1
    assert value(samples, "router_requests_total", **labels, status="502") == 1  # ended in an error event
    assert value(samples, "router_ttft_seconds_count", route="gpt", target="a/gpt-x") == 2
    assert value(samples, "router_upstream_seconds_count", target="a/gpt-x", stream="true") == 2
    assert value(samples, "router_tokens_total", route="gpt", target="a/gpt-x", direction="in") == 9
    assert value(samples, "router_tokens_total", route="gpt", target="a/gpt-x", direction="out") == 2


@respx.mock
async def test_tokens_from_every_stream_machine(app: tuple[AsyncTestClient, RouterState]) -> None:  # type: ignore[type-arg]
    """Passthrough (both protocols) and the OpenAI-client machine report the usage they saw."""
    client, _ = app
    respx.post(CLAUDE_URL).mock(side_effect=lambda request: httpx.Response(200, headers=SSE, content=ANTHROPIC_SSE))
    respx.post(A_URL).mock(return_value=httpx.Response(200, headers=SSE, content=OPENAI_SSE))
    await client.post("/v1/messages", json={**MESSAGE, "model": "claude-x", "stream": True})
    await client.post("/v1/chat/completions", json={**CHAT, "model": "claude-x", "stream": True})
    await client.post("/v1/chat/completions", json={**CHAT, "model": "gpt-1", "stream": True,
                                                    "stream_options": {"include_usage": True}})
    samples = await scrape(client)
    for pair in ("anthropic__anthropic", "openai__anthropic"):
        assert value(samples, "router_requests_total", route="claude", target="claude/*", pair=pair, status="200") == 1
    # in = input + cache reads, out = message_delta's cumulative count; twice (two requests).
    assert value(samples, "router_tokens_total", route="claude", target="claude/*", direction="in") == 30
    assert value(samples, "router_tokens_total", route="claude", target="claude/*", direction="out") == 14
    assert value(samples, "router_requests_total", route="gpt", target="a/gpt-x", pair="openai__openai", status="200") == 1
    assert value(samples, "router_tokens_total", route="gpt", target="a/gpt-x", direction="in") == 9


async def test_requests_the_router_refuses_itself(app: tuple[AsyncTestClient, RouterState]) -> None:  # type: ignore[type-arg]
    client, _ = app
    assert (await client.post("/v1/messages", json={**MESSAGE, "model": "nothing"})).status_code == 404
    assert (await client.post("/v1/chat/completions", content=b"{not json")).status_code == 400
    await client.get("/health")
    samples = await scrape(client)
    assert value(samples, "router_requests_total", route="", target="", pair="", status="404") == 1
    assert value(samples, "router_requests_total", route="", target="", pair="", status="400") == 1
    # No upstream was involved: nothing to split into upstream and overhead.
    assert not [key for key in samples if key[0] == "router_overhead_seconds_count"]
    assert sum(v for (name, _), v in samples.items() if name == "router_requests_total") == 2  # probes not counted


async def test_rate_limit_and_reload_counters(app: tuple[AsyncTestClient, RouterState]) -> None:  # type: ignore[type-arg]
    """What the rate limiter and the reloader call."""
    client, state = app
    state.metrics.record_rate_limited("key", "team-a")
    state.metrics.record_rate_limited("key", "team-a")
    state.metrics.record_config_reload("reloaded")
    state.metrics.record_config_reload("invalid")
    samples = await scrape(client)
    assert value(samples, "router_rate_limited_total", scope="key", name="team-a") == 2
    assert value(samples, "router_config_reloads_total", result="reloaded") == 1
    assert value(samples, "router_config_reloads_total", result="invalid") == 1


async def test_openmetrics_when_the_scraper_asks(app: tuple[AsyncTestClient, RouterState]) -> None:  # type: ignore[type-arg]
    client, state = app
    state.metrics.record_config_reload("reloaded")
    response = await client.get("/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
    assert response.text.rstrip().endswith("# EOF")


def test_each_app_counts_alone() -> None:
    first, second = Metrics(), Metrics()
    first.record_cooldown("x")
    assert b'router_cooldowns_total{target="x"} 1.0' in first.exposition()[0]
    assert b"router_cooldowns_total{" not in second.exposition()[0]


def test_multiprocess_directory_is_fresh_and_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    with multiprocess_directory(1):
        assert MULTIPROC_ENV not in os.environ  # one process: plain in-memory metrics
    with multiprocess_directory(2):
        directory = Path(os.environ[MULTIPROC_ENV])
        assert directory.is_dir() and not list(directory.iterdir())
    assert MULTIPROC_ENV not in os.environ and not directory.exists()
    monkeypatch.setenv(MULTIPROC_ENV, "/somewhere/the/operator/chose")
    with multiprocess_directory(4):
        assert os.environ[MULTIPROC_ENV] == "/somewhere/the/operator/chose"


# --- a real `router serve --workers 2` ----------------------------------------------------------

WORKER_ROUTES = '[upstreams.m]\nkind = "mock"\n\n[[routes]]\nname = "demo"\nmodels = ["demo"]\nto = "m"\n'


def _children_metrics_dir(pid: int) -> Path:
    """The directory `router serve` made, read from a worker's environment."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
            for entry in environ:
                if entry.startswith(MULTIPROC_ENV.encode() + b"="):
                    return Path(entry.split(b"=", 1)[1].decode())
    raise AssertionError("no worker has PROMETHEUS_MULTIPROC_DIR")


@pytest.fixture
def two_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    config = tmp_path / "routes.toml"
    config.write_text(WORKER_ROUTES)
    port = free_port()
    with running(["router", "serve", "--config", str(config), "--port", str(port), "--workers", "2"], port,
                 timeout=60) as process:
        yield f"http://127.0.0.1:{port}", process.pid


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads worker environments from /proc")
def test_two_workers_one_scrape_counts_both(two_workers: tuple[str, int]) -> None:
    url, pid = two_workers
    directory = _children_metrics_dir(pid)
    assert directory.name.startswith("router-metrics-")
    body = {**MESSAGE, "model": "demo"}

    def post(_: int) -> int:
        return httpx.post(f"{url}/v1/messages", json=body, timeout=10).status_code  # a new connection each

    sent = 0
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        for _ in range(20):  # the kernel hands connections to either worker: go on until both served
            assert set(pool.map(post, range(32))) == {200}
            sent += 32
            if len(list(directory.glob("counter_*.db"))) >= 2:
                break
    assert len(list(directory.glob("counter_*.db"))) == 2, "one worker served every request"
    # The other worker's request counts reach its metrics file with its next flush (at most
    # router.observe.batched.FLUSH_SECONDS later); histograms are written at once.
    deadline = time.monotonic() + 5 * FLUSH_SECONDS
    while True:
        samples = parse(httpx.get(f"{url}/metrics").text)
        counted = value(samples, "router_requests_total", route="demo", target="m/*", pair="anthropic__openai",
                        status="200")
        if counted == sent or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert counted == sent
    for _ in range(3):  # whichever worker answers the scrape, it counts both
        samples = parse(httpx.get(f"{url}/metrics").text)
        assert value(samples, "router_requests_total", route="demo", target="m/*", pair="anthropic__openai", status="200") == sent
        assert value(samples, "router_overhead_seconds_count", pair="anthropic__openai", stream="false") == sent
    os.kill(pid, 15)
    for _ in range(100):
        if not directory.exists():
            break
        time.sleep(0.1)
    assert not directory.exists(), "router serve left its metrics directory behind"
