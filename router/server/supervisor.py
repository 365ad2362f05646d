"""`router serve --workers N` (N > 1): uvicorn's multi-process supervisor, with reloads that reach
every worker instead of replacing them.

uvicorn's `Multiprocess` already does most of what a supervisor must: it hands the listening
socket to N spawned workers (each a uvicorn `Server` with our config), forwards SIGTERM/SIGINT to
them (each drains through router.server.shutdown), pings them and replaces one that dies. Its
SIGHUP is wrong for us: it restarts every worker, which costs each its warm state (upstream
connection pools, the memory cache, rate-limit windows) and seconds of start-up. Our workers
reload in place on SIGHUP (router.server.reload), so `WorkerSupervisor` forwards the signal.
Subclassing keeps the signal queue, the health pings and the process hand-off uvicorn's; we
override four methods (SIGHUP, the sockets, the replacement of a dead worker, SIGTTIN/TTOU);
the price is that the class is not a documented API (pyproject bounds uvicorn's version, and
tests/test_workers.py runs it for real).

Its socket is the other thing we change, on Linux. uvicorn hands one listening socket to every
worker, and each worker's event loop (libuv) accepts every connection waiting when it wakes: a
client opening 64 connections at once found 59 on one worker and 5 on the other, so one core did
the work of two. Here each worker gets its own socket, all bound to the address with SO_REUSEPORT,
and the kernel spreads new connections over them by their addresses' hash. The sockets stay open
in the supervisor, so a replaced worker takes over its predecessor's socket, connections queued
on it included. Elsewhere (SO_REUSEPORT does not balance there) every worker shares one socket.

Two more differences: a worker that died without its lifespan's shutdown (SIGKILL, OOM) has its
live gauges marked dead, so the scrape stops summing them; and a worker that dies before all have
served once stops `router serve` with status 3 (uvicorn stops only on its own status 3, and
restarted a worker whose app factory raised forever).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from socket import (
    IPPROTO_TCP,
    SO_REUSEADDR,
    SO_REUSEPORT,
    SOCK_STREAM,
    SOL_SOCKET,
    socket,
)

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from router.observe.metrics import forget_dead_worker
from router.server.reload import SUPERVISOR_PID_ENV

# uvicorn configures its own loggers in this process, not ours: the supervisor speaks as uvicorn does.
log = logging.getLogger("uvicorn.error")
READY_PING_TIMEOUT = 1.0  # seconds a worker has to answer "are you serving?" before a SIGHUP skips it


class WorkerSupervisor(Multiprocess):
    """`sockets`: one per worker (SO_REUSEPORT), or a single one all workers share."""

    def __init__(self, config: Config, sockets: list[socket]) -> None:
        super().__init__(config, sockets)
        # Read by each worker (spawned children inherit the environment): POST /admin/reload in
        # one worker sends this process a SIGHUP, so the reload reaches every worker.
        os.environ[SUPERVISOR_PID_ENV] = str(os.getpid())
        self._served = False  # every worker has been ready once
        self._start_failed = False

    def _socket_of(self, index: int) -> list[socket]:
        return [self.sockets[index % len(self.sockets)]]

    def init_processes(self) -> None:
        for index in range(self.processes_num):
            process = Process(self.config, self._socket_of(index))
            process.start()
            self.processes.append(process)

    def keep_subprocess_alive(self) -> None:
        """uvicorn's, with the replacement given its predecessor's socket, and a worker that dies
        before every worker first served taken as a start-up failure whatever its exit status
        (uvicorn counts only its own 3: an exception in our app factory exits 1, and uvicorn
        would restart such workers forever)."""
        if self.should_exit.is_set():
            return
        if not self._served:
            self._served = all(process.process.is_alive() and process.is_ready(timeout=READY_PING_TIMEOUT)
                               for process in self.processes)
        for index, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()  # hung, or already gone
            process.join()
            if process.pid is not None:
                forget_dead_worker(process.pid)
            if process.exitcode == STARTUP_FAILURE or not self._served:  # it would fail the same way again
                log.error("Child process [%s] failed to start, stopping the parent process.", process.pid)
                self._start_failed = True
                self.should_exit.set()
                return
            log.info("Child process [%s] died", process.pid)
            replacement = Process(self.config, self._socket_of(index))
            replacement.start()
            self.processes[index] = replacement

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

    def handle_ttin(self) -> None:
        log.info("SIGTTIN ignored: the number of workers is --workers (or [server] workers)")

    def handle_ttou(self) -> None:
        log.info("SIGTTOU ignored: the number of workers is --workers (or [server] workers)")

    def exit_status(self) -> int:
        """uvicorn's STARTUP_FAILURE (3) when workers could not start (the app, the socket): the
        supervisor stopped because of it. 0 otherwise: a signal asked it to stop."""
        return STARTUP_FAILURE if self._start_failed else 0


def worker_sockets(config: Config) -> list[socket]:
    """One socket per worker bound with SO_REUSEPORT on Linux, else uvicorn's one shared socket.
    uvicorn binds first, alone and without SO_REUSEPORT: its error and exit status when the
    address is taken (by anyone: a socket with SO_REUSEPORT would share a port another
    `router serve` of the same user holds), and its "running on" line."""
    shared = config.bind_socket()
    if not sys.platform.startswith("linux") or config.port == 0:
        return [shared]
    family = shared.family
    shared.close()
    return [reuseport_socket(family, config.host, config.port) for _ in range(config.workers)]


def reuseport_socket(family: int, host: str, port: int) -> socket:
    sock = socket(family, SOCK_STREAM, IPPROTO_TCP)
    sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    sock.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def run_workers(config: Config) -> int:
    """Serve `config` with `config.workers` processes until SIGTERM/SIGINT; the exit status."""
    supervisor = WorkerSupervisor(config, sockets=worker_sockets(config))
    supervisor.run()
    return supervisor.exit_status()
