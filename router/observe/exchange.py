"""What one API request did, gathered while it runs and handed, when it is over, to the metrics
(router.observe.metrics), the access log (router.observe.accesslog) and, for a model request
that reached a target, the usage sinks (a UsageEntry priced at the answering target's price:
the ledger's `record`).

    ObserveMiddleware   around every /v1/ handler: opens the Exchange, keeps it in the ASGI scope,
                        watches the response start (status, request-id) and, with log-bodies,
                        the body
    dispatch            (through the request's context) route, model, each attempt's target and
                        upstream time, retries, cool-downs, and a unary answer's usage, read once
                        from its hub form
    relay               (streams) the first token, the end: completed, failed (which error), or
                        cancelled, and the stream machine's token counts

A stream can end after its handler returned (a client that hangs up leaves the relay's generator
to be closed by the event loop), so an exchange is over when both the handler and its stream are.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from router.config.prices import cost_usd
from router.config.schema import Price
from router.core.errors import RouterError
from router.core.stream import StreamMachine
from router.core.usage import Tokens
from router.core.usage_entry import UsageEntry
from router.observe import accesslog
from router.observe.accesslog import AccessLine, AccessLog
from router.observe.metrics import Metrics
from router.observe.tracing import trace_headers_of
from router.observe.usage_batch import UsageBatch
from router.spokes.registry import CLIENT_SPOKES, HUB, SPOKES

if TYPE_CHECKING:
    from router.observe.otel import RequestSpan, Tracing

log = logging.getLogger("router.observe.exchange")
NO_TOKENS = Tokens(0, 0)  # a request that read no usage: zeros of every kind
EXCHANGE_KEY = "router.observe.exchange"
# The requests counted in router_requests_total: the ones dispatch serves.
MODEL_PATHS = frozenset(path for spoke in CLIENT_SPOKES for path in spoke.client.paths)
# Load balancers' and scrapers' probes: frequent, and not what the access log is for.
PROBE_PATHS = frozenset({"/health", "/ready", "/metrics"})
# The error type a client sees with each status (router.core.errors' classes), for the access log.
ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 405: "invalid_request_error", 413: "request_too_large",
    429: "rate_limit_error", 431: "invalid_request_error", 499: "cancelled", 504: "timeout_error",
    529: "overloaded_error",
}
CANCELLED = 499  # nginx's "client closed request": no answer went out, or a stream was cut off

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


class Exchange:
    """One request's record. Written to by the request path, read once at the end."""

    __slots__ = (
        "_attempt_started",
        "_completed",
        "_crashed",
        "_handler_done",
        "_response_parts",
        "_stream_open",
        "attempts",
        "cache_hit",
        "dropped",
        "first_target",
        "key",
        "log",
        "log_bodies",
        "metrics",
        "model",
        "model_request",
        "pair",
        "price",
        "reads_body",
        "request_body",
        "request_id",
        "retried",
        "route",
        "scope",
        "span",
        "started",
        "status",
        "stream",
        "stream_error",
        "target",
        "tokens",
        "trace_content",
        "tracing",
        "ttft",
        "upstream",
        "usage",
        "waited",
        "wall_started",
    )

    def __init__(self, metrics: Metrics | None, *, model_request: bool = False, log: AccessLog | None = None,
                 log_bodies: bool = False, scope: Scope | None = None, usage: UsageBatch | None = None,
                 wall: Callable[[], float] = time.time) -> None:
        self.metrics = metrics
        self.usage = usage
        self.model_request = model_request
        self.log = log
        self.log_bodies = log_bodies
        self.scope = scope
        self.started = time.perf_counter()
        self.wall_started = wall()  # the state's clock: budget periods and the ledger agree on the time
        self.key: str | None = None
        self.model: str | None = None
        self.route: str | None = None
        self.stream = False
        self.target: str | None = None
        self.pair: str | None = None
        self.first_target: str | None = None
        self.price: Price | None = None  # the price of the target tried last (the one that answered)
        self.retried = False
        self.cache_hit = False  # answered from the response cache (the ledger counts it a hit)
        self.attempts: list[str] = []
        self.dropped: str | None = None  # set by dispatch: see AccessLine.dropped
        self.upstream = 0.0
        self.waited = 0.0
        self.ttft: float | None = None
        self.tokens: Tokens | None = None
        self.stream_error: RouterError | None = None
        self.status = 0
        self.request_id: str | None = None
        self.reads_body = log_bodies
        self.request_body: bytes | None = None  # kept only with log_bodies
        self._attempt_started: float | None = None
        self._stream_open = False
        self._completed = False
        self._handler_done = False
        self._crashed = False
        self._response_parts: list[bytes] = []
        # Traces (router.observe.otel), set by the middleware when they are on. The request's
        # span is made at its first attempt's upstream headers (`trace_headers`), where the
        # client's own are at hand, or at its end when it made none; until then, and with traces
        # off, every hook below costs one test.
        self.tracing: Tracing | None = None
        self.span: RequestSpan | None = None
        self.trace_content = False  # the route puts prompts and answers on its spans

    # --- the request path (router.gateway.dispatch) ------------------------------------------------

    def routed(self, route: str, model: str, stream: bool, attempts: list[str], trace_content: bool = False
               ) -> Exchange:
        """The table chose `route`; `attempts` is dispatch's own "target=status" list;
        `trace_content`: the route puts prompts and answers on its spans."""
        self.route, self.model, self.stream, self.attempts = route, model, stream, attempts
        self.trace_content = trace_content
        return self

    def attempting(self, target: str, pair: str, price: Price | None = None) -> None:
        self.target, self.pair, self.price = target, pair, price
        if self.first_target is None:
            self.first_target = target
        self._attempt_started = time.perf_counter()  # a traced attempt's span starts at trace_headers

    def upstream_done(self) -> None:
        """The upstream is done with this attempt (answered, failed, or its stream ended)."""
        started = self._attempt_started
        if started is None:
            return
        self._attempt_started = None
        elapsed = time.perf_counter() - started
        self.upstream += elapsed
        if self.metrics is not None and self.target is not None:
            self.metrics.upstream_times.observe((self.target, "true" if self.stream else "false"), elapsed)

    def attempt_failed(self, wait: float | None, error: RouterError | None = None) -> None:
        """The attempt failed; `wait` is the backoff before the next one (None: no next one)."""
        self.upstream_done()
        if self.span is not None:
            self.span.attempt_failed(error)
        if wait is None:
            return
        self.retried = True
        self.waited += wait
        if self.metrics is not None:
            self.metrics.retries(self.route or "", self.target or "").inc()

    def served_from_cache(self, stop_reason: object = None) -> None:
        """The attempt was answered from the response cache: no upstream time to count, a hit
        for the ledger; `stop_reason`: the kept hub answer's (traces)."""
        self._attempt_started = None
        self.cache_hit = True
        if self.span is not None:
            self.span.cache_hit(stop_reason)

    def cache_answered(self, header: str) -> None:
        """The answer goes with `x-router-cache: header` (hit, miss or bypass): its trace says so."""
        if self.span is not None:
            self.span.cache = header

    def cooled_down(self, target: str) -> None:
        if self.metrics is not None:
            self.metrics.record_cooldown(target)

    def answered(self) -> None:
        """The attempt succeeded: a unary answer is in hand, or a stream is open (its relay will
        report the end)."""
        if self.stream:
            self._stream_open = True
        elif self.span is not None:  # unary: the attempt is over (a stream's lasts to its end: `ended`)
            self.span.answered()

    def trace_headers(self, headers: Mapping[str, str], request: Any, model: str, client: Mapping[str, str]
                      ) -> Mapping[str, str]:
        """The upstream request's headers, with the attempt's `traceparent` when traced: its
        span starts here (the request's too, at its first attempt: `client`, the client's
        headers, may carry a trace). `request`: as decoded for the target (a span reads its
        sampling parameters); `model`: the model asked of the target."""
        span = self.span
        if span is None:
            tracing = self.tracing
            if tracing is None:
                return headers
            span = self.span = tracing.request_span(client, self.started, self.trace_content)
        return span.attempt_headers(self.target or "", model, request, headers)

    # --- router.upstream.relay.StreamObserver ------------------------------------------------

    def first_output(self) -> None:
        self.ttft = time.perf_counter() - self.started

    def ended(self, error: RouterError | None, completed: bool, tokens: Tokens | None,
              machine: StreamMachine | None = None) -> None:
        self.stream_error, self._completed, self.tokens = error, completed, tokens
        self._stream_open = False
        if self.span is not None:
            self.span.stream_ended(error, completed, machine)
        try:
            self.upstream_done()
        except Exception:
            log.exception("recording the stream's upstream time failed")
        if self._handler_done:
            self._finish()

    # --- the HTTP side (ObserveMiddleware) ---------------------------------------------------------

    def response_started(self, message: Message) -> None:
        self.status = message["status"]
        for name, value in message.get("headers", ()):
            if name == b"request-id":
                self.request_id = value.decode("latin-1")
                break
        # The answer's body is kept for the access log's bodies, or a trace's content.
        self.reads_body = self.log_bodies or (self.tracing is not None and self._traces_content())

    def _traces_content(self) -> bool:
        """The request's spans will carry its prompt and answer (asked before its span may exist)."""
        if self.span is not None:
            return self.span.content
        assert self.tracing is not None
        return self.trace_content or self.tracing.record_content

    def response_body(self, message: Message) -> None:
        body: bytes = message.get("body", b"")
        if self.reads_body:
            self._response_parts.append(body)

    def handler_done(self, crashed: bool) -> None:
        self._handler_done, self._crashed = True, crashed
        if not self._stream_open:
            self._finish()

    # --- the end ------------------------------------------------------------------------------------

    def _finish_span(self, status: int, error: str | None) -> None:
        """The request's spans, ended: made now when it made no attempt (refused, or failed
        before reaching an upstream), a child of the trace its client sent."""
        span = self.span
        if span is None:
            assert self.tracing is not None
            client = trace_headers_of(self.scope.get("headers", ()) if self.scope is not None else ())
            span = self.span = self.tracing.request_span(client, self.started, self.trace_content)
        span.finish(self, status, error)  # never raises

    def outcome(self) -> tuple[int, str | None]:
        """The status this request really ended with, and the error type the client saw."""
        if self.stream_error is not None:
            client = SPOKES.get((self.pair or "").partition("__")[0], HUB)
            return client.client.status(self.stream_error), self.stream_error.error_type
        if self.stream and self.status == 200 and not self._completed:
            return CANCELLED, ERROR_TYPES[CANCELLED]
        status = self.status or (500 if self._crashed else CANCELLED)
        if status < 400:
            return status, None
        return status, ERROR_TYPES.get(status, "api_error")

    def _finish(self) -> None:
        """Runs in a stream's `finally` or the middleware's: it must never raise into them."""
        try:
            total = time.perf_counter() - self.started
            status, error = self.outcome()
            if self.tracing is not None:
                self._finish_span(status, error)
            if self.metrics is not None and self.model_request:
                self._count(status, total)
            if self.log is not None:
                self.log.write(self._line(status, error, total))
            if self.model_request and self.first_target is not None:
                self._used(status, total)
        except Exception:
            log.exception("recording the request failed")
        # The scope holds this Exchange (EXCHANGE_KEY) and it the scope: cut at the request's real
        # end, so reference counting frees both at once instead of a collection, much later.
        self.scope = None

    def response_bytes(self) -> bytes:
        """The answer's body as sent, when it was read (log-bodies, or a trace's content)."""
        return b"".join(self._response_parts)

    def _count(self, status: int, total: float) -> None:
        metrics = self.metrics
        assert metrics is not None
        route, target, pair = self.route or "", self.target or "", self.pair or ""
        metrics.request_counts.add((route, target, pair, str(status)))
        if self.first_target is None:
            return  # answered by the router alone (bad key, unknown model, ...): no upstream to compare
        metrics.overhead_times.observe((pair, "true" if self.stream else "false"),
                                       max(total - self.upstream - self.waited, 0.0))
        if self.ttft is not None:
            metrics.ttft_times.observe((route, target), self.ttft)
        tokens = self.tokens
        if tokens is not None:
            metrics.token_counts.add((route, target, "in"), tokens[0])
            metrics.token_counts.add((route, target, "out"), tokens[1])
        if status < 400 and target != self.first_target:
            metrics.fallbacks(route, target).inc()

    def _used(self, status: int, total: float) -> None:
        """The request's UsageEntry, to the usage batch (its sinks take it within a second, or
        before anything reads them). Tokens are the final usage, or (a stream that died) the
        estimate it had; none read: zeros."""
        usage = self.usage
        if usage is None:
            return
        tokens, price = self.tokens, self.price
        input_tokens, output_tokens, cache_read, cache_write = tokens or NO_TOKENS
        # Positional, in the struct's field order: msgspec matches 17 keywords one by one
        # (~700 ns a request, against ~120 ns for this).
        entry = UsageEntry(
            self.wall_started, self.key or "", self.route or "", self.target or "",  # time, key, route, target
            (self.pair or "").partition("__")[0], self.stream,  # client, stream
            input_tokens, output_tokens, cache_read, cache_write,
            cost_usd(tokens, price) if tokens and price else 0.0, price is not None,  # cost_usd, priced
            status, total * 1000, self.retried,  # status, latency_ms, retried
            self.target != self.first_target, self.cache_hit,  # failed_over, cache_hit
        )
        usage.add(entry)

    def _line(self, status: int, error: str | None, total: float) -> AccessLine:
        scope = self.scope or {}
        client = scope.get("client")
        tokens = self.tokens
        # Positional, in the struct's field order (one line per request: keywords cost ~700 ns).
        line = AccessLine(
            datetime.fromtimestamp(self.wall_started, UTC), self.request_id,  # time, request_id
            scope.get("method", ""), scope.get("path", ""), client[0] if client else None,  # method, path, client
            self.key, self.model, self.route, self.target, self.pair, self.attempts,
            status, error, self.stream,
            tokens[0] if tokens else None, tokens[1] if tokens else None,  # tokens_in, tokens_out
            _ms(total), _ms(self.upstream), None if self.ttft is None else _ms(self.ttft),  # total, upstream, ttft
            self.dropped,
        )
        if self.log_bodies:
            body = self.request_body
            line.request_body = None if body is None else body.decode("utf-8", "replace")
            line.response_body = b"".join(self._response_parts).decode("utf-8", "replace")
        return line


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def access_log_of(state: Any) -> AccessLog | None:
    """The app's access log when [server] access-log is on (a reload may turn it off); `state`
    is the router.gateway.state.RouterState."""
    return state.access_log if state.table.loaded.config.server.access_log and accesslog.enabled() else None


