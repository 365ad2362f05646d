"""What the end-to-end tests with a real client CLI (tests/test_real_*.py: Claude Code, Codex,
Gemini CLI) share: finding the installed CLI and the version .ci/run pins, running it in a
throwaway HOME with an environment built from scratch, and reading the router's access log.

Each CLI is an npm package pinned in .ci/run (`<NAME>_VERSION=`), installed into the git-ignored
.ci/node/; an environment variable may name another build."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import REPO, Process

Record = dict[str, Any]


def installed_cli(variable: str, name: str) -> Path | None:
    """The CLI `variable` names, else the one .ci/run installed; None when neither is there."""
    configured = os.environ.get(variable)
    path = Path(configured) if configured else REPO / ".ci" / "node" / "node_modules" / ".bin" / name
    return path if path.is_file() and os.access(path, os.X_OK) else None


def pinned_version(variable: str) -> str | None:
    """The version .ci/run pins with its `variable=` line; None when the line is gone."""
    found = re.search(rf"^{variable}=(\S+)$", (REPO / ".ci" / "run").read_text(), re.MULTILINE)
    return found.group(1) if found else None


def base_env(home: Path, tmp: Path, path_dirs: Sequence[Path] = ()) -> dict[str, str]:
    """A CLI's environment from scratch, so a developer's own settings cannot leak in: PATH (node,
    and the programs the CLI's tools run), HOME and TMPDIR in the test's folder, a plain shell
    and terminal. Each test adds where the CLI goes and its key."""
    return {
        "PATH": os.pathsep.join([*map(str, path_dirs), os.environ.get("PATH", "/usr/bin:/bin")]),
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "SHELL": "/bin/bash",
        "LANG": "C.UTF-8",
        "TERM": "dumb",
    }


def run_cli(args: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float,
            router_output: Callable[[], str]) -> subprocess.CompletedProcess[str]:
    """The CLI with stdin closed, in a session of its own: on timeout its whole process group
    (commands it ran included) is killed and the test fails with what it and the router said."""
    process = subprocess.Popen(list(args), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"{Path(args[0]).name} {' '.join(args[1:])} did not finish in {timeout}s\n"
                    f"stdout: {stdout[-3000:]}\nstderr: {stderr[-3000:]}\nrouter:\n{router_output()}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def assert_exit_0(result: subprocess.CompletedProcess[str], router_output: Callable[[], str]) -> None:
    assert result.returncode == 0, (f"exit {result.returncode}\nstdout: {result.stdout[-3000:]}\n"
                                    f"stderr: {result.stderr[-3000:]}\nrouter:\n{router_output()}")


def access_log(process: Process, since: int, posts: int, is_call: Callable[[Record], bool],
               timeout: float = 5.0) -> list[Record]:
    """The router's access-log records from output line `since` on, once `posts` of them are
    model calls (`is_call`): a stream's record is written when its last event went out, which
    may be just after the CLI exits."""
    deadline = time.monotonic() + timeout
    while True:
        records = [json.loads(line) for line in process.lines[since:] if line.startswith("{")]
        if sum(1 for record in records if is_call(record)) >= posts or time.monotonic() > deadline:
            return records
        time.sleep(0.05)


def posted_to(path: str) -> Callable[[Record], bool]:
    """A model call is a POST to `path` (/v1/messages, /v1/responses)."""
    return lambda record: record.get("method") == "POST" and record.get("path") == path
