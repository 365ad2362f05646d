"""Hot reload: every trigger (file edit, rename-replace, config-map symlink swap, SIGHUP, admin
endpoint) installs a complete new table; a bad edit changes nothing and says why; clients with
unchanged settings survive; requests in flight finish on the table they started with.

In-process tests drive the app's own lifespan and talk to it through httpx's ASGI transport on
the test's loop (the main thread, so the SIGHUP handler really is installed); end-to-end tests
run `router serve` on loopback with the built-in mock upstream."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from httpx_aiohttp import AiohttpTransport
from litestar import Litestar

from router.config.load import load_config_file
from router.gateway.state import RouterState, open_state
from router.routing.lookup import build_table
from router.server.app import create_app
from router.server.reload import Reloader
from tests.support.servers import REPO, free_port

POLL = 0.05
BASE = """
[upstreams.local]
kind = "mock"

[[routes]]
name = "demo"
models = ["demo"]
to = "local"
"""
ADDED = BASE + """
[[routes]]
name = "added"
models = ["added"]
to = "local"
"""
INVALID = """
[upstreams.local]
kind = "mock"
dealy = 0.5

[[routes]]
name = "demo"
models = ["demo"]
to = "nowhere"
"""


def message(model: str) -> dict[str, object]:
    return {"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@asynccontextmanager
async def serving(app: Litestar, peer: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, on this loop, reached from `peer`."""
    transport = httpx.ASGITransport(app=app, client=(peer, 50000))  # type: ignore[arg-type]
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://router") as http:
        yield http


@dataclass
class Live:
    state: RouterState
    reloader: Reloader
    http: httpx.AsyncClient

    def sha(self) -> str:
        return self.state.table.loaded.source_sha256


@asynccontextmanager
async def live(path: Path, *, environ: Mapping[str, str] | None = None, interval: float = POLL) -> AsyncIterator[Live]:
    env = dict(environ or {})
    state = open_state(build_table(load_config_file(path, env)))
    reloader = Reloader(state, path, env, interval=interval)
    async with serving(create_app(state, reloader)) as http:
        yield Live(state, reloader, http)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# -- triggers ------------------------------------------------------------------------------------


async def test_file_edit_in_place_reloads(tmp_path: Path) -> None:
    path = write(tmp_path / "routes.toml", BASE)
    async with live(path) as app:
        assert (await app.http.post("/v1/messages", json=message("added"))).status_code == 404
        old = app.sha()
        path.write_text(ADDED)
        await wait_until(lambda: app.sha() != old)
        assert (await app.http.post("/v1/messages", json=message("added"))).status_code == 200
        assert app.reloader.stats.ok == 1


async def test_rename_replace_reloads(tmp_path: Path) -> None:
    path = write(tmp_path / "routes.toml", BASE)
    async with live(path) as app:
        old = app.sha()
        os.replace(write(tmp_path / ".routes.toml.swp", ADDED), path)  # an editor's save
        await wait_until(lambda: app.sha() != old)
        assert app.state.table.lookup("anthropic", "added") is not None


def configmap_version(root: Path, text: str, version: str) -> None:
    """What the kubelet does: a new timestamped dir, then `..data` swapped to it atomically."""
    (root / version).mkdir()
    write(root / version / "routes.toml", text)
    (root / "..data_tmp").symlink_to(version)
    os.replace(root / "..data_tmp", root / "..data")


async def test_configmap_symlink_swap_reloads(tmp_path: Path) -> None:
    configmap_version(tmp_path, BASE, "..2024_01_01_v1")
    path = tmp_path / "routes.toml"
    path.symlink_to("..data/routes.toml")
    async with live(path) as app:
        old, link = app.sha(), os.lstat(path)
        configmap_version(tmp_path, ADDED, "..2024_01_02_v2")
        shutil.rmtree(tmp_path / "..2024_01_01_v1")
        await wait_until(lambda: app.sha() != old)
        assert app.state.table.lookup("anthropic", "added") is not None
        # Why stat and not lstat: the path the server was given never changed.
        assert (os.lstat(path).st_ino, os.lstat(path).st_mtime_ns) == (link.st_ino, link.st_mtime_ns)


def key_entry(name: str, key: str) -> str:
    return f'[[keys]]\nname = "{name}"\nsha256 = "{hashlib.sha256(key.encode()).hexdigest()}"\n'


