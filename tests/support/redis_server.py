"""A throwaway redis-server on loopback for the rate-limit tests: no persistence, own port, stopped
by its PID. Tests skip (saying why) when redis-server is not installed."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.support.servers import free_port

INSTALL_HINT = "redis-server is not installed (apt-get install redis-server)"


def require_redis_server() -> str:
    path = shutil.which("redis-server")
    if path is None:
        pytest.skip(INSTALL_HINT)
    return path


@contextmanager
def redis_server(port: int | None = None) -> Iterator[str]:
    """Start redis-server on 127.0.0.1 and yield its URL; always stopped afterwards."""
    binary = require_redis_server()
    port = port or free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"redis-server not listening on {port} after {timeout}s")
