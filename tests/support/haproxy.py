"""haproxy in front of router replicas, on loopback, for the scale-out test: the settings the
README recommends for a real deployment (no delay on SSE, L7 retries with redispatch, health
checks on /health), plus a header naming the replica that answered, so a test can see both
replicas take traffic. Skips (saying why) when haproxy is not installed."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

INSTALL_HINT = "haproxy is not installed (apt-get install haproxy)"

CONFIG = """\
global
    maxconn 512

defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
    retries 3
    option redispatch 1
    retry-on all-retryable-errors
    option http-buffer-request

frontend gateway
    bind 127.0.0.1:{port}
    default_backend routers

backend routers
    balance roundrobin
    option http-no-delay
    option httpchk GET /health
    http-check expect status 200
    default-server inter 200ms fall 1 rise 2
    http-response set-header x-served-by %[srv_name]
{servers}
"""


def require_haproxy() -> str:
    path = shutil.which("haproxy")
    if path is None:
        pytest.skip(INSTALL_HINT)
    return path


def haproxy_config(port: int, backends: Sequence[int]) -> str:
    servers = "\n".join(f"    server r{i} 127.0.0.1:{backend} check" for i, backend in enumerate(backends, 1))
    return CONFIG.format(port=port, servers=servers)


@contextmanager
def haproxy(directory: Path, port: int, backends: Sequence[int], timeout: float = 15.0) -> Iterator[subprocess.Popen[bytes]]:
    """Run haproxy in the foreground until the block ends; ready when every backend is up."""
    binary = require_haproxy()
    config = directory / "haproxy.cfg"
    config.write_text(haproxy_config(port, backends))
    checked = subprocess.run(check=False, args=[binary, "-c", "-q", "-f", str(config)], capture_output=True, text=True, timeout=30)
    if checked.returncode != 0:
        raise RuntimeError(f"haproxy rejected its config:\n{checked.stdout}{checked.stderr}")
    process = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_all_up(process, port, len(backends), timeout)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_all_up(process: subprocess.Popen[bytes], port: int, count: int, timeout: float) -> None:
    """Every backend has answered through haproxy (health checks need `rise` passes first)."""
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"haproxy exited with {process.returncode}")
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1.0)
            if answer.status_code == 200:
                seen.add(answer.headers.get("x-served-by", ""))
                if len(seen) >= count:
                    return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"haproxy on {port}: only {sorted(seen)} of {count} backends answered within {timeout}s")
