"""The access log: one JSON line per API request, on the `router.access` logger, to stderr.

A line names the request (its `request-id`), who asked (the client key's *name*, never the key),
where it went (route, target, protocol pair, every attempt), how it ended (status, error type),
what it cost (tokens in/out, total/upstream/ttft milliseconds). Prompt and answer bodies appear
only with `[server] log-bodies = true`, a debugging switch. A stream's line is written when the
stream ends, with the status it really ended with.

uvicorn's own access log is off (`router serve` turns it off); this replaces it. Probes
(/health, /ready, /metrics) are not logged. To send the lines elsewhere, configure the
`router.access` logger before the app starts: a logger that already has handlers is left alone.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import datetime

import msgspec

log = logging.getLogger("router.access")
_encode = msgspec.json.Encoder().encode


class AccessLine(msgspec.Struct, omit_defaults=True):
    """One request. Fields without a default are always written (null when unknown)."""

    time: datetime
    request_id: str | None
    method: str
    path: str
    client: str | None  # the peer's address (the load balancer's forwarded one when trusted)
    key: str | None  # the client key's name from routes.toml; never the key
    model: str | None
    route: str | None
    target: str | None
    pair: str | None  # client__upstream protocol, e.g. anthropic__openai
    attempts: list[str]  # "target=status" per attempt, in order
    status: int
    error: str | None  # the error type the client got (a stream: in its error event)
    stream: bool
    tokens_in: int | None
    tokens_out: int | None
    total_ms: float
    upstream_ms: float
    ttft_ms: float | None
    # What the target's conversion left out that the client should know of (Responses'
    # built-in tools on a target that cannot run them), as in the x-router-dropped header.
    dropped: str | None = None
    request_body: str | None = None  # only with [server] log-bodies = true
    response_body: str | None = None


class _StderrLines(logging.Handler):
    """Writes the message alone, one line, to whatever sys.stderr is at the time."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(record.getMessage() + "\n")
        except Exception:  # noqa: BLE001 - logging must never break a request
            self.handleError(record)

    def write(self, text: str) -> None:
        try:
            sys.stderr.write(text + "\n")
        except Exception:  # noqa: BLE001, S110 - a closed or broken stderr must not break a request
            pass


_OWN = _StderrLines()


def install() -> None:
    """Give `router.access` its stderr handler, unless someone configured the logger already."""
    if log.handlers:
        return
    log.addHandler(_OWN)
    log.setLevel(logging.INFO)
    log.propagate = False  # a root handler would print the line a second time


def enabled() -> bool:
    return log.isEnabledFor(logging.INFO)


class AccessLog:
    """The app's writer of access lines (one per app, in RouterState). When only our stderr
    handler listens, the lines of one event-loop iteration go out in one write at its end: a
    write is a syscall, and under load many requests end in the same iteration."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: list[str] = []

    def write(self, line: AccessLine) -> None:
        text = _encode(line).decode()
        handlers = log.handlers
        if len(handlers) == 1 and handlers[0] is _OWN and not log.disabled:
            # Only our handler listens: skip building a LogRecord (and its caller lookup), about
            # two thirds of the line's cost. Anyone who adds a handler gets the normal path.
            if not self._pending and not self._flush_soon():
                _OWN.write(text)
                return
            self._pending.append(text)
        else:
            log.info(text)

    def flush(self) -> None:
        lines, self._pending = self._pending, []
        if lines:
            _OWN.write("\n".join(lines))

    def _flush_soon(self) -> bool:
        try:
            asyncio.get_running_loop().call_soon(self.flush)
        except RuntimeError:
            return False  # no loop running (a tool, a test): written at once instead
        return True
