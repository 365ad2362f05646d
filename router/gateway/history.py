"""Kept answers on the request path, for a client protocol whose spoke has a History
(router.spokes.history): a request that continues a kept answer is rebuilt with the whole
conversation before it is routed on, and an answer that asks to be kept is stored before the
client has it all, so a follow-up sent the moment it arrives finds it (on any replica, with Redis).

What is kept is an envelope {"key": the API key's name, "record": the spoke's record}: a record
made with another key is "not found", for continuing, reading and deleting alike. A store
never raises (router.store.kv); a record that cannot be made or read is logged and skipped:
keeping an answer never breaks or withholds it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import msgspec

from router.core.answer import Answer, Streamed, Unary
from router.core.sse import SSEEvent, SSEParser
from router.gateway.context import RequestContext, decode_client
from router.routing.lookup import Plan
from router.spokes.history import History, JSONObject
from router.store import KeyValueStore

log = logging.getLogger("router.history")
_encode = msgspec.json.Encoder().encode
_decode_object = msgspec.json.Decoder(dict[str, Any]).decode


class _Kept(msgspec.Struct):
    record: dict[str, Any]
    key: str | None = None


_decode_kept = msgspec.json.Decoder(_Kept).decode


async def load(store: KeyValueStore, answer_id: str, key: str | None) -> JSONObject | None:
    """The record kept under `answer_id` for `key`; None when there is none for this key."""
    raw = await store.get(answer_id)
    if raw is None:
        return None
    try:
        kept = _decode_kept(raw)
    except msgspec.DecodeError:
        log.warning("kept answer %s could not be read; treated as not found", answer_id)
        return None
    return kept.record if kept.key == key else None


async def resume(ctx: RequestContext, history: History, fields: Any, plan: Plan) -> bool:
    """True when the request continued a kept answer and its body is now the whole conversation
    (the caller routes it again: conditions, limits and the token estimate must see all of it).
    An id that is not kept is left to the targets when every one of them speaks the client's
    protocol itself (the upstream may know it); otherwise it is the client's error."""
    previous = history.continues(fields)
    if previous is None:
        return False
    store = ctx.state.store
    record = None if store is None else await load(store, previous, ctx.exchange.key)
    if record is None:
        if all(target.converters.passthrough for target in plan.targets):
            return False
        raise history.unknown(previous)
    request = decode_client(_decode_object, ctx.body)
    ctx.replace_body(_encode(history.expand(request, record)), history.pointer)
    return True


async def kept(ctx: RequestContext, history: History, fields: Any, answer: Answer) -> Answer:
    """`answer`, kept first when the request asks for it: a unary answer now, a stream as soon
    as its final answer has passed (before that chunk reaches the client). A request that does
    not ask (Codex sends `store: false`) pays one attribute read."""
    store = ctx.state.store
    if store is None or not history.keeps(fields):
        return answer
    if isinstance(answer, Unary):
        await _keep_unary(ctx, history, store, answer)
        return answer
    return Streamed(_kept_stream(ctx, history, store, answer.iterator), answer.headers, answer.content_type)


async def _keep_unary(ctx: RequestContext, history: History, store: KeyValueStore, answer: Unary) -> None:
    try:
        final = _decode_object(answer.body)
    except msgspec.DecodeError:
        log.warning("request %s: the answer could not be read back; not kept", ctx.request_id)
        return
    await _keep(ctx, history, store, final)


async def _kept_stream(ctx: RequestContext, history: History, store: KeyValueStore,
                       events: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    """The client's stream as it was; the final answer is kept before the chunk that completes
    it goes on. A stream that ends without one (failed, cut off) is not kept: the client was
    told of an error, and a later turn cannot continue what did not finish."""
    watch: FinalWatch | None = FinalWatch(history.final_markers, history.final_answer)
    try:
        async for chunk in events:
            if watch is not None:
                final = watch.feed(chunk)
                if final is not None:
                    watch = None
                    await _keep(ctx, history, store, final)
            yield chunk
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


async def _keep(ctx: RequestContext, history: History, store: KeyValueStore, final: JSONObject) -> None:
    try:
        answer_id = history.answer_id(final)
        if answer_id is None:
            log.warning("request %s: the answer has no id; not kept", ctx.request_id)
            return
        record = history.record(decode_client(_decode_object, ctx.body), final)
        value = _encode({"key": ctx.exchange.key, "record": record})
    except Exception:  # a bug in making a record must not cost the client its answer
        log.exception("request %s: its answer could not be kept", ctx.request_id)
        return
    await store.put(answer_id, value)


class FinalWatch:
    """Finds a stream's final answer in the client-bound SSE bytes at the cost of a byte search
    per chunk: nothing is parsed until a marker (bytes only the final event holds) shows up.
    Until then it keeps the chunks since the last event boundary, so parsing starts at the
    start of the event that holds the marker, however the chunks split it."""

    __slots__ = ("_final", "_markers", "_parser", "_pending", "_tail", "_width")

    def __init__(self, markers: tuple[bytes, ...], final: Callable[[str | None, bytes], JSONObject | None]) -> None:
        self._markers, self._final = markers, final
        self._width = max(map(len, markers)) - 1
        self._tail = b""  # the stream's last bytes before this chunk: a marker split across chunks
        self._pending: list[bytes] = []  # since the stream's start or its last "\n\n"
        self._parser: SSEParser | None = None

    def feed(self, chunk: bytes) -> JSONObject | None:
        """The final answer, once the chunk that completes its event has come."""
        parser = self._parser
        if parser is None:
            if not self._holds_marker(chunk):
                boundary = chunk.rfind(b"\n\n")
                if boundary < 0:
                    self._pending.append(chunk)
                else:
                    self._pending = [chunk[boundary + 2:]]
                return None
            parser = self._parser = SSEParser()
            pending, self._pending = self._pending, []
            start = self._event_start(chunk)
            if start > 0:  # the marker's event starts inside this chunk: parse from there only
                events = parser.feed(chunk[start:])
            else:
                events = [event for part in (*pending, chunk) for event in parser.feed(part)]
        else:
            events = parser.feed(chunk)
        return self._first_final(events)

    def _event_start(self, chunk: bytes) -> int:
        """Where in `chunk` the event holding the first marker starts (after the last "\n\n"
        before it), 0 when not known here (the marker straddles the chunk's start, or the
        stream's boundaries are "\r\n"): a stream that arrived in one read is not parsed
        again from its first byte (issue 15's benchmark: ~0.1 ms per kept stream)."""
        found = [at for at in (chunk.find(marker) for marker in self._markers) if at >= 0]
        if not found:
            return 0
        boundary = chunk.rfind(b"\n\n", 0, min(found))
        return 0 if boundary < 0 else boundary + 2

    def _holds_marker(self, chunk: bytes) -> bool:
        """A marker in the chunk, or across its start (the joint is searched, not the chunk copied)."""
        width = self._width
        joint = self._tail + chunk[:width]
        self._tail = joint[-width:] if len(chunk) < width else chunk[-width:]
        return any(marker in chunk or marker in joint for marker in self._markers)

    def _first_final(self, events: list[SSEEvent]) -> JSONObject | None:
        for event in events:
            final = self._final(event.event, event.data)
            if final is not None:
                return final
        return None
