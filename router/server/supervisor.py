"""`router serve --workers N` (N > 1): uvicorn's multi-process supervisor, with reloads that reach
every worker instead of replacing them.

uvicorn's `Multiprocess` already does what a supervisor must: it binds the socket once and hands
it to N spawned workers (each a uvicorn `Server` with our config), forwards SIGTERM/SIGINT to
them (each drains through router.server.shutdown), replaces a worker that dies, and stops when a
worker fails before it started serving. Only its SIGHUP is wrong for us: it restarts every
worker, which costs each its warm state (upstream connection pools, the memory cache, rate-limit
windows) and a few seconds of start-up. Our workers reload in place on SIGHUP (router.server.
reload), so `WorkerSupervisor` forwards the signal instead. Subclassing is a few lines where a
supervisor of our own would re-implement the socket hand-off, the health pings and the restart
logic; the price is that uvicorn's class is not a documented API (pyproject bounds the version).

Two more differences: a worker that died without its lifespan's shutdown (SIGKILL, OOM) has its
live gauges marked dead, so the scrape stops summing them; and the exit status says whether the
workers could start at all.
"""

from __future__ import annotations

import logging
import os
import signal
from socket import socket

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors.multiprocess import Multiprocess

from router.observe.metrics import forget_dead_worker
from router.server.reload import SUPERVISOR_PID_ENV

# uvicorn configures its own loggers in this process, not ours: the supervisor speaks as uvicorn does.
log = logging.getLogger("uvicorn.error")
READY_PING_TIMEOUT = 1.0  # seconds a worker has to answer "are you serving?" before a SIGHUP skips it


class WorkerSupervisor(Multiprocess):
    def __init__(self, config: Config, sockets: list[socket]) -> None:
        super().__init__(config, sockets)
        # Read by each worker (spawned children inherit the environment): POST /admin/reload in
        # one worker sends this process a SIGHUP, so the reload reaches every worker.
        os.environ[SUPERVISOR_PID_ENV] = str(os.getpid())

    def handle_hup(self) -> None:
        """Each serving worker reloads in place. A worker still starting is skipped: the default
        SIGHUP would kill it before its reloader listens, and it is reading the file anyway."""
        for process in self.processes:
            pid = process.pid
            if pid is None or not process.is_ready(timeout=READY_PING_TIMEOUT):
                log.info("SIGHUP: worker [%s] is not serving yet; it loads the current file as it starts", pid)
                continue
            try:
                os.kill(pid, signal.SIGHUP)
            except ProcessLookupError:
                continue  # it died just now: keep_subprocess_alive replaces it with a fresh load
        log.info("SIGHUP: asked %d worker(s) to reload routes.toml", len(self.processes))

    def keep_subprocess_alive(self) -> None:
        before = {process.pid for process in self.processes}
        super().keep_subprocess_alive()
        for pid in before - {process.pid for process in self.processes}:
            if pid is not None:
                forget_dead_worker(pid)

    def exit_status(self) -> int:
        """uvicorn's STARTUP_FAILURE (3) when a worker could not start (the app, the socket): the
        supervisor stopped because of it. 0 otherwise: a signal asked it to stop."""
        failed = any(process.exitcode == STARTUP_FAILURE for process in self.processes)
        return STARTUP_FAILURE if failed else 0


def run_workers(config: Config) -> int:
    """Serve `config` with `config.workers` processes until SIGTERM/SIGINT; the exit status."""
    supervisor = WorkerSupervisor(config, sockets=[config.bind_socket()])
    supervisor.run()
    return supervisor.exit_status()
