"""End to end with the real Codex CLI: `codex exec` → `router serve` → the loopback mock upstream
speaking Chat Completions, Anthropic Messages or the Responses API, every process real, all on
loopback.

The CLI is the npm package pinned in .ci/run (CODEX_VERSION), installed into the git-ignored
.ci/node/ next to Claude Code; `CODEX_CLI=/path/to/codex` uses another one. Without it the module
is skipped; CI installs it, so there it always runs.

Codex speaks only the Responses API. It runs with HOME and CODEX_HOME in a temporary directory
and a config.toml whose one model provider is the router (`wire_api = "responses"`, the key from
`env_key`), no retries, and every switch that keeps it from outside hosts: no update check, no
analytics or feedback, no plugins or apps (with these the pinned version makes no DNS lookup at
all; without them it asks for github.com and chatgpt.com). Whatever it still tries must fail fast
and not matter: each run is bounded by a timeout.

Codex sends one of two request shapes (../shared/fixtures/README.md): for a model it does not
know, top-level function tools with a shell function `exec_command`; for its default model, tools
in namespaces (an `additional_tools` input item) whose shell is the freeform `exec` tool of
namespace `functions`, taking JavaScript. Both are driven here: the mocks answer a prompt that
names the tool and holds a backquoted command with a call that runs it
(tests/support/scripted_calls.py), Codex runs it, sends the output back, and the mock answers
"The tool returned: <output>".
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.support.real_cli import (
    access_log,
    assert_exit_0,
    base_env,
    installed_cli,
    pinned_version,
    posted_to,
    run_cli,
)
from tests.support.servers import Process, free_port, running

CLIENT_KEY = "test-client-key-codex-0123456789"
UPSTREAM_KEY = "sk-upstream-secret-ABCDEFGHIJKLMNOP"
CLI_TIMEOUT = 60.0
PINNED = pinned_version("CODEX_VERSION")
KINDS = ("openai", "anthropic", "responses")

# One gateway per upstream kind, each sending every model to its mock: the default model's name
# is the CLI's to choose (it changes between versions), so routing by name could not tell them apart.
ROUTES = """
[auth]
keys = ["env:ROUTER_TEST_KEY"]

[upstreams.mock]
kind = "{kind}"
base-url = "{base_url}"
api-key = "env:UP_KEY"

[[routes]]
name = "codex-{kind}"
clients = ["responses"]
models = ["*"]
to = "mock"
"""

CODEX_CONFIG = """
model_provider = "router"
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false

[analytics]
enabled = false

[feedback]
enabled = false

[features]
plugins = false
apps = false
shell_snapshot = false

[model_providers.router]
name = "router"
base_url = "{gateway}/v1"
wire_api = "responses"
env_key = "ROUTER_KEY"
request_max_retries = 0
stream_max_retries = 0
supports_websockets = false
"""

# A model Codex has no metadata for: it sends the ordinary request shape (top-level tools).
UNKNOWN_MODEL = "mock-model"


CLI = installed_cli("CODEX_CLI", "codex")
RESPONSES_CALL = posted_to("/v1/responses")
pytestmark = pytest.mark.skipif(
    CLI is None,
    reason="Codex CLI not installed: .ci/run installs it into .ci/node/ "
           "(npm install --prefix .ci/node @openai/codex@<pinned>), or set CODEX_CLI",
)


class Gateway:
    def __init__(self, kind: str, url: str, process: Process) -> None:
        self.kind, self.url, self.process = kind, url, process

    def mark(self) -> int:
        return len(self.process.lines)

    def access_log(self, since: int, posts: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The access-log records written since `since`, once `posts` POSTs to /v1/responses are
        among them (a stream's record is written when its last event went out)."""
        return access_log(self.process, since, posts, RESPONSES_CALL, timeout)

    def router_output(self) -> str:
        return self.process.output()[-4000:]


@pytest.fixture(scope="module")
def gateways(mock_upstream_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Gateway]]:
    folder = tmp_path_factory.mktemp("codex-router")
    env = {"ROUTER_TEST_KEY": CLIENT_KEY, "UP_KEY": UPSTREAM_KEY}
    with ExitStack() as stack:
        started: dict[str, Gateway] = {}
        for kind in KINDS:
            base_url = mock_upstream_url if kind == "anthropic" else f"{mock_upstream_url}/v1"
            config = folder / f"routes-{kind}.toml"
            config.write_text(ROUTES.format(kind=kind, base_url=base_url))
            port = free_port()
            process = stack.enter_context(
                running(["router", "serve", "--config", str(config), "--port", str(port)], port, env))
            started[kind] = Gateway(kind, f"http://127.0.0.1:{port}", process)
        yield started


