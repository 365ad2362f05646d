"""A revoked key stops working (issue 13, hole 7). With `[auth]` holding only keys-file keys,
revoking the last one used to be a reload the server refused ("a reload cannot remove every client
key"), so the key kept working until a restart. Now a table that names a key source is closed
even when no key is left: the reload goes through and every client gets a 401 in its protocol's
shape. A reload the server still rejects is visible: `router keys`, `router check` and
GET /admin/config give the same reason the server logs."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest

from router.cli.check import run_check
from router.cli.keys import run_keys
from router.config.access import KeyHashes, keys_required
from router.config.load import load_config_file
from router.gateway.state import RouterState, open_state
from router.routing.lookup import build_table
from router.server.app import create_app
from router.server.reload import Reloader
from tests.support.servers import free_port, running

ROUTES = """\
[auth]
keys-file = "routes.keys.toml"

[upstreams.m]
kind = "mock"

[[routes]]
name = "demo"
models = ["demo"]
to = "m"
"""
MESSAGE = {"model": "demo", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
CHAT = {"model": "demo", "messages": [{"role": "user", "content": "hi"}]}
NO_KEY_LEFT = "no client key is left: servers refuse every client (401) until a key is added"


def keys(argv: list[str], config: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_keys([*argv, "--config", str(config)], {}, out, err)
    return code, out.getvalue(), err.getvalue()


def check(config: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_check([str(config)], {}, out, err)
    return code, out.getvalue()


def check_problems(config: Path) -> list[str]:
    """`router check`'s error lines, without its summary line."""
    return error_lines("\n".join(check(config)[1].splitlines()[:-1]), config)


def error_lines(text: str, config: Path) -> list[str]:
    """The problem lines (errors, not warnings) in a command's output, as the server logs them."""
    return [line.strip() for line in text.splitlines()
            if line.strip().startswith(str(config.parent)) and ": warning: " not in line]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "routes.toml"
    path.write_text(ROUTES)
    return path


# -- the exact scenario, against a real `router serve` ---------------------------------------


@contextmanager
def serve(config: Path) -> Iterator[str]:
    port = free_port()
    command = ["router", "serve", "--config", str(config), "--port", str(port)]
    with running(command, port, {"ROUTER_RELOAD_INTERVAL": "0.1"}):
        yield f"http://127.0.0.1:{port}"


def status_of(base: str, key: str | None, path: str = "/v1/messages") -> httpx.Response:
    headers = {"x-api-key": key} if key is not None else {}
    body = CHAT if path == "/v1/chat/completions" else MESSAGE
    return httpx.post(base + path, json=body, headers=headers, timeout=10)


def eventually(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("not within the time a reload takes")
        time.sleep(0.1)


def test_a_revoked_last_key_is_refused_by_the_running_server(config: Path) -> None:
    code, solo, _ = keys(["add", "solo"], config)
    solo = solo.strip()
    assert code == 0 and solo.startswith("rk-")
    with serve(config) as base:
        assert status_of(base, solo).status_code == 200
        assert status_of(base, None).status_code == 401
        code, _, err = keys(["revoke", "solo"], config)
        assert code == 0
        assert f'servers refuse "solo" from their next reload; {NO_KEY_LEFT}.' in err
        eventually(lambda: status_of(base, solo).status_code == 401)
        # Closed, not open: no key, a made-up key and the revoked one, in each client's shape.
        for key in (None, "rk-made-up", solo):
            anthropic = status_of(base, key)
            assert anthropic.status_code == 401 and anthropic.json()["error"]["type"] == "authentication_error"
            openai = status_of(base, key, "/v1/chat/completions")
            assert openai.status_code == 401 and "type" not in openai.json()  # OpenAI's envelope
        config_json = httpx.get(base + "/admin/config", timeout=10).json()
        assert (config_json["reloads"]["ok"], config_json["reloads"]["failed"]) == (1, 0)
        # A key added later works again.
        _, fresh, _ = keys(["add", "fresh"], config)
        eventually(lambda: status_of(base, fresh.strip()).status_code == 200)
        assert status_of(base, solo).status_code == 401


def test_a_server_started_on_an_empty_keys_file_is_closed(config: Path) -> None:
    with serve(config) as base:
        assert status_of(base, None).status_code == 401
        assert status_of(base, "rk-anything").status_code == 401


# -- the CLI says what servers will do -------------------------------------------------------


def test_revoke_says_servers_refuse_the_key_and_whether_any_key_is_left(config: Path) -> None:
    keys(["add", "a"], config)
    keys(["add", "b"], config)
    code, _, err = keys(["revoke", "a"], config)
    assert code == 0
    assert err.splitlines()[-1] == 'router keys: servers refuse "a" from their next reload.'
    code, _, err = keys(["revoke", "b"], config)
    assert code == 0
    assert err.splitlines()[-1] == f'router keys: servers refuse "b" from their next reload; {NO_KEY_LEFT}.'
    code, out, err = keys(["list"], config)
    assert (code, out) == (0, "no client keys\n")
    assert err == f"router keys: {NO_KEY_LEFT}.\n"
    code, out = check(config)
    assert code == 0 and out.splitlines()[-1].endswith(f"0 client keys (with {config.parent / 'routes.keys.toml'}); {NO_KEY_LEFT}")


def test_a_revocation_servers_would_reject_is_said_with_their_reason_and_fails(config: Path) -> None:
    keys(["add", "a"], config)
    keys(["add", "b"], config)
    broken = config.read_text().replace('to = "m"', 'to = "nowhere"')
    config.write_text(broken)
    problems = check_problems(config)
    assert problems and "nowhere" in problems[0]
    code, _, err = keys(["revoke", "a"], config)
    assert code == 1  # written, but the key still works: not done
    assert 'servers keep accepting "a" until that is fixed' in err
    assert error_lines(err, config) == problems
    code, _, err = keys(["list"], config)
    assert code == 1 and "they keep serving the keys they have" in err
    assert error_lines(err, config) == problems
    code, _, err = keys(["add", "c"], config)
    assert code == 0 and "the new key works nowhere until that is fixed" in err


# -- in-process: reloads, refusals and what /admin/config shows --------------------------------


@asynccontextmanager
async def live(path: Path) -> AsyncIterator[tuple[RouterState, Reloader, httpx.AsyncClient]]:
    state = open_state(build_table(load_config_file(path, {})))
    reloader = Reloader(state, path, {}, interval=3600)
    app = create_app(state, reloader)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))  # type: ignore[arg-type]
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://router") as http:
        yield state, reloader, http


