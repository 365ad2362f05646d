"""Semantic checks on decoded sections: values that have the right type but cannot work.

Each check is a generator of findings over one section or route, so the loader can run them all
and report everything in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from urllib.parse import urlsplit

from router.config.problems import Finding, SchemaPath, choice_fix
from router.config.schema import (
    BedrockUpstream,
    HttpUpstream,
    base_url_of,
    Route,
    Server,
    Upstream,
)

GLOB_CHARS = frozenset("*?[")
# AWS region names: us-east-1, eu-central-2, ap-southeast-4, us-gov-west-1, ca-west-1 ...
_AWS_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")


def split_target(target: str) -> tuple[str, str | None]:
    """`upstream/model` → (upstream, model), split at the first "/" (model names may contain
    slashes: `openrouter/anthropic/claude-3.5`); plain `upstream` → (upstream, None)."""
    upstream, slash, model = target.partition("/")
    return upstream, (model if slash else None)


def route_targets(route: Route) -> list[str]:
    """The route's targets as `upstream[/model]` texts, in the order written."""
    if isinstance(route.to, str):
        return [route.to]
    return [entry if isinstance(entry, str) else entry.target for entry in route.to]


def route_weights(route: Route) -> list[float]:
    """Each target's weight, in the order of `route_targets` (1 when not given)."""
    if isinstance(route.to, str):
        return [1.0]
    return [1.0 if isinstance(entry, str) else entry.weight for entry in route.to]


def glob_problem(pattern: str) -> str | None:
    """Why a `models` pattern cannot be what its author meant, or None.

    fnmatch treats an unclosed `[` as a literal character, so `claude-[3` would silently match
    only that exact text; in a routing table that is always a mistake."""
    if not pattern.strip():
        return "empty model pattern"
    position = 0
    while position < len(pattern):
        if pattern[position] == "[":
            close = _class_end(pattern, position)
            if close is None:
                return f'unbalanced "[" in model pattern "{pattern}"'
            position = close
        position += 1
    return None


def check_server(server: Server) -> Iterator[Finding]:
    if not 1 <= server.port <= 65535:
        message = f"port {server.port} is out of range"
        yield Finding(("server", "port"), message, "use a port from 1 to 65535")
    if server.workers < 1:
        message = f"workers must be at least 1, not {server.workers}"
        yield Finding(("server", "workers"), message, "set workers = 1 or more")


def check_upstream(name: str, upstream: Upstream) -> Iterator[Finding]:
    if "/" in name:
        message = f'upstream name "{name}" contains "/", but targets split at the first "/"'
        yield Finding(("upstreams", name), message, "rename it without a slash")
    if isinstance(upstream, HttpUpstream):
        parts = urlsplit(base_url_of(upstream))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            # The URL is not echoed: it may carry credentials (https://user:pass@host).
            message = "base-url must be an http:// or https:// URL"
            fix = 'e.g. base-url = "https://api.deepseek.com/v1"'
            yield Finding(("upstreams", name, "base-url"), message, fix)
    if isinstance(upstream, BedrockUpstream) and not _AWS_REGION.fullmatch(upstream.region):
        # The region names the endpoint's host and is signed into every request: a typo is a
        # connection error or a signature AWS refuses, far from here.
        message = f'region "{upstream.region}" is not an AWS region name'
        yield Finding(("upstreams", name, "region"), message, 'e.g. region = "us-east-1"')


def check_guardrail(index: int, route: Route, upstreams: Mapping[str, Upstream]) -> Iterator[Finding]:
    """A route's guardrail is Bedrock's: on a route with no Bedrock target it would do nothing."""
    if route.guardrail is None:
        return
    names = [split_target(target)[0] for target in route_targets(route)]
    if not any(isinstance(upstreams.get(name), BedrockUpstream) for name in names):
        message = "guardrail applies to Bedrock upstreams, and this route targets none"
        yield Finding(("routes", index, "guardrail"), message, "remove it, or target a kind = \"bedrock\" upstream")


def check_route_names(routes: Sequence[tuple[int, Route]]) -> Iterator[Finding]:
    first: dict[str, int] = {}
    for index, route in routes:
        if route.name in first:
            message = f'duplicate route name "{route.name}" (also routes[{first[route.name]}])'
            fix = "rename one of them; route names must be unique"
            yield Finding(("routes", index, "name"), message, fix)
        first.setdefault(route.name, index)


def check_clients(index: int, route: Route) -> Iterator[Finding]:
    if not route.clients:
        message = "clients is empty, so this route serves no front door"
        fix = 'leave clients out to serve all, or list some, e.g. clients = ["anthropic"]'
        yield Finding(("routes", index, "clients"), message, fix)


def check_models(index: int, route: Route) -> Iterator[Finding]:
    path: SchemaPath = ("routes", index, "models")
    if not route.models:
        message = "models is empty, so this route matches nothing"
        yield Finding(path, message, 'list model names or globs, e.g. models = ["claude-*"]')
    for number, pattern in enumerate(route.models):
        problem = glob_problem(pattern)
        if problem is not None:
            fix = 'write a name or a glob such as "claude-*" or "gpt-[45]*"'
            yield Finding((*path, number), problem, fix)


def check_targets(index: int, route: Route, upstream_names: Collection[str]) -> Iterator[Finding]:
    targets = route_targets(route)
    path: SchemaPath = ("routes", index, "to")
    if not targets:
        yield Finding(path, "to is an empty list", 'name a target, e.g. to = "upstream/model"')
    for number, target in enumerate(targets):
        where = path if isinstance(route.to, str) else (*path, number)
        yield from _check_target(target, where, upstream_names)


def _check_target(
    target: str, path: SchemaPath, upstream_names: Collection[str]
) -> Iterator[Finding]:
    upstream, model = split_target(target)
    if upstream not in upstream_names:
        fix = _upstream_fix(upstream, upstream_names)
        yield Finding(path, f'unknown upstream "{upstream}"', fix)
    if model is not None and not model.strip():
        fix = f'write "{upstream}/MODEL", or "{upstream}" to pass the client\'s model name through'
        yield Finding(path, f'empty model after "/" in "{target}"', fix)


def _upstream_fix(upstream: str, upstream_names: Collection[str]) -> str:
    define = f"define [upstreams.{upstream or 'NAME'}]"
    if not upstream_names:
        return define
    return choice_fix(upstream, upstream_names, otherwise=f"{define} or use one of")


def _class_end(pattern: str, start: int) -> int | None:
    """Index of the `]` closing the character class at `start`, following fnmatch's rules (a
    leading `!` negates; a `]` right after the opening is a literal member)."""
    position = start + 1
    if position < len(pattern) and pattern[position] == "!":
        position += 1
    if position < len(pattern) and pattern[position] == "]":
        position += 1
    close = pattern.find("]", position)
    return None if close < 0 else close
