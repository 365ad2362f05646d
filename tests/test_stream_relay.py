"""relay: the async driver. Fake upstream iterators, tiny intervals (tens of ms), no network."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import httpx
import pytest

from router.core.answer import FinalChunk
from router.upstream.relay import StreamMachine, relay
from router.upstream.scrub import Scrubber
from tests.support.streamcases import (
    StreamCase,
    load_cases,
    openai_machine,
    parse_events,
    translate,
)

CASES = load_cases("openai_to_anthropic")
TEXT = next(case for case in CASES if case.name == "text")


NO_SECRETS = Scrubber.for_secrets([])


def _data(payload: dict[str, Any] | str) -> bytes:
    return b"data: " + (payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()) + b"\n\n"


HELLO = _data({"choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": None}]})
WORLD = _data({"choices": [{"index": 0, "delta": {"content": " world"}, "finish_reason": None}]})
END = _data({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}) + _data("[DONE]")


class Upstream:
    """A fake upstream body: bytes are reads, floats are silences, an exception is raised there.
    Records whether a pending read was ever cancelled (a ping must never do that)."""

    def __init__(self, *script: bytes | float | BaseException) -> None:
        self.script = script
        self.cancelled = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            for step in self.script:
                if isinstance(step, float):
                    await asyncio.sleep(step)
                elif isinstance(step, BaseException):
                    raise step
                else:
                    yield step
        except asyncio.CancelledError:
            self.cancelled = True
            raise


class Closer:
    """The `close` callback; `slow` makes it take a while, to prove it survives cancellation."""

    def __init__(self, slow: float = 0.0) -> None:
        self.slow = slow
        self.started = 0
        self.finished = 0

    async def __call__(self) -> None:
        self.started += 1
        if self.slow:
            await asyncio.sleep(self.slow)
        self.finished += 1


def _relay(
    upstream: Upstream,
    closer: Closer,
    machine: StreamMachine | None = None,
    *,
    ping_interval: float = 10.0,
    idle_timeout: float = 60.0,
) -> AsyncGenerator[bytes, None]:
    return relay(
        upstream.__aiter__(), machine or openai_machine(TEXT), upstream="up", close=closer,
        ping_interval=ping_interval, idle_timeout=idle_timeout, scrubber=NO_SECRETS,
    )


async def _collect(events: AsyncIterator[bytes]) -> list[bytes]:
    return [piece async for piece in events]


def _names(pieces: list[bytes]) -> list[str]:
    return [name for name, _ in parse_events(b"".join(pieces))]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_relay_writes_what_the_translator_writes(case: StreamCase) -> None:
    reads = [case.upstream_sse[i : i + 97] for i in range(0, len(case.upstream_sse), 97)]
    closer = Closer()
    pieces = await _collect(_relay(Upstream(*reads), closer, openai_machine(case)))
    assert b"".join(pieces) == translate(openai_machine(case), [case.upstream_sse])
    assert pieces[0] == openai_machine(case).start()
    assert all(pieces[:-1]), "empty writes are skipped; only the last may be empty (it ends the body)"
    assert type(pieces[-1]) is FinalChunk
    assert closer.finished == 1


async def test_one_write_per_upstream_read() -> None:
    pieces = await _collect(_relay(Upstream(HELLO + WORLD, WORLD, END), Closer()))
    assert [_names([p]) for p in pieces] == [
        ["message_start"],
        ["content_block_start", "content_block_delta", "content_block_delta"],
        ["content_block_delta"],
        ["content_block_stop", "message_delta", "message_stop"],
        [],  # a plain iterator's end is only known after its last read: an empty final chunk
    ]
    assert type(pieces[-1]) is FinalChunk and not any(type(p) is FinalChunk for p in pieces[:-1])


class Buffered:
    """A ChunkSource (the shape of http1's Http1Body): `arrivals` are what is in after each wait,
    a float is a silence before it, an exception is raised by the next poll."""

    def __init__(self, *arrivals: bytes | float | BaseException, ended_after: int | None = None) -> None:
        self.arrivals = list(arrivals)
        self.buffer = b""
        self.ended = False
        self.waits = 0
        self.ready_now()

    def ready_now(self) -> None:
        while self.arrivals and isinstance(self.arrivals[0], bytes):
            self.buffer += self.arrivals.pop(0)  # type: ignore[operator]
        if not self.arrivals:
            self.ended = True

    def poll(self) -> bytes | None:
        if self.arrivals and isinstance(self.arrivals[0], BaseException) and not self.buffer:
            raise self.arrivals.pop(0)  # type: ignore[misc]
        data, self.buffer = self.buffer, b""
        if not data and self.ended:
            return None
        return data

    async def wait(self, timeout: float | None) -> bool:
        self.waits += 1
        silence = self.arrivals.pop(0)
        assert isinstance(silence, float)
        await asyncio.sleep(silence)
        self.ready_now()
        return True


async def test_a_body_that_is_all_in_goes_out_as_one_final_chunk() -> None:
    source = Buffered(HELLO, WORLD, END)
    closer = Closer()
    stream = relay(source, openai_machine(TEXT), upstream="up", close=closer, ping_interval=10.0, idle_timeout=60.0, scrubber=NO_SECRETS)
    pieces = await _collect(stream)
    assert len(pieces) == 1 and type(pieces[0]) is FinalChunk
    assert pieces[0] == translate(openai_machine(TEXT), [HELLO + WORLD + END])
    assert source.waits == 0 and closer.finished == 1


async def test_polling_yields_only_when_it_must_wait() -> None:
    source = Buffered(HELLO, 0.01, WORLD, 0.01, END)
    stream = relay(source, openai_machine(TEXT), upstream="up", close=Closer(), ping_interval=10.0, idle_timeout=60.0, scrubber=NO_SECRETS)
    pieces = await _collect(stream)
    assert [_names([p]) for p in pieces] == [
        ["message_start", "content_block_start", "content_block_delta"],
        ["content_block_delta"],
        ["content_block_stop", "message_delta", "message_stop"],
    ]
    assert type(pieces[-1]) is FinalChunk and source.waits == 2


async def test_a_polled_transport_error_ends_in_an_error_event() -> None:
    source = Buffered(HELLO, httpx.ReadError("connection reset"))
    stream = relay(source, openai_machine(TEXT), upstream="up", close=Closer(), ping_interval=10.0, idle_timeout=60.0, scrubber=NO_SECRETS)
    pieces = await _collect(stream)
    assert type(pieces[-1]) is FinalChunk
    names = _names(pieces)
    assert names[:3] == ["message_start", "content_block_start", "content_block_delta"] and names[-1] == "error"


async def test_pings_during_a_silence_without_cancelling_the_read() -> None:
    upstream = Upstream(HELLO, 0.13, WORLD, END)
    pieces = await _collect(_relay(upstream, Closer(), ping_interval=0.05))
    names = _names(pieces)
    assert names.count("ping") >= 2
    first_ping = names.index("ping")
    assert names[first_ping - 1] == "content_block_delta"  # after Hello, before " world"
    assert names[-1] == "message_stop"
    assert not upstream.cancelled
    assert pieces.count(b"event: ping\ndata: {\"type\":\"ping\"}\n\n") == names.count("ping")


async def test_pings_before_the_first_chunk_right_after_message_start() -> None:
    names = _names(await _collect(_relay(Upstream(0.08, HELLO, END), Closer(), ping_interval=0.03)))
    assert names[:2] == ["message_start", "ping"]


async def test_idle_timeout_ends_with_an_error_event_and_closes_the_upstream() -> None:
    upstream, closer = Upstream(HELLO, 30.0, END), Closer()
    pieces = await asyncio.wait_for(
        _collect(_relay(upstream, closer, ping_interval=0.04, idle_timeout=0.15)), timeout=5
    )
    events = parse_events(b"".join(pieces))
    assert events[-1] == (
        "error",
        {"type": "error", "error": {"type": "api_error", "message": "upstream 'up' sent nothing for 0.15 s"}},
    )
    assert "ping" in [name for name, _ in events]
    assert "message_stop" not in [name for name, _ in events]
    assert upstream.cancelled and closer.finished == 1


async def test_a_transport_error_mid_stream_becomes_an_error_event() -> None:
    closer = Closer()
    pieces = await _collect(_relay(Upstream(HELLO, httpx.ReadError("connection reset")), closer))
    events = parse_events(b"".join(pieces))
    assert [name for name, _ in events] == ["message_start", "content_block_start", "content_block_delta", "error"]
    error = events[-1][1]["error"]
    assert error["type"] == "api_error" and "'up'" in error["message"]
    assert closer.finished == 1


async def test_an_early_end_becomes_an_error_event() -> None:
    names = _names(await _collect(_relay(Upstream(HELLO, WORLD), Closer())))
    assert names[-1] == "error" and "message_stop" not in names


async def test_close_is_awaited_when_the_consumer_stops_early() -> None:
    upstream, closer = Upstream(HELLO, WORLD, 30.0, END), Closer()
    events = _relay(upstream, closer)
    assert _names([await anext(events)]) == ["message_start"]
    await anext(events)
    await events.aclose()
    assert closer.finished == 1


async def test_close_is_awaited_when_the_consumer_stops_during_a_silence() -> None:
    upstream, closer = Upstream(HELLO, 30.0, END), Closer()
    async with contextlib.aclosing(_relay(upstream, closer, ping_interval=0.02)) as events:
        async for piece in events:
            if b"event: ping" in piece:
                break
    assert closer.finished == 1
    await asyncio.sleep(0)  # let the cancelled read unwind
    assert upstream.cancelled


async def test_close_is_awaited_when_the_consuming_task_is_cancelled() -> None:
    upstream, closer = Upstream(HELLO, 30.0, END), Closer()
    received: list[bytes] = []

    async def consume() -> None:
        async for piece in _relay(upstream, closer):
            received.append(piece)

    task = asyncio.create_task(consume())
    while len(received) < 2:
        await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert closer.finished == 1
    assert upstream.cancelled


async def test_close_finishes_even_when_the_cancellation_repeats() -> None:
    # anyio-style cancel scopes cancel every await after a disconnect: the close must still finish.
    upstream, closer = Upstream(HELLO, 30.0, END), Closer(slow=0.05)

    async def consume() -> None:
        async for _ in _relay(upstream, closer):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.02)
    task.cancel()
    while not closer.started:
        await asyncio.sleep(0.001)
    task.cancel()  # interrupts the await of the close, not the close itself
    with pytest.raises(asyncio.CancelledError):
        await task
    assert closer.finished == 0
    await asyncio.sleep(0.1)
    assert closer.finished == 1


async def test_a_failing_close_does_not_break_a_finished_stream(caplog: pytest.LogCaptureFixture) -> None:
    async def close() -> None:
        raise httpx.ReadError("already gone")

    stream = relay(
        Upstream(HELLO, END).__aiter__(), openai_machine(TEXT), upstream="up", close=close,
        ping_interval=10.0, idle_timeout=60.0, scrubber=NO_SECRETS,
    )
    assert _names(await _collect(stream))[-1] == "message_stop"
    assert "closing the upstream response failed" in caplog.text