def key_entry(name: str, key: str) -> str:
    return f'[[keys]]\nname = "{name}"\nsha256 = "{hashlib.sha256(key.encode()).hexdigest()}"\n'


async def test_emptying_the_keys_file_is_a_reload_that_closes_the_server(config: Path) -> None:
    keys_file = config.parent / "routes.keys.toml"
    keys_file.write_text(key_entry("solo", "rk-solo-0123456789"))
    async with live(config) as (state, reloader, http):
        headers = {"x-api-key": "rk-solo-0123456789"}
        assert (await http.post("/v1/messages", json=MESSAGE, headers=headers)).status_code == 200
        keys_file.write_text("")
        assert (await reloader.reload("test")).status == "reloaded"
        assert (await http.post("/v1/messages", json=MESSAGE, headers=headers)).status_code == 401
        assert (await http.post("/v1/messages", json=MESSAGE)).status_code == 401
        assert not state.key_hashes and keys_required(state.key_hashes)


async def test_admin_config_shows_the_reason_of_the_last_rejected_reload(config: Path) -> None:
    keys_file = config.parent / "routes.keys.toml"
    keys_file.write_text(key_entry("solo", "rk-solo-0123456789"))
    async with live(config) as (state, reloader, http):
        serving = state.table
        # Dropping every key source would open the server: still refused, and said.
        config.write_text(ROUTES.replace('[auth]\nkeys-file = "routes.keys.toml"\n', ""))
        refused = await http.post("/admin/reload")
        assert refused.status_code == 422 and state.table is serving
        last = (await http.get("/admin/config")).json()["reloads"]["last_error"]
        assert last["errors"] == refused.json()["errors"]
        assert "cannot drop every client key source" in last["errors"][0]
        # A broken keys file: the server's reason is the line `router check` prints.
        config.write_text(ROUTES)
        keys_file.write_text(key_entry("solo", "rk-solo-0123456789") + key_entry("solo", "rk-other-0123456789"))
        await reloader.reload("file changed")
        last = (await http.get("/admin/config")).json()["reloads"]["last_error"]
        assert last["reason"] == "file changed"
        assert last["errors"] == check_problems(config)
        assert any('a second key named "solo"' in line for line in last["errors"])
        assert (await http.post("/v1/messages", json=MESSAGE, headers={"x-api-key": "rk-solo-0123456789"})).status_code == 200


def test_key_hashes_tell_closed_and_empty_from_open() -> None:
    assert not keys_required(KeyHashes({}, required=False))  # no auth configured: open
    assert keys_required(KeyHashes({}, required=True))  # keys configured, none left: closed
    assert keys_required({"digest": "name"})
    assert not keys_required({})
    digest = hashlib.sha256(b"rk-key").hexdigest()
    hashes = KeyHashes({digest: "ci"}, required=False)
    assert hashes == {digest: "ci"} and hashes.get(digest) == "ci" and digest in hashes and hashes.required
    assert "ci" in repr(hashes) and digest not in repr(hashes)  # a digest never shows in a log


def test_the_loaded_table_says_when_keys_are_required(tmp_path: Path) -> None:
    config = tmp_path / "routes.toml"
    config.write_text(ROUTES)
    assert load_config_file(config, {}).keys_required  # a keys file, even missing or empty
    config.write_text(ROUTES.replace('[auth]\nkeys-file = "routes.keys.toml"\n', ""))
    assert not load_config_file(config, {}).keys_required


def test_a_server_beyond_loopback_whose_keys_are_all_revoked_generates_no_key(tmp_path: Path) -> None:
    """A generated key would open again what revoking closed: only a table naming no key
    source gets one."""
    config = tmp_path / "routes.toml"
    config.write_text(ROUTES)
    (tmp_path / "routes.keys.toml").write_text("")
    port = free_port()
    with running(["router", "serve", "--config", str(config), "--host", "0.0.0.0", "--port", str(port)], port):
        body = {"model": "demo", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
        assert httpx.post(f"http://127.0.0.1:{port}/v1/messages", json=body).status_code == 401
        assert httpx.get(f"http://127.0.0.1:{port}/auth-token").status_code == 404
    assert not (tmp_path / ".router-key").exists()
