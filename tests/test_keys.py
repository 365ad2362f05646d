"""Client keys: `router keys add | list | revoke` write only the keys file (with tomli-w), never
routes.toml; the loader reads that file as strictly as routes.toml (so `router check` and reloads
see it); and a key outside its allow-lists gets a 403 in its client's protocol shape."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import tomli_w
from litestar import Litestar
from litestar.testing import AsyncTestClient

from router.cli.check import run_check
from router.cli.keys import HEADER, run_keys
from router.config.load import load_config_file, load_config_text
from router.config.problems import InvalidConfig
from router.config.schema import Budget
from router.gateway.state import RouterState, open_state
from router.routing.lookup import build_table
from router.server.app import create_app

ROUTES = """\
# The hand-edited table: these comments must survive every `router keys` command.
[auth]
keys = ["env:ADMIN_CLIENT_KEY"]   # the operator's own key
keys-file = "routes.keys.toml"

[upstreams.local]
kind = "mock"   # offline

[[routes]]
name = "demo"
models = ["demo", "demo-*"]
to = "local"

[[routes]]
name = "internal"
models = ["internal"]
to = "local"
"""
ENV = {"ADMIN_CLIENT_KEY": "k-admin"}


def keys(argv: list[str], config: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_keys([*argv, "--config", str(config)], ENV, out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "routes.toml"
    path.write_text(ROUTES)
    return path


def keys_file(config: Path) -> Path:
    return config.parent / "routes.keys.toml"


# --- add / list / revoke -----------------------------------------------------------------------


def test_add_prints_the_key_once_and_stores_only_its_digest(config: Path) -> None:
    before = config.read_bytes(), config.stat().st_mtime_ns, config.stat().st_ino
    code, out, err = keys(["add", "ci", "--routes", "demo", "--rpm", "10", "--tpm", "5000"], config)
    assert code == 0, err
    key = out.strip()
    assert key.startswith("rk-") and len(key) > 40 and out.count("\n") == 1
    assert 'added "ci"' in err and key not in err
    text = keys_file(config).read_text()
    assert key not in text
    digest = hashlib.sha256(key.encode()).hexdigest()
    entry = {"name": "ci", "sha256": digest, "routes": ["demo"], "limits": {"rpm": 10, "tpm": 5000}}
    assert text == HEADER + tomli_w.dumps({"keys": [entry]})  # written by tomli-w, nothing else
    assert (config.read_bytes(), config.stat().st_mtime_ns, config.stat().st_ino) == before
    loaded = load_config_file(config, ENV)
    assert loaded.client_key_hashes[digest] == "ci"
    assert loaded.keys_file == str(keys_file(config))


def test_list_shows_names_routes_and_limits_never_whole_digests(config: Path) -> None:
    keys(["add", "ci", "--routes", "demo,internal", "--rpm", "10"], config)
    keys(["add", "batch", "--models", "demo-*", "--tpm", "100000"], config)
    code, out, _ = keys(["list"], config)
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["ADMIN_CLIENT_KEY", "ci", "batch"]
    assert "routes demo, internal; 10 rpm" in lines[1] and "models demo-*; 100000 tpm" in lines[2]
    digests = [entry["sha256"] for entry in tomllib.loads(keys_file(config).read_text())["keys"]]
    assert all(digest not in out and digest[:8] in out for digest in digests)
    code, out, _ = keys(["list", "--json"], config)
    rows = json.loads(out)
    assert rows[1] == {"name": "ci", "key": f"sha256:{digests[0][:8]}…", "routes": ["demo", "internal"], "models": None,
                       "limits": {"rpm": 10}, "budget": None, "file": str(keys_file(config))}
    assert all(digest not in out for digest in digests)


def test_revoke_removes_only_that_key(config: Path) -> None:
    keys(["add", "a"], config)
    _, key_b, _ = keys(["add", "b"], config)
    before = config.read_bytes()
    assert keys(["revoke", "a"], config)[0] == 0
    names = [entry["name"] for entry in tomllib.loads(keys_file(config).read_text())["keys"]]
    assert names == ["b"]
    assert config.read_bytes() == before
    hashes = load_config_file(config, ENV).client_key_hashes
    assert set(hashes.values()) == {"ADMIN_CLIENT_KEY", "b"}
    assert hashlib.sha256(key_b.strip().encode()).hexdigest() in hashes


def test_add_with_a_budget_writes_the_keys_budget_table(config: Path) -> None:
    code, out, err = keys(["add", "ci", "--budget-usd", "50", "--budget-period", "week"], config)
    assert code == 0 and out.startswith("rk-"), err
    assert "$50.00 a week budget" in err
    entry = tomllib.loads(keys_file(config).read_text())["keys"][0]
    assert entry["budget"] == {"usd": 50.0, "period": "week"}
    assert keys(["add", "dev", "--budget-usd", "2.5"], config)[0] == 0  # the period defaults to a day
    loaded = load_config_file(config, ENV)
    assert dict(loaded.access.key_budgets) == {"ci": Budget(usd=50, period="week"), "dev": Budget(usd=2.5, period="day")}
    _, listed, _ = keys(["list", "--json"], config)
    assert json.loads(listed)[2]["budget"] == {"usd": 2.5, "period": "day"}


@pytest.mark.parametrize(("argv", "message"), [
    (["add", "ci", "--routes", "dmeo"], 'no route named "dmeo": did you mean "demo"?'),
    (["add", "ci", "--rpm", "0"], "--rpm 0 allows nothing"),
    (["add", "ci", "--budget-usd", "0"], "--budget-usd 0 allows nothing"),
    (["add", "ci", "--budget-usd", "nan"], "--budget-usd nan allows nothing"),
    (["add", "ci", "--budget-period", "week"], "--budget-period needs --budget-usd"),
    (["add", "bad name"], "is not a usable key name"),
    (["add", "ADMIN_CLIENT_KEY"], 'a key named "ADMIN_CLIENT_KEY" exists'),
    (["revoke", "ADMIN_CLIENT_KEY"], "remove it there by hand"),
    (["revoke", "nobody"], 'no key named "nobody"'),
])
def test_refusals_change_nothing(config: Path, argv: list[str], message: str) -> None:
    before = config.read_bytes()
    code, out, err = keys(argv, config)
    assert (code, out) == (1, "") and message in err
    assert config.read_bytes() == before and not keys_file(config).exists()


def test_add_twice_under_one_name_is_refused(config: Path) -> None:
    assert keys(["add", "ci"], config)[0] == 0
    code, _, err = keys(["add", "ci"], config)
    assert code == 1 and "revoke it first" in err


def test_a_routes_toml_without_keys_file_is_never_rewritten(tmp_path: Path) -> None:
    config = tmp_path / "routes.toml"
    config.write_text(ROUTES.replace('keys-file = "routes.keys.toml"\n', ""))
    before = config.read_bytes()
    code, out, err = keys(["add", "ci"], config)
    assert (code, out) == (1, "")
    assert 'keys-file = "routes.keys.toml"' in err  # says what to add, by hand
    assert config.read_bytes() == before and list(tmp_path.iterdir()) == [config]


def test_the_installed_command_works(config: Path) -> None:
    command = [sys.executable, "-m", "router", "keys", "add", "cli", "--config", str(config), "--routes", "internal"]
    done = subprocess.run(command, check=False, capture_output=True, text=True, env={**os.environ, **ENV}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert load_config_file(config, ENV).client_key_hashes[hashlib.sha256(done.stdout.strip().encode()).hexdigest()] == "cli"


# --- the loader and `router check` ------------------------------------------------------------------


def check(config: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    return run_check([str(config)], ENV, out, err), out.getvalue() + err.getvalue()


def test_check_sees_the_keys_file(config: Path) -> None:
    code, out = check(config)
    assert code == 0 and "routes.keys.toml does not exist yet" in out  # a warning, not an error
    keys(["add", "ci"], config)
    code, out = check(config)
    assert code == 0 and "2 client keys (with" in out


def test_the_keys_file_is_as_strict_as_routes_toml(config: Path) -> None:
    keys(["add", "ci", "--routes", "demo"], config)
    path = keys_file(config)
    path.write_text(path.read_text().replace('routes = [\n    "demo",\n]', 'routse = ["demo"]\nlimits = { rpm = 0 }'))
    code, out = check(config)
    assert code == 1
    assert f'{path}:9:1: key "ci" (keys[0].routse): unknown key "routse" — did you mean "routes"?' in out
    assert "(keys[0].limits.rpm): rpm = 0 allows nothing" in out


@pytest.mark.parametrize(("entry", "message"), [
    ({"name": "x"}, 'key "x" needs exactly one of sha256 and key'),
    ({"name": "x", "sha256": "abc"}, 'sha256 of key "x" is not 64 hex digits'),
    ({"name": "x", "key": "env:UNSET_VARIABLE"}, "environment variable UNSET_VARIABLE is not set"),
    ({"name": "x", "key": "sk-literal-secret"}, "is not an environment reference (value not shown"),
    ({"name": "ADMIN_CLIENT_KEY", "sha256": "a" * 64}, 'a second key named "ADMIN_CLIENT_KEY"'),
    ({"name": "x", "sha256": "a" * 64, "routes": ["interal"]}, 'no route named "interal" — did you mean "internal"?'),
])
def test_bad_entries_are_reported_in_the_keys_file(config: Path, entry: dict[str, object], message: str) -> None:
    keys_file(config).write_text(tomli_w.dumps({"keys": [entry]}))
    code, out = check(config)
    assert code == 1 and message in out and str(keys_file(config)) in out
    assert "sk-literal-secret" not in out


def test_a_keys_file_syntax_error_names_its_line(config: Path) -> None:
    keys_file(config).write_text('[[keys]]\nname = "x"\nsha256 = \n')
    code, out = check(config)
    assert code == 1 and f"{keys_file(config)}:3" in out and "invalid TOML" in out


def test_a_key_change_is_a_new_table(config: Path) -> None:
    """Reloads compare digests: the keys file's text is part of the table's."""
    first = load_config_file(config, ENV).source_sha256
    keys(["add", "ci"], config)
    second = load_config_file(config, ENV).source_sha256
    keys(["revoke", "ci"], config)
    assert len({first, second, load_config_file(config, ENV).source_sha256}) == 3


async def test_a_reload_picks_up_an_added_key(config: Path) -> None:
    from router.server.reload import Reloader

    state = open_state(build_table(load_config_file(config, ENV)))
    _, key, _ = keys(["add", "late"], config)
    result = await Reloader(state, config, ENV).reload("test")
    assert result.status == "reloaded"
    assert state.key_hashes[hashlib.sha256(key.strip().encode()).hexdigest()] == "late"


# --- 403 for what a key may not use ----------------------------------------------------------------

ALLOW = """
[auth]
keys = [
  { name = "demo-only", key = "env:DEMO_ONLY", routes = ["demo"] },
  { name = "previews", key = "env:PREVIEWS", models = ["demo-preview-*"] },
  "env:ADMIN_CLIENT_KEY",
]

