"""End to end with the real Gemini CLI: `gemini -p` → `router serve` → the loopback mock upstream
speaking Chat Completions or the Gemini API (tests/support/gemini_mock.py), every process real,
all on loopback. The CLI is also run straight against the mock Gemini upstream, with no router
between: that proves the mock answers as the CLI expects, so a failure through the router is the
router's.

The CLI is the npm package pinned in .ci/run (GEMINI_CLI_VERSION), installed into the git-ignored
.ci/node/ next to Claude Code and Codex; `GEMINI_CLI=/path/to/gemini` uses another one. Without it
the module is skipped; CI installs it, so there it always runs.

It runs with HOME in a temporary directory holding a settings.json that picks API-key auth
(`security.auth.selectedType = "gemini-api-key"`: the key from GEMINI_API_KEY travels in
x-goog-api-key, to GOOGLE_GEMINI_BASE_URL) and turns off usage statistics, telemetry, the
auto-updater and folder trust. Whatever it still tries outside must fail fast and not matter:
each run is bounded by a timeout.

What the CLI sends (../shared/fixtures/README.md, gemini-cli): for its default model, first a
non-streaming `:generateContent` classifier call in JSON mode (responseJsonSchema, upper-case
type names), then the streamed main turn (`:streamGenerateContent?alt=sse`) with its tools as
functionDeclarations with parametersJsonSchema. In the tool turn the mock answers a prompt that
names `run_shell_command` and holds a backquoted command with a call that runs it
(tests/support/scripted_calls.py); the CLI (--yolo) runs it, sends a functionResponse back, and
the mock answers "The tool returned: <output>", which the CLI prints.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.gemini_mock import DEFAULT_KEY, gemini_upstream, recorded
from tests.support.real_cli import (
    Record,
    access_log,
    assert_exit_0,
    base_env,
    installed_cli,
    pinned_version,
    run_cli,
)
from tests.support.servers import Process, free_port, running

CLIENT_KEY = "test-client-key-gemini-0123456789"
UPSTREAM_KEY = "sk-upstream-secret-ABCDEFGHIJKLMNOP"
CLI_TIMEOUT = 90.0
PINNED = pinned_version("GEMINI_CLI_VERSION")
# "direct": the CLI straight on the mock Gemini upstream; the others through the router.
TARGETS = ("direct", "gemini", "openai")

# One gateway per upstream kind, each sending every model to its mock: the CLI picks its models
# (a classifier model and a main one) by names that change between versions.
ROUTES = """
[auth]
keys = ["env:ROUTER_TEST_KEY"]

[upstreams.mock]
kind = "{kind}"
base-url = "{base_url}"
api-key = "env:UP_KEY"

[[routes]]
name = "gemini-cli-{kind}"
clients = ["gemini"]
models = ["*"]
to = "mock"
"""

SETTINGS = {
    "security": {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": False}},
    "privacy": {"usageStatisticsEnabled": False},
    "telemetry": {"enabled": False},
    "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
}


CLI = installed_cli("GEMINI_CLI", "gemini")
pytestmark = pytest.mark.skipif(
    CLI is None,
    reason="Gemini CLI not installed: .ci/run installs it into .ci/node/ "
           "(npm install --prefix .ci/node @google/gemini-cli@<pinned>), or set GEMINI_CLI",
)


@dataclass
class Target:
    """Where the CLI is pointed (the router, or the mock itself), and the mock behind it."""

    kind: str
    url: str
    key: str
    upstream: str
    process: Process | None = None

    def router_output(self) -> str:
        return self.process.output()[-4000:] if self.process is not None else "(no router)"

    def access_log(self, since: int, posts: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The router's access-log records from line `since` on, once `posts` model calls are among
        them (a stream's record is written when its last event went out)."""
        assert self.process is not None
        return access_log(self.process, since, posts, is_model_call, timeout)


def is_model_call(record: Record) -> bool:
    return record.get("method") == "POST" and "/models/" in str(record.get("path"))


TargetFactory = Callable[[str], Target]


@pytest.fixture(scope="module")
def target_of(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetFactory]:
    """target_of(kind) -> the Target of that kind; a gateway is started when first asked for (so
    the direct runs do not depend on the router starting) and lives until the module ends."""
    folder = tmp_path_factory.mktemp("gemini-cli-router")
    env = {"ROUTER_TEST_KEY": CLIENT_KEY, "UP_KEY": DEFAULT_KEY}
    with ExitStack() as stack:
        upstream = stack.enter_context(gemini_upstream(DEFAULT_KEY))
        started = {"direct": Target("direct", upstream, DEFAULT_KEY, upstream)}

        def start(kind: str) -> Target:
            if kind not in started:
                base_url = f"{upstream}/v1beta" if kind == "gemini" else f"{upstream}/v1"
                config = folder / f"routes-{kind}.toml"
                config.write_text(ROUTES.format(kind=kind, base_url=base_url))
                port = free_port()
                process = stack.enter_context(
                    running(["router", "serve", "--config", str(config), "--port", str(port)], port, env))
                started[kind] = Target(kind, f"http://127.0.0.1:{port}", CLIENT_KEY, upstream, process)
            return started[kind]

        yield start


