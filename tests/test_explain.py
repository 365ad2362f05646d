"""`router explain`: the shipped table's `demo`, a body with tools and thinking that takes a
conditional route, the no-match and usage exits, and that the explanation agrees with the lookup
the server does."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from router.cli.explain import considered, facts_for, run_explain
from router.cli.main import main
from router.config.load import load_config_file
from router.routing.lookup import build_table

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "routes.toml"
KEY_A = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
CONDITIONAL = f"""
[auth]
keys = [{{ name = "team-a", sha256 = "{KEY_A}" }}]

[upstreams.local]
kind = "mock"
supports = {{ reasoning = "effort" }}

[upstreams.big]
kind = "mock"

[[routes]]
name = "long-context"
models = ["claude-*"]
to = "big/big-context"
when = {{ min-input-tokens = 60000 }}

[[routes]]
name = "agent"
clients = ["anthropic"]
models = ["claude-*"]
to = ["local/thinker", "big/fallback"]
when = {{ tools = true, thinking = true, header = {{ "x-team" = "res*" }}, key = ["team-a"] }}

[[routes]]
name = "claude"
models = ["claude-*"]
to = "local"
"""
AGENT_BODY = {
    "model": "ignored: MODEL wins",
    "max_tokens": 2000,
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "tools": [{"name": "get_weather", "description": "Weather now", "input_schema": {"type": "object"}}],
    "messages": [{"role": "user", "content": "weather in Paris? use get_weather"}],
}


def explain(argv: list[str], environ: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_explain(argv, environ or {}, out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "routes.toml"
    path.write_text(CONDITIONAL)
    return path


@pytest.fixture
def agent_body(tmp_path: Path) -> Path:
    path = tmp_path / "body.json"
    path.write_text(json.dumps(AGENT_BODY))
    return path


def test_demo_on_the_shipped_table() -> None:
    code, out, err = explain(["demo", "--config", str(SHIPPED)])
    assert (code, err) == (0, "")
    assert "  demo: matched\n" in out
    assert 'route "demo": 1 target' in out
    assert "1. local/*: upstream local (kind mock)" in out
    assert "pair anthropic__openai (converted)" in out
    assert "reasoning=effort" in out
    assert '"content": "Hello"' in out and '"model": "demo"' in out  # the upstream body
    assert "def convert_request(src, ctx):" in out and "def convert_response(src, ctx):" in out
    assert "messages_to_openai(src, ctx)" in out


def test_openai_client_on_a_passthrough_pair() -> None:
    code, out, _ = explain(["demo", "--client", "openai", "--config", str(SHIPPED)])
    assert code == 0
    assert "pair openai__openai (passthrough)" in out
    assert "out = src" in out  # the generated code edits the client's own body
    assert "response converter for local/*: none (passthrough" in out


def test_routes_without_a_key_are_shown_off() -> None:
    code, out, _ = explain(["claude-sonnet-4-5", "--config", str(SHIPPED)])
    assert code == 1  # every provider of claude-* needs a key this environment lacks
    assert "claude: skipped: off (no API key in the environment for its upstreams)" in out
    assert "demo: skipped: model \"claude-sonnet-4-5\" matches none of \"demo\"" in out
    assert "no route serves model" in out


def test_body_with_tools_and_thinking_takes_the_conditional_route(config: Path, agent_body: Path) -> None:
    argv = ["claude-sonnet-4", "--config", str(config), "--body", str(agent_body), "--header", "X-Team: research", "--key", "team-a"]
    code, out, err = explain(argv)
    assert (code, err) == (0, "")
    assert "long-context: skipped: 1 condition not met" in out
    assert "✗ min-input-tokens = 60000 (request: ~" in out
    assert "agent: matched (all conditions hold)" in out
    for line in ('✓ key in ["team-a"] (request: "team-a")', '✓ header x-team = "res*" (request: "research")',
                 "✓ tools = true (request: true)", "✓ thinking = true (request: true)"):
        assert line in out
    assert "1. local/thinker:" in out and "2. big/fallback:" in out
    body = out.split("upstream request body for the first target (local/thinker):\n", 1)[1]
    upstream = json.loads(body[: body.index("\n}\n") + 2])
    assert upstream["model"] == "thinker"
    assert upstream["tools"][0]["function"]["name"] == "get_weather"
    assert upstream["reasoning_effort"]  # the mock target thinks by effort
    assert "claude: " not in out  # first match wins: later routes are not considered


def test_the_same_body_without_header_and_key_falls_through(config: Path, agent_body: Path) -> None:
    code, out, _ = explain(["claude-sonnet-4", "--config", str(config), "--body", str(agent_body)])
    assert code == 0
    assert "agent: skipped: 2 conditions not met" in out
    assert "✗ key in [\"team-a\"] (request: no key)" in out
    assert "✗ header x-team = \"res*\" (request: absent)" in out
    assert "claude: matched" in out


def test_no_route_matches_exits_1(config: Path) -> None:
    code, out, _ = explain(["gpt-4o", "--config", str(config)])
    assert code == 1
    assert 'claude: skipped: model "gpt-4o" matches none of "claude-*"' in out
    assert 'no route serves model "gpt-4o" to anthropic clients' in out


def test_client_protocol_is_a_reason_to_skip(config: Path, agent_body: Path) -> None:
    code, out, _ = explain(["claude-x", "--client", "openai", "--config", str(config)])
    assert code == 0
    assert "agent: skipped: serves anthropic clients, not openai" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "MODEL"),
        (["demo", "--client", "bedrock"], "invalid choice"),
        (["demo", "--header", "no-colon"], "NAME:VALUE"),
        (["demo", "--nope"], "unrecognized arguments"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str) -> None:
    code, out, err = explain([*argv, "--config", str(SHIPPED)] if argv else argv)
    assert code == 2 and out == ""
    assert "usage: router explain" in err and message in err


def test_bad_body_files_exit_2(tmp_path: Path) -> None:
    missing = explain(["demo", "--config", str(SHIPPED), "--body", str(tmp_path / "none.json")])
    assert missing[0] == 2 and "none.json" in missing[2]
    (tmp_path / "bad.json").write_text("{not json")
    assert explain(["demo", "--config", str(SHIPPED), "--body", str(tmp_path / "bad.json")])[0] == 2
    (tmp_path / "wrong.json").write_text('{"messages": "no"}')
    code, _, err = explain(["demo", "--config", str(SHIPPED), "--body", str(tmp_path / "wrong.json")])
    assert code == 2 and "not a valid anthropic request" in err


def test_missing_config_exits_2_and_invalid_config_exits_1(tmp_path: Path) -> None:
    code, _, err = explain(["demo", "--config", str(tmp_path / "nope.toml")])
    assert code == 2 and "no such file" in err
    bad = tmp_path / "bad.toml"
    bad.write_text('[[routes]]\nname = "x"\nmodels = ["x"]\nto = "nowhere"\n')
    code, out, err = explain(["x", "--config", str(bad)])
    assert code == 1 and out == ""
    assert 'unknown upstream "nowhere"' in err


def test_help_exits_0() -> None:
    code, out, _ = explain(["--help"])
    assert code == 0 and "--header" in out


def test_cli_wires_the_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "demo", "--config", str(SHIPPED)]) == 0
    assert "demo: matched" in capsys.readouterr().out
    assert main(["explain", "nothing-like-this", "--config", str(SHIPPED)]) == 1


@pytest.mark.parametrize(
    ("argv", "route"),
    [
        (["claude-x"], "claude"),
        (["claude-x", "--header", "x-team:research", "--key", "team-a"], "claude"),  # no tools/thinking
        (["claude-x", "--header", "x-team:research", "--key", "team-a", "--body", "AGENT"], "agent"),
        (["claude-x", "--header", "x-team:other", "--key", "team-a", "--body", "AGENT"], "claude"),
        (["gpt-4o"], None),
    ],
)
def test_the_explanation_agrees_with_the_lookup(config: Path, agent_body: Path, argv: list[str], route: str | None) -> None:
    """The trace's verdict is the server's answer (Table.lookup), route by route."""
    from router.cli.explain import explain_parser, request_from_args

    args = explain_parser().parse_args([a if a != "AGENT" else str(agent_body) for a in argv])
    request = request_from_args(args)
    table = build_table(load_config_file(config, {}))
    facts = facts_for(request)
    plan = table.lookup(request.protocol, request.model, facts)
    verdicts = list(considered(request, table, facts, plan))
    matched = [v.route for v in verdicts if v.matched]
    assert (plan.route if plan else None) == route
    assert matched == ([route] if route else [])
    assert route is None or verdicts[-1].route == route
