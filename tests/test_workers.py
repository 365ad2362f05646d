"""`router serve --workers 2`, a real process on loopback (router.server.supervisor): reloads reach
both workers in place, with requests running and none failing; a key's Redis limit is exact across
the workers; a killed worker is replaced; SIGTERM drains and exits 0.

How a test knows a reload reached BOTH workers: the workers' metrics are summed in one scrape
(prometheus multi-process mode), so `router_config_reloads_total{result="reloaded"}` going up by
exactly 2 means each worker installed the new table. The SIGHUP and admin tests edit the file in
place with the same size and mtime, which the file poll cannot see, so only the signal can have
done it. One server for the whole module, the tests in order (the last one stops it).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import httpx
import pytest

from router.observe.metrics import MULTIPROC_ENV
from tests.support.redis_server import redis_server, require_redis_server
from tests.support.servers import Process, free_port, running

LIMITED_KEY, FREE_KEY = "k-workers-limited", "k-workers-free"
LIMIT = 5
ROUTES = """\
[server]
drain-delay = 0.2
shutdown-timeout = 10

[auth]
keys = [
  {{ name = "limited", key = "env:WORKERS_LIMITED_KEY", limits = {{ rpm = {limit} }} }},
  {{ name = "free", key = "env:WORKERS_FREE_KEY" }},
]

[limits]
backend = "redis"
redis-url = "env:REDIS_URL"
fail-open = false

[upstreams.mock]
kind = "mock"

[upstreams.slow]
kind = "mock"
delay = 1.0

[[routes]]
name = "demo"
models = ["demo"]
to = "mock"

[[routes]]
name = "slow"
models = ["slow"]
to = "slow"

[[routes]]
name = "swap"
models = ["{swap}"]
to = "mock"
"""
BODY = {"max_tokens": 20, "messages": [{"role": "user", "content": "workers"}]}
DEADLINE = 15.0  # seconds any one wait may take


@dataclass
class Served:
    config: Path
    url: str
    process: Process
    metrics_dir: Path
    versions: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    require_redis_server()
    directory = tmp_path_factory.mktemp("workers")
    config = directory / "routes.toml"
    config.write_text(ROUTES.format(swap="swap0", limit=LIMIT))
    port = free_port()
    with ExitStack() as stack:
        redis_url = stack.enter_context(redis_server())
        env = {"REDIS_URL": redis_url, "WORKERS_LIMITED_KEY": LIMITED_KEY, "WORKERS_FREE_KEY": FREE_KEY,
               "ROUTER_RELOAD_INTERVAL": "0.2"}
        env.pop(MULTIPROC_ENV, None)
        args = ["router", "serve", "--config", str(config), "--port", str(port), "--workers", "2"]
        process = stack.enter_context(running(args, port, {**env}, timeout=60))
        yield Served(config, f"http://127.0.0.1:{port}", process, metrics_dir(process.pid))


# --- helpers -----------------------------------------------------------------------------------


def worker_pids(supervisor: int) -> set[int]:
    """The supervisor's children that are uvicorn workers (not multiprocessing's resource tracker)."""
    pids: set[int] = set()
    for task in Path(f"/proc/{supervisor}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in command:
                pids.add(int(child))
    return pids


def metrics_dir(supervisor: int) -> Path:
    for pid in worker_pids(supervisor):
        for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            if entry.startswith(MULTIPROC_ENV.encode() + b"="):
                return Path(entry.split(b"=", 1)[1].decode())
    raise AssertionError("no worker has PROMETHEUS_MULTIPROC_DIR")


def fresh_post(url: str, model: str, key: str = FREE_KEY) -> int:
    """A request on a new connection: the kernel hands each to either worker."""
    answer = httpx.post(f"{url}/v1/messages", json={**BODY, "model": model}, headers={"x-api-key": key}, timeout=10)
    return answer.status_code


def reloads(url: str, result: str = "reloaded") -> float:
    for line in httpx.get(f"{url}/metrics", timeout=5).text.splitlines():
        if line.startswith(f'router_config_reloads_total{{result="{result}"}}'):
            return float(line.split()[-1])
    return 0.0


def wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {DEADLINE}s: {what}")


def swap_unseen_by_the_poll(config: Path, name: str) -> None:
    """Rewrite the swap route's model in place, same size, mtime put back: the file poll's
    fingerprint does not change, so only an explicit reload installs it."""
    before = config.stat()
    text = config.read_text()
    with config.open("r+") as file:  # in place: same inode
        file.write(text.replace(current_swap(text), name))
    os.utime(config, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert config.stat().st_size == before.st_size


def current_swap(text: str) -> str:
    found = re.search(r'models = \["(swap\d+)"\]', text)
    assert found is not None
    return found.group(1)


class RequestLoop:
    """Requests to the `demo` route without pause, on one kept-alive connection and on fresh ones,
    in two threads, until stopped; every status is kept."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statuses: Counter[int | str] = Counter()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(fresh,), daemon=True) for fresh in (False, True)]

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=DEADLINE)

    def _run(self, fresh: bool) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                try:
                    if fresh:
                        self.statuses[fresh_post(self.url, "demo")] += 1
                    else:
                        answer = client.post(f"{self.url}/v1/messages", json={**BODY, "model": "demo"},
                                             headers={"x-api-key": FREE_KEY})
                        self.statuses[answer.status_code] += 1
                except httpx.HTTPError as exc:
                    self.statuses[type(exc).__name__] += 1


