"""The admin endpoints: who may call them (an admin key; never a client key; loopback only when
no admin key is configured), what they answer, and that /admin/config shows no secret."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from litestar import Litestar

from router.config.load import config_from_seed_env, load_config_file, load_config_text
from router.config.problems import InvalidConfig
from router.gateway.state import open_state
from router.routing.lookup import build_table
from router.server.app import create_app
from router.server.reload import Reloader
from tests.test_reload import BASE, message, serving, write

CLIENT_KEY = "ck-client-key-0123456789"
ADMIN_KEY = "ak-admin-key-0123456789"
HASHED_ADMIN_KEY = "ak-hashed-admin-key-9876543210"
UPSTREAM_SECRET = "sk-CANARY-upstream-secret-4f9a2c7e1b"
HEADER_SECRET = "hdr-CANARY-literal-header-value"
URL_SECRET = "url-CANARY-query-key"
ENV = {"CLIENT_KEY": CLIENT_KEY, "ADMIN_KEY": ADMIN_KEY, "UP_KEY": UPSTREAM_SECRET}
SECURED = f"""
[auth]
keys = ["env:CLIENT_KEY"]
admin-keys = ["env:ADMIN_KEY", {{ name = "ops", sha256 = "{hashlib.sha256(HASHED_ADMIN_KEY.encode()).hexdigest()}" }}]

[upstreams.up]
kind = "openai"
base-url = "https://user:pw@llm.example/v1?key={URL_SECRET}"
api-key = "${{UP_KEY}}"
headers = {{ "X-Custom-Auth" = "{HEADER_SECRET}" }}

[upstreams.local]
kind = "mock"

[[routes]]
name = "demo"
models = ["demo"]
to = "local"