def run_codex(gateway: Gateway, tmp_path: Path, prompt: str, model: str | None) -> list[dict[str, Any]]:
    """`codex exec --json PROMPT` in tmp_path/work with HOME and CODEX_HOME in tmp_path; stdin
    closed; its JSONL events. The environment is built from scratch so a developer's own
    OPENAI_* or CODEX_* settings cannot leak in. On timeout its whole process group (commands it
    ran included) is killed."""
    assert CLI is not None
    home, work, tmp = tmp_path / "home", tmp_path / "work", tmp_path / "tmp"
    codex_home = home / ".codex"
    for folder in (codex_home, work, tmp):
        folder.mkdir(parents=True, exist_ok=True)
    (codex_home / "config.toml").write_text(CODEX_CONFIG.format(gateway=gateway.url))
    # PATH: node runs the JavaScript `exec` tool.
    env = base_env(home, tmp) | {"CODEX_HOME": str(codex_home), "ROUTER_KEY": CLIENT_KEY}
    args = [str(CLI), "exec", "--skip-git-repo-check", "--json", *(["-m", model] if model else []), prompt]
    result = run_cli(args, work, env, CLI_TIMEOUT, gateway.router_output)
    assert_exit_0(result, gateway.router_output)
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def items(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e["item"] for e in events if e["type"] == "item.completed" and e["item"]["type"] == kind]


def assert_answered(gateway: Gateway, records: list[dict[str, Any]], posts: int) -> None:
    """Every request the CLI made was answered 200, and `posts` of them were streamed
    /v1/responses calls through the gateway's one route with the client key."""
    failed = [r for r in records if r.get("status") != 200]
    assert not failed, f"the router answered the CLI with errors: {failed}"
    calls = [r for r in records if RESPONSES_CALL(r)]
    assert len(calls) == posts, records
    for record in calls:
        assert record["route"] == f"codex-{gateway.kind}" and record["pair"] == f"responses__{gateway.kind}", record
        assert record["key"] == "ROUTER_TEST_KEY" and record["stream"] is True, record
        assert record["attempts"] == [f"{record['target']}=200"], record


def test_the_installed_cli_is_the_pinned_version(tmp_path: Path) -> None:
    if os.environ.get("CODEX_CLI"):
        pytest.skip("CODEX_CLI names another build of the CLI")
    assert PINNED is not None, ".ci/run lost its CODEX_VERSION= line"
    assert CLI is not None
    version = subprocess.run([str(CLI), "--version"], check=False, capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                                            "HOME": str(tmp_path), "CODEX_HOME": str(tmp_path)})
    assert version.returncode == 0, version.stderr
    assert version.stdout.split() == ["codex-cli", PINNED], version.stdout


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("model", [UNKNOWN_MODEL, None], ids=["function-tools", "default-model"])
def test_a_plain_turn(gateways: dict[str, Gateway], tmp_path: Path, kind: str, model: str | None) -> None:
    """"say hi to the router": one streamed request, the mock's echo is Codex's answer."""
    gateway = gateways[kind]
    since = gateway.mark()
    events = run_codex(gateway, tmp_path, "say hi to the router", model)
    messages = items(events, "agent_message")
    assert len(messages) == 1, events
    # The Chat mock echoes the last text part; the others every text of the last user turn
    # (Codex's environment context comes before the prompt, in the same turn once converted).
    assert messages[0]["text"].startswith("Echo: ") and messages[0]["text"].endswith("say hi to the router"), events
    assert events[-1]["type"] == "turn.completed", events
    assert_answered(gateway, gateway.access_log(since, 1), 1)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("model", "tool"), [(UNKNOWN_MODEL, "exec_command"), (None, "exec")],
                         ids=["function-tools", "default-model"])
def test_a_tool_turn_runs_a_shell_command(gateways: dict[str, Gateway], tmp_path: Path, kind: str,
                                          model: str | None, tool: str) -> None:
    """The mock answers the first request with a call of Codex's shell tool (`exec_command`
    {"cmd": "echo <marker>"}, or JavaScript for `exec` that calls it); Codex runs the command,
    sends its output back, and the mock's answer quotes it."""
    gateway = gateways[kind]
    marker = f"marker-{kind}-{tool}-7f3a"
    since = gateway.mark()
    events = run_codex(gateway, tmp_path, f"Use {tool} to run `echo {marker}`", model)
    commands = items(events, "command_execution")
    assert [c["aggregated_output"] for c in commands] == [f"{marker}\n"], events
    assert commands[0]["exit_code"] == 0 and commands[0]["command"].endswith(f"echo {marker}'"), commands
    answer = items(events, "agent_message")
    assert len(answer) == 1 and answer[0]["text"].startswith("The tool returned: "), events
    assert marker in answer[0]["text"], answer
    assert events[-1]["type"] == "turn.completed", events
    assert_answered(gateway, gateway.access_log(since, 2), 2)
