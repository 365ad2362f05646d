"""The gateway benchmark (not a test): `python -m tests.bench.run`.

Needs Debian's nginx and wrk (`apt-get install nginx-light wrk`). Starts an nginx mock upstream
that answers instantly (a fixed chat.completion and a fixed 54-event SSE stream), `router serve`
pointed at it with auth on, and wrk as the load generator, on loopback only. The router is pinned
to one core and wrk + nginx to the other. For each scenario and concurrency it prints requests/s,
p50/p99/p99.9 latency, the router's CPU time per request (from /proc: utime + stime over the run,
divided by the requests wrk completed), and the same figures for a direct call to nginx, plus the
router's added p99 and p99.9 (router minus direct at the same percentile: the tail, issue 20), the
router's RSS idle and after load, and the added time to a stream's first byte. Each cell is the
median of `--repeat` runs (3), since neighbours on a shared VM move a single run by a third; the
`steal` column (the hypervisor's share of the machine's CPU time during that router run, from
/proc/stat) says how noisy the run was.

Scenarios: a small non-streaming request, a small streaming request (54 upstream events), and a
65 KB agentic request (a real Claude Code request with its tools, tool turn included).

`--pairs` adds a table of the protocol pairs (tests.bench.pairs: Responses clients on Chat,
Anthropic and Responses upstreams, Anthropic and Chat clients on a Responses upstream, Gemini
clients on every kind and every client on a Gemini upstream, Anthropic, Chat and Responses
clients on Bedrock Converse, Anthropic clients on Claude's InvokeModel (both SigV4-signed with
fake AWS credentials the router gets in its environment), Chat clients on Azure OpenAI, a small
request and a 54-event stream each, a 40 KB Codex request and a 47 KB Gemini CLI request), at
`--pair-concurrency` (16),
each row with its CPU budget checked (✓ / ✗: ≤ 0.6 ms small, ≤ 1.0 ms stream; printed, never
raised); `--only-pairs` skips today's three; `--pair NAME` picks pairs.

`--telemetry` runs the router with OpenTelemetry traces on at a sampling ratio of 1 (issue 19:
their cost, ≤ 10 % of a request's CPU), exported over OTLP/HTTP to nginx, which accepts every
export with an empty 200; the span processor's thread is the router's CPU like the rest. Compare
a run with it and one without.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

from tests.bench.pairs import (
    PAIR_ENV,
    PAIRS,
    UPSTREAMS,
    Pair,
    budget_mark,
    pair_routes_toml,
    pair_upstreams_toml,
)
from tests.bench.pairs import completion_json as completion_json  # noqa: PLC0414 (re-exported: their old home)
from tests.bench.pairs import stream_sse as stream_sse  # noqa: PLC0414
from tests.support.servers import REPO, free_port, running

FIXTURE = REPO.parent / "shared" / "fixtures" / "claude-code" / "tool" / "0002-anthropic_messages_stream.json"
KEY = "bench-client-key"
TICKS = os.sysconf("SC_CLK_TCK")


def nginx_conf(port: int, tmp: Path) -> str:
    """nginx answers a POST to a static file with 405; `error_page 405 =200 $uri` serves the file
    instead, so the canned answers are plain files of any size."""
    tmp.chmod(0o755)  # nginx's workers run as an unprivileged user and must read the files
    # Every protocol's canned answers at the path the router posts to. A location matches the path
    # alone, so Gemini's `models/m:streamGenerateContent?alt=sse` is the file `models/m:streamGenerateContent`
    # (a colon is an ordinary character in a path and a file name).
    for upstream in UPSTREAMS.values():
        target = tmp / "static" / upstream.file_path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(upstream.body())
    locations = "\n".join(f"    location /{upstream.name}/ {{ types {{ }} default_type {upstream.content_type}; "
                           "error_page 405 =200 $uri; }" for upstream in UPSTREAMS.values())
    return f"""
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_buffer_size 256k;
  client_max_body_size 16m;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    root {tmp}/static;
{locations}
    location = /v1/traces {{ return 200; }}  # OTLP/HTTP exports (--telemetry): accepted, dropped
  }}
}}
"""


def routes_toml(nginx: int, pairs: bool = False, telemetry: bool = False) -> str:
    """The bench's routes; `pairs` adds the protocol pairs' upstreams and routes (kinds a router
    from before issue 15 does not know, so `tests.bench.ab` runs both routers without them);
    `telemetry` every request traced, exported to nginx."""
    extra = pair_upstreams_toml(lambda upstream: f"http://127.0.0.1:{nginx}{upstream.base_path}", None)
    traces = f"""
