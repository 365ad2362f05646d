"""Hot reload: load routes.toml again, build the whole new table, then swap it in one step.

Three triggers, one path (`Reloader.reload`): the file changed (polled with `os.stat`), SIGHUP,
and `POST /admin/reload`. A reload calls the loader `router check` uses, so a file `check`
accepts is exactly a file a reload installs; anything less than a complete table (a problem in
the file, a bug while building) leaves the running table alone and is logged, problem by problem.

Why polling and not inotify: a stat every second costs nothing, needs no dependency, and sees
every way a config file is replaced — an editor's write-to-temp-then-rename (new inode), an
in-place write (mtime, size) and a Kubernetes config-map update, where `..data` is a symlink
swapped to a new directory (`stat` follows the chain afresh each time; `lstat` of the mounted
path would never change).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections import deque
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from router.config.access import NO_KEY_LEFT
from router.config.load import LoadedConfig, load_config_file
from router.config.problems import InvalidConfig, Problem
from router.gateway.state import RouterState
from router.routing.lookup import Table, build_table

log = logging.getLogger("router.reload")

ReloadStatus = Literal["reloaded", "unchanged", "invalid"]
# (resolved target, inode, device, mtime in ns, size): any of them changing means a new file.
Fingerprint = tuple[str, int, int, int, int]
# routes.toml's fingerprint, then its keys file's when it names one.
Snapshot = tuple[Fingerprint | None, ...]
DEFAULT_POLL_INTERVAL = 1.0
HISTORY = 20  # reloads kept in ReloadStats.history
# Set by router.server.supervisor for its workers: the supervisor's pid.
SUPERVISOR_PID_ENV = "ROUTER_SUPERVISOR_PID"


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """What one reload did. `sha256` names the table serving afterwards (the old one when the
    reload was refused); `errors` are rendered problem lines, which never contain a secret."""

    status: ReloadStatus
    reason: str
    sha256: str
    errors: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()  # upstreams whose client was kept as is
    created: tuple[str, ...] = ()  # upstreams with a new client


@dataclass(slots=True)
class ReloadStats:
    """Counters for GET /admin/config: an operator can tell a rejected edit from no edit."""

    ok: int = 0
    unchanged: int = 0
    failed: int = 0
    last_error: dict[str, Any] | None = None
    # The last reloads tried, newest last (the dashboard's history; not in as_json, whose shape
    # is the admin API's).
    history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=HISTORY))

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "unchanged": self.unchanged, "failed": self.failed, "last_error": self.last_error}


def fingerprint(path: Path) -> Fingerprint | None:
    """The identity of the file `path` leads to now, or None when there is none. The symlink
    chain is resolved on every call, so swapping any link in it shows up."""
    try:
        target = os.path.realpath(path)
        stat = os.stat(target)
    except OSError:
        return None
    return (target, stat.st_ino, stat.st_dev, stat.st_mtime_ns, stat.st_size)


class Reloader:
    """Owns the poll task and the SIGHUP handler of one app; `reload` is safe to call from any
    task (reloads run one at a time)."""

    def __init__(
        self, state: RouterState, path: Path, environ: Mapping[str, str], *,
        interval: float = DEFAULT_POLL_INTERVAL,
    ) -> None:
        self.state = state
        self.path = path
        self.environ = environ
        self.interval = interval
        self.stats = ReloadStats()
        self._lock = asyncio.Lock()
        self._seen = self._snapshot()  # taken now, close to when the serving table was loaded
        self._pending: Snapshot | None = None  # a change waiting to settle
        self._gone = False
        self._poller: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._signal_loop: asyncio.AbstractEventLoop | None = None

    async def reload(self, reason: str) -> ReloadResult:
        async with self._lock:
            result = await self._reload(reason)
        self._count(result)
        self.state.metrics.record_config_reload(result.status)
        return result

    # -- triggers -------------------------------------------------------------------------

    def start(self) -> None:
        """Start polling and listen for SIGHUP. Call from the app's lifespan."""
        loop = asyncio.get_running_loop()
        self._poller = loop.create_task(self._poll(), name="router-reload-poll")
        self._listen_sighup(loop)

    async def stop(self) -> None:
        """Stop polling, forget SIGHUP, and cancel a reload in progress (its table is not
        installed: nothing will serve it)."""
        if self._signal_loop is not None:
            self._signal_loop.remove_signal_handler(signal.SIGHUP)
            self._signal_loop = None
        pending = [task for task in (self._poller, *self._tasks) if task is not None]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._poller = None

    def _listen_sighup(self, loop: asyncio.AbstractEventLoop) -> None:
        """Signal handlers can only be set from the main thread (tests often run apps elsewhere)."""
        if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGHUP"):
            return
        try:
            loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        except (NotImplementedError, RuntimeError, ValueError):
            log.warning("SIGHUP reload unavailable on this event loop; file changes and /admin/reload still work")
            return
        self._signal_loop = loop

    def _on_sighup(self) -> None:
        self._spawn(self.reload("SIGHUP"))

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self._settled(self._snapshot()):
                await self.reload("file changed")

    def _snapshot(self) -> Snapshot:
        """routes.toml and the keys file it names: a key added or revoked there is a new table."""
        keys_file = self.state.table.loaded.keys_file
        paths = (self.path,) if keys_file is None else (self.path, Path(keys_file))
        return tuple(fingerprint(path) for path in paths)

    def _settled(self, current: Snapshot) -> bool:
        """True when a file changed and then stayed the same for one interval: an in-place
        write caught half-way (an empty file is valid TOML) must not become the table. A
        routes.toml that disappears is said once; the loaded table serves until it is back."""
        if current[0] is None:
            if not self._gone:
                log.warning("%s is gone; still serving the loaded table", self.path)
            self._gone, self._pending = True, None
            return False
        self._gone = False
        if current == self._seen:
            self._pending = None
            return False
        if current != self._pending:
            self._pending = current
            return False
        self._seen, self._pending = current, None
        return True

    # -- the reload itself ----------------------------------------------------------------

    async def _reload(self, reason: str) -> ReloadResult:
        current = self.state.table.loaded
        try:
            loaded = await asyncio.to_thread(load_config_file, self.path, self.environ)
            if loaded.source_sha256 == current.source_sha256:
                return ReloadResult("unchanged", reason, current.source_sha256)
            refused = refusals(current, loaded, generated_keys=bool(self.state.generated_key_hashes))
            if refused:
                raise InvalidConfig(refused)
            table = await asyncio.to_thread(build_table, loaded)
        except InvalidConfig as exc:
            return self._rejected(reason, [problem.render() for problem in exc.problems])
        except Exception as exc:  # noqa: BLE001 - a bug while building must not take the table down
            log.exception("reload (%s): building the table failed", reason)
            return self._rejected(reason, [f"{self.path}: internal error while building the table: {type(exc).__name__}"])
        return self._install(reason, current, loaded, table)

    def _install(self, reason: str, old: LoadedConfig, loaded: LoadedConfig, table: Table) -> ReloadResult:
        change = self.state.install(table)
        for warning in loaded.warnings:
            log.warning("%s", warning.render())
        if loaded.config.server != old.config.server:
            log.warning("reload (%s): [server] changed; host, port and workers take effect at restart", reason)
        if loaded.keys_required and not self.state.key_hashes:
            log.warning("reload (%s): %s", reason, NO_KEY_LEFT)
        retired = [client.name for client in change.retired]
        log.info("reloaded %s (%s): sha256 %s -> %s; clients kept %s, new %s, retiring %s", self.path, reason,
                 old.source_sha256[:12], loaded.source_sha256[:12], list(change.kept), list(change.created), retired)
        return ReloadResult("reloaded", reason, loaded.source_sha256, (), change.kept, change.created)

    def _rejected(self, reason: str, errors: list[str]) -> ReloadResult:
        serving = self.state.table.loaded.source_sha256
        log.error("reload (%s) rejected, still serving sha256 %s: %d problem(s)", reason, serving[:12], len(errors))
        for line in errors:
            log.error("%s", line)
        return ReloadResult("invalid", reason, serving, tuple(errors))

    def _count(self, result: ReloadResult) -> None:
        self.stats.history.append({"at": iso_now(), "status": result.status, "reason": result.reason,
                                   "sha256": result.sha256, "problems": len(result.errors)})
        if result.status == "reloaded":
            self.stats.ok += 1
        elif result.status == "unchanged":
            self.stats.unchanged += 1
        else:
            self.stats.failed += 1
            self.stats.last_error = {"at": iso_now(), "reason": result.reason, "errors": list(result.errors)}


