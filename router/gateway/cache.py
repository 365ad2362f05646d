"""The exact-match response cache (a route's `cache`), around one attempt at one target.

    key    sha256 of (route, target, the key's name or "" for `scope = "global"`, the model asked
           of the upstream, the upstream request): the converted body as a canonical JSON (sorted
           keys) without `stream`, `stream_options` and per-request ids and metadata, so two
           client protocols that make the same upstream request share an entry. The model is in
           the key because protocols with the model in the URL (Gemini, Bedrock) do not carry it
           in the body. Prompts never name an entry readably: only the digest does.
    value  the hub answer (Anthropic Messages JSON), whatever the pair: a hit is answered in the
           client's protocol, unary through the pair's answer conversion, streamed as a replay
           (router.hub.replay) through the client's own stream machine.
    fill   unary: the upstream answer converted to the hub's shape; streamed: the hub events
           folded as they pass (router.hub.fold), kept once the stream reached message_stop
           without an error, before the chunk that completes it goes on. Errors, cut streams and
           `max_tokens` stops (unless `keep-truncated`) are never kept.

Only routes with `cache` get here (dispatch tests one attribute). `cache-control: no-cache` skips
the read (the answer is still kept), `no-store` both; `x-router-cache` says hit, miss or bypass.
A hit spends no tokens: the request's usage is settled as zero (rate limits and the ledger).
The store never raises (router.store.kv): a Redis outage makes misses, never errors.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, Literal, cast

import msgspec

from router.core.answer import Answer, FinalChunk, Streamed, Unary
from router.core.errors import RouterError
from router.core.ids import new_id
from router.core.sse import DataRun, SSEEvent
from router.core.stream import EventMachine, RunMachine, StreamMachine
from router.core.usage import Tokens
from router.gateway.context import RequestContext
from router.hub.fold import HubFolder
from router.hub.messages import AnthropicMessage
from router.hub.replay import replay_events, replay_stream
from router.routing.compose import Converters
from router.routing.lookup import Plan, Target
from router.spokes.chain import ChainedMachine
from router.store.memory import MemoryStore
from router.upstream.client import UpstreamClient

log = logging.getLogger("router.cache")

HEADER = "x-router-cache"
NO_TOKENS = Tokens(0, 0)
# Top-level request fields that never change the answer: streaming, and per-request ids and
# metadata (Anthropic `metadata`; OpenAI `user`, `metadata`, `store`, `prompt_cache_key`,
# `safety_identifier`; Bedrock Converse `requestMetadata`).
LEFT_OUT = frozenset({"stream", "stream_options", "metadata", "user", "store", "prompt_cache_key",
                      "safety_identifier", "requestMetadata"})
# Fields whose answer depends on state outside the request (a conversation the upstream keeps).
UNCACHEABLE = ("previous_response_id", "conversation")

_encode = msgspec.json.Encoder().encode
_decode_object = msgspec.json.Decoder(dict[str, Any]).decode
_decode_hub = msgspec.json.Decoder(AnthropicMessage).decode


def cache_key(route: str, target: str, scope: str, model: str, request: Any) -> str | None:
    """The entry's name, or None when the request cannot be cached (see UNCACHEABLE)."""
    if not isinstance(request, dict):
        return None
    if any(request.get(name) is not None for name in UNCACHEABLE) or request.get("n", 1) not in (1, None):
        return None  # n > 1: several choices, which one hub answer cannot hold
    canonical = {name: value for name, value in request.items() if name not in LEFT_OUT}
    digest = hashlib.sha256(msgspec.json.encode([route, target, scope, model, canonical], order="sorted"))
    return digest.hexdigest()


def directive(headers: dict[str, str]) -> Literal["no-cache", "no-store"] | None:
    """What the client's `cache-control` asks of the cache (no-store wins)."""
    value = headers.get("cache-control")
    if not value:
        return None
    words = {word.strip().lower() for word in value.split(",")}
    if "no-store" in words:
        return "no-store"
    return "no-cache" if "no-cache" in words else None


