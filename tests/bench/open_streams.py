"""Many open streams (issue 20), a benchmark, not a test: `python -m tests.bench.open_streams`.

For each N in `--streams` (1,000 / 5,000 / 10,000 by default), on loopback only, with fresh
processes each time:
- a slow upstream (tests.bench.slow_upstream: one event a second per stream, `--events` of them),
- `router serve` in front of it, pinned to core 1, Anthropic Messages clients on that OpenAI-kind
  upstream (every event converted, as for Claude Code on DeepSeek),
- the load generator (tests.bench.stream_clients), which opens N streaming requests at `--rate`
  a second and reads every one to its end, counting what went wrong by reason.
Once all N are open and before the first ends, a steady window of `--window` seconds measures:
- the router's RSS per open stream: (RSS in the window − RSS idle, after a warm-up) / N;
- the router's CPU per relayed event: its utime + stime over the window / the content events
  the clients received in it;
- (then, in a second window of the same length) a new small request while they are open: a probe opens a new connection every 20 ms, sends a
  small non-streaming request, and times the first byte and the whole answer; it alternates with
  the same probe straight to the upstream (the machine's floor, under the same load).
Then it waits for every stream to end and prints the table.

File descriptors: the router holds two per stream (the client's connection and the upstream's),
so N streams need 2N + its own (~30). Each process raises its soft limit to the hard one; raising
the hard limit needs CAP_SYS_RESOURCE. An N that does not fit is run at the largest N that does,
and the row says so: never silently.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

from tests.bench.run import KEY, cpu_seconds, drain, rss_mib
from tests.support.servers import REPO, free_port, running

ROUTER_OWN_FDS = 20  # listening socket, epoll, log file, pipes: 14 counted at 9,980 streams, and a margin
TARGETS = "no errors · ≤ 32 KiB RSS per stream · CPU per event flat · new request ≤ 5 ms p99"


def routes_toml(upstream_port: int) -> str:
    """The router's defaults throughout: the table an operator would write (the upstream's
    connection limit included: at 256, its old default, this bench's first finding)."""
    return f"""
[auth]
keys = ["env:BENCH_KEY"]

[upstreams.slow]
kind = "openai"
base-url = "http://127.0.0.1:{upstream_port}/v1"

[[routes]]
name = "slow"
models = ["slow"]
to = "slow/m"
"""


@dataclass
class Row:
    asked: int
    streams: int
    good: int
    errors: dict[str, int]
    idle_rss_mib: float
    rss_mib: float
    cpu_us_per_event: float
    events_per_s: float
    probe_router: list[float]  # seconds, whole answer
    probe_router_first: list[float]
    probe_direct: list[float]
    fds: int
    threads: int


