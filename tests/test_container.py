"""The shipped Containerfile, built and run: tests/container/build_and_run.sh builds the image on a
local Debian base with podman (no container registry needed), starts it, and probes it: the
generated key, 401/200, non-root, HEALTHCHECK, /metrics, the access log, and a graceful SIGTERM.
About two minutes the first time, some ten seconds once the base and layers are cached
(~/.cache/router-container). Part of the default suite; deselect with `-m "not container"`."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.support.servers import REPO

SCRIPT = REPO / "tests" / "container" / "build_and_run.sh"


def _missing() -> str | None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "needs root (podman with a private store, mmdebstrap --mode=root)"
    absent = [tool for tool in ("podman", "runc", "mmdebstrap", "curl") if shutil.which(tool) is None]
    if absent:
        return f"needs {', '.join(absent)} (apt-get install {' '.join(absent)}; .ci/run installs them)"
    return None


@pytest.mark.container
def test_image_builds_runs_and_stops_gracefully() -> None:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    # The work tree, not the last commit: the suite tests what is checked out (the same thing in CI).
    env = {**os.environ, "WORKTREE": os.environ.get("WORKTREE", "1")}
    result = subprocess.run([str(SCRIPT)], cwd=REPO, env=env, capture_output=True, text=True, timeout=1200,
                            check=False)
    output = result.stdout + result.stderr  # stderr: podman's own noise (no systemd for healthcheck timers)
    assert result.returncode == 0 and result.stdout.rstrip().endswith("PASS"), output
