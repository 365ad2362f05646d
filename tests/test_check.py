"""`router check`: data-driven cases under tests/cases/check, exit codes, --json, the seed
environment, and that no secret ever reaches the output."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from router.cli.check import run_check

CASES = Path(__file__).parent / "cases" / "check"
CASE_NAMES = sorted(path.stem for path in CASES.glob("*.toml"))

VALID = """\
[upstreams.deepseek]
kind = "openai"
base-url = "https://api.deepseek.com/v1"
api-key = "env:DEEPSEEK_API_KEY"

[upstreams.local]
kind = "mock"

[[routes]]
name = "demo"
models = ["demo"]
to = "local"

[[routes]]
name = "claude"
models = ["claude-*"]
to = "deepseek/deepseek-chat"
"""

OPTIONAL = VALID.replace('"env:DEEPSEEK_API_KEY"', '"env:DEEPSEEK_API_KEY"\noptional = true')

SECRET = "sk-test-SECRET-0123456789abcdef"


def check(argv: list[str], environ: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_check(argv, environ or {}, out, err)
    return code, out.getvalue(), err.getvalue()


def case_environ(text: str) -> dict[str, str]:
    """`# env: A=1 B=2` comment lines → the case's whole environment."""
    environ = {}
    for match in re.finditer(r"^#\s*env:(.*)$", text, flags=re.MULTILINE):
        for pair in match.group(1).split():
            name, _, value = pair.partition("=")
            environ[name] = value
    return environ


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CASES)
    expected = (CASES / f"{name}.expected").read_text()
    code, out, err = check([f"{name}.toml"], case_environ((CASES / f"{name}.toml").read_text()))
    assert out == expected
    assert err == ""
    assert code == (0 if ": OK" in expected.splitlines()[-1] else 1)


def test_every_case_has_expected_output() -> None:
    assert CASE_NAMES
    assert {path.stem for path in CASES.glob("*.expected")} == set(CASE_NAMES)


def test_five_mistakes_give_five_messages_naming_route_and_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(CASES)
    environ = case_environ((CASES / "five-mistakes.toml").read_text())
    code, out, _ = check(["five-mistakes.toml", "--json"], environ)
    report = json.loads(out)
    assert code == 1
    assert len(report["errors"]) == 5 and report["warnings"] == []
    for problem in report["errors"]:
        assert problem["file"] == "five-mistakes.toml"
        assert problem["line"] is not None
        assert problem["route"] and problem["fix"]


def write(tmp_path: Path, text: str, name: str = "routes.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_exit_0_when_valid(tmp_path: Path) -> None:
    code, out, _ = check([str(write(tmp_path, VALID))], {"DEEPSEEK_API_KEY": "x"})
    assert code == 0
    assert out.endswith(": OK — 2 upstreams, 2 routes\n")


def test_exit_1_when_invalid(tmp_path: Path) -> None:
    code, out, _ = check([str(write(tmp_path, VALID))], {})
    assert code == 1
    assert "DEEPSEEK_API_KEY is not set" in out
    assert out.endswith(": 1 error\n")


@pytest.mark.parametrize("argv", [["--nope"], ["a.toml", "b.toml"], ["--json=yes"]])
def test_exit_2_on_bad_flags(argv: list[str]) -> None:
    code, out, err = check(argv)
    assert code == 2
    assert out == ""
    assert "usage: router check" in err


def test_exit_2_when_the_file_is_missing(tmp_path: Path) -> None:
    code, _, err = check([str(tmp_path / "nope.toml")])
    assert code == 2
    assert "nope.toml: no such file" in err


def test_exit_2_when_router_config_names_a_missing_file(tmp_path: Path) -> None:
    code, _, err = check([], {"ROUTER_CONFIG": str(tmp_path / "gone.toml")})
    assert code == 2
    assert "gone.toml" in err


def test_exit_2_when_there_is_nothing_to_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = check([])
    assert code == 2
    assert "nothing to check" in err


def test_help_exits_0() -> None:
    code, out, _ = check(["--help"])
    assert code == 0
    assert "--json" in out


def test_finds_router_config_then_dot_routes_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, VALID)
    code, out, _ = check([], {"DEEPSEEK_API_KEY": "x"})
    assert (code, out.splitlines()[-1]) == (0, "routes.toml: OK — 2 upstreams, 2 routes")
    other = write(tmp_path, "[server]\nport = 0\n", "other.toml")
    code, out, _ = check([], {"ROUTER_CONFIG": str(other)})
    assert code == 1 and str(other) in out


