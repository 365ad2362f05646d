"""`router serve` with its background work timestamped, for tests.bench.tail's causes table:
`python -m tests.bench.tail_probe EVENTS_FILE serve --config ... --port ...`.

Records, on the monotonic clock every process shares, when each garbage collection ran (and its
generation) and each run of the work the server does on its own while requests wait behind it on
the loop: the batched metrics' flush (once a second), the config reload poll (a stat of
routes.toml once a second) and uvicorn's tick (every 0.1 s; the Date header once a second). At exit
it writes them to EVENTS_FILE as JSON [kind, start ns, end ns] rows. Nothing on the request path is
wrapped: a benchmark probe, not part of the router. (Written when uvicorn's server has shut down,
not at exit: uvicorn re-raises the SIGTERM it caught, and the process dies by it, atexit unrun.)
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import os
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

Event = tuple[str, int, int]


def record_gc(events: list[Event]) -> None:
    started = [0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        now = time.monotonic_ns()
        if phase == "start":
            started[0] = now
        else:
            events.append((f"gc gen {info['generation']}", started[0], now))

    gc.callbacks.append(on_gc)


def timed(kind: str, events: list[Event], function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.monotonic_ns()
        try:
            return function(*args, **kwargs)
        finally:
            events.append((kind, started, time.monotonic_ns()))

    return wrapper


def timed_async(kind: str, events: list[Event],
                function: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Coroutine[Any, Any, Any]]:
    @functools.wraps(function)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.monotonic_ns()
        try:
            return await function(*args, **kwargs)
        finally:
            events.append((kind, started, time.monotonic_ns()))

    return wrapper


async def watch_loop(events: list[Event], tick_s: float = 0.001, late_ns: int = 1_000_000) -> None:
    """Wakes every `tick_s` and records each wake-up at least `late_ns` late as ("loop late …",
    when it was due, when it ran): how long the loop was busy with something else, which is what a
    new request arriving then waits. The kind says how long, and whether the process was on the
    core for most of the wait ("busy": a long iteration of its own work) or not ("off core":
    descheduled, or waiting in the kernel), or another of its threads was ("other threads": the GIL). Only under TAIL_PROBE_LOOP_LAG: its thousand wake-ups
    a second cost the router CPU of their own."""
    while True:
        slept, cpu, all_threads = time.monotonic_ns(), time.thread_time_ns(), time.process_time_ns()
        await asyncio.sleep(tick_s)
        ran = time.monotonic_ns()
        due = slept + int(tick_s * 1e9)
        late = ran - due
        if late >= late_ns:
            bucket = "1-2 ms" if late < 2_000_000 else "2-5 ms" if late < 5_000_000 else ">= 5 ms"
            own = time.thread_time_ns() - cpu
            others = time.process_time_ns() - all_threads - own
            where = "busy" if own >= 0.8 * (ran - slept) else "other threads" if others >= 0.5 * (ran - slept) \
                else "off core"
            events.append((f"loop late {bucket} {where}", due, ran))


def instrument(events: list[Event], events_file: Path) -> None:
    import uvicorn.server

    from router.observe.metrics import Metrics
    from router.server.reload import Reloader

    record_gc(events)
    if os.environ.get("TAIL_PROBE_GC_UNTUNED"):  # the collector as Python sets it: what gc_tuning is worth
        import router.server.shutdown

        router.server.shutdown.tune_for_serving = lambda: None  # type: ignore[attr-defined]
    Metrics.flush = timed("metrics flush", events, Metrics.flush)  # type: ignore[method-assign]
    Reloader._snapshot = timed("reload poll", events, Reloader._snapshot)  # type: ignore[method-assign]
    uvicorn.server.Server.on_tick = timed_async(  # type: ignore[method-assign]
        "uvicorn tick", events, uvicorn.server.Server.on_tick)
    serve = uvicorn.server.Server._serve

    async def serve_then_write(self: uvicorn.server.Server, *args: Any, **kwargs: Any) -> None:
        if os.environ.get("TAIL_PROBE_LOOP_LAG"):
            watcher = asyncio.get_running_loop().create_task(watch_loop(events))
            watcher.add_done_callback(lambda _: None)  # cancelled with the loop, never awaited
        try:
            await serve(self, *args, **kwargs)
        finally:
            events_file.write_text(json.dumps(events))

    uvicorn.server.Server._serve = serve_then_write  # type: ignore[method-assign]


def main() -> int:
    events_file, args = Path(sys.argv[1]), sys.argv[2:]
    events: list[Event] = []
    instrument(events, events_file)
    from router.cli.main import main as router_main

    sys.argv = ["router", *args]
    return router_main()


if __name__ == "__main__":
    raise SystemExit(main())