def reload_other_workers(environ: Mapping[str, str]) -> bool:
    """Under `router serve --workers N`, a reload one worker was asked for (POST /admin/reload)
    must reach the others: SIGHUP to the supervisor, which forwards it to every worker (this
    one too: its second reload finds the file unchanged). Why not wait for the file poll: a
    reload the operator asked for is done when it answers, not a poll interval later. True when
    the supervisor was told; the pid must be our parent's, so a stale variable signals no one."""
    text = environ.get(SUPERVISOR_PID_ENV, "")
    if not text.isdigit() or int(text) != os.getppid() or not hasattr(signal, "SIGHUP"):
        return False
    os.kill(int(text), signal.SIGHUP)
    return True


def refusals(old: LoadedConfig, new: LoadedConfig, *, generated_keys: bool) -> list[Problem]:
    """What a valid file may still not do to a running server (`router keys` asks the same).

    A table whose `[auth]` names keys or a keys file is closed even with no key left, so
    revoking the last key is an ordinary reload: every client is refused from then on. Only
    dropping every key source would open the server, which may be bound beyond loopback (only
    `router serve` knows, at start): that is refused, unless the server generated a key at start
    (it keeps that one)."""
    if old.keys_required and not new.keys_required and not generated_keys:
        message = ("a reload cannot drop every client key source ([auth] keys, keys-file): "
                   "the running server would be open to anyone")
        fix = ("keep keys-file (with no key in it every client is refused), "
               "or restart the server to serve without keys (loopback only)")
        return [Problem("error", new.filename, None, None, "auth", "auth.keys", message, fix)]
    return []


def iso_now() -> str:
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, the form log tools and `date -d` read."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