async def test_keys_file_edit_reloads(tmp_path: Path) -> None:
    """A key added to the keys file routes.toml names is a new table, routes.toml untouched."""
    path = write(tmp_path / "routes.toml", '[auth]\nkeys-file = "routes.keys.toml"\n' + BASE)
    keys = write(tmp_path / "routes.keys.toml", key_entry("a", "key-a-0123456789"))
    async with live(path) as app:
        headers = {"x-api-key": "key-b-0123456789"}
        assert (await app.http.post("/v1/messages", json=message("demo"), headers=headers)).status_code == 401
        keys.write_text(keys.read_text() + key_entry("b", "key-b-0123456789"))
        await wait_until(lambda: app.reloader.stats.ok == 1)
        assert (await app.http.post("/v1/messages", json=message("demo"), headers=headers)).status_code == 200


async def test_sighup_reloads_in_process(tmp_path: Path) -> None:
    path = write(tmp_path / "routes.toml", BASE)
    async with live(path, interval=3600) as app:  # polling out of the picture
        old = app.sha()
        path.write_text(ADDED)
        os.kill(os.getpid(), signal.SIGHUP)
        await wait_until(lambda: app.sha() != old)
        assert app.state.table.lookup("anthropic", "added") is not None
    # The handler goes with the app: nothing is left listening on the loop.
    assert not asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)


async def test_admin_endpoint_reloads_then_is_unchanged(tmp_path: Path) -> None:
    path = write(tmp_path / "routes.toml", BASE)
    async with live(path, interval=3600) as app:
        path.write_text(ADDED)
        first = await app.http.post("/admin/reload")
        assert first.status_code == 200
        assert first.json()["status"] == "reloaded"
        assert first.json()["version"]["sha256"] == app.sha() == hashlib.sha256(path.read_bytes()).hexdigest()
        second = await app.http.post("/admin/reload")
        assert second.json()["status"] == "unchanged"
        assert second.json()["version"] == first.json()["version"]


async def test_concurrent_reloads_run_one_at_a_time(tmp_path: Path) -> None:
    path = write(tmp_path / "routes.toml", BASE)
    async with live(path, interval=3600) as app:
        path.write_text(ADDED)
        results = await asyncio.gather(*(app.reloader.reload(f"r{i}") for i in range(5)))
        assert sorted(r.status for r in results) == ["reloaded"] + ["unchanged"] * 4


# -- refusing a bad table ------------------------------------------------------------------------


class Records(logging.Handler):
    """Litestar's logging setup replaces the root handlers (caplog's among them) when an app is
    created, so the reload log is captured at its own logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.lines.append(record.getMessage())


@contextmanager
def reload_errors() -> Iterator[list[str]]:
    handler, logger = Records(), logging.getLogger("router.reload")
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


async def test_invalid_edit_keeps_the_old_table_and_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "routes.toml", BASE)
    with reload_errors() as logged:
        async with live(path) as app:
            table = app.state.table
            path.write_text(INVALID)
            await wait_until(lambda: app.reloader.stats.failed == 1)  # seen by the poller
            assert app.state.table is table
            assert (await app.http.post("/v1/messages", json=message("demo"))).status_code == 200
            answer = await app.http.post("/admin/reload")
    assert answer.status_code == 422
    body = answer.json()
    assert body["status"] == "invalid"
    assert any("dealy" in line and "delay" in line for line in body["errors"])  # did-you-mean
    assert any("nowhere" in line for line in body["errors"])
    assert all(line.startswith(f"{path}:") for line in body["errors"])
    assert any("rejected" in line for line in logged)
    assert set(body["errors"]) <= set(logged)


async def test_a_reload_may_not_remove_every_client_key(tmp_path: Path) -> None:
    keyed = '[auth]\nkeys = ["env:CLIENT_KEY"]\n' + BASE
    path = write(tmp_path / "routes.toml", keyed)
    async with live(path, environ={"CLIENT_KEY": "ck-1"}, interval=3600) as app:
        path.write_text(BASE)
        answer = await app.http.post("/admin/reload")
        assert answer.status_code == 422
        assert "client key" in answer.json()["errors"][0]
        assert app.state.key_hashes  # still closed


async def test_a_vanished_file_keeps_the_table_until_it_returns(tmp_path: Path) -> None:
    path = write(tmp_path / "routes.toml", BASE)
    async with live(path) as app:
        table = app.state.table
        path.unlink()
        await asyncio.sleep(POLL * 4)
        assert app.state.table is table and app.reloader.stats.failed == 0
        path.write_text(ADDED)
        await wait_until(lambda: app.state.table is not table)


async def test_half_written_file_is_not_installed_before_it_settles(tmp_path: Path) -> None:
    path = write(tmp_path / "routes.toml", BASE)
    async with live(path, interval=0.2) as app:
        table = app.state.table
        path.write_text("")  # an in-place save caught between truncate and write
        await asyncio.sleep(0.25)  # one poll saw it change; it has not settled yet
        path.write_text(ADDED)
        await wait_until(lambda: app.state.table is not table)
        assert app.state.table.lookup("anthropic", "demo") is not None
        assert app.reloader.stats.ok == 1


# -- clients ------------------------------------------------------------------------------------

POOLED = """
[upstreams.same]
kind = "openai"
base-url = "http://127.0.0.1:9/v1"
api-key = "env:KEY_A"

