"""The soak, very short: 15 s of load at concurrency 8 must pass every check of tests/soak/run.py.
About 32 s in all: the servers' start, the warm-up and two 6-second quiet periods (longer than the
mock upstream's 5 s keep-alive, so the router's pooled upstream connections are gone in both the
start and the idle sample, and the fd counts compare like with like)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import REPO


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="samples the router from /proc")
def test_short_soak_passes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.soak.run", "--minutes", "0.25", "--concurrency", "8",
         "--idle", "6", "--warmup", "80"],
        cwd=REPO, capture_output=True, text=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| unexpected results | pass |" in done.stdout
