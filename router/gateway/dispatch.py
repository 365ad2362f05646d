"""The path every model request takes, whatever the client's protocol:

    authenticate → first decode (model, stream, required fields) → table lookup → admit (budgets,
    then rate limits)
    → attempts: convert (or edit in place) → upstream → convert the answer (or pass it back) /
      relay the stream through the pair's machine

Everything protocol-specific is asked of the client's spoke (the request's context carries it)
and of the target's compiled pair (router.routing.compose): this module names no protocol.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Mapping
from typing import Any

import httpx
import msgspec

from router.config.access import RuleSet
from router.core.answer import Answer, Streamed, Unary
from router.core.errors import (
    ModelNotFound,
    RateLimited,
    UpstreamError,
    UpstreamProtocolError,
)
from router.core.stream import StreamMachine
from router.core.usage import Tokens
from router.gateway.auth import authenticate
from router.gateway.bodycheck import CHECKED, require_messages
from router.gateway.budgets import check_budgets
from router.gateway.cache import CachedCall
from router.gateway.context import RequestContext, apply_call, decode_client
from router.gateway.history import kept, resume
from router.gateway.state import RouterState
from router.hub.messages import ModelRequestRouting, RoutingFields
from router.ratelimit.limiter import Ticket
from router.routing.facts import RequestFacts
from router.routing.failover import (
    attempt_order,
    attempts_header,
    retryable,
    wait_before,
)
from router.routing.lookup import Plan, Target
from router.upstream.client import UpstreamClient, UpstreamPool
from router.upstream.relay import ChunkSource, relay

log = logging.getLogger("router.dispatch")
_encode = msgspec.json.Encoder().encode
_decode_object = msgspec.json.Decoder(dict[str, Any]).decode


def route(ctx: RequestContext, decode_fields: Callable[[bytes], RoutingFields] | None = None
          ) -> tuple[Plan, RoutingFields, RuleSet | None, RequestFacts]:
    """Authenticated, routed (a route's `when` conditions see the request's facts, computed
    lazily: the full body is decoded only if a condition needs it), and allowed for this key
    (403 otherwise), with the rate limits that apply (None: none, decided by one `if`) and the
    facts (their token estimate is what the limits count).
    `decode_fields`: the first decode, by default the spoke's model request with its required
    fields (count_tokens asks for less)."""
    state, incoming = ctx.state, ctx.incoming
    client = ctx.spoke.client
    key = authenticate(incoming.headers, state.key_hashes, client.key_header, ctx.query_key)
    ctx.exchange.key = key
    fields = decode_client(decode_fields or client.routing_decoder, incoming.body)
    if ctx.call is not None:
        apply_call(fields, ctx.call)
    if isinstance(fields, ModelRequestRouting):
        require_messages(fields.messages)
        fields.messages = CHECKED
    protocol = ctx.spoke.name
    # Returned, never kept on ctx: the facts hold ctx.struct (a bound method of ctx), and that cycle
    # kept each request's body and decode alive until a collection ran, which the raised young-
    # generation threshold (router.server.gc_tuning) makes ~1,000 requests later (+90 MiB RSS).
    facts = RequestFacts(protocol, ctx.struct, incoming.headers, key)  # type: ignore[arg-type]
    plan = state.table.lookup(protocol, fields.model, facts)  # type: ignore[arg-type]
    if plan is None:
        raise ModelNotFound(f"model {fields.model!r} is not served here; GET /v1/models lists the models")
    access = state.table.loaded.access
    return plan, fields, access.admit(key, plan.route, fields.model) if access.active else None, facts


async def dispatch(ctx: RequestContext) -> Answer:
    state = ctx.state
    plan, fields, limits, facts = route(ctx)
    history = ctx.spoke.client.history  # kept answers (router.gateway.history); None for most protocols
    if history is not None and await resume(ctx, history, fields, plan):
        # The body is now the whole conversation a kept answer continues: conditions, access
        # and the token estimate (limits) see all of it.
        plan, fields, limits, facts = route(ctx)
    # Budgets first: a request they refuse must not take a rate-limit slot.
    await check_budgets(state, state.table.loaded.access, ctx.exchange.key, plan.route)
    if limits is not None:
        ctx.ticket = await _admit(ctx, limits, facts)
    order = attempt_order(plan, state.health)
    attempts = max(plan.retry.attempts, 1)
    outcomes: list[str] = []
    exchange = ctx.exchange.routed(plan.route, fields.model, bool(fields.stream), outcomes, plan.trace_content)
    pool = state.pool  # with the table, once per request: a reload between retries changes neither
    for attempt in range(attempts):
        target = order[attempt % len(order)]
        exchange.attempting(target.key, target.converters.pair, target.price.for_model(fields.model))
        try:
            answer = await _attempt(ctx, pool, target, fields, plan)
        except UpstreamError as error:
            # What the upstream said (its own status when it answered one), whatever the client
            # protocol makes of it: the header is for operators comparing targets.
            outcomes.append(f"{target.key}={getattr(error, 'upstream_status', error.status)}")
            state.upstream_errors.record(target.key, error.status, getattr(error, "upstream_status", None),
                                         type(error).__name__, error.message)  # scrubbed in _attempt
            if state.health.failed(target.key, plan.retry):
                exchange.cooled_down(target.key)
                log.warning("target %s put aside for %gs after repeated failures", target.key, plan.retry.cooldown)
            wait = _next_wait(state, plan, order, attempt, attempts, target, error)
            exchange.attempt_failed(wait, error)
            log.warning("route %s attempt %d via %s failed (%s)%s", plan.route, attempt + 1, target.key,
                        error.status, "" if wait is None else f"; retrying in {wait:.2f}s")
            if wait is None:
                error.headers["x-router-attempts"] = attempts_header(outcomes)
                raise
            await asyncio.sleep(wait)
            continue
        state.health.succeeded(target.key)
        outcomes.append(f"{target.key}=200")
        exchange.answered()
        answer.headers.update({"request-id": ctx.request_id, "x-router-route": plan.route,
                               "x-router-target": target.key, "x-router-attempts": attempts_header(outcomes)})
        if ctx.ticket is not None:
            answer.headers.update(ctx.ticket.headers)
        dropped = _dropped(ctx, target)
        if dropped:
            answer.headers["x-router-dropped"] = dropped
        return answer if history is None else await kept(ctx, history, fields, answer)
    raise AssertionError("unreachable: the last attempt either answers or raises")


def _dropped(ctx: RequestContext, target: Target) -> str | None:
    """What the target's conversion left out of the request that the client should hear of
    (built-in tools an upstream of another protocol cannot run), said in a header and the log:
    a 400 would break clients that work against their own API directly."""
    dropped = ctx.spoke.client.dropped
    if dropped is None or target.converters.passthrough:
        return None
    names = dropped(ctx.struct())
    if not names:
        return None
    # Said in the request's access log line (the `dropped` field), not a log record of its own:
    # Codex sends web_search with every request, and a record each costs ~0.1 ms.
    ctx.exchange.dropped = ", ".join(names)
    return ctx.exchange.dropped


async def _admit(ctx: RequestContext, limits: RuleSet, facts: RequestFacts) -> Ticket | None:
    """Counted against the key's budgets, tokens by the estimate routing made (or makes now)."""
    try:
        return await ctx.state.limiter.admit(limits, lambda: facts.input_tokens)
    except RateLimited as refused:
        ctx.state.metrics.record_rate_limited(*refused.limit)
        raise