class CachedCall:
    """One attempt on a route with `cache`: `lookup` first; on a miss the answer is kept as it
    is made (`machine` and `filled` for a stream, `keep_unary` for a whole answer)."""

    __slots__ = ("_cache", "_client", "_ctx", "_folder", "_key", "_model", "_route", "_settings", "_target",
                 "header", "read", "write")

    def __init__(self, ctx: RequestContext, plan: Plan, target: Target, client: UpstreamClient,
                 request: Any, model: str) -> None:
        settings, cache = plan.cache, ctx.state.cache
        assert settings is not None, "dispatch asks only for routes with cache"
        self._ctx, self._route, self._settings, self._target, self._client = ctx, plan.route, settings, target, client
        self._cache, self._model = cache, model
        self._folder: HubFolder | None = None
        asked = directive(ctx.incoming.headers)
        scope = (ctx.exchange.key or "") if settings.scope == "key" else ""
        self._key = None if cache is None else cache_key(plan.route, target.key, scope, model, request)
        self.read = self._key is not None and asked is None
        self.write = self._key is not None and asked != "no-store"
        self.header = "miss" if self.read else "bypass"

    # --- a hit -----------------------------------------------------------------------------------

    async def lookup(self) -> Answer | None:
        """The client's answer from the cache, or None (a miss: the caller asks the upstream)."""
        if not self.read:
            return None
        assert self._cache is not None and self._key is not None
        raw = await self._cache.store.get(self._key)
        ctx = self._ctx
        ctx.state.metrics.record_cache(self._route, raw is not None)
        if raw is None:
            return None
        try:
            hub = _decode_object(raw)
            answer = self._replayed(hub) if ctx.exchange.stream else Unary(self._unary(hub))
        except Exception:  # an entry that no longer converts (a new router version): a miss
            log.exception("request %s: a cached answer could not be replayed; asking the upstream", ctx.request_id)
            return None
        ctx.exchange.served_from_cache(hub.get("stop_reason"))
        self.header = "hit"
        self._said(answer)
        if isinstance(answer, Unary):
            ctx.settle(NO_TOKENS)
        return answer

    def _client_converters(self) -> Converters:
        target = self._target
        if target.converters.passthrough:
            assert self._cache is not None
            return self._cache.through_hub(target, client_side=True)
        return target.converters

    def _unary(self, hub: dict[str, Any]) -> bytes:
        hub["id"] = new_id("msg_")  # every answer has its own id (a client may keep it by id)
        target, ctx = self._target, self._ctx
        if ctx.spoke.is_hub:
            answer = hub
        else:
            converters = self._client_converters()
            assert converters.answer_to_client is not None, "a client that is not the hub reads a conversion"
            answer = converters.answer_to_client.function(_decode_hub(_encode(hub)), target.ctx)
            complete = ctx.spoke.client.complete_answer
            if complete is not None:
                answer = complete(answer, ctx.struct())
        edit = target.converters.response_edit
        if edit is not None:
            answer = edit.function(answer, target.ctx)
        return _encode(answer)

    def _replayed(self, hub: dict[str, Any]) -> Streamed:
        hub["id"] = new_id("msg_")
        ctx = self._ctx
        if ctx.spoke.is_hub:
            body = replay_stream(hub)
        else:
            from_hub = ctx.spoke.client.stream_from_hub
            assert from_hub is not None, "a client that is not the hub has a stream machine"
            machine = from_hub(self._target.ctx, self._model, ctx.struct(), self._client_converters().values)
            parts = [machine.start(), *(machine.on_data(data) for _, data in replay_events(hub)), machine.finish()]
            body = b"".join(parts)
        return Streamed(_replay(ctx, body))

    def _said(self, answer: Answer) -> None:
        """`x-router-cache` on the answer, and on its trace."""
        answer.headers[HEADER] = self.header
        self._ctx.exchange.cache_answered(self.header)

    # --- a miss: keeping the answer --------------------------------------------------------------

    def machine(self, src: Any) -> StreamMachine:
        """The attempt's stream machine; when the answer is to be kept, one that also folds the
        hub events it sees."""
        target, model = self._target, self._model
        converters, tctx, upstream = target.converters, target.ctx, self._client.name
        live = converters.stream(tctx, model, src, upstream)
        if not self.write:
            return live
        folder = self._folder = HubFolder()
        if converters.passthrough:
            if converters.client.is_hub:
                return _InputTap(live, folder)
            assert self._cache is not None
            side = self._cache.through_hub(target, client_side=False).stream(tctx, model, src, upstream)
            return _Tee(live, _OutputTap(side, folder), folder)
        to_hub = converters.upstream.upstream.stream_to_hub
        from_hub = converters.client.client.stream_from_hub
        if from_hub is None:  # the client is the hub: what the machine writes are hub events
            return _OutputTap(live, folder)
        if to_hub is None:  # the upstream is the hub: what the machine reads are hub events
            return _InputTap(live, folder)
        first = to_hub(tctx, model, converters.upstream_values or converters.values)
        return ChainedMachine(_OutputTap(first, folder), from_hub(tctx, model, src, converters.values))

    def filled(self, answer: Streamed) -> Streamed:
        self._said(answer)
        if self._folder is None:
            return answer
        answer.iterator = self._keep_stream(answer.iterator, self._folder)
        return answer

    async def keep_unary(self, raw: bytes, answer: Unary) -> Unary:
        self._said(answer)
        if not self.write:
            return answer
        try:
            hub = self._hub_answer(raw)
        except Exception:  # a conversion bug must not cost the client its answer
            log.exception("request %s: its answer could not be cached", self._ctx.request_id)
            return answer
        await self._keep(hub)
        return answer

    def _hub_answer(self, raw: bytes) -> dict[str, Any]:
        converters = self._target.converters
        if converters.passthrough and not converters.upstream.is_hub:
            assert self._cache is not None
            converters = self._cache.through_hub(self._target, client_side=False)
        if converters.answer_to_hub is None:  # the upstream answers in the hub's shape
            return _decode_object(raw)
        hub: dict[str, Any] = converters.answer_to_hub.function(converters.decode_answer(raw), self._target.ctx)
        return hub

    async def _keep_stream(self, events: AsyncIterator[bytes], folder: HubFolder) -> AsyncGenerator[bytes, None]:
        kept = False
        try:
            async for chunk in events:
                if not kept and folder.complete:
                    kept = True
                    answer = folder.answer
                    if answer is not None:
                        await self._keep(answer)
                yield chunk
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _keep(self, hub: dict[str, Any]) -> None:
        if hub.get("stop_reason") == "max_tokens" and not self._settings.keep_truncated:
            return
        if not hub.get("model"):
            hub["model"] = self._model
        cache, key = self._cache, self._key
        assert cache is not None and key is not None
        store = cache.store
        evicted = store.stats.evicted
        await store.put(key, self._client.scrubber.data(_encode(hub)), self._settings.ttl)
        if isinstance(store, MemoryStore):
            self._ctx.state.metrics.record_cache_size(store.total_bytes, store.stats.evicted - evicted)


