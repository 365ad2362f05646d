"""End to end with the real Claude Code CLI: `claude -p` → `router serve` → the loopback mock
upstream, every process real, all on loopback.

The CLI is the npm package pinned in .ci/run (CLAUDE_CODE_VERSION), installed into the git-ignored
.ci/node/; `CLAUDE_CLI=/path/to/claude` uses another one. Without it the module is skipped, so the
suite still runs where npm is missing; CI installs it, so there it always runs.

The CLI runs with HOME in a temporary directory and every switch that stops it from calling
outside hosts (telemetry, error reporting, the auto-updater, non-essential traffic). Whatever it
still tries must fail fast and not matter: each run is bounded by a timeout.

Claude Code ends `messages` with a `role: system` message listing its tools and agents; the mocks
answer the last user or tool message before it (router.upstream.mock.last_turn), as they must for
`claude --model demo` on the shipped routes.toml.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import real_cli
from tests.support.bedrock_mock import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    SESSION_TOKEN,
    bedrock_upstream,
)
from tests.support.real_cli import (
    access_log,
    base_env,
    installed_cli,
    pinned_version,
    posted_to,
    run_cli,
)
from tests.support.servers import Process, free_port, running

CLIENT_KEY = "test-client-key-0123456789"
UPSTREAM_KEY = "sk-upstream-secret-ABCDEFGHIJKLMNOP"
CLI_TIMEOUT = 60.0
PINNED = pinned_version("CLAUDE_CODE_VERSION")

ROUTES = """
[auth]
keys = ["env:ROUTER_TEST_KEY"]

[upstreams.openai-mock]
kind = "openai"
base-url = "{upstream}/v1"
api-key = "env:UP_KEY"

[upstreams.anthropic-mock]
kind = "anthropic"
base-url = "{upstream}"
api-key = "env:UP_KEY"
beta = "all"

[upstreams.responses-mock]
kind = "responses"
base-url = "{upstream}/v1"
api-key = "env:UP_KEY"

[[routes]]
name = "passthrough"
clients = ["anthropic"]
models = ["claude-passthrough"]
to = "anthropic-mock"

[[routes]]
name = "on-responses"
clients = ["anthropic"]
models = ["claude-on-responses"]
to = "responses-mock"

[[routes]]
# Every name the CLI may ask for: its main model and its small/fast (haiku) one.
name = "claude"
clients = ["anthropic"]
models = ["claude-*"]
to = "openai-mock"
"""

# Switches that keep the CLI from reaching outside hosts. DISABLE_NON_ESSENTIAL_MODEL_CALLS is not
# in the pinned version but was in earlier ones; an unknown variable is harmless.
QUIET = {
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_BUG_COMMAND": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_NON_ESSENTIAL_MODEL_CALLS": "1",
    "CLAUDE_CODE_DISABLE_TERMINAL_TITLE": "1",
}


CLI = installed_cli("CLAUDE_CLI", "claude")
MESSAGES_CALL = posted_to("/v1/messages")
pytestmark = pytest.mark.skipif(
    CLI is None,
    reason="Claude Code CLI not installed: .ci/run installs it into .ci/node/ "
           "(npm install --prefix .ci/node @anthropic-ai/claude-code@<pinned>), or set CLAUDE_CLI",
)


class Gateway:
    def __init__(self, url: str, process: Process) -> None:
        self.url, self.process = url, process

    def mark(self) -> int:
        return len(self.process.lines)

    def access_log(self, since: int, posts: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The access-log records written since `since`, once `posts` POSTs to /v1/messages are
        among them (a stream's record is written when its last event went out, which may be just
        after the CLI exits)."""
        return access_log(self.process, since, posts, MESSAGES_CALL, timeout)

    def router_output(self) -> str:
        return self.process.output()[-4000:]


