"""router.observe.span_export: spans batched on the event loop, posted by one thread."""

from __future__ import annotations

import asyncio
import threading

from router.observe.span_export import SpanExport


class _Posts:
    def __init__(self, answer: bool = True) -> None:
        self.batches: list[list[int]] = []
        self.answer = answer
        self.release = threading.Event()
        self.release.set()
        self.posting = threading.Event()  # the thread is in a post

    def __call__(self, batch: list[int]) -> bool:
        self.posting.set()
        self.release.wait(5)
        self.batches.append(batch)
        return self.answer


def test_a_full_batch_goes_at_once_and_the_rest_at_close() -> None:
    posts = _Posts()
    export: SpanExport[int] = SpanExport(posts, max_batch=3)
    for span in range(7):
        export.add(span)  # no loop here: batches leave when full, the rest at close
    export.close()
    assert posts.batches == [[0, 1, 2], [3, 4, 5], [6]] and export.dropped == 0
    export.add(7)
    export.close()
    assert posts.batches[-1] == [6]  # closed: nothing more is sent


async def test_on_the_loop_a_batch_leaves_after_the_delay() -> None:
    posts = _Posts()
    export: SpanExport[int] = SpanExport(posts, delay=0.01)
    export.add(1)
    export.add(2)
    for _ in range(500):
        if posts.batches:
            break
        await asyncio.sleep(0.01)
    assert posts.batches == [[1, 2]]
    await asyncio.to_thread(export.close)


def test_batches_past_the_queue_and_refused_ones_are_dropped_and_counted() -> None:
    posts = _Posts(answer=False)
    posts.release.clear()  # the thread holds the first batch
    export: SpanExport[int] = SpanExport(posts, max_batch=1, max_pending=1)
    export.add(0)
    assert posts.posting.wait(5)
    for span in range(1, 4):
        export.add(span)
    posts.release.set()
    export.close()
    # 0 taken by the thread, 1 waiting, 2 and 3 past the queue; 0 and 1 refused by the receiver
    assert export.dropped == 4 and posts.batches == [[0], [1]]


def test_the_sdks_batch_variables_set_the_batches() -> None:
    posts = _Posts()
    export: SpanExport[int] = SpanExport.from_environment(posts, {
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "2", "OTEL_BSP_SCHEDULE_DELAY": "250", "OTEL_BSP_MAX_QUEUE_SIZE": "oops"})
    for span in range(3):
        export.add(span)
    export.close()
    assert posts.batches == [[0, 1], [2]]