def _next_wait(state: RouterState, plan: Plan, order: list[Target], attempt: int, attempts: int,
               target: Target, error: UpstreamError) -> float | None:
    if attempt + 1 >= attempts or not retryable(error, plan.retry):
        return None
    same = order[(attempt + 1) % len(order)] is target
    return wait_before(attempt, error, plan.retry, same, state.health.rng)


async def _attempt(ctx: RequestContext, pool: UpstreamPool, target: Target, fields: RoutingFields,
                   plan: Plan) -> Answer:
    """One try at one target; raises UpstreamError before anything reached the client.

    The one place where what an upstream said leaves for the client: an error's message and
    headers and a unary body go through the upstream's scrubber here (a stream's bytes in the
    relay, which requires it), whatever pair or converter produced them."""
    client = pool.get(target.upstream).speaking(target.converters.upstream.name)
    try:
        answer = await _call(ctx, client, target, fields, plan)
    except UpstreamError as error:
        raise client.scrubber.error(error) from None
    if isinstance(answer, Unary):
        answer.body = client.scrubber.data(answer.body)
    return answer


async def _call(ctx: RequestContext, client: UpstreamClient, target: Target, fields: RoutingFields,
                plan: Plan) -> Answer:
    src = ctx.for_target(target)
    converters = target.converters
    request = converters.request.function(src, target.ctx)
    model = target.ctx.model or fields.model
    headers = target.upstream_headers(client.forwarded(ctx.incoming.headers))
    # Traced: the attempt's span starts, its traceparent goes upstream, `src` has the sampling parameters.
    headers = ctx.exchange.trace_headers(headers, src, model, ctx.incoming.headers)
    if client.body_edit is not None:  # an upstream's dialect of its protocol (Vertex AI, Bedrock)
        request = client.body_edit(request, headers)
    upstream_body = _encode(request)
    stream = bool(fields.stream)
    cached = None if plan.cache is None else CachedCall(ctx, plan, target, client, request, model)
    if cached is not None and (hit := await cached.lookup()) is not None:
        return hit
    # A protocol with the model (or streaming) in its path gets its URL per request.
    url = None if client.url_for is None else client.url_for(model, stream)
    if stream:
        machine = converters.stream(target.ctx, model, src, client.name) if cached is None else cached.machine(src)
        streamed = await _stream(ctx, client, target, machine, upstream_body, headers, plan, url)
        return streamed if cached is None else cached.filled(streamed)
    state = ctx.state
    state.health.started(target.key)
    try:
        raw = await client.call(upstream_body, headers, url)
    finally:
        state.health.ended(target.key)
        ctx.exchange.upstream_done()  # what follows (decode, convert) is the router's time
    body, tokens, stop_reason = _answer(target, client, raw, src, model)
    ctx.settle(tokens)
    span = ctx.exchange.span
    if span is not None and span.sampled:  # traced: why the model stopped
        span.finish_reasons = target.converters.finish_reasons(raw, stop_reason)
    return Unary(body) if cached is None else await cached.keep_unary(raw, Unary(body))


