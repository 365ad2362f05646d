"""Where the slow 1 % at concurrency 1 comes from (issue 20, "The tail"): `python -m tests.bench.tail`.

Needs nginx, wrk and taskset, like tests.bench.run (and perf for `--sched`). Three targets answer the
same small request from the same nginx mock upstream, one connection, one request at a time:

- direct: nginx itself;
- echo: a trivial uvloop proxy (tests.bench.echo_proxy), the control: no parsing, no routing, no
  garbage, no timers;
- router: `router serve`.

Layouts (LAYOUTS): `split` (the target on core 1; wrk and nginx on core 0, as tests.bench.run pins
them), `one-core` (everything on core 0), and both again with a CPU-bound neighbour (a spinning
process, as another engineer's callgrind or test run on a shared machine) on the target's core, at
nice 0 and nice 19, or on the other core. Runs alternate target by target, `--repeat` times, so a
neighbour's busy minute weighs on all of them; each cell is the median run, with the machine's
steal over that run.

`--sched` adds the router's scheduling delay (perf sched: how long it waited, runnable, for its
core) next to its latency, without and with the neighbour.

`--causes` runs the router under tests.bench.tail_probe, which timestamps every garbage collection
and every run of the router's periodic work (metrics flush, reload poll, uvicorn's tick), with a
Python client that timestamps every request, and prints a latency histogram for the requests that
overlapped each kind of event and for those that overlapped none; then once more with the
collector as Python sets it (router.server.gc_tuning skipped). `--scenario agentic` makes it the
65 KB request.

Last, a pipe ping-pong between two processes on one core and across the two (`--pingpong`
rounds; 0 skips it): the machine alone, no network, no HTTP, no event loop.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

from tests.bench.run import (
    KEY,
    agentic_body,
    drain,
    machine_times,
    nginx_conf,
    nginx_pids,
    routes_toml,
    small_body,
)
from tests.support.servers import REPO, free_port, running

PERCENTILES = (50.0, 90.0, 99.0, 99.9)
# wrk's done() with the percentiles issue 20 asks about, and the largest latency, in µs
TAIL_LUA = (
    "done = function(summary, latency, requests)\n"
    '  io.write(string.format("tail-us'
    + " %d" * (len(PERCENTILES) + 1)
    + '\\n", '
    + ", ".join(f"latency:percentile({p})" for p in PERCENTILES)
    + ", latency.max))\nend\n"
)
SCENARIOS: dict[str, Callable[[], dict[str, object]]] = {
    "small": lambda: small_body("bench", False), "agentic": agentic_body}
GC_UNTUNED_ENV = "TAIL_PROBE_GC_UNTUNED"  # tests.bench.tail_probe: skip router.server.gc_tuning


@dataclass(frozen=True)
class Layout:
    target_core: str
    load_core: str  # wrk's and nginx's
    neighbour: tuple[str, int] | None = None  # a CPU-bound neighbour: its core and its nice value


LAYOUTS = {
    "split": Layout("1", "0"),
    "one-core": Layout("0", "0"),
    # Another engineer's CPU-bound job (a callgrind run, a test suite) on the target's core, as
    # happens on a shared machine, at the default priority and then niced.
    "split+hog": Layout("1", "0", ("1", 0)),
    "split+hog nice 19": Layout("1", "0", ("1", 19)),
    # The same job on the other core, the whole exchange on one.
    "one-core+hog": Layout("0", "0", ("1", 0)),
}
HOG = [sys.executable, "-c", "while True: pass"]


@dataclass(frozen=True)
class Tail:
    percentiles_ms: tuple[float, ...]  # PERCENTILES, then the maximum
    requests: int
    steal: float


def wrk_tail(url: str, body: dict[str, object], seconds: float, cpus: str, tmp: Path) -> Tail:
    script, payload = tmp / "tail.lua", tmp / "tail-body.json"
    payload.write_text(json.dumps(body))
    script.write_text(
        'wrk.method = "POST"\n'
        f'local file = io.open("{payload}", "rb")\nwrk.body = file:read("*a")\nfile:close()\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["x-api-key"] = "{KEY}"\n' + TAIL_LUA
    )
    times_before = machine_times()
    done = subprocess.run(["taskset", "-c", cpus, "wrk", "-t1", "-c1", f"-d{max(int(seconds), 1)}s", "-s", str(script), url],
                          check=True, capture_output=True, text=True)
    total, steal = (after - earlier for after, earlier in zip(machine_times(), times_before, strict=True))
    if "Non-2xx" in done.stdout:
        raise RuntimeError(f"non-2xx answers from {url}:\n{done.stdout}")
    values = re.search(r"tail-us ([\d ]+)", done.stdout).group(1).split()  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", done.stdout).group(1))  # type: ignore[union-attr]
    return Tail(tuple(int(value) / 1000 for value in values), requests, steal / max(total, 1))


@contextmanager
def echo_proxy(port: int, upstream_port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-m", "tests.bench.echo_proxy", str(port), str(upstream_port)], cwd=REPO)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the echo proxy did not start") from None
                time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait()


def pin(pids: list[int], cpus: str) -> None:
    for pid in pids:
        os.sched_setaffinity(pid, {int(cpu) for cpu in cpus.split(",")})


def layouts_table(tmp: Path, nginx: list[int], nginx_port: int, router: int, router_port: int, echo: int,
                  echo_port: int, seconds: float, repeat: int) -> None:
    body = small_body("bench", False)
    upstream_path = "/plain/v1/chat/completions"
    targets = {
        "direct": (f"http://127.0.0.1:{nginx_port}{upstream_path}", []),
        "echo": (f"http://127.0.0.1:{echo_port}{upstream_path}", [echo]),
        "router": (f"http://127.0.0.1:{router_port}/v1/messages", [router]),
    }
    heads = " ".join(f"{'p' + format(p, 'g'):>7}" for p in PERCENTILES)
    print(f"concurrency 1, small request, {seconds:g} s per run, median of {repeat} (by p99), ms\n")
    print(f"{'layout':17} {'target':7} | {heads} {'max':>7} | {'req/s':>6} {'steal':>6}")
    for name, layout in LAYOUTS.items():
        with neighbour(layout.neighbour):
            tails = layout_runs(tmp, targets, body, nginx, layout.target_core, layout.load_core, seconds, repeat)
        for target, tail in tails.items():
            cells = " ".join(f"{value:>7.2f}" for value in tail.percentiles_ms)
            print(f"{name:17} {target:7} | {cells} | {tail.requests / seconds:>6.0f} {tail.steal:>6.1%}")


@contextmanager
def neighbour(where: tuple[str, int] | None) -> Iterator[None]:
    """A process that wants a whole core, on (core, nice value), for the block."""
    if where is None:
        yield
        return
    core, nice = where
    hog = subprocess.Popen(["taskset", "-c", core, "nice", "-n", str(nice), *HOG])
    try:
        yield
    finally:
        hog.terminate()
        hog.wait()


def layout_runs(tmp: Path, targets: dict[str, tuple[str, list[int]]], body: dict[str, object], nginx: list[int],
                target_core: str, load_core: str, seconds: float, repeat: int) -> dict[str, Tail]:
    """The median run (by p99) of each target, the targets alternating run by run."""
    pin(nginx, load_core)
    runs: dict[str, list[Tail]] = {name: [] for name in targets}
    for url, pids in targets.values():  # warm-up
        pin(pids, target_core)
        wrk_tail(url, body, 1, load_core, tmp)
    for _ in range(repeat):
        for name, (url, _) in targets.items():
            runs[name].append(wrk_tail(url, body, seconds, load_core, tmp))
    return {name: sorted(tails, key=lambda run: run.percentiles_ms[2])[len(tails) // 2] for name, tails in runs.items()}


# The child of the ping-pong: every byte read from stdin goes back on stdout after argv[1] seconds'
# work (a gateway's request, while the load generator's core idles).
ECHO_BYTES = """import os, sys, time
work = float(sys.argv[1])
while os.read(0, 1):
    until = time.perf_counter() + work
    while time.perf_counter() < until:
        pass
    os.write(1, b'x')