@pytest.fixture(scope="module")
def gateway(mock_upstream_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = tmp_path_factory.mktemp("claude-code-router") / "routes.toml"
    config.write_text(ROUTES.format(upstream=mock_upstream_url))
    port = free_port()
    env = {"ROUTER_TEST_KEY": CLIENT_KEY, "UP_KEY": UPSTREAM_KEY}
    with running(["router", "serve", "--config", str(config), "--port", str(port)], port, env) as process:
        yield Gateway(f"http://127.0.0.1:{port}", process)


def run_claude(gateway: Gateway, tmp_path: Path, *args: str, path_dirs: tuple[Path, ...] = ()) -> subprocess.CompletedProcess[str]:
    """`claude ARGS` in tmp_path/work with HOME, TMPDIR and the config in tmp_path; stdin closed.
    The environment is built from scratch so a developer's own ANTHROPIC_* or CLAUDE_* settings
    cannot leak in. On timeout its whole process group (tools it ran included) is killed."""
    assert CLI is not None
    home, work, tmp = tmp_path / "home", tmp_path / "work", tmp_path / "tmp"
    for folder in (home, work, tmp):
        folder.mkdir(exist_ok=True)
    env = base_env(home, tmp, path_dirs) | {"ANTHROPIC_BASE_URL": gateway.url, "ANTHROPIC_API_KEY": CLIENT_KEY,
                                            **QUIET}
    return run_cli([str(CLI), *args], work, env, CLI_TIMEOUT, gateway.router_output)


def run_bash_tool(gateway: Gateway, tmp_path: Path, output: str, *model: str) -> dict[str, Any]:
    """`claude -p "please use Bash"` with Bash allowed: the mock calls it (`{"command": "demo"}`),
    the CLI runs `demo` (a script on PATH that leaves a marker in the working directory and
    prints `output`) and sends its result back, which the mock answers with text. The CLI's
    JSON answer, once the marker proves the tool ran and the turn ended in success."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    demo = bin_dir / "demo"
    demo.write_text(f'#!/bin/sh\necho ran-by-claude-code > "$PWD/marker.txt"\necho {output}\n')
    demo.chmod(0o755)
    result = run_claude(gateway, tmp_path, "-p", "please use Bash", *model, "--allowedTools", "Bash",
                        "--output-format", "json", path_dirs=(bin_dir,))
    assert_exit_0(result, gateway)
    answer: dict[str, Any] = json.loads(result.stdout)
    assert (tmp_path / "work" / "marker.txt").read_text() == "ran-by-claude-code\n"
    assert answer["subtype"] == "success" and answer["is_error"] is False, answer
    assert answer["num_turns"] == 2 and answer["permission_denials"] == [], answer
    assert answer["result"] == f"The tool returned: {output}", answer["result"]
    return answer


def assert_exit_0(result: subprocess.CompletedProcess[str], gateway: Gateway) -> None:
    real_cli.assert_exit_0(result, gateway.router_output)


def assert_answered(records: list[dict[str, Any]], posts: int, route: str, pair: str) -> None:
    """Every request the CLI made was answered 200, and `posts` of them were streamed
    /v1/messages calls through `route` with the client key."""
    failed = [r for r in records if r.get("status") != 200]
    assert not failed, f"the router answered the CLI with errors: {failed}"
    messages = [r for r in records if MESSAGES_CALL(r)]
    assert len(messages) == posts, records
    for record in messages:
        assert record["route"] == route and record["pair"] == pair, record
        assert record["key"] == "ROUTER_TEST_KEY" and record["stream"] is True, record
        assert record["model"].startswith("claude-"), record
        assert record["attempts"] == [f"{record['target']}=200"], record


def test_the_installed_cli_is_the_pinned_version(tmp_path: Path) -> None:
    if os.environ.get("CLAUDE_CLI"):
        pytest.skip("CLAUDE_CLI names another build of the CLI")
    assert PINNED is not None, ".ci/run lost its CLAUDE_CODE_VERSION= line"
    assert CLI is not None
    version = subprocess.run([str(CLI), "--version"], capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL,
                             env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), **QUIET})
    assert version.returncode == 0, version.stderr
    assert version.stdout.split()[0] == PINNED, version.stdout


def test_print_json_through_anthropic_passthrough(gateway: Gateway, tmp_path: Path) -> None:
    """`claude -p --output-format json`: Claude Code's whole request (betas, `?beta=true`, adaptive
    thinking, context management, 2020-12 tool schemas) passes to an Anthropic upstream as sent."""
    since = gateway.mark()
    result = run_claude(gateway, tmp_path, "-p", "say hi to the router", "--model", "claude-passthrough",
                        "--output-format", "json")
    assert_exit_0(result, gateway)
    answer = json.loads(result.stdout)
    assert answer["type"] == "result" and answer["subtype"] == "success", answer
    assert answer["is_error"] is False and answer["num_turns"] == 1, answer
    # The Anthropic mock echoes the user's text blocks, then lists the top-level fields it does not
    # know: the passthrough delivered Claude Code's own fields untouched.
    assert answer["result"].startswith("Echo: "), answer["result"]
    assert "say hi to the router" in answer["result"]
    assert "context_management" in answer["result"].rpartition("| fields: ")[2]
    assert_answered(gateway.access_log(since, 1), 1, "passthrough", "anthropic__anthropic")


def test_stream_json_through_the_converted_pair(gateway: Gateway, tmp_path: Path) -> None:
    """`--output-format stream-json --include-partial-messages`: the CLI's default model goes to the
    OpenAI-shaped mock; the router converts the SSE stream chunk by chunk, and the CLI shows each
    text delta as it comes."""
    since = gateway.mark()
    result = run_claude(gateway, tmp_path, "-p", "stream three little words", "--output-format", "stream-json",
                        "--verbose", "--include-partial-messages")
    assert_exit_0(result, gateway)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    events = [line["event"] for line in lines if line["type"] == "stream_event"]
    kinds = [event["type"] for event in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop", kinds
    deltas = [event["delta"]["text"] for event in events
              if event["type"] == "content_block_delta" and event["delta"]["type"] == "text_delta"]
    assert len(deltas) > 3, deltas  # streamed word by word, not in one piece
    final = lines[-1]
    assert final["type"] == "result" and final["subtype"] == "success" and final["is_error"] is False, final
    assert final["result"] == "".join(deltas)
    assert final["result"].startswith("Echo: ") and final["result"].endswith("stream three little words")
    stop = next(event for event in events if event["type"] == "message_delta")
    assert stop["delta"]["stop_reason"] == "end_turn"
    assert_answered(gateway.access_log(since, 1), 1, "claude", "anthropic__openai")


def test_the_cli_runs_a_tool_and_sends_back_its_result(gateway: Gateway, tmp_path: Path) -> None:
    """The prompt names Bash, so the mock calls it (`{"command": "demo"}`, its sample arguments);
    the CLI runs `demo` — a script on PATH that leaves a marker in the working directory — and
    sends its output back as a tool_result, which the mock answers with text."""
    since = gateway.mark()
    run_bash_tool(gateway, tmp_path, "tool-output-7f3a")
    assert_answered(gateway.access_log(since, 2), 2, "claude", "anthropic__openai")


def test_print_json_through_a_responses_upstream(gateway: Gateway, tmp_path: Path) -> None:
    """A model served on the OpenAI Responses API: Claude Code's Messages request becomes a
    Responses request (its adaptive thinking a reasoning effort with summaries), the Responses
    event stream becomes the Messages stream the CLI reads."""
    since = gateway.mark()
    result = run_claude(gateway, tmp_path, "-p", "say hi to the responses api", "--model", "claude-on-responses",
                        "--output-format", "json")
    assert_exit_0(result, gateway)
    answer = json.loads(result.stdout)
    assert answer["subtype"] == "success" and answer["is_error"] is False and answer["num_turns"] == 1, answer
    # The Responses mock echoes every text of the user's turn: Claude Code's reminders, then the prompt.
    assert answer["result"].startswith("Echo: ") and answer["result"].endswith("say hi to the responses api"), answer
    assert_answered(gateway.access_log(since, 1), 1, "on-responses", "anthropic__responses")


def test_the_cli_runs_a_tool_through_a_responses_upstream(gateway: Gateway, tmp_path: Path) -> None:
    """The Responses mock answers with a function_call of Bash (`{"command": "demo"}`); it reaches
    the CLI as a tool_use, the CLI runs `demo`, and its tool_result goes back as a
    function_call_output, which the mock answers with text."""
    since = gateway.mark()
    run_bash_tool(gateway, tmp_path, "tool-output-5e1b", "--model", "claude-on-responses")
    assert_answered(gateway.access_log(since, 2), 2, "on-responses", "anthropic__responses")


# --- Claude on Amazon Bedrock -------------------------------------------------------------------

BEDROCK_ROUTES = """
[auth]
keys = ["env:ROUTER_TEST_KEY"]

