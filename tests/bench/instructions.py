"""Instructions per request, in process: a benchmark this noisy VM cannot move (not a test).

    valgrind --tool=callgrind --callgrind-out-file=OUT python -m tests.bench.instructions N SCENARIO

runs the router's ASGI app in process (no sockets, no uvicorn: the Python work the router does per
request) on the bench's three scenarios (tests.bench.run: a small request, a 54-event stream, the
65 KB Claude Code request), each answered by a canned upstream through an httpx transport, `N`
times after a warm-up. Instructions per request are (total of N - total of 0) / N; callgrind
counts the same for the same code and inputs whatever else the machine is doing, where CPU time
here moves by a third between two runs of one commit. `--compare BASE_DIR` runs both trees and
prints the table (a few minutes: valgrind is ~50x slower).

Without valgrind it prints microseconds of CPU per request, which are only as good as the VM.
The upstream has an API key, so every chunk goes through the scrubber as in production.

The protocol pairs (tests.bench.pairs: a Responses client on Chat, Anthropic and Responses
upstreams, Anthropic and Chat clients on a Responses upstream, a Gemini client on every kind and
every client on a Gemini upstream, Bedrock Converse and InvokeModel pairs (signed: the AWS
credentials of tests.bench.pairs.PAIR_ENV go into this process's environment), Azure OpenAI
pairs, each a small request and a 54-event stream, a 40 KB Codex request and a 47 KB Gemini CLI
request on Chat) run when named, `pairs` for all of them, `all`
for them and today's three (a Gemini client's path carries its model, its method and `?alt=sse`):

    python -m tests.bench.instructions 300 resp-chat-small,resp-chat-stream
    python -m tests.bench.instructions 300 gem-chat-small,gem-agent
    python -m tests.bench.instructions 300 anth-bedrock-stream,anth-invoke-stream,chat-azure-stream
    python -m tests.bench.instructions 300 all                  # µs of CPU per request
    python -m tests.bench.instructions 300 pairs --instructions # callgrind, a run per scenario

A run naming a pair loads the pairs' routes and warms every scenario up; `--compare` measures
today's three only, on today's routes, so a base without the Responses spoke still runs.

`--ledger` prices what recording usage costs (issue 18: at most 5 % of a request): each scenario
under callgrind twice, as it is and with the Exchange's usage recording (the UsageEntry, its
Prometheus counters, the ledger and every other usage sink) skipped, and the difference as a share:

    python -m tests.bench.instructions 300 small,stream,agent --ledger

`--telemetry` prices traces the same way (issue 19: at most 10 % at a sampling ratio of 1): each
scenario with every request traced and without traces, OTLP/JSON posted over loopback to a
receiver in a child process (not counted: valgrind follows no children). The run ends with the
tracer's shutdown, which exports what it still holds, so every span recorded is encoded and
posted inside the count, whichever thread does it (callgrind counts them all):

    python -m tests.bench.instructions 300 small,stream,agent --telemetry
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import httpx

from tests.bench.run import FIXTURE, completion_json, stream_sse

SCENARIOS = ("small", "stream", "agent")
GC_YOUNG_THRESHOLD = 50_000  # router.server.gc_tuning's (a base may predate that module)
WARMUP = 50
ROUTES_HEAD = """
[server]
access-log = false

[auth]
keys = ["env:BENCH_KEY"]

[upstreams.plain]
kind = "openai"
base-url = "http://plain.invalid/v1"
api-key = "env:UP_KEY"

[upstreams.sse]
kind = "openai"
base-url = "http://sse.invalid/v1"
api-key = "env:UP_KEY"

