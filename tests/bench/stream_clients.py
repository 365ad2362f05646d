"""The load generator of the many-open-streams benchmark (tests.bench.open_streams):
`python -m tests.bench.stream_clients --port P --streams N --rate R --events E --hold S --status FILE`.

Keeps `streams` streaming Anthropic Messages requests open through the router for `hold` seconds,
as agents do: the first N open at `rate` a second, and each one that ends is replaced at once by a
new one. A stream's length (in upstream events, one a second) is its request's `max_tokens`, which
the slow upstream (tests.bench.slow_upstream) obeys: `events` for every replacement, and for the
first N a length drawn uniformly from 1 to `events`, which is where a stream stands in that steady
state; so from the start ~N/events streams end and begin every second, and the router pays for
new streams, their set-up and their end (access log, usage, metrics, garbage), not only for events.

A stream is good when the answer is a 200, as many content_block_delta events arrived as it asked
for, then message_stop, then the chunked body's end, and no error event; anything else (another
status, an error event, a connection refused or closed early, a missing event) is counted by
reason. At the end of `hold` the streams still open are cut (counted apart, not as errors). Every
half second the figures go to the `status` file as one JSON object (written whole, then renamed
over it), and once more at the end. A bare asyncio protocol on uvloop: ten thousand connections
must cost this process little, so that the router is what is measured."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
from collections import Counter
from pathlib import Path
from typing import cast

import uvloop

DELTA = b"event: content_block_delta"
STOP = b"event: message_stop"
ERROR = b"event: error"
BODY_END = b"\r\n0\r\n\r\n"
CARRY = max(len(DELTA), len(STOP), len(ERROR), len(BODY_END)) - 1


def request(port: int, key: str, model: str, events: int) -> bytes:
    body = json.dumps({"model": model, "max_tokens": events, "stream": True,
                       "messages": [{"role": "user", "content": "Think for a minute, then answer."}]}).encode()
    return (f"POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
            f"x-api-key: {key}\r\nanthropic-version: 2023-06-01\r\ncontent-length: {len(body)}\r\n\r\n").encode() + body


class Figures:
    def __init__(self) -> None:
        self.opened = 0
        self.open = 0
        self.events = 0
        self.good = 0
        self.cut = 0  # still open when the hold ended: closed by us, not an error
        self.ending = False
        self.errors: Counter[str] = Counter()

    def as_json(self, done: bool) -> dict[str, object]:
        return {"opened": self.opened, "open": self.open, "events": self.events, "good": self.good,
                "cut": self.cut, "errors": dict(self.errors), "done": done}


class StreamReader(asyncio.Protocol):
    """One stream: counts the markers across reads (the last bytes of a read are kept, so a marker
    split between two reads is still seen, and never counted twice)."""

    def __init__(self, figures: Figures, payload: bytes, events: int, finished: asyncio.Future[None]) -> None:
        self.figures = figures
        self.payload = payload
        self.expected = events
        self.finished = finished
        self.head = b""
        self.status_ok: bool | None = None
        self.tail = b""
        self.deltas = 0
        self.stopped = False
        self.failed = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.figures.open += 1
        transport.write(self.payload)

    def data_received(self, data: bytes) -> None:
        if self.status_ok is None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            self.status_ok = self.head.startswith(b"HTTP/1.1 200 ")
            if not self.status_ok:
                self.finish(f"status {self.head[9:12].decode(errors='replace')}")
                return
            data, self.head = self.head[end + 4:], b""
        seen = self.tail + data
        deltas = seen.count(DELTA)
        self.deltas += deltas
        self.figures.events += deltas
        if ERROR in seen:
            self.failed = True
        if STOP in seen:
            self.stopped = True
        if BODY_END in seen:
            self.finish(self.verdict())
            return
        self.tail = seen[-CARRY:]

    def verdict(self) -> str | None:
        if self.failed:
            return "error event"
        if not self.stopped:
            return "no message_stop"
        if self.deltas != self.expected:
            return "missing events" if self.deltas < self.expected else "extra events"
        return None

    def finish(self, problem: str | None) -> None:
        if self.finished.done():
            return
        if problem is None:
            self.figures.good += 1
        elif self.figures.ending:
            self.figures.cut += 1
        else:
            self.figures.errors[problem] += 1
        self.finished.set_result(None)
        assert self.transport is not None
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.figures.open -= 1
        self.finish("closed early")


async def one_stream(port: int, payload: bytes, events: int, figures: Figures, live: set[asyncio.Transport]) -> None:
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[None] = loop.create_future()
    figures.opened += 1
    reader = StreamReader(figures, payload, events, finished)
    try:
        await loop.create_connection(lambda: reader, "127.0.0.1", port)
    except OSError as exc:
        figures.errors[f"connect: {exc.strerror or exc}"] += 1
        return
    assert reader.transport is not None
    live.add(reader.transport)
    try:
        await finished
    finally:
        live.discard(reader.transport)


async def keep_open(first_length: int, args: argparse.Namespace, figures: Figures, live: set[asyncio.Transport],
                    stop_at: float) -> None:
    """One of the N: a stream of `first_length` events, then streams of `args.events`, until `stop_at`."""
    loop = asyncio.get_running_loop()
    length = first_length
    while loop.time() < stop_at and not figures.ending:
        await one_stream(args.port, request(args.port, args.key, args.model, length), length, figures, live)
        length = args.events


async def report(status: Path, figures: Figures, done: bool) -> None:
    partial = status.with_suffix(".part")
    partial.write_text(json.dumps(figures.as_json(done)))
    os.replace(partial, status)


async def run(args: argparse.Namespace) -> None:
    figures = Figures()
    status = Path(args.status)
    live: set[asyncio.Transport] = set()
    lengths = random.Random(20).choices(range(1, args.events + 1), k=args.streams)
    loop = asyncio.get_running_loop()
    start = loop.time()
    stop_at = start + args.hold
    slots: list[asyncio.Task[None]] = []
    reporter_due = start
    for length in lengths:
        # the n-th opens at n / rate seconds: a steady ramp, not a burst
        delay = start + len(slots) / args.rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        slots.append(asyncio.ensure_future(keep_open(length, args, figures, live, stop_at)))
        if loop.time() >= reporter_due:
            await report(status, figures, done=False)
            reporter_due = loop.time() + 0.5
    while loop.time() < stop_at:
        await asyncio.sleep(min(0.5, max(stop_at - loop.time(), 0.0)))
        await report(status, figures, done=False)
    figures.ending = True
    for transport in list(live):
        transport.close()
    await asyncio.wait(slots, timeout=10)
    await report(status, figures, done=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--streams", type=int, required=True)
    parser.add_argument("--rate", type=float, default=1000.0, help="new streams a second")
    parser.add_argument("--events", type=int, default=60, help="content events each stream must carry")
    parser.add_argument("--hold", type=float, required=True, help="seconds to keep N streams open")
    parser.add_argument("--key", required=True)
    parser.add_argument("--model", default="slow")
    parser.add_argument("--status", required=True)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    uvloop.run(run(args))


if __name__ == "__main__":
    main()