def exchange_of(scope: Scope) -> Exchange:
    """The request's exchange; a detached one (recorded nowhere) when no middleware made one."""
    exchange = scope.get(EXCHANGE_KEY)
    return exchange if isinstance(exchange, Exchange) else Exchange(None)


def record_unrouted(scope: Scope, status: int, request_id: str, log: AccessLog | None) -> None:
    """The access-log line of a request no handler took (no such path, or a method its path
    does not serve): the framework answers those before any middleware runs, and an operator
    must still see clients calling what is not served here."""
    if log is None or EXCHANGE_KEY in scope or scope.get("path") in PROBE_PATHS:
        return
    exchange = Exchange(None, scope=scope, log=log)
    exchange.request_id, exchange.status = request_id, status
    exchange.handler_done(False)


class ObserveMiddleware:
    """ASGI middleware for every handled request: one Exchange per request, finished when the
    response (a stream: its last event) is over. Probes and preflights pass straight through."""

    def __init__(self, app: ASGIApp, state: Any, tracing: Tracing | None = None) -> None:
        self.app = app
        self.tracing = tracing  # None: traces off
        self.state = state  # router.gateway.state.RouterState: read per request, a reload may change [server]

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in PROBE_PATHS or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        server = self.state.table.loaded.config.server
        exchange = Exchange(
            self.state.metrics, model_request=path in MODEL_PATHS, scope=scope,
            log=access_log_of(self.state), log_bodies=server.log_bodies, usage=self.state.usage,
            wall=self.state.now,
        )
        scope[EXCHANGE_KEY] = exchange
        if exchange.model_request:
            exchange.tracing = self.tracing  # None: traces off

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.response_started(message)
            elif exchange.reads_body:
                exchange.response_body(message)
            await send(message)

        crashed = False  # a cancellation (the client went away) is not a crash
        try:
            await self.app(scope, receive, observed)
        except Exception:
            crashed = True
            raise
        finally:
            exchange.handler_done(crashed)
