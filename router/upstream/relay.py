"""The async driver every streaming route shares: upstream bytes in, client SSE bytes out.

    upstream chunks ──► SSEParser ──► StreamMachine.on_data ──► one bytes object per wait
                      (SSETranslator: synchronous, so tests can feed it at every split offset)
    binary chunks ────► the spoke's Reframer ──► the same machine (ReframedTranslator: Bedrock's
                      AWS event stream, whose frames become events without SSE text between)

A read that is a run of plain `data:` events (what nearly every server sends) goes to the
machine's `on_run` as one piece when it has one: one decode call for the run instead of a parse
step, an event object and a call per event.

`relay` adds time and cleanup around that: the first event before the upstream says anything, pings
during silences, an idle deadline, an `error` event (never a silent clean end) when the upstream
dies, and closing the upstream response the moment the client goes away. A `StreamObserver` (the
request's metrics and access-log record) hears of the first token and of the end.

Every byte the relay yields goes through the upstream's `Scrubber` here, in one place no
machine can bypass: an upstream that echoes our key in an event (an error chunk quoting our
request headers, converted into the client's error event) reaches no client with it. Events are
whole within a yielded chunk, so a key is never split between two of them.

Writes are what a stream costs most (each is a syscall, and on loopback the receiver's work too),
so the relay yields only when it must wait: everything that has arrived is converted and joined
first, and the last chunk (a FinalChunk) lets the writer end the HTTP body in the same write."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
)
from typing import Protocol, TypeVar, cast

from router.core.answer import FinalChunk
from router.core.errors import (
    RouterError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from router.core.sse import DataRun, SSEEvent, SSEParser
from router.core.stream import EventMachine, RunMachine, StreamMachine, StreamObserver
from router.spokes.spoke import Reframer
from router.upstream.errors import map_transport_error
from router.upstream.scrub import Scrubber

log = logging.getLogger(__name__)

_Item = TypeVar("_Item")


class SSETranslator:
    """An SSEParser feeding a StreamMachine. After a failure it is `failed` and emits nothing more.
    The error it fails with is scrubbed first (its message may quote the upstream)."""

    __slots__ = ("_parser", "_machine", "_scrubber", "_upstream", "_on_event", "_on_run", "failed", "error")

    def __init__(self, machine: StreamMachine, scrubber: Scrubber | None = None, upstream: str = "upstream") -> None:
        self._parser = SSEParser()
        self._machine = machine
        self._scrubber = scrubber
        self._upstream = upstream
        # The machine says how it reads (StreamMachine.reads): whole events, data, or runs of data.
        reads = machine.reads
        self._on_event: Callable[[SSEEvent], bytes] | None = (
            cast(EventMachine, machine).on_event if reads == "events" else None)
        self._on_run: Callable[[DataRun], bytes | None] | None = (
            cast(RunMachine, machine).on_run if reads == "runs" else None)
        self.failed = False
        self.error: RouterError | None = None

    def feed(self, chunk: bytes) -> bytes:
        if self.failed:
            return b""
        if self._on_run is not None:
            run = self._parser.data_run(chunk)
            if run is not None:
                # One event is as quick through on_data, and then needs no second try.
                converted = self._on_run(run) if run.count > 1 else None
                return converted if converted is not None else self._emit(self._machine.on_data, run.payloads())
        return self._convert(self._parser.feed(chunk))

    def end(self) -> bytes:
        """The upstream body ended: the parser's last event, then the machine's ending."""
        if self.failed:
            return b""
        out = self._convert(self._parser.flush())
        if self.failed:
            return out
        try:
            return out + self._machine.finish()
        except UpstreamError as exc:
            return out + self.fail(exc)

    def fail(self, error: RouterError) -> bytes:
        if self.failed:
            return b""
        self.failed = True
        if self._scrubber is not None:
            self._scrubber.error(error)
        self.error = error
        return self._machine.fail(error)

    def _convert(self, events: list[SSEEvent]) -> bytes:
        if self._on_event is not None:
            return self._emit(self._on_event, events)
        return self._emit(self._machine.on_data, [event.data for event in events])

    def _emit(self, handle: Callable[[_Item], bytes], items: Iterable[_Item]) -> bytes:
        parts: list[bytes] = []
        try:
            for item in items:
                parts.append(handle(item))
        except UpstreamError as exc:
            parts.append(self.fail(exc))  # what came before the bad chunk still goes out
        except Exception:  # noqa: BLE001 - a stream never ends without its error event
            # An event no machine could convert (nested past the decoder's depth, a shape it
            # did not expect): the upstream's fault as far as the client can tell; logged with
            # its traceback in case it is ours.
            log.exception("converting a stream event from upstream %r failed", self._upstream)
            parts.append(self.fail(UpstreamProtocolError(
                f"upstream {self._upstream!r} sent a stream event that could not be converted")))
        return b"".join(parts)


class ReframedTranslator(SSETranslator):
    """An SSETranslator for an upstream body in another framing (Bedrock's AWS event stream): the
    spoke's Reframer makes the events from the raw bytes, and they go to the machine as they are,
    with no SSE text made and parsed again in between. The events before an error the stream
    carries (or a frame it cannot read) go out first, then the machine's error event."""

    __slots__ = ("_reframer",)

    def __init__(self, machine: StreamMachine, reframer: Reframer, scrubber: Scrubber | None = None,
                 upstream: str = "upstream") -> None:
        super().__init__(machine, scrubber, upstream)
        self._reframer = reframer

    def feed(self, chunk: bytes) -> bytes:
        if self.failed:
            return b""
        reframer = self._reframer
        out = self._convert(reframer.feed(chunk))
        failure = reframer.failure
        if failure is not None:
            out += self.fail(failure)  # nothing when the machine already failed on an event
        return out

    def end(self) -> bytes:
        """The body ended: an error if it stopped inside a frame, else the machine's ending."""
        if self.failed:
            return b""
        try:
            self._reframer.end()
        except UpstreamError as exc:
            return self.fail(exc)
        return super().end()


class ChunkSource(Protocol):
    """An upstream body the relay can read without a task per read (router.upstream.http1's
    Http1Body is one); any other async iterable is read through `_IteratedChunks`."""

    def poll(self) -> bytes | None:
        """What has arrived (b"" if nothing yet); None once the body is over. Raises the
        transport's error."""
        ...

    async def wait(self, timeout: float | None) -> bool:
        """Until `poll` has something new: True, or False after `timeout` seconds."""
        ...


async def relay(
    chunks: AsyncIterable[bytes] | ChunkSource,
    machine: StreamMachine,
    *,
    upstream: str,
    ping_interval: float,
    idle_timeout: float,
    close: Callable[[], Awaitable[None]],
    scrubber: Scrubber,
    observer: StreamObserver | None = None,
    reframer: Reframer | None = None,
) -> AsyncGenerator[bytes, None]:
    """Yield the client's stream: one chunk per wait for the upstream, made of everything that
    arrived meanwhile (so a body that is all in already goes out as one chunk, the opening event
    included), the last one a FinalChunk. The first chunk never waits for the upstream.

    `reframer`: the spoke's, for a body that is not SSE (UpstreamSide.stream_framing).

    `close` (closing the upstream response) is always awaited, also when the consumer stops
    early or is cancelled; iterate with `contextlib.aclosing` (or aclose the generator) so that
    happens at once rather than when the generator is collected."""
    translator = (SSETranslator(machine, scrubber, upstream) if reframer is None
                  else ReframedTranslator(machine, reframer, scrubber, upstream))
    scrub = scrubber.data if scrubber.patterns else None  # no secrets: not even a call per chunk
    # the hasattr test is the narrowing (mypy cannot tell a Protocol from an iterable by it)
    source = chunk_source(chunks)
    clock = _SilenceClock(ping_interval, idle_timeout)
    quiet = observer is not None  # no output from upstream data yet (one bool test per read)
    completed = False
    ended = False
    try:
        out = machine.start()
        while True:
            try:
                data = source.poll()
            except Exception as exc:  # noqa: BLE001 - the one boundary: mapped, never swallowed
                out += translator.fail(map_transport_error(exc, upstream))
                break
            if data is None:
                out += translator.end()
                completed = not translator.failed
                break
            if data:
                clock.heard()
                converted = translator.feed(data)
                if converted:
                    out += converted
                    if quiet and not translator.failed:
                        quiet = False
                        observer.first_output()  # type: ignore[union-attr]
                if translator.failed:
                    break
                continue  # more may be in already, or the end
            if out:
                clock.sent()
                yield out if scrub is None else scrub(out)
                out = b""
            try:
                arrived = await source.wait(clock.until_next_tick())
            except Exception as exc:  # noqa: BLE001 - the one boundary
                out += translator.fail(map_transport_error(exc, upstream))
                break
            if not arrived:
                if clock.idle():
                    out += translator.fail(UpstreamTimeout(f"upstream {upstream!r} sent nothing for {idle_timeout:g} s"))
                    break
                out = machine.ping()
        ended = True  # the stream ended by itself: no cancel to shield the close from
        yield FinalChunk(out if scrub is None else scrub(out))
    finally:
        if isinstance(source, _IteratedChunks):
            source.cancel()
        if observer is not None:  # before the close: a cancelled close would skip what follows
            observer.ended(translator.error, completed, machine.tokens(), machine)
        if ended:
            await _close_quietly(close)
        else:
            await _close_shielded(close)


def chunk_source(chunks: AsyncIterable[bytes] | ChunkSource) -> ChunkSource:
    """`chunks` as a ChunkSource: itself when it is one (our HTTP/1.1 pool's bodies), else read
    through a task per read."""
    return cast(ChunkSource, chunks) if hasattr(chunks, "poll") else _IteratedChunks(chunks)


class _IteratedChunks:
    """Any async iterable as a ChunkSource. The pending read is a task: a ping must not cancel it
    (cancelling `__anext__` can leave an httpx stream half-read), so after a ping the same task
    is awaited again; `asyncio.wait` times out without touching it, unlike `wait_for`."""

    __slots__ = ("_iterator", "_task")

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self._iterator = aiter(chunks)
        self._task: asyncio.Task[bytes | None] | None = None

    def poll(self) -> bytes | None:
        task = self._task
        if task is None or not task.done():
            return b""
        self._task = None
        return task.result()  # a chunk, None at the end, or the iterator's exception

    async def wait(self, timeout: float | None) -> bool:
        if self._task is None:
            self._task = asyncio.ensure_future(_next_chunk(self._iterator))
        done, _ = await asyncio.wait((self._task,), timeout=timeout)
        return bool(done)

    def cancel(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            # A read that fails while being cancelled must not log "exception never retrieved".
            task.add_done_callback(_retrieve_exception)


async def _next_chunk(iterator: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await anext(iterator)
    except StopAsyncIteration:
        return None


def _retrieve_exception(task: asyncio.Task[bytes | None]) -> None:
    if not task.cancelled():
        task.exception()


class _SilenceClock:
    """Two silences: the client's (no bytes sent for `ping_interval` → ping) and the upstream's
    (no bytes received for `idle_timeout` → fail). They differ when the upstream sends only
    comments (OpenRouter's ": OPENROUTER PROCESSING"): alive, yet the client hears nothing.
    A non-positive interval disables that tick. Times are time.monotonic(), the loop's clock,
    read without asking asyncio for the running loop (on Python 3.11 a getpid syscall each)."""

    __slots__ = ("_ping_interval", "_idle_timeout", "_last_sent", "_last_heard")

    def __init__(self, ping_interval: float, idle_timeout: float) -> None:
        self._ping_interval = ping_interval if ping_interval > 0 else math.inf
        self._idle_timeout = idle_timeout if idle_timeout > 0 else math.inf
        now = time.monotonic()
        self._last_sent = now
        self._last_heard = now

    def until_next_tick(self) -> float | None:
        """Seconds to wait for the upstream before the next ping or the idle deadline."""
        tick = min(self._ping_due(), self._idle_due())
        if tick == math.inf:
            return None
        return max(tick - time.monotonic(), 0.0)

    def idle(self) -> bool:
        """Called when a wait timed out: was the tick it reached the idle deadline? Decided by
        which tick came first, not by reading the clock (asyncio may wake a hair early)."""
        return self._idle_due() <= self._ping_due()

    def heard(self) -> None:
        self._last_heard = time.monotonic()

    def sent(self) -> None:
        self._last_sent = time.monotonic()

    pinged = sent

    def _ping_due(self) -> float:
        return self._last_sent + self._ping_interval

    def _idle_due(self) -> float:
        return self._last_heard + self._idle_timeout


async def _close_shielded(close: Callable[[], Awaitable[None]]) -> None:
    """For a stream stopped before its end. When it is being cancelled (a client disconnect),
    run `close` as its own task: anyio-style cancel scopes cancel every later await too;
    shielded, the close still runs to completion. Otherwise close directly, without a task."""
    task = asyncio.current_task()
    if task is None or not task.cancelling():
        await _close_quietly(close)
        return
    await asyncio.shield(asyncio.ensure_future(_close_quietly(close)))


async def _close_quietly(close: Callable[[], Awaitable[None]]) -> None:
    """A response that fails to close is the upstream's problem; raising here would abort a
    client stream that may already be complete."""
    try:
        await close()
    except Exception:  # noqa: BLE001 - logged, and nothing else can be done with it
        log.warning("closing the upstream response failed", exc_info=True)