def run_gemini(target: Target, tmp_path: Path, prompt: str, *flags: str) -> str:
    """`gemini -p PROMPT` in tmp_path/work with HOME in tmp_path; stdin closed; what it printed.
    The environment is built from scratch so a developer's own GEMINI_* or GOOGLE_* settings
    cannot leak in. On timeout its whole process group (commands it ran included) is killed."""
    assert CLI is not None
    home, work, tmp = tmp_path / "home", tmp_path / "work", tmp_path / "tmp"
    for made in (home / ".gemini", work, tmp):
        made.mkdir(parents=True, exist_ok=True)
    (home / ".gemini" / "settings.json").write_text(json.dumps(SETTINGS))
    env = base_env(home, tmp) | {"GOOGLE_GEMINI_BASE_URL": target.url, "GEMINI_API_KEY": target.key}
    result = run_cli([str(CLI), "-p", prompt, *flags], work, env, CLI_TIMEOUT, target.router_output)
    assert_exit_0(result, target.router_output)
    return result.stdout


def mark(target: Target) -> tuple[int, int]:
    """Where the mock's record and the router's output stand before a run."""
    return len(recorded(target.upstream)), len(target.process.lines) if target.process else 0


def model_calls(target: Target, since: int) -> list[dict[str, Any]]:
    """The model calls the mock was sent since `since`: Gemini's …/models/…, or Chat's."""
    return [r for r in recorded(target.upstream, since)
            if "/models/" in r["path"] or r["path"].endswith("/chat/completions")]


def assert_answered(target: Target, since: int, posts: int) -> None:
    """Through the router: every request the CLI made was answered 200, `posts` of them model
    calls on the gateway's one route with the client key."""
    if target.process is None:
        return
    records = target.access_log(since, posts)
    failed = [r for r in records if r.get("status") != 200]
    assert not failed, f"the router answered the CLI with errors: {failed}"
    calls = [r for r in records if is_model_call(r)]
    assert len(calls) == posts, records
    for record in calls:
        assert record["route"] == f"gemini-cli-{target.kind}", record
        assert record["key"] == "ROUTER_TEST_KEY", record
        assert CLIENT_KEY not in json.dumps(record), "the client key was logged"


def test_the_installed_cli_is_the_pinned_version(tmp_path: Path) -> None:
    if os.environ.get("GEMINI_CLI"):
        pytest.skip("GEMINI_CLI names another build of the CLI")
    assert PINNED is not None, ".ci/run lost its GEMINI_CLI_VERSION= line"
    assert CLI is not None
    version = subprocess.run([str(CLI), "--version"], check=False, capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                                            "HOME": str(tmp_path)})
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == PINNED, version.stdout


@pytest.mark.parametrize("kind", TARGETS)
def test_a_plain_turn(target_of: TargetFactory, tmp_path: Path, kind: str) -> None:
    """"say hi to the router": the classifier's JSON call (Gemini routes), then one streamed turn;
    the mock's echo is the CLI's answer."""
    target = target_of(kind)
    upstream_since, router_since = mark(target)
    printed = run_gemini(target, tmp_path, "say hi to the router").strip()
    # The Chat mock echoes the last text part; the Gemini mock every text of the last content
    # (the CLI's session context may come before the prompt, in the same content).
    assert printed.startswith("Echo: ") and printed.endswith("say hi to the router"), printed
    calls = model_calls(target, upstream_since)
    streamed = [c for c in calls if (c["body"] or {}).get("stream") or c["query"] == "alt=sse"]
    assert len(streamed) == 1, calls
    if kind != "openai":
        assert streamed[0]["headers"]["x-goog-api-key"] == DEFAULT_KEY, streamed[0]["headers"]
    assert_answered(target, router_since, len(calls))


@pytest.mark.parametrize("kind", TARGETS)
def test_a_tool_turn_runs_a_shell_command(target_of: TargetFactory, tmp_path: Path, kind: str) -> None:
    """The mock answers the main turn with a call of `run_shell_command` {"command": "echo <marker>"};
    the CLI (--yolo) runs it, sends the output back as a functionResponse, and prints the mock's
    answer quoting it."""
    target = target_of(kind)
    marker = f"router-ok-{kind}-5e1c"
    upstream_since, router_since = mark(target)
    printed = run_gemini(target, tmp_path, f"Use run_shell_command to run `echo {marker}`", "--yolo")
    assert "The tool returned: " in printed and f"Output: {marker}" in printed, printed
    calls = model_calls(target, upstream_since)
    last = calls[-1]["body"]
    if kind == "openai":
        tool_messages = [m for m in last["messages"] if m.get("role") == "tool"]
        assert len(tool_messages) == 1 and marker in json.dumps(tool_messages[0]), last["messages"]
        asked = [m for m in last["messages"] if m.get("tool_calls")]
        assert asked and asked[-1]["tool_calls"][0]["function"]["name"] == "run_shell_command", asked
        assert asked[-1]["tool_calls"][0]["id"] == tool_messages[0]["tool_call_id"], last["messages"]
    else:
        model_turn, answer = last["contents"][-2], last["contents"][-1]
        call = model_turn["parts"][0]
        assert call["functionCall"]["name"] == "run_shell_command", model_turn
        assert call["functionCall"]["args"]["command"] == f"echo {marker}", model_turn
        assert call.get("thoughtSignature"), "the call's thought signature did not come back"
        response = answer["parts"][0]["functionResponse"]
        assert response["name"] == "run_shell_command" and f"Output: {marker}" in response["response"]["output"], answer
    assert_answered(target, router_since, len(calls))
