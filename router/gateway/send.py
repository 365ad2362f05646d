"""How a model endpoint's answer (router.core.answer) is written to the ASGI server.

A unary answer is one `http.response.start` and one body message; a stream is the start and one
body message per chunk of the relay (the last, a FinalChunk, ends the body in the same write). Once
a stream has to wait for its upstream, a watcher listens for the client hanging up and cancels the
stream when it does, so the upstream is closed at once instead of being read to its end for no one.
The relay's first chunk never waits, so a watcher started after it is in time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from router.core.answer import Answer, FinalChunk, Streamed, Unary
from router.core.errors import RouterError
from router.gateway.incoming import Message, Receive, Send
from router.spokes.spoke import Spoke

JSON = (b"content-type", b"application/json")
EVENT_STREAM = (b"content-type", b"text/event-stream")
# Proxies (nginx) must not buffer the events; caches must not keep them.
SSE_HEADERS = ((b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no"))


def error_answer(error: RouterError, spoke: Spoke, request_id: str | None = None) -> Unary:
    body = spoke.client.error_body(error)
    headers = dict(error.headers)
    if request_id:
        headers["request-id"] = request_id
    return Unary(body, headers, spoke.client.status(error))


async def send_answer(answer: Answer, receive: Receive, send: Send) -> None:
    if isinstance(answer, Unary):
        await send_unary(answer, send)
    else:
        await send_stream(answer, receive, send)


async def send_unary(answer: Unary, send: Send) -> None:
    body = answer.body
    headers = [JSON, (b"content-length", str(len(body)).encode()), *_encoded(answer.headers)]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_stream(answer: Streamed, receive: Receive, send: Send) -> None:
    content_type = EVENT_STREAM if answer.content_type == EVENT_STREAM[1] else (b"content-type", answer.content_type)
    headers = [content_type, *SSE_HEADERS, *_encoded(answer.headers)]
    watcher: asyncio.Future[bool] | None = None
    try:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        async for chunk in answer.iterator:
            if type(chunk) is FinalChunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": False})
                return
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if watcher is None:
                # Only a stream that goes on to wait for its upstream needs the watcher: one
                # whose body was all in already ended above without a task for it.
                watcher = asyncio.ensure_future(_cancel_on_disconnect(receive, _this_task()))
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except asyncio.CancelledError:
        # Our watcher's cancel (the client left) ends the request quietly; any other cancel
        # (the server shutting down) goes on up.
        if watcher is None or not (watcher.done() and not watcher.cancelled() and watcher.result()):
            raise
        _this_task().uncancel()
    finally:
        if watcher is not None:
            watcher.cancel()
        await _close(answer.iterator)


def _this_task() -> asyncio.Task[None]:
    task = asyncio.current_task()
    assert task is not None, "called from a task, as every ASGI handler is"
    return task


async def _cancel_on_disconnect(receive: Receive, streaming: asyncio.Task[None]) -> bool:
    """True once it has cancelled the stream because the client disconnected."""
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            streaming.cancel()
            return True


async def _close(iterator: AsyncIterator[bytes]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
