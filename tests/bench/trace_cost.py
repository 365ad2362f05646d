"""Where traces' cost goes, in process (issue 19): two measurements callgrind cannot give.

    python -m tests.bench.trace_cost bytecodes [N]    # bytecodes per small request, traced - untraced
    python -m tests.bench.trace_cost hooks [N]        # each span hook's time, traced small requests
    python -m tests.bench.trace_cost cold [N] [stream] # a small request's (or stream's) time, traced - untraced, caches cold

`bytecodes` runs tests.bench.instructions' in-process app (every request traced to a receiver in
a child process, as its `--telemetry` does, or untraced) under `sys.settrace` with opcode events,
in a child process per run (PYTHONHASHSEED fixed), for N (300) small requests and for none: the
difference, per request, is exact and the same on any machine. It prints the total and the
functions that account for it (the export thread's too). Each bytecode also costs the C it calls,
so this is the count of steps, not of time.

`hooks` times each RequestSpan hook (perf_counter_ns around each) and the export thread's posts
(that thread's CPU) over N (4,000) traced small requests: what the steps cost where they run,
once per request between the rest of its code. The timer's own ~0.1 µs is in each figure.

`cold` serves small requests in process from two apps, one tracing every request (to the
receiver) and one not, alternated, with the CPU's caches swept (a 6 MB buffer read) before each:
under load a request's steps run with little of them in cache, and that, not their instruction
count, is most of what a step costs (a second identical set of span hooks per request costs a
third of the first). It prints the medians of N (3,000) requests' time each and their
difference: what traces cost a request on the event loop (the export thread's posts not in it).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from tests.bench import instructions

Key = tuple[str, int, str]
REPO = Path(__file__).resolve().parents[2]
HOOKS = ("attempt_headers", "answered", "finish")


def count_bytecodes(traced: bool, count: int, out: Path) -> None:
    """In this process: bytecodes per function over `count` small requests, written to `out`."""
    receiver = _receiver() if traced else None
    counts: Counter[Key] = Counter()

    def tracer(frame: FrameType, event: str, arg: object) -> Callable[..., Any]:
        frame.f_trace_opcodes, frame.f_trace_lines = True, False
        if event == "opcode":
            code = frame.f_code
            name = code.co_filename.split("site-packages/")[-1].removeprefix(f"{REPO}/")
            counts[(name, code.co_firstlineno, code.co_qualname)] += 1
        return tracer

    threading.settrace(tracer)
    sys.settrace(tracer)
    try:
        asyncio.run(instructions.measure(count, ["small"]))
    finally:
        sys.settrace(None)
        threading.settrace(None)
        if receiver is not None:
            receiver.kill()
    out.write_text(json.dumps([[*key, value] for key, value in counts.items()]))


def _receiver() -> subprocess.Popen[str]:
    """The OTLP receiver of tests.bench.instructions, its port in this process's environment."""
    receiver = subprocess.Popen([sys.executable, "-c", instructions.RECEIVER], stdout=subprocess.PIPE, text=True)
    assert receiver.stdout is not None
    os.environ[instructions.TELEMETRY_PORT] = receiver.stdout.readline().strip()
    return receiver


def _run(traced: bool, count: int, tmp: Path) -> Counter[Key]:
    out = tmp / f"{'traced' if traced else 'plain'}-{count}.json"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env.pop(instructions.TELEMETRY_PORT, None)
    subprocess.run([sys.executable, "-m", "tests.bench.trace_cost", "--child", "1" if traced else "0", str(count),
                    str(out)], check=True, env=env, stdout=subprocess.DEVNULL)
    return Counter({(name, int(line), function): value for name, line, function, value in json.loads(out.read_text())})


def bytecodes(count: int, shown: int = 25) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        per_request: dict[bool, Counter[Key]] = {}
        for traced in (False, True):
            many, none = _run(traced, count, tmp), _run(traced, 0, tmp)
            many.subtract(none)
            per_request[traced] = many
    plain, traced_counts = per_request[False], per_request[True]
    difference = {key: (traced_counts[key] - plain[key]) / count for key in set(plain) | set(traced_counts)}
    total_plain, total_traced = sum(plain.values()) / count, sum(traced_counts.values()) / count
    print(f"bytecodes per small request: untraced {total_plain:,.0f}, traced {total_traced:,.0f}, "
          f"traces add {total_traced - total_plain:,.0f} ({(total_traced / total_plain - 1) * 100:+.1f} %)")
    for (name, line, function), value in sorted(difference.items(), key=lambda item: -abs(item[1]))[:shown]:
        if abs(value) >= 1:
            print(f"{value:8.1f}  {name}:{line} {function}")