[[routes]]
name = "stream"
models = ["claude-stream"]
to = "sse/m"
"""
CATCH_ALL = """
[[routes]]
name = "plain"
models = ["*"]
to = "plain/m"
"""
ROUTES = ROUTES_HEAD + CATCH_ALL
KEY = "bench-client-key"
ENVIRON = {"BENCH_KEY": KEY, "UP_KEY": "sk-bench-upstream-0123456789abcdefghijklmnop"}


class Canned(httpx.AsyncBaseTransport):
    """An upstream that answers every request with the same bytes."""

    def __init__(self, body: bytes, content_type: str) -> None:
        self.body, self.content_type = body, content_type

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(200, headers={"content-type": self.content_type}, stream=httpx.ByteStream(self.body))


def transport(name: str, upstream: object) -> httpx.AsyncBaseTransport:
    if name == "sse":
        return Canned(stream_sse().encode(), "text/event-stream")
    if name == "plain":
        return Canned(completion_json().encode(), "application/json")
    # Only the pairs' routes name other upstreams (and a base checkout has no tests.bench.pairs).
    from tests.bench.pairs import UPSTREAMS

    canned = UPSTREAMS[name]
    return Canned(canned.body(), canned.content_type)


def bodies() -> dict[str, bytes]:
    hello = [{"role": "user", "content": "hi"}]
    agent = json.loads(FIXTURE.read_text())["body"]
    agent["model"] = "claude-stream"
    return {
        "small": json.dumps({"model": "claude-x", "max_tokens": 64, "messages": hello}).encode(),
        "stream": json.dumps({"model": "claude-stream", "max_tokens": 64, "stream": True, "messages": hello}).encode(),
        "agent": json.dumps(agent).encode(),
    }


App = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


def pair_routes() -> str:
    """Today's routes with the pairs' upstreams and routes before the catch-all (first match wins)."""
    from tests.bench.pairs import pair_routes_toml, pair_upstreams_toml

    upstreams = pair_upstreams_toml(lambda upstream: f"http://{upstream.name}.invalid{upstream.base_path}", "env:UP_KEY")
    return ROUTES_HEAD + upstreams + pair_routes_toml() + CATCH_ALL


def pair_environ() -> dict[str, str]:
    """The config's variables and the pairs' (their Azure key); botocore reads its own from this
    process's environment: the Bedrock upstreams' AWS credentials (SigV4, whose cost is measured)."""
    from tests.bench.pairs import PAIR_ENV

    os.environ.update(PAIR_ENV)
    return {**ENVIRON, **PAIR_ENV}


def pair_requests() -> dict[str, tuple[str, bytes]]:
    """(client path and query, body) of every pair scenario."""
    from tests.bench.pairs import PAIRS

    return {name: (pair.client_path, json.dumps(pair.request()).encode()) for name, pair in PAIRS.items()}


async def one(app: App, body: bytes, target: str = "/v1/messages") -> None:
    """One POST to `target` (a path, and a query after `?`), its body in one message, the answer collected."""
    path, _, query = target.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
             "root_path": "", "client": ("127.0.0.1", 5), "server": ("127.0.0.1", 80),
             "headers": [(b"content-type", b"application/json"), (b"x-api-key", KEY.encode()),
                         (b"content-length", str(len(body)).encode())]}
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # never disconnects
        raise AssertionError("unreachable")

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 200, sent


# Set in a measured run's environment: the receiver's port, and every request traced (`--telemetry`).
TELEMETRY_PORT = "ROUTER_BENCH_TELEMETRY_PORT"
RECEIVER = """
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def start_tracing_for_bench(routes: str, environ: dict[str, str]) -> tuple[str, Any]:
    """`routes` with every request traced to the receiver `--telemetry` started, and the tracer."""
    port = os.environ.get(TELEMETRY_PORT)
    if not port:
        return routes, None
    from router.config.load import load_config_text
    from router.observe.tracing import start_tracing

    routes = f'[telemetry]\nendpoint = "http://127.0.0.1:{port}"\nsampling-ratio = 1.0\n' + routes
    loaded = load_config_text(routes, filename="routes.toml", environ=environ)
    return routes, start_tracing(loaded.config.telemetry, {}, lambda: loaded.config)


