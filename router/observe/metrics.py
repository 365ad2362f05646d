"""Prometheus metrics, served at GET /metrics.

One `Metrics` per app (it lives on `RouterState`), each with its own registry, so tests and
several apps in one process never share counts. With `router serve --workers N` (N > 1) every
worker writes its values to files in PROMETHEUS_MULTIPROC_DIR (a fresh temp dir `router serve`
makes before the workers start) and a scrape of any worker sums them all.

    router_requests_total{route,target,pair,status}   model requests (status: the outcome;
                                                      a stream that ended in an error event
                                                      counts as that error's status, 499 =
                                                      the client went away)
    router_upstream_seconds{target,stream}            each attempt's upstream time (a stream's:
                                                      until its last byte)
    router_overhead_seconds{pair,stream}              total time minus upstream time minus
                                                      retry backoff: what the router itself cost
    router_ttft_seconds{route,target}                 streams: request start → first token
    router_tokens_total{route,target,direction}       direction in | out, from the usage the
                                                      upstream reported
    router_retries_total{route,target}                a failed attempt followed by another try
    router_fallbacks_total{route,target}              answers from a target other than the first tried
    router_cooldowns_total{target}                    a target put aside after repeated failures
    router_usage_tokens_total{key,route,target,kind}  tokens of model requests that reached a
                                                      target, by kind: input (uncached), output,
                                                      cache_read, cache_write (they add up to
                                                      every token billed); key "" = no named key
    router_cost_usd_total{key,route,target}           what they cost at the target's price (USD)
    router_usage_cache_hits_total{key,route,target}   those the response cache answered (no
                                                      tokens, no cost)
    router_rate_limited_total{scope,name}             requests refused by a rate limit (scope
                                                      budget-key / budget-route: by a budget)
    router_config_reloads_total{result}               reloaded | unchanged | invalid
    router_cache_hits_total{route}                    requests answered from the response cache
    router_cache_misses_total{route}                  cacheable requests the cache did not have
    router_cache_bytes                                bytes the response cache holds (memory
                                                      backend; summed over live workers)
    router_cache_evictions_total                      cached answers pushed out by its bounds

Per request the cost is a few dict lookups and increments: label children are bound once per
label set and cached (`labels()` itself parses its arguments and takes a lock every call), and
the counters and histograms every model request adds to (requests, tokens, usage tokens, cost;
upstream, overhead and first-token times) take their increments and observations as dict
updates, handed to Prometheus before a scrape and once a second (router.observe.batched: the
client's own `inc` is ~4,000 instructions, `observe` twice that).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from router.core.usage_entry import UsageEntry
from router.observe.batched import BatchedCounter, BatchedHistogram, flush_all

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

UPSTREAM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
# The router's own share is sub-millisecond when all is well; the buckets resolve that range.
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)

_M = TypeVar("_M", Counter, Histogram)
# router_usage_tokens' kinds; `input` is the uncached part, so the kinds add up to every token.
USAGE_KINDS = ("input", "output", "cache_read", "cache_write")


def _nothing() -> None:
    return None


def _bound(metric: _M) -> Callable[..., _M]:
    """`labels(*values)` with the child cached by its values: bound once, then one dict hit."""
    children: dict[tuple[str, ...], _M] = {}

    def child(*values: str) -> _M:
        found = children.get(values)
        if found is None:
            found = children[values] = metric.labels(*values)
        return found

    return child


class Metrics:
    """The router's metrics. The `record_*` methods are what the rest of the router calls."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # `*_created` series double what a scrape carries and no dashboard reads them (the
        # multi-process collector never has them); the switch is the client library's, per process.
        disable_created_metrics()
        self.registry = registry or CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.requests = _bound(Counter(
            "router_requests", "Model requests by route, target, protocol pair and outcome status.",
            ["route", "target", "pair", "status"], registry=reg))
        self.upstream_seconds = _bound(Histogram(
            "router_upstream_seconds", "Time spent waiting on the upstream, per attempt (streams: to the last byte).",
            ["target", "stream"], buckets=UPSTREAM_BUCKETS, registry=reg))
        self.overhead_seconds = _bound(Histogram(
            "router_overhead_seconds", "Router overhead: total request time minus upstream time and retry backoff.",
            ["pair", "stream"], buckets=OVERHEAD_BUCKETS, registry=reg))
        self.ttft_seconds = _bound(Histogram(
            "router_ttft_seconds", "Streams: time from the request's arrival to the first token sent.",
            ["route", "target"], buckets=TTFT_BUCKETS, registry=reg))
        self.tokens = _bound(Counter(
            "router_tokens", "Tokens the upstreams reported, in (prompt, cache included) and out.",
            ["route", "target", "direction"], registry=reg))
        self.retries = _bound(Counter(
            "router_retries", "Failed attempts that were followed by another attempt (target: the one that failed).",
            ["route", "target"], registry=reg))
        self.fallbacks = _bound(Counter(
            "router_fallbacks", "Requests answered by a target other than the first one tried.",
            ["route", "target"], registry=reg))
        self.cooldowns = _bound(Counter(
            "router_cooldowns", "Times a target was put aside after repeated failures.", ["target"], registry=reg))
        self.usage_tokens = _bound(Counter(
            "router_usage_tokens", "Tokens by client key, route, target and kind: input (uncached), output, "
            "cache_read, cache_write.", ["key", "route", "target", "kind"], registry=reg))
        self.cost_usd = _bound(Counter(
            "router_cost_usd", "What requests cost at their target's price, in USD, by client key, route and target.",
            ["key", "route", "target"], registry=reg))
        # What every model request adds to, batched (router.observe.batched); flushed by `flush`.
        self.request_counts = BatchedCounter(self.requests)
        self.token_counts = BatchedCounter(self.tokens)
        # (key, route, target) → the usage kinds' token sums and the USD (record_usage).
        self._usage_pending: dict[tuple[str, str, str], list[float]] = {}
        # Run first by `flush`: the usage batch whose sinks include `record_usage` (set by the app's
        # state, router.observe.usage_batch), so a scrape counts every finished request.
        self.before_flush: Callable[[], None] = _nothing
        self.upstream_times = BatchedHistogram(self.upstream_seconds, UPSTREAM_BUCKETS)
        self.overhead_times = BatchedHistogram(self.overhead_seconds, OVERHEAD_BUCKETS)
        self.ttft_times = BatchedHistogram(self.ttft_seconds, TTFT_BUCKETS)
        self._batched = (self.request_counts, self.token_counts,
                         self.upstream_times, self.overhead_times, self.ttft_times)
        self.usage_cache_hits = _bound(Counter(
            "router_usage_cache_hits", "Model requests the response cache answered, by client key, route and target.",
            ["key", "route", "target"], registry=reg))
        self.rate_limited = _bound(Counter(
            "router_rate_limited", "Requests refused by a rate limit (scope: key, route, ...; name: which one).",
            ["scope", "name"], registry=reg))
        self.config_reloads = _bound(Counter(
            "router_config_reloads", "Config reloads by result: reloaded, unchanged or invalid.",
            ["result"], registry=reg))
        self.limiter_unavailable = Counter(
            "router_ratelimit_store_unavailable", "Rate-limit decisions taken without the shared store "
            "(Redis unreachable): served when fail-open, refused with 503 otherwise.", registry=reg)
        self.cache_hits = _bound(Counter(
            "router_cache_hits", "Requests answered from the response cache, by route.", ["route"], registry=reg))
        self.cache_misses = _bound(Counter(
            "router_cache_misses", "Cacheable requests the response cache did not hold, by route.",
            ["route"], registry=reg))
        self.cache_bytes = Gauge(
            "router_cache_bytes", "Bytes of answers the response cache holds in memory (memory backend).",
            registry=reg, multiprocess_mode="livesum")
        self.cache_evictions = Counter(
            "router_cache_evictions", "Cached answers pushed out by the cache's bounds (memory backend).",
            registry=reg)

    # --- called by other parts of the router -------------------------------------------------------

    def record_rate_limited(self, scope: str, name: str = "") -> None:
        """A request was refused by a rate limit. `scope` says which kind of limit (`key`,
        `route`, `upstream`, ...), `name` which one (a key's name, a route's name); never a key."""
        self.rate_limited(scope, name).inc()

    def record_usage(self, entry: UsageEntry) -> None:
        """A usage sink (router.observe.usage_batch): a finished model request's usage, summed per
        (key, route, target) until the counters' flush."""
        where = (entry.key, entry.route, entry.target)
        sums = self._usage_pending.get(where)
        if sums is None:
            sums = self._usage_pending[where] = [0.0] * (len(USAGE_KINDS) + 1)  # the kinds, then USD
        cache_read, cache_write = entry.cache_read_tokens, entry.cache_write_tokens
        sums[0] += entry.input_tokens - cache_read - cache_write
        sums[1] += entry.output_tokens
        sums[2] += cache_read
        sums[3] += cache_write
        sums[4] += entry.cost_usd
        if entry.cache_hit:  # rare next to the rest: counted at once
            self.usage_cache_hits(*where).inc()

    def _flush_usage(self) -> None:
        if not self._usage_pending:
            return
        pending, self._usage_pending = self._usage_pending, {}
        for (key, route, target), sums in pending.items():
            for kind, amount in zip(USAGE_KINDS, sums, strict=False):
                if amount > 0:
                    self.usage_tokens(key, route, target, kind).inc(amount)
            if sums[-1]:
                self.cost_usd(key, route, target).inc(sums[-1])

    def flush(self) -> None:
        """Hand the batched increments to their counters (before a scrape; the app once a second)."""
        self.before_flush()
        flush_all(self._batched)
        self._flush_usage()

    def record_limiter_unavailable(self) -> None:
        self.limiter_unavailable.inc()

    def record_config_reload(self, result: str) -> None:
        """A reload attempt ended: `reloaded`, `unchanged` or `invalid` (router.server.reload)."""
        self.config_reloads(result).inc()

    def record_cache(self, route: str, hit: bool) -> None:
        (self.cache_hits if hit else self.cache_misses)(route).inc()

    def record_cache_size(self, held_bytes: int, evicted: int) -> None:
        """After a store into the memory cache: what it holds now, and how many it pushed out."""
        self.cache_bytes.set(held_bytes)
        if evicted:
            self.cache_evictions.inc(evicted)

    def record_cooldown(self, target: str) -> None:
        self.cooldowns(target).inc()

    # --- exposition -----------------------------------------------------------------------------

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The scrape body and its content type (OpenMetrics when the scraper asks for it)."""
        encode, content_type = choose_encoder(accept)
        self.flush()  # this worker's own last second; the others' arrive with their next flush
        directory = os.environ.get(MULTIPROC_ENV)
        if not directory:
            return encode(self.registry), content_type
        # Multi-process: every worker's files, summed. A registry per scrape, as the client's docs do.
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
        return encode(registry), content_type


def worker_exited() -> None:
    """Bookkeeping when a worker stops: its live gauges (router_cache_bytes) stop counting."""
    forget_dead_worker(os.getpid())


def forget_dead_worker(pid: int) -> None:
    """A worker's live gauges stop counting; its counters stay (a total never goes down). The
    supervisor calls this for a worker killed before its lifespan could (SIGKILL, OOM)."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory and os.path.isdir(directory):
        mark_process_dead(pid, directory)


@contextmanager
def multiprocess_directory(workers: int) -> Iterator[None]:
    """For `router serve --workers N` (N > 1): a fresh, empty PROMETHEUS_MULTIPROC_DIR, set before
    uvicorn starts the workers (they inherit it and pick the file-backed values at import), and
    removed afterwards. An operator's own PROMETHEUS_MULTIPROC_DIR is used as it is."""
    if workers <= 1 or os.environ.get(MULTIPROC_ENV):
        yield
        return
    directory = tempfile.mkdtemp(prefix="router-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)
