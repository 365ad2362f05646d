"""`router serve --workers N` throughput (not a test): `python -m tests.bench.workers`.

The same nginx mock upstream, routes and wrk as tests.bench.run, at one concurrency (64), for the
small request and the 54-event stream, with one worker and with two. Nothing is pinned here (in
tests.bench.run the router has a core to itself): two workers need both cores, and wrk and nginx
share them. Each row: requests/s, p50/p99, the router's CPU per request (supervisor and workers
summed, from /proc), the cores the router, nginx + wrk, and the rest of the machine (neighbours:
a figure above ~0.1 means the run is not a clean one) kept busy during the run, how wrk's
connections split between the workers, and the hypervisor's steal. Then, per scenario, the ratio
of two workers to one in requests/s (issue 20's target: >= 1.8) and in requests per router
CPU-second (the scaling of the router itself, whatever else shares the machine), and nginx called
directly. Each figure is the median of `--repeat` runs; both servers run throughout and their
runs alternate, so a neighbour's busy minute weighs on both alike.

Needs nginx and wrk (`apt-get install nginx-light wrk`), like tests.bench.run.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

from tests.bench.run import (
    KEY,
    TICKS,
    Result,
    cpu_seconds,
    median_by,
    nginx_conf,
    nginx_pids,
    routes_toml,
    small_body,
    wrk,
)
from tests.support.servers import free_port, running

EVERY_CORE = "0-1023"  # taskset's list: any core the machine has


@dataclass
class Row:
    result: Result
    router_cores: float  # router CPU-seconds per second of the run
    others_cores: float  # nginx + wrk CPU-seconds per second of the run
    rest_cores: float  # everything else on the machine (neighbours at work) per second of the run
    split: str  # connections per worker, as `ss` saw them mid-run


def router_pids(supervisor: int) -> list[int]:
    """The serving process and its children (uvicorn's workers; multiprocessing's resource tracker)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [supervisor, *map(int, children)]


def connection_split(port: int, pids: list[int]) -> str:
    """Established connections to `port` per router process, e.g. '33/31'."""
    listing = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True, check=False).stdout
    owners: Counter[int] = Counter()
    for pid in pids:
        owners[pid] = listing.count(f"pid={pid},")
    counts = [count for pid, count in owners.items() if count]
    return "/".join(map(str, sorted(counts, reverse=True))) or "?"


def measured(url: str, body: dict[str, object], connections: int, seconds: float, tmp: Path,
             router_port: int, pids: list[int], nginx: list[int]) -> Row:
    """One wrk run, with the CPU of nginx and wrk beside the router's, and the connection split
    sampled half-way through."""
    split: list[str] = []
    sampler = threading.Timer(seconds / 2, lambda: split.append(connection_split(router_port, pids)))
    nginx_before, wrk_before, busy_before = sum(map(cpu_seconds, nginx)), children_cpu(), machine_busy()
    began = time.monotonic()
    sampler.start()
    result = wrk(url, body, connections, seconds, tmp, pids, cpus=EVERY_CORE)
    elapsed = time.monotonic() - began
    sampler.join()
    others = sum(map(cpu_seconds, nginx)) - nginx_before + children_cpu() - wrk_before
    router_cores = result.cpu_ms * result.requests / 1000 / elapsed
    busy = (machine_busy() - busy_before) / elapsed
    return Row(result, router_cores, others / elapsed, busy - router_cores - others / elapsed,
               split[0] if split else "?")


def machine_busy() -> float:
    """CPU-seconds the whole machine spent not idle so far (/proc/stat's cpu line: idle and iowait
    left out, steal counted: the hypervisor's neighbours took that time from us)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / TICKS


def children_cpu() -> float:
    """CPU of this process's finished children: wrk's, once its run is over."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def nginx_upstream(tmp: Path) -> Iterator[tuple[int, list[int]]]:
    port = free_port()
    (tmp / "nginx.conf").write_text(nginx_conf(port, tmp))
    nginx = subprocess.Popen(["nginx", "-c", str(tmp / "nginx.conf"), "-p", str(tmp), "-g", "daemon off;"])
    try:
        time.sleep(0.5)
        yield port, nginx_pids(nginx.pid)
    finally:
        nginx.terminate()
        nginx.wait()