"""


def pingpong_ms(child_core: str, rounds: int, gap: float, work: float) -> list[float]:
    """Round trips of one byte through two pipes to a child process on `child_core`, this process
    on core 0: a wake-up there and one back, nothing else (no network, no HTTP, no event loop).
    Between two round trips this process works `gap` seconds (as wrk and nginx do while a gateway
    waits), and the child's core idles; the child works `work` seconds before it answers (as a
    gateway does), and this process's core idles."""
    child = subprocess.Popen(["taskset", "-c", child_core, sys.executable, "-c", ECHO_BYTES, str(work)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    to_child, from_child = child.stdin.fileno(), child.stdout.fileno()
    times: list[float] = []
    gc.disable()
    try:
        for _ in range(rounds):
            busy_until = time.perf_counter() + gap
            while time.perf_counter() < busy_until:
                pass
            started = time.perf_counter()
            os.write(to_child, b"x")
            os.read(from_child, 1)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        gc.enable()
        child.stdin.close()
        child.wait()
    return sorted(times[rounds // 10:])


def pingpong_table(rounds: int, repeat: int, gap: float = 0.0001, work: float = 0.00025) -> None:
    """The machine alone: the same core against the other core, alternating."""
    print(f"\npipe ping-pong, one byte each way, {rounds} round trips per run {gap * 1e6:g} µs apart, "
          f"the child working {work * 1e6:g} µs on each, median of "
          f"{repeat} (by p99), ms\n")
    heads = " ".join(f"{'p' + format(p, 'g'):>7}" for p in PERCENTILES)
    print(f"{'child on':11} | {heads} {'max':>7} | {'>1 ms':>6}")
    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {0})
    try:
        runs: dict[str, list[list[float]]] = {"core 0": [], "core 1": []}
        for _ in range(repeat):
            for name, name_runs in runs.items():
                name_runs.append(pingpong_ms(name[-1], rounds, gap, work))
    finally:
        os.sched_setaffinity(0, affinity)
    for name, all_times in runs.items():
        times = sorted(all_times, key=lambda run: percentile(run, 99))[len(all_times) // 2]
        cells = " ".join(f"{percentile(times, p):>7.3f}" for p in PERCENTILES)
        slow = sum(1 for value in times if value > 1) / len(times)
        print(f"{name:11} | {cells} {times[-1]:>7.2f} | {slow:>6.1%}")


def scheduling_delays_ms(pid: int, record: Path) -> list[float]:
    """The kernel's own account (perf sched) of how long `pid` waited, runnable, for its core, each
    time it woke during the recording."""
    lines = subprocess.run(["perf", "sched", "timehist", "-i", str(record), "-p", str(pid)],
                           check=True, capture_output=True, text=True).stdout.splitlines()
    # time, cpu, task, wait time, scheduling delay, run time; three lines of heading
    return sorted(float(line.split()[4]) for line in lines[3:] if len(line.split()) >= 6)


def sched_table(tmp: Path, nginx: list[int], router: int, router_port: int, seconds: float) -> None:
    """The router's scheduling delay next to its latency, without and with a neighbour on its core."""
    if shutil.which("perf") is None:
        print("\nperf not found (apt-get install linux-perf): no scheduling-delay table")
        return
    url, body = f"http://127.0.0.1:{router_port}/v1/messages", small_body("bench", False)
    print(f"\nthe router's scheduling delay (perf sched: runnable, waiting for its core), {seconds:g} s, ms\n")
    heads = " ".join(f"{'p' + format(p, 'g'):>7}" for p in PERCENTILES)
    print(f"{'layout':17} {'what':17} | {heads} {'max':>7}")
    for name in ("split", "split+hog"):
        layout = LAYOUTS[name]
        pin(nginx, layout.load_core)
        pin([router], layout.target_core)
        record = tmp / "sched.data"
        with neighbour(layout.neighbour):
            recorder = subprocess.Popen(["perf", "sched", "record", "-o", str(record), "--", "sleep", str(seconds + 0.5)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.2)
            tail = wrk_tail(url, body, seconds, layout.load_core, tmp)
            recorder.wait()
        delays = scheduling_delays_ms(router, record)
        print(f"{name:17} {'request latency':17} | {' '.join(f'{value:>7.2f}' for value in tail.percentiles_ms)}")
        print(f"{name:17} {'scheduling delay':17} | {' '.join(f'{percentile(delays, p):>7.2f}' for p in PERCENTILES)} "
              f"{delays[-1]:>7.2f}")


def timed_requests(port: int, path: str, body: dict[str, object], seconds: float) -> list[tuple[int, int]]:
    """(sent, answered) on the monotonic clock, in ns, of each request of one keep-alive connection,
    one at a time for `seconds`; raw sockets and no collector, so the client adds little and evenly."""
    payload = json.dumps(body).encode()
    request = (f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
               f"x-api-key: {KEY}\r\ncontent-length: {len(payload)}\r\n\r\n").encode() + payload
    spans: list[tuple[int, int]] = []
    gc.disable()
    try:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            end = time.monotonic_ns() + int(seconds * 1e9)
            while (sent := time.monotonic_ns()) < end:
                sock.sendall(request)
                drain(sock, sock.recv(65536))
                spans.append((sent, time.monotonic_ns()))
    finally:
        gc.enable()
    return spans


def cause_of(span: tuple[int, int], events: list[tuple[str, int, int]]) -> str:
    """The first kind of event (by CAUSE_ORDER) whose run overlapped the request, else "none"."""
    sent, answered = span
    kinds = {kind for kind, started, ended in events if started < answered and ended > sent}
    return next((kind for kind in CAUSE_ORDER if kind in kinds), "none")


CAUSE_ORDER = ("gc gen 2", "gc gen 1", "gc gen 0", "metrics flush", "reload poll", "uvicorn tick")


def causes_table(label: str, spans: list[tuple[int, int]], events: list[tuple[str, int, int]]) -> None:
    """A latency histogram per cause: the requests that overlapped each kind of event, and the rest."""
    by_cause: dict[str, list[float]] = {}
    for span in spans:
        by_cause.setdefault(cause_of(span, events), []).append((span[1] - span[0]) / 1e6)
    slow_total = sum(1 for sent, answered in spans if answered - sent > SLOW_NS)
    for cause in (*CAUSE_ORDER, "none"):
        times = sorted(by_cause.get(cause, []))
        if not times:
            continue
        slow = sum(1 for value in times if value > SLOW_NS / 1e6)
        buckets = " ".join(f"{sum(1 for value in times if low <= value < high):>6}" for low, high in BUCKETS_MS)
        print(f"{label:22} {cause:14} | {len(times):>6} {percentile(times, 50):>6.2f} {percentile(times, 99):>6.2f} "
              f"{times[-1]:>6.2f} | {buckets} | {slow:>5} of {slow_total}")


SLOW_NS = 1_000_000  # a "slow" request: over 1 ms, three times the router's p50
BUCKETS_MS = ((0, 0.25), (0.25, 0.5), (0.5, 1), (1, 2), (2, 5), (5, 10), (10, float("inf")))


def percentile(ordered: list[float], pct: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def causes(tmp: Path, nginx: list[int], echo: int, echo_port: int, seconds: float, body: dict[str, object]) -> None:
    """The router under tests.bench.tail_probe in each layout (the echo proxy alongside as the
    control), then one with the collector as Python sets it (one-core only), a Python client
    timestamping each request; the latency histogram per cause."""
    bounds = " ".join(f"{format(low, 'g') + '-' + format(high, 'g'):>6}" for low, high in BUCKETS_MS)
    print(f"\nconcurrency 1, a Python client ({seconds:g} s per run), requests by what overlapped them (ms)\n")
    print(f"{'target, layout':22} {'cause':14} | {'count':>6} {'p50':>6} {'p99':>6} {'max':>6} | {bounds} | >1 ms")
    variants: tuple[tuple[str, dict[str, str], tuple[str, ...]], ...] = (
        ("router", {}, ("split", "one-core")), ("router, gc untuned", {GC_UNTUNED_ENV: "1"}, ("one-core",)))
    summaries = []
    for variant, env, layouts in variants:
        router_port, events_file = free_port(), tmp / "events.json"
        command = ["tests.bench.tail_probe", str(events_file), "serve", "--config", str(tmp / "routes.toml"),
                   "--port", str(router_port)]
        runs: dict[str, list[tuple[int, int]]] = {}
        with running(command, router_port, env={"BENCH_KEY": KEY, **env}, log_file=tmp / "probe.log") as router:
            for layout in layouts:
                where = LAYOUTS[layout]
                pin(nginx, where.load_core)
                pin([router.pid, echo], where.target_core)
                os.sched_setaffinity(0, {int(where.load_core)})
                timed_requests(router_port, "/v1/messages", body, 1)  # warm-up
                runs[f"{variant} {layout}"] = timed_requests(router_port, "/v1/messages", body, seconds)
                if variant == "router":
                    runs[f"echo {layout}"] = timed_requests(echo_port, "/plain/v1/chat/completions", body, seconds)
        events: list[tuple[str, int, int]] = [(kind, started, ended)
                                              for kind, started, ended in json.loads(events_file.read_text())]
        for label, spans in runs.items():
            causes_table(label, spans, [] if label.startswith("echo") else events)
        summaries.append((variant, events, min(sent for spans in runs.values() for sent, _ in spans)))
    for variant, events, since in summaries:
        events_table(variant, events, since)


def events_table(variant: str, events: list[tuple[str, int, int]], since: int) -> None:
    """How often each kind of background work ran while the client ran, and how long it held the loop."""
    print(f"\n{'events in ' + variant + ', during its runs':40} | {'count':>5} {'p50 ms':>7} {'max ms':>7}")
    for kind in CAUSE_ORDER:
        lengths = sorted((ended - started) / 1e6 for name, started, ended in events if name == kind and started >= since)
        if lengths:
            print(f"{kind:40} | {len(lengths):>5} {percentile(lengths, 50):>7.3f} {lengths[-1]:>7.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--causes", action="store_true",
                        help="also the router under tests.bench.tail_probe: a latency histogram per cause")
    parser.add_argument("--only-causes", action="store_true", help="the causes table without the layouts table")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="small",
                        help="the request of the causes table (the layouts table is always the small one)")
    parser.add_argument("--sched", action="store_true",
                        help="also the router's scheduling delay from perf sched, without and with a neighbour")
    parser.add_argument("--pingpong", type=int, default=20_000, metavar="ROUNDS",
                        help="round trips of the pipe ping-pong (the machine alone); 0: skip it")
    args = parser.parse_args()
    for tool in ("nginx", "wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: apt-get install nginx-light wrk util-linux")
    with TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        nginx_port, router_port, echo_port = free_port(), free_port(), free_port()
        (tmp / "nginx.conf").write_text(nginx_conf(nginx_port, tmp))
        nginx = subprocess.Popen(["nginx", "-c", str(tmp / "nginx.conf"), "-p", str(tmp), "-g", "daemon off;"])
        try:
            time.sleep(0.5)
            (tmp / "routes.toml").write_text(routes_toml(nginx_port))
            command = ["router", "serve", "--config", str(tmp / "routes.toml"), "--port", str(router_port)]
            with running(command, router_port, env={"BENCH_KEY": KEY}, log_file=tmp / "router.log") as router, \
                    echo_proxy(echo_port, nginx_port) as echo:
                if not args.only_causes:
                    layouts_table(tmp, nginx_pids(nginx.pid), nginx_port, router.pid, router_port, echo.pid,
                                  echo_port, args.seconds, args.repeat)
                if args.sched:
                    sched_table(tmp, nginx_pids(nginx.pid), router.pid, router_port, args.seconds)
            if args.causes or args.only_causes:
                with echo_proxy(echo_port, nginx_port) as echo:
                    causes(tmp, nginx_pids(nginx.pid), echo.pid, echo_port, args.seconds, SCENARIOS[args.scenario]())
            if args.pingpong:
                pingpong_table(args.pingpong, args.repeat)
        finally:
            nginx.terminate()
            nginx.wait()


if __name__ == "__main__":
    main()