def test_json_when_invalid(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace('models = ["demo"]', 'modles = ["demo"]'))
    code, out, _ = check([str(path), "--json"], {})
    report = json.loads(out)
    assert code == 1
    assert set(report) == {"ok", "file", "errors", "warnings"}
    assert report["ok"] is False and report["file"] == str(path)
    assert [e["path"] for e in report["errors"]] == [
        "upstreams.deepseek.api-key",
        "routes[0].modles",
    ]
    first = report["errors"][1]
    assert set(first) == {
        "severity", "file", "line", "column", "route", "path", "message", "fix",
    }  # fmt: skip
    assert first["severity"] == "error" and first["route"] == "demo"
    assert first["line"] == 11 and first["column"] == 1
    assert first["fix"] == 'did you mean "models"?'


def test_json_when_valid_carries_warnings(tmp_path: Path) -> None:
    code, out, _ = check([str(write(tmp_path, OPTIONAL)), "--json"], {})
    report = json.loads(out)
    assert code == 0
    assert report["ok"] is True and report["errors"] == []
    assert [w["severity"] for w in report["warnings"]] == ["warning"]
    assert report["warnings"][0]["route"] == "upstream deepseek"


def test_summary_counts_disabled_routes(tmp_path: Path) -> None:
    code, out, _ = check([str(write(tmp_path, OPTIONAL))], {})
    assert code == 0
    assert out.splitlines()[-1].endswith(
        "OK — 2 upstreams, 2 routes (1 disabled: no key in environment)"
    )
    assert out.splitlines()[0].startswith(f"{tmp_path / 'routes.toml'}:4:1: warning: ")


SEED = {
    "UPSTREAM_BASE_URL": "https://api.deepseek.com/v1",
    "UPSTREAM_API_KEY": SECRET,
    "UPSTREAM_MODEL": "deepseek-chat",
}


def test_seed_environment_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = check([], SEED)
    assert code == 0
    assert out == "environment (UPSTREAM_*): OK — 1 upstream, 1 route\n"


def test_seed_environment_goes_through_the_same_validation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = check(["--json"], {**SEED, "UPSTREAM_BASE_URL": "api.deepseek.com"})
    report = json.loads(out)
    assert code == 1
    assert [e["path"] for e in report["errors"]] == ["upstreams.seed.base-url"]
    assert SECRET not in out


def test_a_file_wins_over_the_seed_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, VALID)
    code, out, _ = check([], {**SEED, "DEEPSEEK_API_KEY": "x"})
    assert code == 0 and out.startswith("routes.toml: OK")


BROKEN_WITH_SECRETS = """\
[auth]
keys = ["env:ROUTER_KEY", "sk-client-LITERAL-777"]

[upstreams.deepseek]
kind = "openai"
base-url = "https://api.deepseek.com/v1"
api-key = "env:DEEPSEEK_API_KEY"

[upstreams.pasted]
kind = "openai"
base-url = "https://api.openai.com/v1"
api-key = "sk-pasted-LITERAL-999"

[[routes]]
name = "claude"
modles = ["claude-*"]
to = "deepsek"
"""


@pytest.mark.parametrize("flags", [[], ["--json"]])
def test_secrets_never_appear_in_output(tmp_path: Path, flags: list[str]) -> None:
    environ = {"DEEPSEEK_API_KEY": SECRET, "ROUTER_KEY": SECRET + "-client", **SEED}
    for text in (BROKEN_WITH_SECRETS, VALID):
        code, out, err = check([str(write(tmp_path, text)), *flags], environ)
        for secret in (SECRET, "sk-client-LITERAL-777", "sk-pasted-LITERAL-999"):
            assert secret not in out and secret not in err
    assert code == 0  # the valid one, after the broken one was reported


def test_literal_secrets_are_reported_without_their_value(tmp_path: Path) -> None:
    code, out, _ = check([str(write(tmp_path, BROKEN_WITH_SECRETS))], {"ROUTER_KEY": "k"})
    assert code == 1
    assert out.count("not an environment reference (value not shown") == 2
    assert "LITERAL" not in out


BUDGETED = """\
[server]
workers = {workers}

[limits]
backend = "{backend}"
redis-url = "redis://localhost:6379"

[upstreams.local]
kind = "mock"
price = {{ input = 1, output = 1 }}

[[routes]]
name = "demo"
models = ["*"]
to = "local"
budget = {{ usd = 5 }}
"""


@pytest.mark.parametrize(("workers", "backend", "warned"), [(3, "memory", True), (1, "memory", False), (3, "redis", False)])
def test_budgets_in_memory_with_several_workers_warn(tmp_path: Path, workers: int, backend: str, warned: bool) -> None:
    path = tmp_path / "routes.toml"
    path.write_text(BUDGETED.format(workers=workers, backend=backend))
    code, out, _ = check([str(path)])
    assert code == 0, out
    assert ("budgets are counted in memory by each of the 3 workers on its own: a key or route may spend 3x its budget"
            in out) is warned