[upstreams.bedrock]
kind = "bedrock"
region = "{region}"
base-url = "{upstream}"

[upstreams.bedrock-converse]
kind = "bedrock"
region = "{region}"
base-url = "{upstream}"
api = "converse"

[[routes]]
# Claude's InvokeModel: Claude Code's request as it is (api = "auto" on an Anthropic model id)
name = "invoke"
clients = ["anthropic"]
models = ["claude-bedrock-invoke"]
to = "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0"

[[routes]]
# Every other name the CLI may ask for, its small/fast one too: Converse, converted
name = "converse"
clients = ["anthropic"]
models = ["claude-*"]
to = "bedrock-converse/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
"""


@pytest.fixture(scope="module")
def bedrock_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The router on a SigV4-checking Bedrock mock (tests/support/bedrock_mock.py), signing with
    the mock's test credentials from the environment (botocore's chain; nothing else of the
    machine's AWS configuration is read)."""
    folder = tmp_path_factory.mktemp("claude-code-bedrock")
    with bedrock_upstream() as upstream:
        config = folder / "routes.toml"
        config.write_text(BEDROCK_ROUTES.format(upstream=upstream, region=REGION))
        port = free_port()
        env = {"ROUTER_TEST_KEY": CLIENT_KEY, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
               "AWS_SESSION_TOKEN": SESSION_TOKEN, "AWS_EC2_METADATA_DISABLED": "true",
               "AWS_CONFIG_FILE": str(folder / "no-config"), "AWS_SHARED_CREDENTIALS_FILE": str(folder / "no-credentials"),
               "AWS_BEARER_TOKEN_BEDROCK": ""}
        with running(["router", "serve", "--config", str(config), "--port", str(port)], port, env) as process:
            yield Gateway(f"http://127.0.0.1:{port}", process)