[[routes]]
name = "up"
models = ["up-*"]
to = "up/model"
"""


def app_for(path: Path, env: dict[str, str], *, with_reloader: bool = True) -> Litestar:
    state = open_state(build_table(load_config_file(path, env)))
    reloader = Reloader(state, path, env, interval=3600) if with_reloader else None
    return create_app(state, reloader)


@pytest.fixture
def secured(tmp_path: Path) -> Path:
    return write(tmp_path / "routes.toml", SECURED)


# -- who may call -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"x-api-key": "nonsense"}, 401),
        ({"x-api-key": CLIENT_KEY}, 403),  # a client key is known, and refused
        ({"authorization": f"Bearer {CLIENT_KEY}"}, 403),
        ({"x-api-key": ADMIN_KEY}, 200),
        ({"authorization": f"Bearer {ADMIN_KEY}"}, 200),
        ({"x-api-key": HASHED_ADMIN_KEY}, 200),  # the { name, sha256 } form
    ],
)
async def test_admin_key_required(secured: Path, headers: dict[str, str], status: int) -> None:
    async with serving(app_for(secured, ENV)) as http:  # a loopback peer: no exemption with keys
        config = await http.get("/admin/config", headers=headers)
        reload = await http.post("/admin/reload", headers=headers)
    assert (config.status_code, reload.status_code) == (status, status)
    if status != 200:
        assert config.json()["error"]["type"] in ("authentication_error", "permission_error")


async def test_admin_key_is_not_a_client_key(secured: Path) -> None:
    async with serving(app_for(secured, ENV)) as http:
        answer = await http.post("/v1/messages", json=message("demo"), headers={"x-api-key": ADMIN_KEY})
        assert answer.status_code == 401
        assert (await http.post("/v1/messages", json=message("demo"), headers={"x-api-key": CLIENT_KEY})).status_code == 200


@pytest.mark.parametrize(
    ("peer", "headers", "status"),
    [
        ("127.0.0.1", {}, 200),
        ("::1", {}, 200),
        ("127.0.0.1", {"x-forwarded-for": "203.0.113.9"}, 403),  # came through a proxy
        ("127.0.0.1", {"forwarded": "for=203.0.113.9"}, 403),
        ("10.1.2.3", {}, 403),
        ("10.1.2.3", {"x-api-key": "anything"}, 403),
    ],
)
async def test_without_admin_keys_only_loopback_peers(tmp_path: Path, peer: str, headers: dict[str, str], status: int) -> None:
    path = write(tmp_path / "routes.toml", BASE)
    async with serving(app_for(path, {}), peer=peer) as http:
        assert (await http.get("/admin/config", headers=headers)).status_code == status
        assert (await http.post("/admin/reload", headers=headers)).status_code == status


# -- what they answer ---------------------------------------------------------------------------


async def test_config_shows_the_version_and_no_secret(secured: Path) -> None:
    admin = {"x-api-key": ADMIN_KEY}
    async with serving(app_for(secured, ENV)) as http:
        answer = await http.get("/admin/config", headers=admin)
    assert answer.status_code == 200
    text, body = answer.text, answer.json()
    for secret in (UPSTREAM_SECRET, CLIENT_KEY, ADMIN_KEY, HASHED_ADMIN_KEY, HEADER_SECRET, URL_SECRET, "pw@"):
        assert secret not in text
    for key in (CLIENT_KEY, ADMIN_KEY, HASHED_ADMIN_KEY, UPSTREAM_SECRET):
        assert hashlib.sha256(key.encode()).hexdigest() not in text
    assert body["sha256"] == hashlib.sha256(secured.read_bytes()).hexdigest()
    assert body["source"] == str(secured)
    assert body["loaded_at"].endswith("Z")
    assert datetime.fromisoformat(body["loaded_at"]).utcoffset() == timedelta(0)
    assert body["reloads"] == {"ok": 0, "unchanged": 0, "failed": 0, "last_error": None}
    config = body["config"]
    upstream = config["upstreams"]["up"]
    assert upstream["api-key"] == "env:UP_KEY"  # the reference, written ${UP_KEY} in the file
    assert upstream["headers"] == {"X-Custom-Auth": "[redacted]"}
    assert upstream["base-url"] == "https://llm.example/v1?[redacted]"
    assert config["auth"]["keys"] == ["env:CLIENT_KEY"]
    plain, table = config["auth"]["admin-keys"]
    assert plain == "env:ADMIN_KEY"
    assert (table["name"], table["sha256"]) == ("ops", "[redacted]")
    assert [route["name"] for route in config["routes"]] == ["demo", "up"]


async def test_reload_answers_and_counts(secured: Path) -> None:
    admin = {"x-api-key": ADMIN_KEY}
    async with serving(app_for(secured, ENV)) as http:
        assert (await http.post("/admin/reload", headers=admin)).json()["status"] == "unchanged"
        secured.write_text(SECURED.replace('name = "up"', 'name = "up2"'))
        reloaded = (await http.post("/admin/reload", headers=admin)).json()
        assert reloaded["status"] == "reloaded"
        assert reloaded["version"]["sha256"] == hashlib.sha256(secured.read_bytes()).hexdigest()
        secured.write_text(SECURED.replace('"env:CLIENT_KEY"', '"sk-literal"'))
        refused = await http.post("/admin/reload", headers=admin)
        assert refused.status_code == 422
        assert "sk-literal" not in refused.text  # a literal secret is refused without an echo
        config = (await http.get("/admin/config", headers=admin)).json()
    assert config["sha256"] == reloaded["version"]["sha256"]  # still the last good table
    reloads = config["reloads"]
    assert (reloads["ok"], reloads["unchanged"], reloads["failed"]) == (1, 1, 1)
    assert reloads["last_error"]["reason"] == "admin endpoint"
    assert reloads["last_error"]["errors"] == refused.json()["errors"]


async def test_reload_without_a_file_says_so(secured: Path) -> None:
    async with serving(app_for(secured, ENV, with_reloader=False)) as http:
        answer = await http.post("/admin/reload", headers={"x-api-key": ADMIN_KEY})
        config = await http.get("/admin/config", headers={"x-api-key": ADMIN_KEY})
    assert answer.status_code == 409 and answer.json()["status"] == "unavailable"
    assert config.json()["reloads"]["ok"] == 0


async def test_seed_environment_is_the_source() -> None:
    env = {"UPSTREAM_BASE_URL": "https://llm.example/v1", "UPSTREAM_API_KEY": UPSTREAM_SECRET, "UPSTREAM_MODEL": "m"}
    loaded = config_from_seed_env(env)
    assert loaded is not None
    async with serving(create_app(open_state(build_table(loaded)))) as http:
        answer = await http.get("/admin/config")
    assert answer.json()["source"] == "environment"
    assert answer.json()["config"]["upstreams"]["seed"]["api-key"] == "env:UPSTREAM_API_KEY"
    assert UPSTREAM_SECRET not in answer.text


# -- the loader ---------------------------------------------------------------------------------


def test_admin_keys_are_loaded_apart_from_client_keys() -> None:
    loaded = load_config_text(SECURED, filename="routes.toml", environ=ENV)
    assert set(loaded.admin_key_hashes.values()) == {"ADMIN_KEY", "ops"}
    assert set(loaded.client_key_hashes.values()) == {"CLIENT_KEY"}
    assert ADMIN_KEY not in repr(loaded)


def test_admin_key_problems_are_reported_like_client_keys() -> None:
    text = '[auth]\nadmin-keys = ["ak-literal", "env:UNSET_ADMIN", { name = "x", sha256 = "abc" }]\n' + BASE
    with pytest.raises(InvalidConfig) as raised:
        load_config_text(text, filename="routes.toml", environ={})
    lines = [problem.render() for problem in raised.value.problems]
    assert len(lines) == 3
    assert "an admin key is not an environment reference" in lines[0] and "ak-literal" not in lines[0]
    assert "UNSET_ADMIN is not set" in lines[1] and "auth.admin-keys" in lines[1]
    assert "not 64 hex digits" in lines[2]


def test_a_key_in_both_lists_is_a_warning() -> None:
    text = '[auth]\nkeys = ["env:SHARED"]\nadmin-keys = ["env:SHARED"]\n' + BASE
    loaded = load_config_text(text, filename="routes.toml", environ={"SHARED": "k" * 20})
    assert [w.message for w in loaded.warnings] == ['admin key "SHARED" is also a client key']


async def test_unknown_admin_path_is_a_plain_404(tmp_path: Path) -> None:
    path = write(tmp_path / "routes.toml", BASE)
    async with serving(app_for(path, {})) as http:
        assert (await http.get("/admin/nothing")).status_code == 404
        assert (await http.get("/admin/reload")).status_code == 405
