"""The path every model request takes, whatever the client's protocol:

    authenticate → decode model/stream → table lookup → convert (or edit in place) → upstream
    → convert the answer (or pass it back) / relay the stream through the pair's state machine

The front modules (anthropic.py, openai.py) only name their protocol and render its errors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any

import msgspec

from router.core.answer import Answer, Streamed, Unary
from router.spokes.openai.client.stream import OpenAIStreamFromAnthropic
from router.spokes.openai.upstream.stream import AnthropicStreamFromOpenAI
from router.spokes.openai.upstream.answer import new_message_id
from router.spokes.passthrough import PassthroughStream
from router.upstream.relay import StreamMachine, StreamObserver, relay
from router.core.usage import read_tokens
from router.core.errors import (
    InvalidRequest,
    ModelNotFound,
    RateLimited,
    UpstreamError,
    UpstreamProtocolError,
)
from router.observe.exchange import exchange_of
from router.routing.failover import attempt_order, attempts_header, retryable, wait_before
from router.gateway.auth import authenticate
from router.gateway.bodycheck import CHECKED, require_messages, too_deep
from router.gateway.incoming import Incoming
from router.core.ids import new_id
from router.ratelimit.limiter import Ticket
from router.gateway.state import RouterState
from router.config.access import RuleSet
from router.routing.facts import RequestFacts
from router.routing.lookup import Plan, Target
from router.config.schema import ClientProtocol
from router.upstream.client import UpstreamClient, UpstreamPool
from router.hub.messages import (
    AnthropicMessage,
    MessagesRequest,
    MessagesRouting,
    ModelRequestRouting,
    RoutingFields,
)
from router.spokes.openai.wire import ChatCompletion, ChatRequest

log = logging.getLogger("router.dispatch")
_encode = msgspec.json.Encoder().encode
# The first decode of a model request: routing fields and the fields each protocol requires.
_ROUTING_DECODERS: Mapping[str, Callable[[bytes], ModelRequestRouting]] = {
    "anthropic": msgspec.json.Decoder(MessagesRouting).decode,
    "openai": msgspec.json.Decoder(ModelRequestRouting).decode,
}
_decode_object = msgspec.json.Decoder(dict[str, Any]).decode

# The client's body, fully decoded, for pairs that convert it.
_CLIENT_DECODERS: Mapping[str, Callable[[bytes], Any]] = {
    "anthropic": msgspec.json.Decoder(MessagesRequest).decode,
    "openai": msgspec.json.Decoder(ChatRequest).decode,
}
# The upstream's unary answer, by pair.
_ANSWER_DECODERS: Mapping[str, Callable[[bytes], Any]] = {
    "anthropic__openai": msgspec.json.Decoder(ChatCompletion).decode,
    "openai__anthropic": msgspec.json.Decoder(AnthropicMessage).decode,
}

def decode_client(decode: Callable[[bytes], Any], body: bytes) -> Any:
    """msgspec's message names the field and its path: "Expected `str`, got `int` - at `$.model`".
    A body nested deeper than the decoder follows is a 400 too (RecursionError, not a 500)."""
    try:
        return decode(body)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"invalid request: {exc}") from None
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise too_deep(body) from None


def route_request(
    state: RouterState, incoming: Incoming, protocol: ClientProtocol,
    decode_fields: Callable[[bytes], RoutingFields] | None = None,
) -> tuple[Plan, RoutingFields]:
    plan, fields, _, _ = route_and_admit(state, incoming, protocol, decode_fields)
    return plan, fields


def route_and_admit(
    state: RouterState, incoming: Incoming, protocol: ClientProtocol,
    decode_fields: Callable[[bytes], RoutingFields] | None = None,
) -> tuple[Plan, RoutingFields, RuleSet | None, _DecodedOnce]:
    """Authenticated, routed (a route's `when` conditions see the request's facts, computed
    lazily: the full body is decoded only if a condition needs it), and allowed for this key
    (403 otherwise), with the rate limits that apply (None: none, decided by one `if`).
    `decode_fields`: the first decode, by default the protocol's model request with its
    required fields (count_tokens asks for less)."""
    key = authenticate(incoming.headers, state.key_hashes)
    exchange_of(incoming.scope).key = key
    body = incoming.body
    fields = decode_client(decode_fields or _ROUTING_DECODERS[protocol], body)
    if isinstance(fields, ModelRequestRouting):
        require_messages(fields.messages)
        fields.messages = CHECKED
    table = state.table
    decoded = _DecodedOnce(protocol, body)
    plan = table.lookup(protocol, fields.model, RequestFacts(protocol, decoded.struct, incoming.headers, key))
    if plan is None:
        raise ModelNotFound(f"model {fields.model!r} is not served here; GET /v1/models lists the models")
    access = table.loaded.access
    return plan, fields, access.admit(key, plan.route, fields.model) if access.active else None, decoded


async def dispatch(state: RouterState, incoming: Incoming, protocol: ClientProtocol, request_id: str) -> Answer:
    plan, fields, limits, decoded = route_and_admit(state, incoming, protocol)
    order = attempt_order(plan, state.health)
    attempts = max(plan.retry.attempts, 1)
    outcomes: list[str] = []
    exchange = exchange_of(incoming.scope).routed(plan.route, fields.model, bool(fields.stream), outcomes)
    ticket = None if limits is None else await _admit(state, limits, protocol, incoming.body)
    pool = state.pool  # with the table, once per request: a reload between retries changes neither
    for attempt in range(attempts):
        target = order[attempt % len(order)]
        exchange.attempting(target.key, target.converters.pair)
        try:
            answer = await _attempt(state, pool, incoming, target, fields, decoded, plan)
        except UpstreamError as error:
            # What the upstream said (its own status when it answered one), whatever the client
            # protocol makes of it: the header is for operators comparing targets.
            outcomes.append(f"{target.key}={getattr(error, 'upstream_status', error.status)}")
            if state.health.failed(target.key, plan.retry):
                exchange.cooled_down(target.key)
                log.warning("target %s put aside for %gs after repeated failures", target.key, plan.retry.cooldown)
            wait = _next_wait(state, plan, order, attempt, attempts, target, error)
            exchange.attempt_failed(wait)
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
        answer.headers.update({"request-id": request_id, "x-router-route": plan.route,
                               "x-router-target": target.key, "x-router-attempts": attempts_header(outcomes)})
        return answer if ticket is None else ticket.attach(answer)
    raise AssertionError("unreachable: the last attempt either answers or raises")


async def _admit(state: RouterState, limits: RuleSet, protocol: ClientProtocol, body: bytes) -> Ticket | None:
    try:
        return await state.limiter.admit(limits, protocol, body)
    except RateLimited as refused:
        state.metrics.record_rate_limited(*refused.limit)
        raise


def _next_wait(state: RouterState, plan: Plan, order: list[Target], attempt: int, attempts: int,
               target: Target, error: UpstreamError) -> float | None:
    if attempt + 1 >= attempts or not retryable(error, plan.retry):
        return None
    same = order[(attempt + 1) % len(order)] is target
    return wait_before(attempt, error, plan.retry, same, state.health.rng)


class _DecodedOnce:
    """The client's body decoded for converting pairs at most once per request. Passthrough
    attempts get a fresh dict each time: they edit it in place."""

    __slots__ = ("_body", "_protocol", "_struct")

    def __init__(self, protocol: ClientProtocol, body: bytes) -> None:
        self._protocol, self._body, self._struct = protocol, body, None

    def struct(self) -> Any:
        if self._struct is None:
            self._struct = decode_client(_CLIENT_DECODERS[self._protocol], self._body)
        return self._struct

    def for_target(self, target: Target) -> Any:
        if target.converters.passthrough:
            return decode_client(_decode_object, self._body)
        return self.struct()


async def _attempt(state: RouterState, pool: UpstreamPool, incoming: Incoming, target: Target, fields: RoutingFields,
                   decoded: _DecodedOnce, plan: Plan) -> Answer:
    """One try at one target; raises UpstreamError before anything reached the client.

    The one place where what an upstream said leaves for the client: an error's message and
    headers and a unary body go through the upstream's scrubber here (a stream's bytes in the
    relay, which requires it), whatever pair or converter produced them."""
    client = pool.get(target.upstream)
    try:
        answer = await _call(state, client, incoming, target, fields, decoded, plan)
    except UpstreamError as error:
        raise client.scrubber.error(error) from None
    if isinstance(answer, Unary):
        answer.body = client.scrubber.data(answer.body)
    return answer


async def _call(state: RouterState, client: UpstreamClient, incoming: Incoming, target: Target,
                fields: RoutingFields, decoded: _DecodedOnce, plan: Plan) -> Answer:
    src = decoded.for_target(target)
    upstream_body = _encode(target.converters.request.function(src, target.ctx))
    headers = target.upstream_headers(client.forwarded(incoming.headers))
    if fields.stream:
        machine = _machine(target, plan.protocol, fields.model, src, client)
        return await _stream(state, client, target, machine, upstream_body, headers, plan, exchange_of(incoming.scope))
    state.health.started(target.key)
    try:
        raw = await client.call(upstream_body, headers)
    finally:
        state.health.ended(target.key)
        exchange_of(incoming.scope).upstream_done()  # what follows (decode, convert) is the router's time
    return Unary(_answer(target, client, raw))


def _answer(target: Target, client: UpstreamClient, raw: bytes) -> bytes:
    """The client's unary answer. Passthrough relays the bytes as they came, but only once they
    have decoded as one JSON object (a client SDK would crash on anything else): a truncated or
    malformed 200 is a 502, retryable like any upstream fault since nothing was sent yet."""
    converters = target.converters
    if converters.response is None:
        if converters.response_edit is not None:
            return _encode(converters.response_edit.function(_read_answer(_decode_object, raw, client), target.ctx))
        _read_answer(read_tokens, raw, client)
        return raw
    answer = _read_answer(_ANSWER_DECODERS[converters.pair], raw, client)
    return _encode(converters.response.function(answer, target.ctx))


def _read_answer(decode: Callable[[bytes], Any], raw: bytes, client: UpstreamClient) -> Any:
    try:
        return decode(raw)
    except (msgspec.DecodeError, RecursionError):
        raise UpstreamProtocolError(f"upstream {client.name!r} sent an answer that could not be read") from None


def _machine(target: Target, protocol: ClientProtocol, client_model: str, src: Any, client: UpstreamClient) -> StreamMachine:
    converters, ctx = target.converters, target.ctx
    model = ctx.model or client_model
    if converters.passthrough:
        return PassthroughStream(protocol, client.name)
    if converters.pair == "anthropic__openai":
        return AnthropicStreamFromOpenAI(
            ctx, message_id=new_message_id(), model=model, input_tokens=None,
            finish_values=converters.values["finish_reason"],
        )
    include_usage = bool(src.stream_options and src.stream_options.include_usage)
    return OpenAIStreamFromAnthropic(
        ctx, completion_id=new_id("chatcmpl-"), model=model,
        include_usage=include_usage, finish_values=converters.values["stop_reason"],
    )


async def _stream(
    state: RouterState, client: UpstreamClient, target: Target, machine: StreamMachine, body: bytes,
    headers: Mapping[str, str], plan: Plan, observer: StreamObserver,
) -> Streamed:
    """Opened before answering, so an upstream error status becomes a normal JSON error response
    (and a fallback can still try the next target)."""
    response = await client.open_stream(body, headers)
    if "text/event-stream" not in response.headers.get("content-type", ""):
        await response.aclose()
        raise UpstreamProtocolError(f"upstream {client.name!r} answered a stream request without an event stream")
    events = relay(
        response.aiter_bytes(), machine, upstream=client.name, ping_interval=target.ctx.ping_interval,
        idle_timeout=client.timeouts.stream_idle, close=response.aclose, scrubber=client.scrubber,
        observer=observer,
    )
    if plan.balance == "least-in-flight":
        events = _counted(events, state, target.key)
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
