"""Graceful shutdown, in the order a load balancer needs it:

    SIGTERM ─► /ready answers 503 at once (state.ready = False)
            ─► `[server] drain-delay` seconds still accepting: the balancer sees the 503 and
               stops sending, while requests it already sent are served
            ─► uvicorn's own shutdown: the listener closes, running requests and streams get
               `[server] shutdown-timeout` seconds to finish (timeout_graceful_shutdown), the
               rest are cancelled (a stream's access-log line then says 499 "cancelled")
            ─► the lifespan's shutdown: reloader stopped, upstream clients closed

uvicorn hears the signal through its own handler and starts closing at once; the lifespan's
shutdown runs only after the connections drained, far too late to turn /ready. So while the app
runs, `DrainOnSignal` sits in front of uvicorn's handler: it flips readiness first and passes the
signal on (after the delay; SIGINT, someone at a terminal, without one). A second signal is
passed on at once: a second Ctrl-C still forces uvicorn out. With `--workers N` each worker does this when the supervisor forwards SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import FrameType
from typing import Any, Protocol

from router.observe.metrics import worker_exited
from router.server.gc_tuning import tune_for_serving

log = logging.getLogger("router.server.shutdown")
SIGNALS = (signal.SIGTERM, signal.SIGINT)

Handler = Callable[[int, FrameType | None], Any]


class _Readiness(Protocol):
    ready: bool


class DrainOnSignal:
    """Installed for the app's lifetime (lifespan startup to shutdown), in the main thread only,
    and only in front of a real handler (uvicorn's): in tests and embedded use it does nothing."""

    def __init__(self, state: _Readiness, delay: float) -> None:
        self._state = state
        self._delay = delay
        self._previous: dict[int, Handler] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._signalled = False

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        self._loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            previous = signal.getsignal(sig)
            if callable(previous):  # SIG_DFL / SIG_IGN: no server to hand the signal to
                self._previous[sig] = previous
                signal.signal(sig, self._handle)

    def uninstall(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for sig, previous in self._previous.items():
            if signal.getsignal(sig) == self._handle:
                signal.signal(sig, previous)
        self._previous.clear()

    def _handle(self, sig: int, frame: FrameType | None) -> None:
        """Runs as a signal handler: set a flag, schedule the rest on the loop, nothing else."""
        self._state.ready = False
        previous = self._previous[sig]
        if self._signalled or self._delay <= 0 or self._loop is None or sig != signal.SIGTERM:
            previous(sig, frame)
            return
        self._signalled = True
        self._loop.call_soon_threadsafe(self._later, sig, previous)

    def _later(self, sig: int, previous: Handler) -> None:
        log.info("%s: /ready answers 503; closing the listener in %gs",
                 signal.Signals(sig).name, self._delay)
        self._timer = asyncio.get_running_loop().call_later(self._delay, previous, sig, None)


def serving_lifespan(state: Any, drain_signals: bool) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """The app's serving lifespan: readiness on signals (when `drain_signals`: under `router
    serve`); when it stops, the access log's last lines and the worker's metrics bookkeeping.
    `state` is the RouterState."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        drain = DrainOnSignal(state, state.table.loaded.config.server.drain_delay)
        if drain_signals:
            drain.install()
            tune_for_serving()
        try:
            yield
        finally:
            drain.uninstall()
            state.ready = False
            state.access_log.flush()  # lines of requests that ended in the last loop iteration
            worker_exited()

    return lifespan