[upstreams.rekeyed]
kind = "openai"
base-url = "http://127.0.0.1:9/v1"
api-key = "env:KEY_A"

[upstreams.changed]
kind = "mock"
delay = 0.0

[upstreams.removed]
kind = "mock"

[[routes]]
name = "r"
models = ["m"]
to = ["same", "rekeyed", "changed", "removed"]
"""
POOLED_NEXT = POOLED.replace(
    'api-key = "env:KEY_A"\n\n[upstreams.changed]', 'api-key = "env:KEY_B"\n\n[upstreams.changed]'
).replace("delay = 0.0", "delay = 0.01").replace(
    '[upstreams.removed]\nkind = "mock"', '[upstreams.added]\nkind = "mock"'
).replace('"removed"]', '"added"]')


async def test_unchanged_clients_are_kept_and_changed_ones_replaced(tmp_path: Path) -> None:
    path = write(tmp_path / "routes.toml", POOLED)
    env = {"KEY_A": "sk-a", "KEY_B": "sk-b"}
    state = open_state(build_table(load_config_file(path, env)))
    state.retire_grace = 0.05
    reloader = Reloader(state, path, env, interval=3600)
    before = {name: state.pool.get(name) for name in ("same", "rekeyed", "changed", "removed")}
    path.write_text(POOLED_NEXT)
    result = await reloader.reload("test")
    assert result.status == "reloaded"
    assert (result.kept, sorted(result.created)) == (("same",), ["added", "changed", "rekeyed"])
    assert state.pool.get("same") is before["same"]
    assert state.pool.get("rekeyed") is not before["rekeyed"]
    assert state.pool.get("rekeyed").headers["authorization"] == "Bearer sk-b"
    assert state.pool.get("changed") is not before["changed"]
    assert state.pool.get("removed") is before["removed"]  # a retry of an old request still finds it
    await wait_until(lambda: before["changed"].http.is_closed and before["removed"].http.is_closed)
    assert before["rekeyed"].http.is_closed and not before["same"].http.is_closed
    with pytest.raises(KeyError):
        state.pool.get("removed")
    await state.aclose()
    assert all(client.http.is_closed for client in before.values())


async def test_shutdown_closes_clients_still_in_their_grace_period(tmp_path: Path) -> None:
    path = write(tmp_path / "routes.toml", POOLED)
    env = {"KEY_A": "sk-a", "KEY_B": "sk-b"}
    state = open_state(build_table(load_config_file(path, env)))
    old = state.pool.get("changed")
    path.write_text(POOLED_NEXT)
    await Reloader(state, path, env).reload("test")
    assert not old.http.is_closed  # the default grace is minutes
    await state.aclose()
    assert old.http.is_closed


SLOW = BASE + """
[upstreams.slow]
kind = "mock"
delay = 0.3