def fitting_streams(asked: int) -> int:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return min(asked, (hard - ROUTER_OWN_FDS) // 2)


def probe_once(port: int, path: str, payload: bytes, headers: str) -> tuple[float, float]:
    """(first byte, whole answer) of one small request on a new connection, in seconds."""
    head = (f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n{headers}"
            f"content-length: {len(payload)}\r\nconnection: close\r\n\r\n").encode()
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(head + payload)
        received = sock.recv(65536)
        first = time.perf_counter() - started
        drain(sock, received)
        return first, time.perf_counter() - started


def probe(router_port: int, upstream_port: int, seconds: float) -> tuple[list[float], list[float], list[float]]:
    """Alternating router and direct probes, one every 20 ms, for `seconds`."""
    routed = json.dumps({"model": "slow", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}).encode()
    direct = json.dumps({"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}).encode()
    router_headers = f"x-api-key: {KEY}\r\nanthropic-version: 2023-06-01\r\n"
    whole, first, floor = [], [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        first_byte, answered = probe_once(router_port, "/v1/messages", routed, router_headers)
        first.append(first_byte)
        whole.append(answered)
        floor.append(probe_once(upstream_port, "/v1/chat/completions", direct, "")[1])
        time.sleep(0.02)
    return whole, first, floor


def read_status(path: Path) -> dict[str, object]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def wait_for(path: Path, test: object, timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = read_status(path)
        if status and test(status):  # type: ignore[operator]
            return status
        time.sleep(0.2)
    return read_status(path)


def all_opened(status: dict[str, object], streams: int) -> bool:
    """Every stream asked for has connected (or already ended, well or not)."""
    errors = status.get("errors") or {}
    settled = int(status.get("open", 0)) + int(status.get("good", 0)) + sum(errors.values())  # type: ignore[call-overload, union-attr]
    return status.get("opened") == streams and settled >= streams


def count_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def count_threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def measure(asked: int, args: argparse.Namespace, tmp: Path) -> Row:
    streams = fitting_streams(asked)
    upstream_port, router_port = free_port(), free_port()
    status = tmp / f"status-{streams}.json"
    upstream = subprocess.Popen([sys.executable, "-m", "tests.bench.slow_upstream", "--port", str(upstream_port),
                                 "--events", str(args.events), "--interval", str(args.interval)], cwd=REPO)
    try:
        os.sched_setaffinity(upstream.pid, {0})
        (tmp / "routes.toml").write_text(routes_toml(upstream_port))
        command = ["router", "serve", "--config", str(tmp / "routes.toml"), "--port", str(router_port)]
        with running(command, router_port, env={"BENCH_KEY": KEY}, log_file=tmp / f"router-{streams}.log") as router:
            os.sched_setaffinity(router.pid, {1})
            probe(router_port, upstream_port, 1.0)  # warm-up: imports, first-request caches
            time.sleep(1.0)
            idle_rss = rss_mib(router.pid)
            clients = subprocess.Popen(
                [sys.executable, "-m", "tests.bench.stream_clients", "--port", str(router_port), "--streams",
                 str(streams), "--rate", str(args.rate), "--events", str(args.events), "--interval",
                 str(args.interval), "--key", KEY, "--status", str(status)], cwd=REPO)
            try:
                os.sched_setaffinity(clients.pid, {0})
                ramp = streams / args.rate
                wait_for(status, lambda s: all_opened(s, streams), ramp + 30)
                time.sleep(args.settle)
                # the CPU window has no probe in it: only the streams' own work is divided by their events
                before = read_status(status)
                cpu_before, wall_before = cpu_seconds(router.pid), time.monotonic()
                time.sleep(args.window)
                cpu_after, wall_after = cpu_seconds(router.pid), time.monotonic()
                after = read_status(status)
                loaded_rss, fds, threads = rss_mib(router.pid), count_fds(router.pid), count_threads(router.pid)
                whole, first, floor = probe(router_port, upstream_port, args.window)
                events = int(after["events"]) - int(before["events"])  # type: ignore[call-overload]
                final = wait_for(status, lambda s: s.get("done") is True,
                                 args.events * args.interval + ramp + args.grace + 30)
                clients.wait(timeout=60)
            finally:
                if clients.poll() is None:
                    clients.kill()
        if int(after.get("open", 0)) < streams:  # type: ignore[call-overload]
            print(f"  note: only {after.get('open')} of {streams} streams were open in the window", file=sys.stderr)
        return Row(asked, streams, int(final.get("good", 0)), dict(final.get("errors", {})),  # type: ignore[call-overload, arg-type]
                   idle_rss, loaded_rss, (cpu_after - cpu_before) / max(events, 1) * 1e6,
                   events / (wall_after - wall_before), whole, first, floor, fds, threads)
    finally:
        upstream.terminate()
        upstream.wait()


def percentile_ms(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000 if ordered else float("nan")


def print_table(rows: list[Row]) -> None:
    print(f"\nMany open streams (targets: {TARGETS})")
    print(f"{'streams':>8} {'good':>7} {'errors':>7} {'RSS idle':>9} {'RSS open':>9} {'KiB/strm':>9} "
          f"{'µs/event':>9} {'events/s':>9} {'probe p50':>10} {'p99':>7} {'1st p99':>8} {'direct p99':>11} "
          f"{'n':>5} {'fds':>6} {'thr':>4}")
    for row in rows:
        per_stream = (row.rss_mib - row.idle_rss_mib) * 1024 / row.streams
        label = f"{row.streams:,}" + ("*" if row.streams < row.asked else "")
        print(f"{label:>8} {row.good:>7,} {sum(row.errors.values()):>7,} {row.idle_rss_mib:>7.1f}Mi "
              f"{row.rss_mib:>7.1f}Mi {per_stream:>9.1f} {row.cpu_us_per_event:>9.1f} {row.events_per_s:>9,.0f} "
              f"{percentile_ms(row.probe_router, 0.5):>8.2f}ms {percentile_ms(row.probe_router, 0.99):>5.2f}ms "
              f"{percentile_ms(row.probe_router_first, 0.99):>6.2f}ms {percentile_ms(row.probe_direct, 0.99):>9.2f}ms "
              f"{len(row.probe_router):>5} {row.fds:>6,} {row.threads:>4}")
        for reason, count in sorted(row.errors.items()):
            print(f"{'':>8}   {count:,} × {reason}")
    for row in rows:
        if row.streams < row.asked:
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            print(f"* {row.asked:,} asked: the router needs 2 descriptors a stream plus ~{ROUTER_OWN_FDS} of its "
                  f"own, {2 * row.asked + ROUTER_OWN_FDS:,} in all, and this machine's hard RLIMIT_NOFILE is "
                  f"{hard:,} (raising it needs CAP_SYS_RESOURCE): ran the largest N that fits.")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", default="1000,5000,10000", help="comma-separated N")
    parser.add_argument("--events", type=int, default=60, help="events per stream: its length in seconds at 1/s")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between two upstream events")
    parser.add_argument("--rate", type=float, default=1000.0, help="new streams a second")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after the ramp before the window")
    parser.add_argument("--window", type=float, default=15.0, help="seconds of the measured window")
    parser.add_argument("--grace", type=float, default=30.0)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the router inherits it
    rows = []
    with TemporaryDirectory() as tmp_name:
        for asked in (int(n) for n in args.streams.split(",")):
            ramp = fitting_streams(asked) / args.rate
            if ramp + args.settle + 2 * args.window >= args.events * args.interval:
                sys.exit(f"the windows would outlast the first streams: raise --events above "
                         f"{ramp + args.settle + 2 * args.window:.0f} or lower --window")
            rows.append(measure(asked, args, Path(tmp_name)))
            print_table(rows[-1:])
    print_table(rows)


if __name__ == "__main__":
    main()