def serves_everywhere(url: str, model: str, expected: int, tries: int = 12) -> bool:
    """`tries` requests on fresh connections (both workers, in practice) all answer `expected`."""
    with ThreadPoolExecutor(4) as pool:
        return set(pool.map(lambda _: fresh_post(url, model), range(tries))) == {expected}


# --- the tests, in order ------------------------------------------------------------------------


def test_a_redis_limit_is_exact_across_workers(served: Served) -> None:
    """Memory limits are per worker; Redis ones are one budget for all: exactly LIMIT pass."""
    statuses: Counter[int] = Counter()
    with ThreadPoolExecutor(6) as pool:
        for _ in range(10):  # until both workers answered some (each then has a counter file)
            statuses.update(pool.map(lambda _: fresh_post(served.url, "demo", LIMITED_KEY), range(3 * LIMIT)))
            if len(list(served.metrics_dir.glob("counter_*.db"))) >= 2:
                break
    assert len(list(served.metrics_dir.glob("counter_*.db"))) == 2, "one worker answered every request"
    assert statuses[200] == LIMIT, statuses
    assert set(statuses) == {200, 429}, statuses


def test_sighup_reloads_both_workers_in_place_with_no_request_lost(served: Served) -> None:
    workers = worker_pids(served.process.pid)
    assert len(workers) == 2
    assert serves_everywhere(served.url, "swap0", 200)
    before = reloads(served.url)
    with RequestLoop(served.url) as loop:
        time.sleep(0.3)
        swap_unseen_by_the_poll(served.config, "swap1")
        time.sleep(0.5)  # two polls: they must not see it
        assert reloads(served.url) == before
        os.kill(served.process.pid, signal.SIGHUP)
        wait_for(lambda: reloads(served.url) == before + 2, "both workers reloaded")
        time.sleep(0.3)
    assert set(loop.statuses) == {200}, loop.statuses
    assert loop.statuses[200] > 10
    assert worker_pids(served.process.pid) == workers, "a worker was restarted instead of reloaded"
    assert serves_everywhere(served.url, "swap1", 200)
    assert serves_everywhere(served.url, "swap0", 404)


def test_a_file_edit_reaches_both_workers(served: Served) -> None:
    before = reloads(served.url)
    text = served.config.read_text()
    served.config.write_text(text.replace(current_swap(text), "swap22"))  # a new size: the poll sees it
    wait_for(lambda: reloads(served.url) == before + 2, "both workers saw the file change")
    assert serves_everywhere(served.url, "swap22", 200)


def test_admin_reload_reaches_both_workers(served: Served) -> None:
    """POST /admin/reload reaches one worker; it reloads and asks the supervisor to SIGHUP all."""
    before = reloads(served.url)
    swap_unseen_by_the_poll(served.config, "swap33")
    answer = httpx.post(f"{served.url}/admin/reload", timeout=10)
    assert answer.status_code == 200 and answer.json()["status"] == "reloaded", answer.text
    wait_for(lambda: reloads(served.url) == before + 2, "both workers reloaded")
    assert serves_everywhere(served.url, "swap33", 200)


def test_a_killed_worker_is_replaced(served: Served) -> None:
    workers = worker_pids(served.process.pid)
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: len(worker_pids(served.process.pid) - {victim}) == 2, "a new worker")
    wait_for(lambda: serves_everywhere(served.url, "swap33", 200), "both workers serve the current table")
    assert "died" in served.process.output()


def test_sigterm_drains_a_running_request_and_exits_0(served: Served) -> None:
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(fresh_post, served.url, "slow")  # the slow upstream answers after 1 s
        time.sleep(0.3)
        served.process.send_signal(signal.SIGTERM)
        assert slow.result(timeout=DEADLINE) == 200
    assert served.process.wait(timeout=DEADLINE) == 0
    assert not served.metrics_dir.exists(), "router serve left its metrics directory behind"


def test_workers_that_cannot_start_stop_router_serve_with_status_3(tmp_path: Path) -> None:
    """A worker failing before it serves (here its app factory refuses the environment) would
    fail the same way forever: the supervisor stops and says so, rather than restarting it."""
    config = tmp_path / "routes.toml"
    config.write_text('[upstreams.m]\nkind = "mock"\n\n[[routes]]\nname = "demo"\nmodels = ["demo"]\nto = "m"\n')
    env = {key: value for key, value in os.environ.items() if key != MULTIPROC_ENV}
    done = subprocess.run(
        [sys.executable, "-m", "router", "serve", "--config", str(config), "--port", str(free_port()), "--workers", "2"],
        env={**env, "ROUTER_RELOAD_INTERVAL": "never"}, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "ROUTER_RELOAD_INTERVAL='never'" in done.stdout + done.stderr