async def _replay(ctx: RequestContext, body: bytes) -> AsyncGenerator[bytes, None]:
    """A cached stream: all of it at once, and the request's end told as a relay would."""
    try:
        ctx.first_output()
        # Completed once handed over: the writer stops asking after a FinalChunk (it closes the
        # generator), so nothing would run after this yield.
        yield FinalChunk(body)
    finally:
        ctx.ended(None, True, NO_TOKENS)


class _InputTap:
    """A machine that reads hub events (passthrough of the hub's protocol, or hub → client),
    folding each one it is given."""

    __slots__ = ("_folder", "_machine", "reads")

    def __init__(self, machine: StreamMachine, folder: HubFolder) -> None:
        self._machine, self._folder = machine, folder
        self.reads: Literal["data", "events", "runs"] = machine.reads

    def start(self) -> bytes:
        return self._machine.start()

    def on_data(self, data: bytes) -> bytes:
        self._folder.feed(data)
        return self._machine.on_data(data)

    def on_event(self, event: SSEEvent) -> bytes:
        self._folder.feed(event.data)
        return cast(EventMachine, self._machine).on_event(event)

    def on_run(self, run: DataRun) -> bytes | None:
        converted = cast(RunMachine, self._machine).on_run(run)
        if converted is not None:  # None: the run comes again event by event, through on_data
            for data in run.payloads():
                self._folder.feed(data)
        return converted

    def finish(self) -> bytes:
        return self._machine.finish()

    def fail(self, error: RouterError) -> bytes:
        self._folder.failed = True
        return self._machine.fail(error)

    def ping(self) -> bytes:
        return self._machine.ping()

    def tokens(self) -> Tokens | None:
        return self._machine.tokens()

    def finish_reasons(self) -> tuple[str, ...]:
        return self._machine.finish_reasons()


class _OutputTap(_InputTap):
    """A machine that writes hub events (upstream → hub), folding what it writes."""

    __slots__ = ()

    def start(self) -> bytes:
        return self._seen(self._machine.start())

    def on_data(self, data: bytes) -> bytes:
        return self._seen(self._machine.on_data(data))

    def on_event(self, event: SSEEvent) -> bytes:
        return self._seen(cast(EventMachine, self._machine).on_event(event))

    def on_run(self, run: DataRun) -> bytes | None:
        converted = cast(RunMachine, self._machine).on_run(run)
        return None if converted is None else self._seen(converted)

    def finish(self) -> bytes:
        return self._seen(self._machine.finish())

    def _seen(self, events: bytes) -> bytes:
        if events:
            self._folder.feed_sse(events)
        return events


class _Tee(_InputTap):
    """A passthrough machine (not the hub's protocol) with a second one beside it that makes hub
    events of the same upstream events for the folder; the second's output goes nowhere, and its
    failure only means nothing is kept."""

    __slots__ = ("_side",)

    def __init__(self, machine: StreamMachine, side: StreamMachine, folder: HubFolder) -> None:
        super().__init__(machine, folder)
        self._side = side

    def on_data(self, data: bytes) -> bytes:
        self._beside(lambda side: side.on_data(data))
        return self._machine.on_data(data)

    def on_event(self, event: SSEEvent) -> bytes:
        if self._side.reads == "events":
            self._beside(lambda side: cast(EventMachine, side).on_event(event))
        else:
            self._beside(lambda side: side.on_data(event.data))
        return cast(EventMachine, self._machine).on_event(event)

    def on_run(self, run: DataRun) -> bytes | None:
        return None  # event by event: the side machine sees each one

    def start(self) -> bytes:
        self._beside(lambda side: side.start())
        return self._machine.start()

    def finish(self) -> bytes:
        out = self._machine.finish()
        self._beside(lambda side: side.finish())
        return out

    def _beside(self, step: Callable[[StreamMachine], bytes]) -> None:
        if self._folder.failed:
            return
        try:
            step(self._side)
        except Exception:  # noqa: BLE001 - the side machine only feeds the cache
            self._folder.failed = True