[telemetry]
endpoint = "http://127.0.0.1:{nginx}"
sampling-ratio = 1.0
""" if telemetry else ""
    return traces + (f"""
[auth]
keys = ["env:BENCH_KEY"]

[upstreams.plain]
kind = "openai"
base-url = "http://127.0.0.1:{nginx}/plain/v1"

[upstreams.sse]
kind = "openai"
base-url = "http://127.0.0.1:{nginx}/sse/v1"

[[routes]]
name = "bench"
models = ["bench"]
to = "plain/m"

[[routes]]
name = "bench-stream"
models = ["bench-stream"]
to = "sse/m"
""" + (extra + pair_routes_toml() if pairs else ""))


def small_body(model: str, stream: bool) -> dict[str, object]:
    return {"model": model, "max_tokens": 256, "stream": stream, "messages": [{"role": "user", "content": "Hello there!"}]}


def agentic_body() -> dict[str, object]:
    body = json.loads(FIXTURE.read_text())["body"]
    return {**body, "model": "bench", "stream": False}


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    p999_ms: float  # wrk's --latency stops at p99; the script's done() prints p99.9 (PERCENTILES_LUA)
    cpu_ms: float
    requests: int
    steal: float  # the share of the machine's CPU time the hypervisor took away during the run


def wrk(url: str, body: dict[str, object], connections: int, seconds: float, tmp: Path, cpu_pids: list[int],
        cpus: str = "0") -> Result:
    """`cpus`: the cores wrk may run on (taskset's list; tests.bench.workers lets it use every core)."""
    script, payload = tmp / "post.lua", tmp / "body.json"
    payload.write_text(json.dumps(body))
    script.write_text(  # the body is read from a file: Lua strings know no \u escapes
        'wrk.method = "POST"\n'
        f'local file = io.open("{payload}", "rb")\nwrk.body = file:read("*a")\nfile:close()\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["x-api-key"] = "{KEY}"\n'
        'wrk.headers["anthropic-version"] = "2023-06-01"\n'
        + PERCENTILES_LUA
    )
    before = sum(cpu_seconds(pid) for pid in cpu_pids)
    times_before = machine_times()
    done = subprocess.run(
        ["taskset", "-c", cpus, "wrk", "-t1", f"-c{connections}", f"-d{max(int(seconds), 1)}s", "--latency", "-s", str(script), url],
        check=False, capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stdout}{done.stderr}")
    out = done.stdout
    cpu = sum(cpu_seconds(pid) for pid in cpu_pids) - before
    total, steal = (after - earlier for after, earlier in zip(machine_times(), times_before, strict=True))
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    if "Non-2xx" in out:
        raise RuntimeError(f"non-2xx answers from {url}:\n{out}")
    return Result(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        **percentiles_ms(out),
        cpu_ms=cpu / max(requests, 1) * 1000, requests=requests, steal=steal / max(total, 1),
    )


def first_byte_ms(port: int, path: str, body: dict[str, object], rounds: int = 400) -> float:
    """p50 of the time from sending a streaming request to its first response byte, sequential
    requests on one keep-alive connection; raw sockets, so the client adds next to nothing."""
    payload = json.dumps(body).encode()
    head = (f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            f"x-api-key: {KEY}\r\ncontent-length: {len(payload)}\r\n\r\n").encode()
    times = []
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(rounds):
            started = time.perf_counter()
            sock.sendall(head + payload)
            received = sock.recv(65536)
            times.append(time.perf_counter() - started)
            drain(sock, received)
    return statistics.median(times[rounds // 10:]) * 1000  # the first tenth warms up


def drain(sock: socket.socket, received: bytes) -> None:
    """Read the rest of the response: by its content-length (nginx's static file) or to the
    last chunk (the router streams chunked)."""
    while b"\r\n\r\n" not in received:
        received += _more(sock)
    head, _, body = received.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    if length:
        while len(body) < int(length.group(1)):
            body += _more(sock)
        return
    while not body.endswith(b"0\r\n\r\n"):
        body += _more(sock)


def _more(sock: socket.socket) -> bytes:
    more = sock.recv(65536)
    if not more:
        raise RuntimeError("connection closed mid-response")
    return more


# wrk calls done() once at the end with its latency histogram (microseconds); --latency prints
# only up to p99, and the tail past it is what issue 20 asks about.
PERCENTILES_LUA = (
    "done = function(summary, latency, requests)\n"
    '  io.write(string.format("percentiles-us %d %d %d\\n", latency:percentile(50), '
    "latency:percentile(99), latency:percentile(99.9)))\n"
    "end\n"
)


def percentiles_ms(out: str) -> dict[str, float]:
    """p50, p99 and p99.9 from the line PERCENTILES_LUA's done() prints."""
    p50, p99, p999 = re.search(r"percentiles-us (\d+) (\d+) (\d+)", out).groups()  # type: ignore[union-attr]
    return {"p50_ms": int(p50) / 1000, "p99_ms": int(p99) / 1000, "p999_ms": int(p999) / 1000}


def added_tail(routed: Result, direct: Result) -> str:
    """The router's added p99 and p99.9 (router minus direct, at the same percentile), in ms."""
    return f"{routed.p99_ms - direct.p99_ms:>8.2f} {routed.p999_ms - direct.p999_ms:>9.2f}"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_times() -> tuple[int, int]:
    """(all CPU time, stolen time) of the machine so far, in ticks, from /proc/stat's cpu line:
    on a shared VM, steal is the neighbours' share, and what makes one run slower than another."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    steal = fields[7] if len(fields) > 7 else 0
    return sum(fields[:8]), steal


def rss_mib(pid: int) -> float:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else 0.0


def nginx_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *map(int, children)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per cell, router and direct alternating; the median run is shown "
                             "(a shared VM's neighbours move single runs by a third)")
    parser.add_argument("--pairs", action="store_true",
                        help="also the protocol pairs (tests.bench.pairs), each against its CPU budget")
    parser.add_argument("--only-pairs", action="store_true", help="the protocol pairs without today's scenarios")
    parser.add_argument("--pair-concurrency", default="16", help="concurrency levels of the pairs' rows")
    parser.add_argument("--pair", action="append", choices=sorted(PAIRS), metavar="NAME",
                        help=f"only these pairs (repeatable): {', '.join(PAIRS)}")
    parser.add_argument("--telemetry", action="store_true",
                        help="every request traced (OpenTelemetry, sampling ratio 1), exported to nginx")
    args = parser.parse_args()
    pairs = [PAIRS[name] for name in args.pair or PAIRS] if args.pairs or args.only_pairs or args.pair else []
    for tool in ("nginx", "wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: apt-get install nginx-light wrk util-linux")
    levels = [] if args.only_pairs else [int(c) for c in args.concurrency.split(",")]
    pair_levels = [int(c) for c in args.pair_concurrency.split(",")]
    with TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        nginx_port, router_port = free_port(), free_port()
        (tmp / "nginx.conf").write_text(nginx_conf(nginx_port, tmp))
        nginx = subprocess.Popen(["taskset", "-c", "0", "nginx", "-c", str(tmp / "nginx.conf"), "-p", str(tmp), "-g", "daemon off;"])
        try:
            time.sleep(0.5)
            (tmp / "routes.toml").write_text(routes_toml(nginx_port, pairs=bool(pairs), telemetry=args.telemetry))
            command = ["router", "serve", "--config", str(tmp / "routes.toml"), "--port", str(router_port)]
            env = {"BENCH_KEY": KEY, **(PAIR_ENV if pairs else {})}  # AWS credentials: Bedrock's SigV4
            with running(command, router_port, env=env, log_file=tmp / "router.log") as router:
                os.sched_setaffinity(router.pid, {1})
                if levels:
                    run_all(tmp, router.pid, nginx_pids(nginx.pid), nginx_port, router_port, levels, args.seconds,
                            args.repeat)
                if pairs:
                    run_pairs(tmp, router.pid, nginx_pids(nginx.pid), nginx_port, router_port, pairs, pair_levels,
                              args.seconds, args.repeat)
        finally:
            nginx.terminate()
            nginx.wait()


def median_by(key: Callable[[Result], float], results: list[Result]) -> Result:
    return sorted(results, key=key)[len(results) // 2]


def run_all(tmp: Path, router_pid: int, nginx: list[int], nginx_port: int, router_port: int,
            levels: list[int], seconds: float, repeat: int) -> None:
    router_url = f"http://127.0.0.1:{router_port}/v1/messages"
    scenarios = [
        ("small", router_url, small_body("bench", False), f"http://127.0.0.1:{nginx_port}/plain/v1/chat/completions"),
        ("stream-54", router_url, small_body("bench-stream", True), f"http://127.0.0.1:{nginx_port}/sse/v1/chat/completions"),
        ("agentic-65KB", router_url, agentic_body(), f"http://127.0.0.1:{nginx_port}/plain/v1/chat/completions"),
    ]
    idle = rss_mib(router_pid)
    print(f"router RSS idle: {idle:.1f} MiB   (router on core 1; wrk and nginx on core 0; {seconds:g} s per run, "
          f"median of {repeat})\n")
    print(f"{'scenario':14} {'conc':>4} | {'router rps':>10} {'p50 ms':>7} {'p99 ms':>7} {'p99.9 ms':>8} {'CPU ms/req':>10} | "
          f"{'direct rps':>10} {'p50 ms':>7} {'p99 ms':>7} {'p99.9 ms':>8} | {'+p99 ms':>8} {'+p99.9 ms':>9} | "
          f"{'rps ratio':>9} {'steal':>6}")
    for name, url, body, direct_url in scenarios:
        wrk(url, body, 4, 1.0, tmp, [router_pid])  # warm-up: connections, code paths
        for connections in levels:
            runs = [(wrk(url, body, connections, seconds, tmp, [router_pid]),
                     wrk(direct_url, body, connections, seconds, tmp, nginx)) for _ in range(repeat)]
            routed = median_by(lambda result: result.cpu_ms, [r for r, _ in runs])
            direct = median_by(lambda result: result.rps, [d for _, d in runs])
            print(f"{name:14} {connections:>4} | {routed.rps:>10.0f} {routed.p50_ms:>7.2f} {routed.p99_ms:>7.2f} "
                  f"{routed.p999_ms:>8.2f} {routed.cpu_ms:>10.3f} | {direct.rps:>10.0f} {direct.p50_ms:>7.2f} {direct.p99_ms:>7.2f} "
                  f"{direct.p999_ms:>8.2f} | {added_tail(routed, direct)} | {routed.rps / direct.rps:>9.3f} "
                  f"{routed.steal:>6.1%}")
    print(f"\nrouter RSS after load: {rss_mib(router_pid):.1f} MiB (idle {idle:.1f} MiB)")
    stream = small_body("bench-stream", True)
    routed_ms = statistics.median(first_byte_ms(router_port, "/v1/messages", stream) for _ in range(repeat))
    direct_ms = statistics.median(first_byte_ms(nginx_port, "/sse/v1/chat/completions", stream) for _ in range(repeat))
    print(f"stream time to first byte, concurrency 1, p50: router {routed_ms:.3f} ms, direct {direct_ms:.3f} ms, "
          f"added {routed_ms - direct_ms:.3f} ms")



def run_pairs(tmp: Path, router_pid: int, nginx: list[int], nginx_port: int, router_port: int, pairs: list[Pair],
              levels: list[int], seconds: float, repeat: int) -> None:
    """A row per protocol pair and concurrency: the router's CPU per request against the pair's
    budget (a report: over budget is printed, never raised), and the ratio to nginx directly."""
    print(f"\nprotocol pairs (router on core 1; wrk and nginx on core 0; {seconds:g} s per run, median of {repeat})\n")
    print(f"{'pair':40} {'conc':>4} | {'router rps':>10} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/req':>10} "
          f"{'budget':>9} | {'direct rps':>10} | {'+p99 ms':>8} {'+p99.9 ms':>9} | {'rps ratio':>9} {'steal':>6}")
    for pair in pairs:
        url, body = f"http://127.0.0.1:{router_port}{pair.client_path}", pair.request()
        direct_url = f"http://127.0.0.1:{nginx_port}{pair.upstream_path}"
        wrk(url, body, 4, 1.0, tmp, [router_pid])  # warm-up: connections, code paths
        for connections in levels:
            runs = [(wrk(url, body, connections, seconds, tmp, [router_pid]),
                     wrk(direct_url, body, connections, seconds, tmp, nginx)) for _ in range(repeat)]
            routed = median_by(lambda result: result.cpu_ms, [r for r, _ in runs])
            direct = median_by(lambda result: result.rps, [d for _, d in runs])
            print(f"{pair.label:40} {connections:>4} | {routed.rps:>10.0f} {routed.p50_ms:>7.2f} {routed.p99_ms:>7.2f} "
                  f"{routed.cpu_ms:>10.3f} {budget_mark(routed.cpu_ms, pair.budget_ms):>9} | {direct.rps:>10.0f} | "
                  f"{added_tail(routed, direct)} | {routed.rps / direct.rps:>9.3f} {routed.steal:>6.1%}")
    print(f"\nrouter RSS after the pairs: {rss_mib(router_pid):.1f} MiB")


if __name__ == "__main__":
    main()
