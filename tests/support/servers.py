"""Start real processes on loopback for end-to-end tests, and always stop them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process(subprocess.Popen[bytes]):
    """A process whose output (stdout and stderr together) a thread reads into `lines` as it
    comes: nobody reading a pipe would block the server once it filled (an access-log line per
    request fills 64 KiB in a few hundred requests)."""

    lines: list[str]
    log_file: Path | None = None

    def start_reading(self) -> None:
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.stdout is not None
        for line in self.stdout:
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    def output(self) -> str:
        if self.log_file is not None:
            return self.log_file.read_text(errors="replace")
        return "\n".join(self.lines)


@contextmanager
def running(args: list[str], port: int, env: Mapping[str, str] | None = None, cwd: Path = REPO,
            health: str = "/health", timeout: float = 20.0, log_file: Path | None = None) -> Iterator[Process]:
    """Run `python -m ARGS`, wait until GET health answers 200, yield, then terminate it. With
    `log_file` the output goes straight to that file (benchmarks: a reading thread in this process
    would compete for the CPU and, falling behind, block the server on a full pipe)."""
    full_env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
    if log_file is None:
        process = Process([sys.executable, "-m", *args], cwd=cwd, env=full_env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        process.start_reading()
    else:
        with log_file.open("wb") as sink:
            process = Process([sys.executable, "-m", *args], cwd=cwd, env=full_env, stdout=sink, stderr=subprocess.STDOUT)
        process.lines, process.log_file = [], log_file
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


def _wait_healthy(process: Process, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            time.sleep(0.1)  # the reader thread catches up with the last lines
            raise RuntimeError(f"process exited with {process.returncode}:\n{process.output()}")
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} not healthy after {timeout}s")


@contextlib.asynccontextmanager
async def serving_in_process(app: Any) -> AsyncIterator[int]:
    """`app` served by uvicorn with the protocol class `router serve` uses, in this event loop,
    on a free loopback port (yielded); stopped on exit."""
    import uvicorn

    from router.server.coalesce import CoalescingHttpToolsProtocol

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=CoalescingHttpToolsProtocol,
                            lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
