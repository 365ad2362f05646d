"""Start real processes on loopback for end-to-end tests, and always stop them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(args: list[str], port: int, env: Mapping[str, str] | None = None, cwd: Path = REPO,
            health: str = "/health", timeout: float = 20.0) -> Iterator[subprocess.Popen[bytes]]:
    """Run `python -m ARGS`, wait until GET health answers 200, yield, then terminate it."""
    full_env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", *args], cwd=cwd, env=full_env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(process, f"http://127.0.0.1:{port}{health}", timeout)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(process: subprocess.Popen[bytes], url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise RuntimeError(f"process exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} not healthy after {timeout}s")