async def measure(count: int, scenarios: list[str]) -> None:
    try:  # a base from before the hub-and-spokes layout (issue 14) first: an editable install
        # would fill the new packages it lacks from this checkout instead of failing to import
        from router.app import create_app  # type: ignore[import-not-found,no-redef,unused-ignore]
        from router.state import open_state  # type: ignore[import-not-found,no-redef,unused-ignore]
        from router.table.load import load_config_text  # type: ignore[import-not-found,no-redef,unused-ignore]
        from router.table.lookup import build_table  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:
        from router.config.load import load_config_text
        from router.gateway.state import open_state
        from router.routing.lookup import build_table
        from router.server.app import create_app

    logging.getLogger("router").setLevel(logging.ERROR)
    # Today's three alone load today's routes (a base without the pairs' upstream kinds runs them);
    # any pair loads the pairs' routes and warms every pair up too.
    with_pairs = not set(scenarios) <= set(SCENARIOS)
    routes, environ = (pair_routes(), pair_environ()) if with_pairs else (ROUTES, ENVIRON)
    routes, tracing = start_tracing_for_bench(routes, environ)
    state = open_state(build_table(load_config_text(routes, filename="routes.toml", environ=environ)),
                       transport=transport)
    app = create_app(state) if tracing is None else create_app(state, tracing=tracing)
    requests = {name: ("/v1/messages", body) for name, body in bodies().items()}
    if with_pairs:
        requests |= pair_requests()
    unknown = set(scenarios) - requests.keys()
    if unknown:
        sys.exit(f"unknown scenarios: {', '.join(sorted(unknown))} (known: {', '.join(requests)})")
    for path, body in requests.values():  # every run warms up all, so a run of N differs from one of 0 only by N
        for _ in range(WARMUP):
            await one(app, body, path)
    # As `router serve` does at start (router.server.gc_tuning): the process's long-lived objects out
    # of the collector's sight, the young generation's threshold raised. Without it, a full collection
    # walks every module loaded, so a tree that imports more (a new spoke) looked slower per request.
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    for name in scenarios:
        path, body = requests[name]
        started = time.process_time()
        for _ in range(count):
            await one(app, body, path)
        # What `router serve` does once a second: the batched counters and the usage batch's sinks
        # (ledger, recent window) run for the requests above, inside the count (a base from before
        # the batching has no `flush`).
        flush = getattr(state.metrics, "flush", None)
        if flush is not None:
            flush()
        if tracing is not None:  # the spans still held, encoded and posted inside the count
            await asyncio.to_thread(tracing.shutdown)
        if count:
            print(f"{name}: {(time.process_time() - started) / count * 1e6:.1f} us of CPU per request")


# Set in a measured run's environment: skip the Exchange's usage recording (see `--ledger`).
WITHOUT_USAGE = "ROUTER_BENCH_WITHOUT_USAGE"


def skip_usage_recording() -> None:
    """What a run without the ledger measures: the Exchange's usage recording made a no-op, so
    the difference to a normal run is all it costs (UsageEntry, counters, sinks)."""
    from router.observe.exchange import Exchange

    def skipped(self: Exchange, status: int, total: float) -> None:
        return None

    Exchange._used = skipped  # type: ignore[method-assign]