def _answer(target: Target, client: UpstreamClient, raw: bytes, src: Any, model: str
            ) -> tuple[bytes, Tokens | None, str | None]:
    """The client's unary answer, its usage, read once, and (converted answers) the hub answer's
    stop_reason. Passthrough relays the bytes as they
    came, but only once they have decoded as one JSON object (a client SDK would crash on
    anything else): a truncated or malformed 200 is a 502, retryable like any upstream fault
    since nothing was sent yet."""
    converters = target.converters
    if converters.passthrough:
        tokens = _read_answer(converters.upstream.read_usage, raw, client)
        if converters.response_edit is not None:
            edited = converters.response_edit.function(_read_answer(_decode_object, raw, client), target.ctx)
            return _encode(edited), tokens, None
        return raw, tokens, None
    answer, tokens, stop_reason = converters.answer_read(
        _read_answer(converters.decode_answer, raw, client), target.ctx, src, model)
    return _encode(answer), tokens, stop_reason


def _read_answer(decode: Callable[[bytes], Any], raw: bytes, client: UpstreamClient) -> Any:
    try:
        return decode(raw)
    except (msgspec.DecodeError, RecursionError):
        raise UpstreamProtocolError(f"upstream {client.name!r} sent an answer that could not be read") from None


async def _stream(ctx: RequestContext, client: UpstreamClient, target: Target, machine: StreamMachine,
                  body: bytes, headers: Mapping[str, str], plan: Plan, url: httpx.URL | None) -> Streamed:
    """Opened before answering, so an upstream error status becomes a normal JSON error response
    (and a fallback can still try the next target)."""
    response = await client.open_stream(body, headers, url)
    if client.stream_type not in response.headers.get("content-type", ""):
        await response.aclose()
        raise UpstreamProtocolError(f"upstream {client.name!r} answered a stream request without an event stream")
    chunks: AsyncIterable[bytes] | ChunkSource = response.aiter_bytes()
    events = relay(
        chunks, machine, upstream=client.name, ping_interval=target.ctx.ping_interval,
        idle_timeout=client.timeouts.stream_idle, close=response.aclose, scrubber=client.scrubber,
        observer=ctx,
        # a binary event stream (Bedrock): the spoke's reframer makes the events the machine reads
        reframer=None if client.reframer is None else client.reframer(client.name),
    )
    if plan.balance == "least-in-flight":
        events = _counted(events, ctx.state, target.key)
    return Streamed(events)


async def _counted(events: AsyncGenerator[bytes, None], state: RouterState, key: str) -> AsyncGenerator[bytes, None]:
    """A stream is in flight until its last byte: least-in-flight balancing needs to know."""
    state.health.started(key)
    try:
        async for event in events:
            yield event
    finally:
        state.health.ended(key)
        await events.aclose()