[[routes]]
name = "slow"
models = ["slow"]
to = "slow"
"""


async def test_in_flight_requests_finish_on_the_table_they_started_with(tmp_path: Path) -> None:
    path = write(tmp_path / "routes.toml", SLOW)
    async with live(path, interval=3600) as app:
        slow_client = app.state.pool.get("slow")
        started = asyncio.create_task(app.http.post("/v1/messages", json=message("slow")))
        await asyncio.sleep(0.1)
        path.write_text(ADDED)  # the route and its upstream are gone
        assert (await app.reloader.reload("test")).status == "reloaded"
        answer = await started
        assert answer.status_code == 200 and answer.headers["x-router-route"] == "slow"
        assert not slow_client.http.is_closed
        assert (await app.http.post("/v1/messages", json=message("slow"))).status_code == 404
        assert (await app.http.post("/v1/messages", json=message("added"))).status_code == 200


# -- a real server -------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    config: Path
    pid: int
    log: Path


@contextmanager
def router_serve(tmp_path: Path, text: str, env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """`router serve` on loopback. Its output goes to a file, not a pipe: tests.support.servers
    never reads its pipe, and the access log's line per request fills one (64 KiB) in a few
    hundred requests, after which the server blocks on its next write."""
    config, log = write(tmp_path / "routes.toml", text), tmp_path / "server.log"
    port = free_port()
    command = [sys.executable, "-m", "router", "serve", "--config", str(config), "--port", str(port)]
    full_env = {**os.environ, "ROUTER_RELOAD_INTERVAL": "3600", **(env or {}), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=full_env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_healthy(process, f"http://127.0.0.1:{port}/health", log)
            yield Server(f"http://127.0.0.1:{port}", config, process.pid, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_healthy(process: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"router serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} not healthy after {timeout}s:\n{log.read_text()}")


async def eventually_served(http: httpx.AsyncClient, model: str) -> None:
    for _ in range(200):
        if (await http.post("/v1/messages", json=message(model))).status_code == 200:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"{model!r} was never served")


async def test_sighup_reloads_a_real_server(tmp_path: Path) -> None:
    with router_serve(tmp_path, BASE) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            assert (await http.post("/v1/messages", json=message("added"))).status_code == 404
            server.config.write_text(ADDED)
            os.kill(server.pid, signal.SIGHUP)
            await eventually_served(http, "added")
            reloads = (await http.get("/admin/config")).json()["reloads"]
            assert (reloads["ok"], reloads["failed"]) == (1, 0)
        assert "(SIGHUP)" in server.log.read_text()


async def test_file_edit_reloads_a_real_server(tmp_path: Path) -> None:
    with router_serve(tmp_path, BASE, {"ROUTER_RELOAD_INTERVAL": str(POLL)}) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            server.config.write_text(ADDED)
            await eventually_served(http, "added")


CONCURRENT = BASE.replace('kind = "mock"', 'kind = "mock"\ndelay = 0.2')


async def test_200_requests_in_flight_across_a_reload_all_succeed(tmp_path: Path) -> None:
    """150 requests (each held 0.2 s by the mock upstream) are in flight when a reload lands that
    changes the routes and the upstream's settings (so its client is replaced); 50 more start
    right after it. httpx's own connection pool serializes 200 concurrent connections, so the
    client uses the aiohttp transport the router itself uses upstream."""
    with router_serve(tmp_path, CONCURRENT) as server:
        limits = httpx.Limits(max_connections=250, max_keepalive_connections=250)
        transport = AiohttpTransport(limits=limits)
        async with httpx.AsyncClient(base_url=server.url, timeout=30, transport=transport) as http:
            in_flight = 0

            async def one() -> httpx.Response:
                nonlocal in_flight
                in_flight += 1
                try:
                    return await http.post("/v1/messages", json=message("demo"))
                finally:
                    in_flight -= 1

            first = [asyncio.create_task(one()) for _ in range(150)]
            await asyncio.sleep(0.1)
            server.config.write_text(ADDED.replace('kind = "mock"', 'kind = "mock"\ndelay = 0.1'))
            reloaded = await http.post("/admin/reload")
            crossing = in_flight
            answers = await asyncio.gather(*first, *(one() for _ in range(50)))
            assert reloaded.status_code == 200 and reloaded.json()["status"] == "reloaded"
            assert crossing > 0, "the reload did not land while requests were in flight"
            assert [a.status_code for a in answers] == [200] * 200
            assert all(a.json()["content"][0]["text"] == "Echo: hi" for a in answers)
            assert (await http.post("/v1/messages", json=message("added"))).status_code == 200
