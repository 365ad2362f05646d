"""One model request's usage record: what the ledger stores, the usage counters count and the
budgets add up. Built once per request that reached a target, when it is over
(router.observe.exchange), and handed to the usage sinks (the ledger's `record`)."""

from __future__ import annotations

import msgspec


class UsageEntry(msgspec.Struct, frozen=True, gc=False):
    """time: when the request arrived (epoch seconds). key: the client key's name ("" without a
    named key). target: `upstream/model` as in the metrics. client: the client protocol.
    input_tokens: every prompt token, cache reads and writes included; cache_read_tokens and
    cache_write_tokens are the parts of it that were. cost_usd: 0.0 when the target has no
    price (`priced` false). retried: an attempt failed before this answer. failed_over: the
    answer came from a target other than the first tried. cache_hit: answered from the response
    cache (no tokens, no cost: counted as a hit)."""

    time: float
    key: str
    route: str
    target: str
    client: str
    stream: bool
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float
    priced: bool
    status: int
    latency_ms: float
    retried: bool
    failed_over: bool
    cache_hit: bool = False
