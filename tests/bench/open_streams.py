"""Many open streams (issue 20), a benchmark, not a test: `python -m tests.bench.open_streams`.

For each N in `--streams` (1,000 / 5,000 / 10,000 by default), on loopback only, with fresh
processes each time:
- a slow upstream (tests.bench.slow_upstream: one event a second per stream, `--events` of them),
- `router serve` in front of it, pinned to core 1, Anthropic Messages clients on that OpenAI-kind
  upstream (every event converted, as for Claude Code on DeepSeek),
- the load generator (tests.bench.stream_clients), which keeps N streaming requests open, as
  agents do: it opens N at `--rate` a second and replaces each one that ends at once, the first
  N with lengths spread from 1 to `--events` seconds (where streams stand in that steady state)
  and the rest `--events` long, so ~N/events streams end and begin every second; it reads every
  stream to its end and counts what went wrong by reason.
Once all N are open (after the ramp and `--settle` seconds), a steady window of `--window`
seconds measures:
- the router's RSS per open stream: (RSS in the window − RSS idle, after a warm-up) / N;
- the router's CPU per relayed event: its utime + stime over the window / the content events
  the clients received in it (the streams that began and ended in the window included: their
  set-up, access-log line, usage record and garbage are part of what an event costs);
- (then, in a second window of the same length) a new small request while they are open: a probe opens a new connection every 20 ms, sends a
  small non-streaming request, and times the first byte and the whole answer; it alternates with
  the same probe straight to the upstream (the machine's floor, under the same load).
Then the load generator cuts the streams still open (not counted as errors) and the table is
printed.

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

from router.server.open_files import OWN_DESCRIPTORS
from tests.bench.run import KEY, cpu_seconds, drain, rss_mib
from tests.support.servers import REPO, free_port, running

# The router's descriptors beyond two a stream: its own (listening socket, epoll, log file, pipes:
# 14 counted) and the upstream pool's idle keep-alive connections (up to max-keepalive, 64), as
# router serve counts them when it says how many streams its file limit allows.
ROUTER_OWN_FDS = OWN_DESCRIPTORS
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
    open_in_window: int  # the fewest open in the window (a replaced stream is closed for a moment)
    started_per_s: float  # streams that began in the window, a second
    good: int
    cut: int
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
    causes: dict[str, tuple[int, float, float]]  # `--causes`: kind → (runs, total ms, longest ms) in the windows


def causes_in(path: Path, window_ns: list[int]) -> dict[str, tuple[int, float, float]]:
    """The router's collections and periodic work (tests.bench.tail_probe's file, written when it
    stopped) that ran between the CPU window's start and the probe window's end."""
    found: dict[str, list[float]] = {}
    for kind, start, end in json.loads(path.read_text()) if path.exists() else []:
        if window_ns[0] <= start <= window_ns[1]:
            found.setdefault(kind, []).append((end - start) / 1e6)
    return {kind: (len(times), sum(times), max(times)) for kind, times in sorted(found.items())}


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
        causes_file = tmp / f"causes-{streams}.json"
        env = {"BENCH_KEY": KEY}
        if args.causes or args.loop_lag:  # the same router, its collections and periodic work timestamped
            command = ["tests.bench.tail_probe", str(causes_file), *command[1:]]
        if args.loop_lag:
            env["TAIL_PROBE_LOOP_LAG"] = "1"
        with running(command, router_port, env=env, log_file=tmp / f"router-{streams}.log") as router:
            os.sched_setaffinity(router.pid, {1})
            probe(router_port, upstream_port, 1.0)  # warm-up: imports, first-request caches
            time.sleep(1.0)
            idle_rss = rss_mib(router.pid)
            ramp = streams / args.rate
            hold = ramp + args.settle + 2 * args.window + 2
            clients = subprocess.Popen(
                [sys.executable, "-m", "tests.bench.stream_clients", "--port", str(router_port), "--streams",
                 str(streams), "--rate", str(args.rate), "--events", str(args.events), "--hold", str(hold),
                 "--key", KEY, "--status", str(status)], cwd=REPO)
            try:
                os.sched_setaffinity(clients.pid, {0})
                time.sleep(ramp + args.settle)
                # the CPU window has no probe in it: only the streams' own work is divided by their events
                before = read_status(status)
                window_ns = [time.monotonic_ns()]
                cpu_before, wall_before = cpu_seconds(router.pid), time.monotonic()
                fewest_open = int(before.get("open", 0))  # type: ignore[call-overload]
                while time.monotonic() < wall_before + args.window:
                    time.sleep(0.5)
                    fewest_open = min(fewest_open, int(read_status(status).get("open", 0)))  # type: ignore[call-overload]
                cpu_after, wall_after = cpu_seconds(router.pid), time.monotonic()
                after = read_status(status)
                loaded_rss, fds, threads = rss_mib(router.pid), count_fds(router.pid), count_threads(router.pid)
                whole, first, floor = probe(router_port, upstream_port, args.window)
                window_ns.append(time.monotonic_ns())
                final = wait_for(status, lambda s: s.get("done") is True, args.window + 30)
                clients.wait(timeout=30)
            finally:
                if clients.poll() is None:
                    clients.kill()
        events = int(after["events"]) - int(before["events"])  # type: ignore[call-overload]
        started = int(after["opened"]) - int(before["opened"])  # type: ignore[call-overload]
        seconds = wall_after - wall_before
        return Row(asked, streams, fewest_open, started / seconds, int(final.get("good", 0)),  # type: ignore[call-overload]
                   int(final.get("cut", 0)), dict(final.get("errors", {})),  # type: ignore[call-overload, arg-type]
                   idle_rss, loaded_rss, (cpu_after - cpu_before) / max(events, 1) * 1e6,
                   events / seconds, whole, first, floor, fds, threads,
                   causes_in(causes_file, window_ns) if args.causes or args.loop_lag else {})
    finally:
        upstream.terminate()
        upstream.wait()


def percentile_ms(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000 if ordered else float("nan")


def print_table(rows: list[Row]) -> None:
    print(f"\nMany open streams (targets: {TARGETS})")
    print(f"{'streams':>8} {'open':>7} {'new/s':>6} {'good':>7} {'errors':>6} {'cut':>6} {'RSS idle':>9} "
          f"{'RSS open':>9} {'KiB/strm':>8} {'µs/event':>8} {'events/s':>8} {'probe p50':>9} {'p99':>7} "
          f"{'1st p99':>7} {'direct p99':>10} {'n':>4} {'fds':>6} {'thr':>3}")
    for row in rows:
        per_stream = (row.rss_mib - row.idle_rss_mib) * 1024 / row.streams
        label = f"{row.streams:,}" + ("*" if row.streams < row.asked else "")
        print(f"{label:>8} {row.open_in_window:>7,} {row.started_per_s:>6.0f} {row.good:>7,} "
              f"{sum(row.errors.values()):>6,} {row.cut:>6,} {row.idle_rss_mib:>7.1f}Mi {row.rss_mib:>7.1f}Mi "
              f"{per_stream:>8.1f} {row.cpu_us_per_event:>8.1f} {row.events_per_s:>8,.0f} "
              f"{percentile_ms(row.probe_router, 0.5):>7.2f}ms {percentile_ms(row.probe_router, 0.99):>5.2f}ms "
              f"{percentile_ms(row.probe_router_first, 0.99):>5.2f}ms {percentile_ms(row.probe_direct, 0.99):>8.2f}ms "
              f"{len(row.probe_router):>4} {row.fds:>6,} {row.threads:>3}")
        for reason, count in sorted(row.errors.items()):
            print(f"{'':>8}   {count:,} × {reason}")
        for kind, (runs, total, longest) in row.causes.items():
            print(f"{'':>8}   {kind}: {runs} runs, {total:.1f} ms in all, the longest {longest:.2f} ms")
    print("open: the fewest open in the CPU window; new/s: streams begun a second in it; cut: still open "
          "at the end, closed by the load generator; KiB/strm: (RSS open − RSS idle) / streams; probe: a "
          "new connection and a small request to the router every 20 ms while the streams run, p50/p99 "
          "of the whole answer and p99 of its first byte; direct: the same probe straight to the upstream")
    for row in rows:
        if row.streams < row.asked:
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            print(f"* {row.asked:,} asked: the router needs 2 descriptors a stream plus up to {ROUTER_OWN_FDS} "
                  f"(its own and the upstream pool's idle connections), {2 * row.asked + ROUTER_OWN_FDS:,} in all, "
                  f"and this machine's hard RLIMIT_NOFILE is {hard:,} (raising it needs CAP_SYS_RESOURCE): "
                  f"ran the largest N that fits.")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", default="1000,5000,10000", help="comma-separated N")
    parser.add_argument("--events", type=int, default=60, help="events of a stream: its length in seconds at 1/s")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between two upstream events")
    parser.add_argument("--causes", action="store_true",
                        help="run the router under tests.bench.tail_probe: its garbage collections and periodic "
                             "work in the windows, counted and timed")
    parser.add_argument("--loop-lag", action="store_true",
                        help="--causes, and a task on the router's loop waking every ms records each wake-up "
                             "1 ms or more late (the loop busy that long); its wake-ups cost CPU: not for µs/event")
    parser.add_argument("--rate", type=float, default=1000.0, help="new streams a second")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after the ramp before the window")
    parser.add_argument("--window", type=float, default=15.0, help="seconds of the measured window")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the router inherits it
    rows = []
    with TemporaryDirectory() as tmp_name:
        for asked in (int(n) for n in args.streams.split(",")):
            rows.append(measure(asked, args, Path(tmp_name)))
            print_table(rows[-1:])
    print_table(rows)


if __name__ == "__main__":
    main()