def instructions(tree: Path, count: int, scenario: str, without_usage: bool = False,
                 telemetry_port: int | None = None) -> int:
    """callgrind's total for one run of this measurement on `tree`'s router."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    if without_usage:
        env[WITHOUT_USAGE] = "1"
    if telemetry_port is not None:
        env[TELEMETRY_PORT] = str(telemetry_port)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        # This file, run by path with `tree` first on the path: the base's router and bench data,
        # and this measurement even where the base predates it.
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
                        __file__, str(count), scenario],
                       cwd=tree, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        found = re.search(r"^summary: (\d+)$", out.read_text(), re.MULTILINE)
        assert found, "callgrind wrote no summary"
        return int(found.group(1))


def compare(base: Path, count: int) -> None:
    here = Path(__file__).resolve().parents[2]
    trees = {"base": base.resolve(), "this": here}
    per_request: dict[str, dict[str, float]] = {}
    for label, tree in trees.items():
        idle = instructions(tree, 0, "small")
        per_request[label] = {name: (instructions(tree, count, name) - idle) / count for name in SCENARIOS}
    print(f"instructions per request (callgrind, {count} requests after {WARMUP} of each)\n")
    print("| scenario | base | this | change |\n|---|---:|---:|---:|")
    for name in SCENARIOS:
        old, new = per_request["base"][name], per_request["this"][name]
        print(f"| {name} | {old:,.0f} | {new:,.0f} | {(new / old - 1) * 100:+.1f} % |")


def counted(count: int, scenarios: list[str]) -> None:
    """Instructions per request of `scenarios` on this tree (callgrind, a run each, less a run of 0)."""
    here = Path(__file__).resolve().parents[2]
    idle: dict[bool, int] = {}  # a run of 0 per routes table: today's, or with the pairs'
    print(f"instructions per request (callgrind, {count} requests after {WARMUP} of each)\n")
    print("| scenario | instructions |\n|---|---:|")
    for name in scenarios:
        with_pairs = name not in SCENARIOS
        if with_pairs not in idle:
            idle[with_pairs] = instructions(here, 0, name)
        print(f"| {name} | {(instructions(here, count, name) - idle[with_pairs]) / count:,.0f} |", flush=True)


def ledger_cost(count: int, scenarios: list[str]) -> None:
    """Instructions per request with and without usage recording, and its share (callgrind)."""
    here = Path(__file__).resolve().parents[2]
    print(f"usage recording's cost (callgrind, {count} requests after {WARMUP} of each)\n")
    print("| scenario | with | without | recording's share |\n|---|---:|---:|---:|")
    for name in scenarios:
        idle = {flag: instructions(here, 0, name, flag) for flag in (False, True)}
        with_, without = ((instructions(here, count, name, flag) - idle[flag]) / count for flag in (False, True))
        print(f"| {name} | {with_:,.0f} | {without:,.0f} | {(with_ - without) / with_ * 100:.1f} % |", flush=True)


def telemetry_cost(count: int, scenarios: list[str]) -> None:
    """Instructions per request with every request traced and without traces, and their share."""
    here = Path(__file__).resolve().parents[2]
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout is not None
        port = int(receiver.stdout.readline())
        print(f"traces' cost (callgrind, {count} requests after {WARMUP} of each, sampling ratio 1)\n")
        print("| scenario | traced | untraced | traces add |\n|---|---:|---:|---:|")
        ports = {True: port, False: None}
        idle = {traced: instructions(here, 0, "small", telemetry_port=ports[traced]) for traced in ports}
        for name in scenarios:
            traced, untraced = ((instructions(here, count, name, telemetry_port=ports[flag]) - idle[flag]) / count
                                for flag in (True, False))
            print(f"| {name} | {traced:,.0f} | {untraced:,.0f} | {(traced / untraced - 1) * 100:+.1f} % |",
                  flush=True)
    finally:
        receiver.kill()
        receiver.wait()


def expand(names: str) -> list[str]:
    """Scenario names, with `pairs` for every protocol pair and `all` for today's three and the pairs."""
    expanded: list[str] = []
    for name in names.split(","):
        if name in ("all", "pairs"):
            from tests.bench.pairs import PAIRS

            expanded += [*SCENARIOS, *PAIRS] if name == "all" else list(PAIRS)
        else:
            expanded.append(name)
    return list(dict.fromkeys(expanded))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", type=int, nargs="?", default=300)
    parser.add_argument("scenario", nargs="?", default=",".join(SCENARIOS),
                        help=f"comma-separated: {', '.join(SCENARIOS)}, a pair of tests.bench.pairs "
                             "(resp-chat-small, …), `pairs` or `all`")
    parser.add_argument("--compare", type=Path, metavar="BASE_DIR",
                        help="a checkout of the base commit (with ../shared beside it, like this one)")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions per request on this tree under callgrind (a valgrind run each)")
    parser.add_argument("--ledger", action="store_true",
                        help="what recording usage costs per request: callgrind with and without it")
    parser.add_argument("--telemetry", action="store_true",
                        help="what traces cost per request at a sampling ratio of 1: callgrind with and without")
    args = parser.parse_args()
    if args.telemetry:
        telemetry_cost(args.count, expand(args.scenario))
        return
    if args.ledger:
        ledger_cost(args.count, expand(args.scenario))
        return
    if os.environ.get(WITHOUT_USAGE):
        skip_usage_recording()
    if args.compare is not None:
        compare(args.compare, args.count)
        return
    if args.instructions:
        counted(args.count, expand(args.scenario))
        return
    asyncio.run(measure(args.count, expand(args.scenario)))


if __name__ == "__main__":
    main()
