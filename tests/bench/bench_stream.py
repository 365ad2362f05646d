"""Streaming benchmark (not a test): `python -m tests.bench.bench_stream`.

1. Per-chunk conversion cost: a recorded-style OpenAI stream (text, reasoning, tool calls) fed
   through the SSE parser and the OpenAI→Anthropic state machine in-process, many times.
2. Added time to first byte: the real router (`router serve`) in front of the loopback mock
   upstream, next to a direct call to the same upstream, sequential streaming requests; p50/p90 of
   time to the first body byte and of the whole stream, and the router's added share.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx
import msgspec

from router.config.target import Capabilities, TargetContext
from router.core.sse import SSEParser
from router.routing.compose import table_spec
from router.spokes.openai.upstream.stream import AnthropicStreamFromOpenAI
from router.spokes.registry import SPOKES
from router.spokes.spoke import FieldTable
from router.upstream.mock import chunks
from tests.support.servers import free_port, running

_encode = msgspec.json.Encoder().encode

REQUEST = {
    "model": "m", "stream": True, "stream_options": {"include_usage": True}, "reasoning_effort": "low",
    "messages": [{"role": "user", "content": " ".join(f"word{i}" for i in range(48)) + " think"}],
}


def _openai_upstream_table() -> FieldTable:
    table = SPOKES["openai"].upstream.table
    assert table is not None
    return table


def recorded_stream() -> bytes:
    return b"".join(b"data: " + _encode(c) + b"\n\n" for c in chunks(REQUEST)) + b"data: [DONE]\n\n"


def per_chunk_cost(rounds: int) -> tuple[int, float]:
    body = recorded_stream()
    ctx = TargetContext("bench", "mock", "m", Capabilities())
    finish = table_spec(_openai_upstream_table()).values["finish_reason"]
    events = body.count(b"data: ")
    start = time.perf_counter()
    for _ in range(rounds):
        machine = AnthropicStreamFromOpenAI(ctx, message_id="msg_1", model="m", input_tokens=None, finish_values=finish)
        parser = SSEParser()
        out = [machine.start()]
        for piece in (body[i : i + 512] for i in range(0, len(body), 512)):
            out.extend(machine.on_data(event.data) for event in parser.feed(piece))
        out.extend(machine.on_data(event.data) for event in parser.flush())
        out.append(machine.finish())
    elapsed = time.perf_counter() - start
    return events, elapsed / (rounds * events) * 1e6


def _time_stream(client: httpx.Client, url: str, body: dict[str, object], headers: dict[str, str]) -> tuple[float, float]:
    start = time.perf_counter()
    first = None
    with client.stream("POST", url, json=body, headers=headers) as response:
        for _ in response.iter_raw():
            if first is None:
                first = time.perf_counter() - start
    return first or 0.0, time.perf_counter() - start


def ttfb(requests: int) -> dict[str, tuple[float, float, float, float]]:
    upstream_port, router_port = free_port(), free_port()
    routes = f"""
[upstreams.up]
kind = "openai"
base-url = "http://127.0.0.1:{upstream_port}/v1"

[[routes]]
name = "bench"
models = ["bench"]
to = "up/m"
"""
    results = {}
    with TemporaryDirectory() as tmp, running(["tests.support.mock_upstream", "--port", str(upstream_port)], upstream_port):
        config = Path(tmp) / "routes.toml"
        config.write_text(routes)
        with running(["router", "serve", "--config", str(config), "--port", str(router_port)], router_port):
            with httpx.Client(timeout=30) as client:
                direct = f"http://127.0.0.1:{upstream_port}/v1/chat/completions"
                routed = f"http://127.0.0.1:{router_port}/v1/messages"
                anthropic_body = {"model": "bench", "max_tokens": 100, "stream": True,
                                  "messages": [{"role": "user", "content": REQUEST["messages"][0]["content"]}]}  # type: ignore[index]
                for name, url, body in (("direct", direct, REQUEST), ("router", routed, anthropic_body)):
                    for _ in range(20):  # warm up connections and code paths
                        _time_stream(client, url, body, {})
                    samples = [_time_stream(client, url, body, {}) for _ in range(requests)]
                    firsts, totals = [s[0] * 1e3 for s in samples], [s[1] * 1e3 for s in samples]
                    results[name] = (_pct(firsts, 50), _pct(firsts, 90), _pct(totals, 50), _pct(totals, 90))
    return results


def _pct(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100)[pct - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    events, micros = per_chunk_cost(args.rounds)
    print(f"per-chunk conversion (parse + convert + encode), {events}-chunk stream: {micros:.2f} µs/chunk")
    results = ttfb(args.requests)
    print(f"\n{'':8} {'TTFB p50':>10} {'TTFB p90':>10} {'total p50':>10} {'total p90':>10}   (ms, {args.requests} sequential streams)")
    for name, (f50, f90, t50, t90) in results.items():
        print(f"{name:8} {f50:10.2f} {f90:10.2f} {t50:10.2f} {t90:10.2f}")
    d, r = results["direct"], results["router"]
    print(f"{'added':8} {r[0] - d[0]:10.2f} {r[1] - d[1]:10.2f} {r[2] - d[2]:10.2f} {r[3] - d[3]:10.2f}")


if __name__ == "__main__":
    main()
