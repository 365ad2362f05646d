"""`router serve`, unchanged, plus a probe for the number of asyncio tasks alive:
`SOAK_TASK_PROBE=/path/file python -m tests.soak.serve_with_task_probe serve --config ... --port ...`.

The server has no endpoint that tells how many tasks its event loop holds, so this wrapper runs
the real entry point (router.cli.main.main, the same as `python -m router`) in-process after
installing a SIGUSR1 handler. On the signal, the handler only schedules a callback on the running
loop (call_soon_threadsafe, safe from a signal handler); the callback, run by the loop between
two of its own steps, writes JSON `{"tasks": N, "by_coro": {qualname: count}}` to the probe file
(written aside and renamed, so a reader never sees half of it). Nothing else changes: uvicorn and
the router leave SIGUSR1 alone, and without the signal the handler never runs.

Only for one worker (the soak's setup): with `--workers N` the signal would reach the supervisor.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from types import FrameType

from router.cli.main import main

PROBE_ENV = "SOAK_TASK_PROBE"


def _on_signal(signum: int, frame: FrameType | None) -> None:
    try:
        loop = asyncio.get_running_loop()  # the signal runs in the main thread, inside the loop's run
    except RuntimeError:
        return  # not serving yet (or any more): the reader times out and says so
    loop.call_soon_threadsafe(_write_tasks, loop)


def _write_tasks(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    by_coro = Counter(getattr(task.get_coro(), "__qualname__", type(task.get_coro()).__name__) for task in tasks)
    path = os.environ[PROBE_ENV]
    with open(path + ".tmp", "w") as out:
        json.dump({"tasks": len(tasks), "by_coro": dict(by_coro.most_common())}, out)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    if os.environ.get(PROBE_ENV):
        signal.signal(signal.SIGUSR1, _on_signal)
    raise SystemExit(main(sys.argv[1:]))
