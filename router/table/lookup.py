"""The immutable routing table the server reads once per request.

Built completely from a `LoadedConfig` (every converter compiled) before it is swapped in, so a
request never sees half a table. Exact model names are one dict hit; globs are compiled at build.
First match wins: an exact name is indexed only if no earlier route's glob already claims it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from router.convert.context import Capabilities, TargetContext
from router.table.load import LoadedConfig
from router.table.pairs import Converters, build_converters, serves
from router.table.rules import route_targets, route_weights, split_target
from router.table.schema import ClientProtocol, Retry, Route, Upstream

# Which wire protocol each upstream kind speaks. The mock answers in OpenAI shape.
UPSTREAM_PROTOCOL: Mapping[str, str] = {"openai": "openai", "mock": "openai", "anthropic": "anthropic"}


@dataclass(frozen=True, slots=True)
class Target:
    """One place a route can send a request: the upstream, its context and compiled converters."""

    upstream: str
    kind: str
    ctx: TargetContext
    converters: Converters
    weight: float = 1.0

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


@dataclass(frozen=True, slots=True)
class _Glob:
    protocol: ClientProtocol
    match: Callable[[str], object]
    plan: Plan


@dataclass(frozen=True, slots=True)
class Table:
    exact: Mapping[tuple[str, str], Plan]
    globs: tuple[_Glob, ...]
    aliases: Mapping[str, tuple[str, ...]]  # protocol → model names/globs clients may ask for
    loaded: LoadedConfig

    def lookup(self, protocol: ClientProtocol, model: str) -> Plan | None:
        plan = self.exact.get((protocol, model))
        if plan is not None:
            return plan
        for glob in self.globs:
            if glob.protocol == protocol and glob.match(model):
                return glob.plan
        return None

    def model_names(self, protocol: ClientProtocol) -> tuple[str, ...]:
        return self.aliases.get(protocol, ())


def is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


def build_table(loaded: LoadedConfig) -> Table:
    exact: dict[tuple[str, str], Plan] = {}
    globs: list[_Glob] = []
    aliases: dict[str, list[str]] = {}
    for route in loaded.config.routes:
        if route.name in loaded.disabled_routes:
            continue
        for protocol in route.clients:
            plan = _plan(route, protocol, loaded)
            if plan is None:
                continue
            _index(route, protocol, plan, exact, globs)
            aliases.setdefault(protocol, []).extend(m for m in route.models if m not in aliases.get(protocol, ()))
    return Table(
        exact=exact,
        globs=tuple(globs),
        aliases={p: tuple(names) for p, names in aliases.items()},
        loaded=loaded,
    )


def _index(
    route: Route, protocol: ClientProtocol, plan: Plan, exact: dict[tuple[str, str], Plan], globs: list[_Glob]
) -> None:
    for pattern in route.models:
        if is_glob(pattern):
            matcher = re.compile(fnmatch.translate(pattern)).match
            globs.append(_Glob(protocol, matcher, plan))
        elif (protocol, pattern) not in exact and not _claimed(protocol, pattern, globs):
            exact[(protocol, pattern)] = plan


def _claimed(protocol: str, model: str, globs: list[_Glob]) -> bool:
    return any(g.protocol == protocol and g.match(model) for g in globs)


def _plan(route: Route, protocol: ClientProtocol, loaded: LoadedConfig) -> Plan | None:
    """None when no target of the route can serve this client protocol yet."""
    targets = []
    for text, weight in zip(route_targets(route), route_weights(route)):
        upstream_name, model = split_target(text)
        if upstream_name in loaded.disabled_upstreams:
            continue
        target = _target(route, protocol, upstream_name, model, loaded.config.upstreams[upstream_name], weight)
        if target is not None:
            targets.append(target)
    return Plan(route.name, protocol, tuple(targets), route.balance, route.retry) if targets else None


def _target(
    route: Route, protocol: ClientProtocol, upstream_name: str, model: str | None, upstream: Upstream,
    weight: float,
) -> Target | None:
    kind = type(upstream).__struct_config__.tag
    pair = f"{protocol}__{UPSTREAM_PROTOCOL[str(kind)]}"
    if not serves(pair):
        return None
    caps = Capabilities.resolve(upstream.supports, route.supports)
    ctx = TargetContext(route.name, upstream_name, model, caps, route.ping_interval)
    return Target(upstream_name, str(kind), ctx, build_converters(pair, ctx, route.request), weight)