def hooks(count: int) -> None:
    from router.observe import otel, otlp_json

    spent: dict[str, list[int]] = {}

    def timed(owner: type, name: str, clock: Callable[[], int] = time.perf_counter_ns) -> None:
        original = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            try:
                return original(*args, **kwargs)
            finally:
                entry = spent.setdefault(name, [0, 0])
                entry[0] += clock() - started
                entry[1] += 1

        setattr(owner, name, wrapper)

    for hook in HOOKS:
        timed(otel.RequestSpan, hook)
    timed(otel.Tracing, "request_span")
    # The export thread's posts: its CPU (a post's wall time is mostly the network's).
    timed(otlp_json.OtlpJsonExporter, "post_spans", time.thread_time_ns)
    receiver = _receiver()
    try:
        asyncio.run(instructions.measure(count, ["small"]))
    finally:
        receiver.kill()
    requests = spent["request_span"][1]
    for name, (total, calls) in spent.items():
        print(f"{name:18} {calls:6} calls {total / calls / 1000:9.2f} µs each {total / requests / 1000:6.2f} µs a request")


def cold(count: int, scenario: str = "small") -> None:
    asyncio.run(_cold(count, scenario))


async def _cold(count: int, scenario: str) -> None:
    from router.config.load import load_config_text
    from router.gateway.state import open_state
    from router.routing.lookup import build_table
    from router.server.app import create_app

    receiver = _receiver()
    try:
        routes, tracing = instructions.start_tracing_for_bench(instructions.ROUTES, instructions.ENVIRON)
        apps = {}
        for traced, text in ((False, instructions.ROUTES), (True, routes)):
            state = open_state(build_table(load_config_text(text, filename="routes.toml", environ=instructions.ENVIRON)),
                               transport=instructions.transport)
            apps[traced] = create_app(state, tracing=tracing) if traced else create_app(state)
        body = instructions.bodies()[scenario]
        for _ in range(instructions.WARMUP):
            for app in apps.values():
                await instructions.one(app, body)
        gc.collect()  # as `router serve` starts (router.server.gc_tuning)
        gc.freeze()
        gc.set_threshold(instructions.GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        sweep = bytearray(6 * 1024 * 1024)
        times: dict[bool, list[int]] = {False: [], True: []}
        for round_ in range(count):
            for traced in (round_ % 2 == 0, round_ % 2 == 1):  # alternated: neither always goes first
                sweep[::64].count(1)  # L1 and L2 lose what the last request used
                started = time.perf_counter_ns()
                await instructions.one(apps[traced], body)
                times[traced].append(time.perf_counter_ns() - started)
        await asyncio.to_thread(tracing.shutdown)
    finally:
        receiver.kill()
    plain, traced_median = (sorted(times[flag])[count // 2] / 1000 for flag in (False, True))
    print(f"{scenario}, caches swept before each, median of {count}: untraced {plain:.1f} µs, "
          f"traced {traced_median:.1f} µs, traces add {traced_median - plain:.1f} µs "
          f"({(traced_median / plain - 1) * 100:+.1f} %)")


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        count_bytecodes(sys.argv[2] == "1", int(sys.argv[3]), Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("measure", choices=("bytecodes", "hooks", "cold"))
    parser.add_argument("count", nargs="?", type=int, help="small requests (bytecodes 300, hooks 4,000, cold 3,000)")
    parser.add_argument("scenario", nargs="?", choices=("small", "stream"), default="small",
                        help="cold: the small request (default) or the 54-event stream")
    args = parser.parse_args()
    if args.measure == "bytecodes":
        bytecodes(args.count or 300)
    elif args.measure == "hooks":
        hooks(args.count or 4000)
    else:
        cold(args.count or 3000, args.scenario)


if __name__ == "__main__":
    main()