@contextmanager
def router_serving(tmp: Path, workers: int) -> Iterator[tuple[int, list[int]]]:
    """`router serve --workers N` on the bench's routes: its port and its processes."""
    port = free_port()
    command = ["router", "serve", "--config", str(tmp / "routes.toml"), "--port", str(port), "--workers", str(workers)]
    with running(command, port, env={"BENCH_KEY": KEY}, log_file=tmp / f"router-{workers}.log", timeout=60) as router:
        yield port, router_pids(router.pid)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    for tool in ("nginx", "wrk", "taskset", "ss"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: apt-get install nginx-light wrk util-linux iproute2")
    with TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with nginx_upstream(tmp) as (nginx_port, nginx):
            (tmp / "routes.toml").write_text(routes_toml(nginx_port))
            scenarios = {
                "small": (small_body("bench", False), f"http://127.0.0.1:{nginx_port}/plain/v1/chat/completions"),
                "stream-54": (small_body("bench-stream", True), f"http://127.0.0.1:{nginx_port}/sse/v1/chat/completions"),
            }
            print(f"c={args.connections}, {args.seconds:g} s per run, median of {args.repeat}; nothing pinned\n")
            print(f"{'scenario':10} {'workers':>7} | {'rps':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/req':>10} "
                  f"{'router cores':>12} {'nginx+wrk cores':>15} {'rest':>5} {'conns':>7} {'steal':>6}")
            rows: dict[tuple[str, int], Row] = {}
            with ExitStack() as stack:
                # Both servers up at once, their runs alternating: a neighbour busy for a minute
                # then idle slows both alike instead of one (an idle server costs nothing).
                servers = {workers: stack.enter_context(router_serving(tmp, workers)) for workers in (1, 2)}
                for name, (body, _) in scenarios.items():
                    runs: dict[int, list[Row]] = {workers: [] for workers in servers}
                    for port, pids in servers.values():
                        wrk(f"http://127.0.0.1:{port}/v1/messages", body, args.connections, 1.0, tmp, pids,
                            cpus=EVERY_CORE)  # warm-up
                    for _ in range(args.repeat):
                        for workers, (port, pids) in servers.items():
                            runs[workers].append(measured(f"http://127.0.0.1:{port}/v1/messages", body,
                                                          args.connections, args.seconds, tmp, port, pids, nginx))
                    for workers, measured_runs in runs.items():
                        row = median_by(lambda r: r.rps, [run.result for run in measured_runs])
                        rows[name, workers] = chosen = next(run for run in measured_runs if run.result is row)
                        print(f"{name:10} {workers:>7} | {row.rps:>7.0f} {row.p50_ms:>7.2f} {row.p99_ms:>7.2f} "
                              f"{row.cpu_ms:>10.3f} {chosen.router_cores:>12.2f} {chosen.others_cores:>15.2f} "
                              f"{chosen.rest_cores:>5.2f} {chosen.split:>7} {row.steal:>6.1%}")
            print()
            for name, (body, direct_url) in scenarios.items():
                one, two = rows[name, 1].result, rows[name, 2].result
                direct = median_by(lambda r: r.rps, [wrk(direct_url, body, args.connections, args.seconds, tmp, nginx,
                                                         cpus=EVERY_CORE) for _ in range(args.repeat)])
                print(f"{name:10} 2 workers / 1: {two.rps / one.rps:.2f}x requests/s, "
                      f"{one.cpu_ms / two.cpu_ms:.2f}x requests per router CPU-second; "
                      f"nginx directly {direct.rps:.0f} rps")


if __name__ == "__main__":
    main()