def test_print_json_through_claude_on_bedrock_invoke_model(bedrock_gateway: Gateway, tmp_path: Path) -> None:
    """Claude Code's whole request reaches Bedrock's InvokeModel as an Anthropic body (no model or
    stream, the version and betas in it), signed with SigV4; the event stream's chunks become the
    Messages stream the CLI reads."""
    since = bedrock_gateway.mark()
    result = run_claude(bedrock_gateway, tmp_path, "-p", "say hi to bedrock", "--model", "claude-bedrock-invoke",
                        "--output-format", "json")
    assert_exit_0(result, bedrock_gateway)
    answer = json.loads(result.stdout)
    assert answer["subtype"] == "success" and answer["is_error"] is False and answer["num_turns"] == 1, answer
    assert answer["result"].startswith("Echo: ") and "say hi to bedrock" in answer["result"], answer
    assert_answered(bedrock_gateway.access_log(since, 1), 1, "invoke", "anthropic__anthropic")


def test_the_cli_runs_a_tool_through_bedrock_converse(bedrock_gateway: Gateway, tmp_path: Path) -> None:
    """Through Converse: Claude Code's tools become a toolConfig, the mock's toolUse of Bash reaches
    the CLI as a tool_use, and its result goes back as a toolResult the mock answers."""
    since = bedrock_gateway.mark()
    run_bash_tool(bedrock_gateway, tmp_path, "tool-output-b3d2", "--model", "claude-on-converse")
    assert_answered(bedrock_gateway.access_log(since, 2), 2, "converse", "anthropic__bedrock")