[upstreams.local]
kind = "mock"

[[routes]]
name = "demo"
models = ["demo", "demo-*"]
to = "local"

[[routes]]
name = "internal"
models = ["internal"]
to = "local"
"""
ALLOW_ENV = {**ENV, "DEMO_ONLY": "k-demo", "PREVIEWS": "k-previews"}
Client = AsyncTestClient[Litestar]


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    state: RouterState = open_state(build_table(load_config_text(ALLOW, filename="routes.toml", environ=ALLOW_ENV)))
    async with AsyncTestClient(app=create_app(state)) as test_client:
        yield test_client


async def post(client: Client, protocol: str, key: str, model: str) -> tuple[int, dict[str, object]]:
    if protocol == "anthropic":
        body = {"model": model, "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
        answer = await client.post("/v1/messages", json=body, headers={"x-api-key": key})
    else:
        body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
        answer = await client.post("/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"})
    return answer.status_code, answer.json()


async def test_a_disallowed_route_is_403_in_the_anthropic_shape(client: Client) -> None:
    assert (await post(client, "anthropic", "k-demo", "demo"))[0] == 200
    status, body = await post(client, "anthropic", "k-demo", "internal")
    assert status == 403
    assert body == {"type": "error", "error": {"type": "permission_error",
                                               "message": 'this API key ("demo-only") may not use route "internal"'}}


async def test_a_disallowed_route_is_403_in_the_openai_shape(client: Client) -> None:
    status, body = await post(client, "openai", "k-demo", "internal")
    assert status == 403
    error = body["error"]
    assert isinstance(error, dict) and error["type"] == "permission_error" and error["code"] == "permission_error"


async def test_model_allow_lists_take_globs(client: Client) -> None:
    assert (await post(client, "openai", "k-previews", "demo-preview-2"))[0] == 200
    status, body = await post(client, "openai", "k-previews", "demo")
    assert status == 403 and body["error"]["message"] == 'this API key ("previews") may not use model "demo"'  # type: ignore[index]


async def test_keys_without_lists_use_everything(client: Client) -> None:
    assert [(await post(client, "anthropic", "k-admin", model))[0] for model in ("demo", "internal")] == [200, 200]


async def test_count_tokens_obeys_the_allow_list_too(client: Client) -> None:
    body = {"model": "internal", "messages": [{"role": "user", "content": "hi"}]}
    answer = await client.post("/v1/messages/count_tokens", json=body, headers={"x-api-key": "k-demo"})
    assert answer.status_code == 403


def test_admin_keys_carry_no_allow_lists() -> None:
    text = ALLOW.replace('"env:ADMIN_CLIENT_KEY",\n]', '"env:ADMIN_CLIENT_KEY",\n]\nadmin-keys = [{ name = "ops", key = "env:OPS", routes = ["demo"] }]')
    with pytest.raises(InvalidConfig) as caught:
        load_config_text(text, filename="routes.toml", environ={**ALLOW_ENV, "OPS": "k-ops"})
    assert 'admin key "ops" has routes, models, limits or a budget' in str(caught.value)
