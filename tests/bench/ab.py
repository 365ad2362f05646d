"""Two routers side by side, one scenario, alternated run by run: the A/B this VM allows.

    python -m tests.bench.ab BASE_DIR [small|stream|agent] [ROUNDS]

starts nginx (the instant upstream of tests.bench.run), `router serve` from BASE_DIR (a checkout
of the base commit) and from this checkout, both pinned to core 1 (one is idle while the other
is loaded), and runs wrk at concurrency 16 against each in turn, alternating which goes first.
Single runs here move by a third with the neighbours; side by side, both routers see the same
stretch, so the ratio of the medians of router CPU per request is what a change costs.

    python -m tests.bench.ab --without-usage [small|stream|agent] [ROUNDS]

prices usage recording (issue 18: at most 5 % of a request's CPU): the base is a temporary
worktree of this commit whose `Exchange._used` returns at once (no UsageEntry, no usage
counters, no ledger, no recent window), so this/base is what recording costs.

    python -m tests.bench.ab --telemetry [small|stream|agent] [ROUNDS]

prices traces (issue 19: at most 10 % of a request's CPU at a sampling ratio of 1): both are
this checkout, the base with traces off, this one with every request traced and exported over
OTLP/JSON to nginx (which answers every export 200); the export thread is the router's CPU too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
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
    parser.add_argument("words", nargs="*", metavar="BASE_DIR [SCENARIO] [ROUNDS]",
                        help=f"a checkout of the base commit (not with --without-usage); a scenario of "
                             f"{', '.join(sorted(BODIES))} (stream); rounds (12)")
    parser.add_argument("--without-usage", action="store_true",
                        help="the base: this commit with usage recording off")
    parser.add_argument("--telemetry", action="store_true",
                        help="the base: this commit with traces off; this: every request traced")
    args = parser.parse_args()
    words = list(args.words)
    same_tree = args.without_usage or args.telemetry
    base_dir = None if same_tree or not words else Path(words.pop(0))
    scenario = words.pop(0) if words else "stream"
    rounds = int(words.pop(0)) if words else 12
    if (base_dir is None) != same_tree or (args.without_usage and args.telemetry) or scenario not in BODIES or words:
        parser.error(f"usage: BASE_DIR [SCENARIO] [ROUNDS], or --without-usage or --telemetry [SCENARIO] [ROUNDS]; "
                     f"scenarios: {', '.join(sorted(BODIES))}")
    with ExitStack() as stack:
        if args.without_usage:
            base = stack.enter_context(without_usage())
        else:
            base = HERE if base_dir is None else base_dir.resolve()
        traced = frozenset({"this"}) if args.telemetry else frozenset()
        cpu = compare({"base": base, "this": HERE}, BODIES[scenario](), rounds, traced)
    for label, runs in cpu.items():
        print(f"{label:5} {scenario}: median {statistics.median(runs):.4f} ms CPU/request   "
              + " ".join(f"{run:.3f}" for run in runs))
    print(f"this/base: {statistics.median(cpu['this']) / statistics.median(cpu['base']):.3f}")


@contextmanager
def without_usage() -> Iterator[Path]:
    """A worktree of HEAD whose usage recording is a no-op, removed afterwards."""
    with TemporaryDirectory() as name:
        tree = Path(name) / "without-usage"
        subprocess.run(["git", "-C", str(HERE), "worktree", "add", "--detach", "--quiet", str(tree), "HEAD"], check=True)
        try:
            exchange = tree / "router" / "observe" / "exchange.py"
            text = exchange.read_text()
            marker = "    def _used(self, status: int, total: float) -> None:\n"
            at = text.index('"""', text.index('"""', text.index(marker)) + 3) + 3  # after its docstring
            exchange.write_text(text[:at] + "\n        return  # the A/B's control: no usage recording" + text[at:])
            schemas = HERE / "router" / "_schemas"
            if schemas.is_symlink() and not (tree / "router" / "_schemas").exists():
                (tree / "router" / "_schemas").symlink_to(os.readlink(schemas))
            yield tree
        finally:
            subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force", str(tree)], check=False)


def compare(trees: dict[str, Path], body: dict[str, object], rounds: int, traced: frozenset[str] = frozenset()
            ) -> dict[str, list[float]]:
    """Router CPU per request of each tree, `rounds` runs each, alternated; `traced`: the labels
    whose router traces every request (to nginx's /v1/traces)."""
    with TemporaryDirectory() as name, ExitStack() as stack:
        tmp = Path(name)
        nginx_port = free_port()
        (tmp / "nginx.conf").write_text(nginx_conf(nginx_port, tmp))
        nginx = subprocess.Popen(["taskset", "-c", "0", "nginx", "-c", str(tmp / "nginx.conf"), "-p", str(tmp),
                                  "-g", "daemon off;"])
        stack.callback(nginx.wait)
        stack.callback(nginx.terminate)
        time.sleep(0.5)
        urls, pids = {}, {}
        for label, tree in trees.items():
            port = free_port()
            routes = tmp / f"routes-{label}.toml"
            routes.write_text(routes_toml(nginx_port, telemetry=label in traced))
            # `python -m router` with the tree first on the path: each serves its own code.
            router = stack.enter_context(running(
                ["router", "serve", "--config", str(routes), "--port", str(port)], port,
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
