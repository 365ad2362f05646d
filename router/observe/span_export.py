"""The router's spans from the event loop to the OTLP receiver, in batches, on one thread.

Why not the SDK's BatchSpanProcessor: it takes a lock and signals a condition for every span
ended, and wakes its thread for them; with every request traced that was a large share of a
small request's CPU. Here a request's finished spans are appended to a plain list on the event
loop as one item (every span is finished there: no lock), and the list goes to the export
thread whole when it holds MAX_BATCH spans or DELAY seconds after its first span (one loop timer per batch, never one per
request). The thread encodes and posts each batch (router.observe.otlp_json). At most MAX_QUEUE
spans wait for it: past that (a slow or absent receiver) a batch is dropped and counted, and
the count logged. The SDK's OTEL_BSP_* variables set the three as they set its processor.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

log = logging.getLogger("router.observe.span_export")
# The SDK's batch processor's defaults, and the OTEL_BSP_* variables that change them (`from_environment`).
MAX_BATCH = 512  # spans per export (OTEL_BSP_MAX_EXPORT_BATCH_SIZE)
DELAY = 5.0  # seconds a span may wait for its batch to fill (OTEL_BSP_SCHEDULE_DELAY, in ms)
MAX_QUEUE = 2048  # spans waiting for the export thread (OTEL_BSP_MAX_QUEUE_SIZE), in whole batches
CLOSE_TIMEOUT = 10.0  # seconds `close` waits for the last exports
Span = TypeVar("Span")


class SpanExport(Generic[Span]):
    """`add` on the event loop; `post` (a batch, False when it was dropped) on the export thread;
    `close` from anywhere but the loop (it waits for the thread)."""

    def __init__(self, post: Callable[[list[Span]], bool], max_batch: int = MAX_BATCH, delay: float = DELAY,
                 max_pending: int = MAX_QUEUE // MAX_BATCH) -> None:
        self._post = post
        self._max_batch = max_batch
        self._delay = delay
        self._batch: list[Span] = []
        self._count = 0  # spans in the batch
        self._timer: asyncio.TimerHandle | None = None
        self._pending: queue.Queue[tuple[list[Span], int] | None] = queue.Queue(max_pending)
        self._closed = False
        self.dropped = 0  # spans dropped: the export thread was behind, or the receiver refused them
        self._dropped_logged = 0
        self._drops = threading.Lock()  # both threads drop (rarely): the count stays exact
        self._thread = threading.Thread(target=self._run, name="router-span-export", daemon=True)
        self._thread.start()

    @classmethod
    def from_environment(cls, post: Callable[[list[Span]], bool], environ: Mapping[str, str]) -> SpanExport[Span]:
        """Batch size, delay and queue as OTEL_BSP_* set them (the SDK's defaults otherwise)."""
        batch = _positive(environ, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", MAX_BATCH)
        queue_size = _positive(environ, "OTEL_BSP_MAX_QUEUE_SIZE", MAX_QUEUE)
        delay = _positive(environ, "OTEL_BSP_SCHEDULE_DELAY", int(DELAY * 1000)) / 1000
        return cls(post, batch, delay, max(1, queue_size // batch))

    def add(self, spans: Span, count: int = 1) -> None:
        """`spans`: one item of a batch, `count` spans (a request's spans go as one)."""
        self._batch.append(spans)
        self._count += count
        if self._count >= self._max_batch:
            self.hand_off()
        elif self._timer is None:
            self._arm()

    def _arm(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside a loop (a test): the batch waits for MAX_BATCH or `close`
            return
        self._timer = loop.call_later(self._delay, self.hand_off)

    def hand_off(self) -> None:
        """The batch so far, to the export thread (on the loop, or once the loop is done)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, count, self._batch, self._count = self._batch, self._count, [], 0
        if not batch or self._closed:
            return
        try:
            self._pending.put_nowait((batch, count))
        except queue.Full:
            self._drop(count, "the export thread is behind")

    def _drop(self, count: int, why: str) -> None:
        """Counted, and logged at the first drop and then once per MAX_BATCH more."""
        with self._drops:
            self.dropped += count
            if self._dropped_logged and self.dropped - self._dropped_logged < MAX_BATCH:
                return
            self._dropped_logged = self.dropped
        log.warning("%d spans dropped so far (%s)", self.dropped, why)

    def _run(self) -> None:
        while True:
            pending = self._pending.get()
            if pending is None:
                return
            batch, count = pending
            try:
                posted = self._post(batch)
            except Exception:
                log.exception("exporting a batch of spans failed")
                posted = False
            if not posted:
                self._drop(count, "the receiver did not take them")

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """What is held exported (waiting at most `timeout`), then the thread ends. Called once
        the loop has no more requests (the server's shutdown, off the loop)."""
        if self._closed:
            return
        batch, count, self._batch, self._count = self._batch, self._count, [], 0
        self._closed = True
        if batch:
            try:
                self._pending.put((batch, count), timeout=timeout)
            except queue.Full:
                self._drop(count, "the export thread is behind")
        try:
            self._pending.put(None, timeout=timeout)
        except queue.Full:
            log.warning("the span export thread did not finish its batches in %s s", timeout)
            return
        self._thread.join(timeout)


def _positive(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value > 0:
        return value
    log.warning("%s=%r is not a positive integer: %d", name, raw, default)
    return default
