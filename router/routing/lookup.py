"""The immutable routing table the server reads once per request.

Built completely from a `LoadedConfig` (every converter compiled) before it is swapped in, so a
request never sees half a table. Exact model names are one dict hit; globs are compiled at build.
First match wins, in file order: an exact name is indexed in the dict only if no earlier route's
glob could claim it and its route has no conditions (`when`). Everything else is tried in order,
and a route whose model matches but whose conditions fail falls through to the next candidate.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from operator import eq
from types import MappingProxyType

from router.config.conditions import Condition, compile_when
from router.config.load import LoadedConfig
from router.config.prices import TargetPrice, entry_price, target_price
from router.config.rules import route_targets, route_weights, split_target
from router.config.schema import (
    BedrockUpstream,
    ClientProtocol,
    RemoveHeader,
    Retry,
    Route,
    RouteCache,
    SetHeader,
    Upstream,
)
from router.config.target import Capabilities, TargetContext
from router.routing.compose import Converters, build_converters, pair_name, serves
from router.routing.facts import RequestFacts
from router.spokes.registry import spoke_for_kind, spoke_for_target
from router.spokes.spoke import Spoke, UpstreamSide


@dataclass(frozen=True, slots=True)
class Target:
    """One place a route can send a request: the upstream, its context and compiled converters."""

    upstream: str
    kind: str
    ctx: TargetContext
    converters: Converters
    weight: float = 1.0
    # The route's header ops, resolved at load: applied to every upstream request of the target.
    header_set: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    header_remove: frozenset[str] = frozenset()
    # What its tokens cost (router.config.prices), resolved at load.
    price: TargetPrice = TargetPrice()

    def upstream_headers(self, headers: Mapping[str, str]) -> Mapping[str, str]:
        if not self.header_set and not self.header_remove:
            return headers
        # Header names are case-insensitive: a set replaces ours or the client's whatever its case.
        replaced = self.header_remove | self.header_set.keys()
        kept = {k: v for k, v in headers.items() if k.lower() not in replaced}
        return {**kept, **self.header_set}

    @property
    def key(self) -> str:
        """Names the target in logs, headers and the breaker: `upstream/model`."""
        return f"{self.upstream}/{self.ctx.model or '*'}"


@dataclass(frozen=True, slots=True)
class Plan:
    """What a (client protocol, model) lookup returns: the route and its targets in order."""

    route: str
    protocol: ClientProtocol
    targets: tuple[Target, ...]
    balance: str = "ordered"
    retry: Retry = Retry()
    cache: RouteCache | None = None  # the route's response cache; None: off (one attribute test)
    trace_content: bool = False  # the route's prompts and answers go on its trace spans


@dataclass(frozen=True, slots=True)
class _Entry:
    """A (route, model pattern) the lookup tries in file order when the exact dict has no answer:
    every glob, and each exact name the dict cannot answer alone (its route has conditions, or an
    earlier glob or conditional route may take that name first)."""

    match: Callable[[str], object]
    plan: Plan
    condition: Condition | None


@dataclass(frozen=True, slots=True)
class Table:
    """exact: (protocol, model) → plan, only where the first route that could take that name has
      no conditions, so the answer is certain without looking at the request.
    ordered: protocol → the remaining candidates in file order (first match wins).
    plans: (route name, protocol) → plan, and conditions: route name → its compiled `when`; both
      for `router explain`, which walks the routes itself to say why each one did or did not match.
    """

    exact: Mapping[tuple[str, str], Plan]
    ordered: Mapping[str, tuple[_Entry, ...]]
    aliases: Mapping[str, tuple[str, ...]]  # protocol → model names/globs clients may ask for
    loaded: LoadedConfig
    plans: Mapping[tuple[str, str], Plan]
    conditions: Mapping[str, Condition]

    def lookup(self, protocol: ClientProtocol, model: str, facts: RequestFacts | None = None) -> Plan | None:
        """The plan of the first route (in file order) whose models, protocol and conditions all
        match. Without `facts`, routes with conditions are skipped (there is nothing to test)."""
        plan = self.exact.get((protocol, model))
        if plan is not None:
            return plan
        for entry in self.ordered.get(protocol, ()):
            if entry.match(model) and (entry.condition is None or entry.condition.holds(facts)):
                return entry.plan
        return None

    def model_names(self, protocol: ClientProtocol) -> tuple[str, ...]:
        return self.aliases.get(protocol, ())


def is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


def build_table(loaded: LoadedConfig) -> Table:
    exact: dict[tuple[str, str], Plan] = {}
    ordered: dict[str, list[_Entry]] = {}
    aliases: dict[str, list[str]] = {}
    plans: dict[tuple[str, str], Plan] = {}
    conditions: dict[str, Condition] = {}
    for route in loaded.config.routes:
        if route.name in loaded.disabled_routes:
            continue
        condition = compile_when(route.when)
        if condition is not None:
            conditions[route.name] = condition
        for protocol in route.clients:
            plan = _plan(route, protocol, loaded)
            if plan is None:
                continue
            plans[(route.name, protocol)] = plan
            _index(route.models, protocol, plan, condition, exact, ordered.setdefault(protocol, []))
            aliases.setdefault(protocol, []).extend(m for m in route.models if m not in aliases.get(protocol, ()))
    return Table(
        exact=MappingProxyType(exact),
        ordered=MappingProxyType({p: tuple(entries) for p, entries in ordered.items()}),
        aliases=MappingProxyType({p: tuple(names) for p, names in aliases.items()}),
        loaded=loaded,
        plans=MappingProxyType(plans),
        conditions=MappingProxyType(conditions),
    )


def _index(
    models: list[str], protocol: ClientProtocol, plan: Plan, condition: Condition | None,
    exact: dict[tuple[str, str], Plan], entries: list[_Entry],
) -> None:
    """Exact names go into the dict when no earlier candidate could take them; names an earlier
    route always takes (exact in the dict, or an unconditioned glob) are dead and left out."""
    for pattern in models:
        if is_glob(pattern):
            entries.append(_Entry(re.compile(fnmatch.translate(pattern)).match, plan, condition))
        elif (protocol, pattern) in exact or _taken(pattern, entries):
            continue
        elif condition is None and not _claimed(pattern, entries):
            exact[(protocol, pattern)] = plan
        else:
            entries.append(_Entry(partial(eq, pattern), plan, condition))


def _claimed(model: str, entries: list[_Entry]) -> bool:
    """An earlier candidate might take `model` (depending on the request, if it has conditions)."""
    return any(entry.match(model) for entry in entries)


def _taken(model: str, entries: list[_Entry]) -> bool:
    """An earlier unconditioned candidate always takes `model`."""
    return any(entry.condition is None and entry.match(model) for entry in entries)


def _plan(route: Route, protocol: ClientProtocol, loaded: LoadedConfig) -> Plan | None:
    """None when no target of the route can serve this client protocol yet."""
    targets = []
    for index, (text, weight) in enumerate(zip(route_targets(route), route_weights(route))):
        upstream_name, model = split_target(text)
        if upstream_name in loaded.disabled_upstreams:
            continue
        upstream = loaded.config.upstreams[upstream_name]
        target = _target(route, protocol, upstream_name, model, upstream, weight)
        if target is not None:
            targets.append(replace(target, price=target_price(upstream, model, entry_price(route, index))))
    if not targets:
        return None
    return Plan(route.name, protocol, tuple(targets), route.balance, route.retry, route.cache, route.trace_content)


def _target(
    route: Route, protocol: ClientProtocol, upstream_name: str, model: str | None, upstream: Upstream,
    weight: float,
) -> Target | None:
    kind = type(upstream).__struct_config__.tag
    spoke = spoke_for_target(upstream, protocol, (model,) if model else tuple(route.models))
    pair = pair_name(protocol, spoke.name)
    if not serves(pair):
        return None
    caps = Capabilities.resolve(upstream.supports, route.supports)
    guardrail = route.guardrail or (upstream.guardrail if isinstance(upstream, BedrockUpstream) else None)
    ctx = TargetContext(route.name, upstream_name, model, caps, route.ping_interval, guardrail=guardrail)
    converters = build_converters(pair, ctx, route.request, route.response)
    # The side's own per-target headers (Bedrock InvokeModel's guardrail) come first: the
    # route's header ops may still change them.
    side = target_side(upstream, spoke)
    header_set = dict(side.target_headers(ctx)) if side.target_headers is not None else {}
    header_set.update({op.name.lower(): op.value for op in route.headers if isinstance(op, SetHeader)})
    header_remove = frozenset(op.name.lower() for op in route.headers if isinstance(op, RemoveHeader))
    return Target(upstream_name, str(kind), ctx, converters, weight, MappingProxyType(header_set), header_remove)


def target_side(upstream: Upstream, spoke: Spoke) -> UpstreamSide:
    """The upstream side that serves a target: the kind's (its dialect for these settings), or
    the side of the kind's other API that speaks `spoke`."""
    kind_spoke = spoke_for_kind(str(type(upstream).__struct_config__.tag))
    if kind_spoke is spoke:
        return spoke.upstream.for_upstream(upstream)
    return kind_spoke.upstream.also_speaks[spoke.name]
