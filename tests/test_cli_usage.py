"""`router usage`: the table (and --json) from a running router's GET /admin/usage, the admin key
by reference, the default URL from the config's [server], and the endpoint's own answers."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from router.cli.usage import default_url, render_table, run_usage
from router.config.load import load_config_text
from router.gateway.state import RouterState, open_state
from router.routing.lookup import build_table
from router.server.admin_usage import parse_duration
from router.server.app import create_app
from tests.support.servers import serving_in_process
from tests.test_ledger_memory import cache_hit, entry

ADMIN = "sk-admin-0123456789abcdef"
ROUTES = """
[auth]
admin-keys = ["env:ADMIN_KEY"]
keys = [{ name = "ci", sha256 = "%s", budget = { usd = 10, period = "month" } }]

[upstreams.up]
kind = "mock"
price = { input = 1, output = 2 }

[[routes]]
name = "main"
models = ["*"]
to = "up/m"
""" % ("0" * 64)


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, RouterState]]:
    loaded = load_config_text(ROUTES, filename="routes.toml", environ={"ADMIN_KEY": ADMIN})
    state = open_state(build_table(loaded))
    now = state.now()
    state.ledger.record(entry(now, key="ci", cost=1.5, tokens=(1000, 200, 300, 100)))
    state.ledger.record(entry(now, key="ci", cost=0.5, status=500))
    state.ledger.record(entry(now, key="ops", target="up/other", cost=0.25))
    state.ledger.record(cache_hit(now, key="ops"))
    async with serving_in_process(create_app(state)) as port:
        yield f"http://127.0.0.1:{port}", state
    await state.aclose()


async def usage(*argv: str, environ: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(run_usage, list(argv), environ or {"ADMIN_KEY": ADMIN}, out, err)
    return code, out.getvalue(), err.getvalue()


async def test_the_table_by_key(served: tuple[str, RouterState]) -> None:
    url, _ = served
    code, out, err = await usage("--url", url, "--admin-key", "env:ADMIN_KEY")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["KEY", "REQUESTS", "ERRORS", "HITS", "INPUT", "OUTPUT", "CACHE-READ", "CACHE-WRITE",
                                "COST", "USD", "AVG", "MS"]
    assert lines[1].split()[:9] == ["ci", "2", "1", "0", "675", "210", "320", "105", "2.0000"]  # input: uncached
    assert lines[2].split()[:5] == ["ops", "2", "0", "1", "75"]  # a cache hit: a request, no tokens
    assert lines[3].split()[:4] == ["TOTAL", "4", "1", "1"]
    assert "key ci: $2.00 of $10.00 per month, resets at" in out


async def test_by_target_as_json(served: tuple[str, RouterState]) -> None:
    url, _ = served
    code, out, _ = await usage("--url", url, "--admin-key", "env:ADMIN_KEY", "--by", "target", "--json", "--since", "2h")
    body = json.loads(out)
    assert code == 0 and body["by"] == "target"
    assert [row["name"] for row in body["rows"]] == ["up/sonnet", "up/other"]  # costliest first
    assert body["rows"][0]["cost_usd"] == pytest.approx(2.0)
    assert [row["cache_hits"] for row in body["rows"]] == [1, 0]  # the hit was on up/sonnet


async def test_the_admin_key_is_required_and_given_by_reference(served: tuple[str, RouterState]) -> None:
    url, _ = served
    code, _, err = await usage("--url", url)
    assert code == 1 and "401" in err and "missing admin key" in err
    code, _, err = await usage("--url", url, "--admin-key", ADMIN)
    assert code == 2 and "env:NAME" in err and ADMIN not in err
    code, _, err = await usage("--url", url, "--admin-key", "env:UNSET_VARIABLE")
    assert code == 2 and "UNSET_VARIABLE is not set" in err


async def test_the_endpoint_refuses_what_it_cannot_read(served: tuple[str, RouterState]) -> None:
    url, _ = served
    async with httpx.AsyncClient(base_url=url, headers={"x-api-key": ADMIN}) as http:
        assert (await http.get("/admin/usage", params={"by": "colour"})).status_code == 400
        assert (await http.get("/admin/usage", params={"since": "yesterday"})).status_code == 400
        answer = await http.get("/admin/usage", params={"by": "route"})
    assert [row["name"] for row in answer.json()["rows"]] == ["main"]


async def test_a_router_that_does_not_answer() -> None:
    code, _, err = await usage("--url", "http://127.0.0.1:9", environ={})
    assert code == 1 and "did not answer" in err


def test_default_url_from_the_configs_server(tmp_path: Path) -> None:
    config = tmp_path / "routes.toml"
    config.write_text('[server]\nhost = "0.0.0.0"\nport = 9123\n')
    assert default_url(str(config), {}) == "http://127.0.0.1:9123"
    config.write_text('[server]\nhost = "::1"\n')
    assert default_url(str(config), {}) == "http://[::1]:8080"


def test_durations() -> None:
    assert parse_duration("90m") == 5400
    assert parse_duration("24h") == 86400
    assert parse_duration("7d") == 7 * 86400
    assert parse_duration("3600") == 3600
    assert parse_duration("soon") is None


def test_an_empty_ledger_says_so() -> None:
    assert "(no requests)" in render_table({"by": "route", "rows": [], "budgets": []})
