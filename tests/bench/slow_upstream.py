"""A slow OpenAI-compatible upstream for the many-open-streams benchmark (tests.bench.open_streams):
`python -m tests.bench.slow_upstream --port P --events E --interval S`.

A streaming chat-completions request gets a 200 event stream that sends one content chunk every
`interval` seconds, `events` of them (or the request's `max_tokens`: the load generator sets each
stream's length that way), then the finish chunk, the usage chunk and `[DONE]`: a model that
thinks for a minute. Any other request gets a small chat.completion at once (the probe's
request). Thousands of streams must cost this process little, so it is a bare asyncio protocol on
uvloop, and the streams are driven by one ticker, not a timer each: the interval is cut into slots
of `TICK` seconds, every stream belongs to one slot (by when it arrived), and each tick writes the
next chunk of its slot's streams. A millisecond keeps the events as evenly spread over the
interval as independent streams are: with 50 ms slots, 10,000 streams arrived at the router as
bursts of 500 events, ~20 ms of its work each, which any new request behind a burst waited for."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
from typing import cast

import uvloop

TICK = 0.001  # seconds
HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
        b"transfer-encoding: chunked\r\n\r\n")
BASE = {"id": "chatcmpl-slow", "object": "chat.completion.chunk", "created": 0, "model": "m"}
COMPLETION = json.dumps({
    "id": "chatcmpl-slow", "object": "chat.completion", "created": 0, "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14},
}).encode()
MAX_TOKENS = re.compile(rb'"max_(?:completion_)?tokens":\s*(\d+)')
UNARY = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
         + str(len(COMPLETION)).encode() + b"\r\n\r\n" + COMPLETION)


def chunk(payload: dict[str, object] | str) -> bytes:
    """One SSE event as one HTTP chunk."""
    data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    event = f"data: {data}\n\n".encode()
    return f"{len(event):x}\r\n".encode() + event + b"\r\n"


OPENING = chunk({**BASE, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
WORD = chunk({**BASE, "choices": [{"index": 0, "delta": {"content": "word "}}]})
ENDING = (chunk({**BASE, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
          + chunk({**BASE, "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 60, "total_tokens": 72}})
          + chunk("[DONE]") + b"0\r\n\r\n")


class Stream:
    """One open stream: its connection and how many content chunks it has still to send."""

    __slots__ = ("left", "transport")

    def __init__(self, transport: asyncio.Transport, left: int) -> None:
        self.transport = transport
        self.left = left


class Ticker:
    """The one timer behind every stream: a slot per `TICK` of the interval, a tick per slot."""

    def __init__(self, events: int, interval: float) -> None:
        self.events = events
        self.interval = interval
        self.slots: list[set[Stream]] = [set() for _ in range(max(round(interval / TICK), 1))]
        self.current = 0

    def add(self, stream: Stream) -> None:
        # the slot that ticks last from now: the first chunk comes a whole interval after the opening
        self.slots[self.current].add(stream)

    def remove(self, stream: Stream) -> None:
        for slot in self.slots:
            slot.discard(stream)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        step = self.interval / len(self.slots)
        next_tick = loop.time() + step
        while True:
            await asyncio.sleep(max(next_tick - loop.time(), 0.0))
            next_tick += step
            self.current = (self.current + 1) % len(self.slots)
            self.tick(self.slots[self.current])

    def tick(self, slot: set[Stream]) -> None:
        finished = []
        for stream in slot:
            if stream.transport.is_closing():
                finished.append(stream)
                continue
            stream.left -= 1
            if stream.left > 0:
                stream.transport.write(WORD)
            else:
                stream.transport.write(WORD + ENDING)
                finished.append(stream)
        for stream in finished:
            slot.discard(stream)


class Connection(asyncio.Protocol):
    """HTTP/1.1 keep-alive: read a request head and its content-length body, answer it."""

    def __init__(self, ticker: Ticker) -> None:
        self.ticker = ticker
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.stream: Stream | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length_at = head.find(b"content-length:")
            length = int(head[length_at + 15:].split(b"\r\n", 1)[0]) if length_at >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4:end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            self.answer(body)

    def answer(self, body: bytes) -> None:
        assert self.transport is not None
        if b'"stream":true' not in body.replace(b" ", b""):
            self.transport.write(UNARY)
            return
        self.transport.write(HEAD + OPENING)
        asked = MAX_TOKENS.search(body)
        self.stream = Stream(self.transport, int(asked.group(1)) if asked else self.ticker.events)
        self.ticker.add(self.stream)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.stream is not None and self.stream.left > 0:
            self.ticker.remove(self.stream)


async def serve(port: int, events: int, interval: float) -> None:
    ticker = Ticker(events, interval)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(ticker), "127.0.0.1", port, backlog=4096)
    async with server:
        await ticker.run()


def raise_fd_limit() -> int:
    """The soft limit up to the hard one (raising the hard one needs CAP_SYS_RESOURCE)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--events", type=int, default=60, help="content chunks per stream")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between two chunks of a stream")
    args = parser.parse_args()
    raise_fd_limit()
    uvloop.run(serve(args.port, args.events, args.interval))


if __name__ == "__main__":
    main()
