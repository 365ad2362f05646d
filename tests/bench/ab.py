"""Two routers side by side, one scenario, alternated run by run: the A/B this VM allows.

    python -m tests.bench.ab BASE_DIR [small|stream|agent] [ROUNDS]

starts nginx (the instant upstream of tests.bench.run), `router serve` from BASE_DIR (a checkout
of the base commit) and from this checkout, both pinned to core 1 (one is idle while the other
is loaded), and runs wrk at concurrency 16 against each in turn, alternating which goes first.
Single runs here move by a third with the neighbours; side by side, both routers see the same
stretch, so the ratio of the medians of router CPU per request is what a change costs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory

from tests.bench.run import KEY, agentic_body, nginx_conf, routes_toml, small_body, wrk
from tests.support.servers import free_port, running

HERE = Path(__file__).resolve().parents[2]
BODIES = {
    "small": lambda: small_body("bench", False),
    "stream": lambda: small_body("bench-stream", True),
    "agent": agentic_body,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", type=Path, help="a checkout of the base commit")
    parser.add_argument("scenario", nargs="?", default="stream", choices=sorted(BODIES))
    parser.add_argument("rounds", nargs="?", type=int, default=12)
    args = parser.parse_args()
    trees = {"base": args.base.resolve(), "this": HERE}
    cpu = compare(trees, BODIES[args.scenario](), args.rounds)
    for label, runs in cpu.items():
        print(f"{label:5} {args.scenario}: median {statistics.median(runs):.4f} ms CPU/request   "
              + " ".join(f"{run:.3f}" for run in runs))
    print(f"this/base: {statistics.median(cpu['this']) / statistics.median(cpu['base']):.3f}")


def compare(trees: dict[str, Path], body: dict[str, object], rounds: int) -> dict[str, list[float]]:
    with TemporaryDirectory() as name, ExitStack() as stack:
        tmp = Path(name)
        nginx_port = free_port()
        (tmp / "nginx.conf").write_text(nginx_conf(nginx_port, tmp))
        nginx = subprocess.Popen(["taskset", "-c", "0", "nginx", "-c", str(tmp / "nginx.conf"), "-p", str(tmp),
                                  "-g", "daemon off;"])
        stack.callback(nginx.wait)
        stack.callback(nginx.terminate)
        time.sleep(0.5)
        (tmp / "routes.toml").write_text(routes_toml(nginx_port))
        urls, pids = {}, {}
        for label, tree in trees.items():
            port = free_port()
            # `python -m router` with the tree first on the path: each serves its own code.
            router = stack.enter_context(running(
                ["router", "serve", "--config", str(tmp / "routes.toml"), "--port", str(port)], port,
                env={"BENCH_KEY": KEY, "PYTHONPATH": str(tree)}, cwd=tree, log_file=tmp / f"{label}.log"))
            os.sched_setaffinity(router.pid, {1})
            urls[label], pids[label] = f"http://127.0.0.1:{port}/v1/messages", router.pid
        for label in trees:
            wrk(urls[label], body, 4, 1.0, tmp, [pids[label]])  # warm-up
        cpu: dict[str, list[float]] = {label: [] for label in trees}
        for round_ in range(rounds):
            for label in (list(trees) if round_ % 2 == 0 else list(reversed(trees))):
                cpu[label].append(wrk(urls[label], body, 16, 2.0, tmp, [pids[label]]).cpu_ms)
        return cpu


if __name__ == "__main__":
    main()
