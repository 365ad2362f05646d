"""All checks on one parsed routes.toml, in one pass: shape, secrets, then semantics.

This is the single place that decides whether a table is valid; `router check`, server start and
hot reload reach it through `router.config.load`, so they can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from router.config.credentials import (
    ClientKeys,
    UpstreamKeys,
    resolve_client_keys,
    resolve_upstream_keys,
)
from router.config.decode import Decoded, decode_config
from router.config.opcheck import check_ops
from router.config.problems import Finding
from router.config.reachability import check_conditions, client_key_names
from router.config.rules import (
    check_guardrail,
    check_clients,
    check_models,
    check_route_names,
    check_server,
    check_targets,
    check_upstream,
    route_targets,
    split_target,
)
from router.config.schema import Route
from router.config.shadow import check_shadowing
from router.config.telemetry import check_telemetry


@dataclass(frozen=True, slots=True)
class Validation:
    decoded: Decoded
    upstream_keys: UpstreamKeys
    client_keys: ClientKeys
    disabled_routes: frozenset[str]
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not any(finding.severity == "error" for finding in self.findings)


def validate(raw: dict[str, Any], environ: Mapping[str, str]) -> Validation:
    decoded = decode_config(raw)
    upstream_keys = resolve_upstream_keys(decoded.upstreams, environ, _users(decoded.routes))
    client_keys = resolve_client_keys(decoded.auth, environ)
    disabled_routes = _disabled_routes(decoded.routes, upstream_keys.disabled)
    findings = [
        *decoded.findings,
        *upstream_keys.findings,
        *client_keys.findings,
        *_semantic_findings(decoded, disabled_routes),
        *check_telemetry(decoded.telemetry, environ),
    ]
    unique = tuple(dict.fromkeys(findings))  # one pass may reach a mistake twice: say it once
    return Validation(decoded, upstream_keys, client_keys, disabled_routes, unique)


def _semantic_findings(decoded: Decoded, disabled_routes: frozenset[str]) -> Iterator[Finding]:
    yield from check_server(decoded.server)
    for name, upstream in decoded.upstreams.items():
        yield from check_upstream(name, upstream)
    yield from check_route_names(decoded.routes)
    key_names = client_key_names(decoded.auth)
    for index, route in decoded.routes:
        yield from check_clients(index, route)
        yield from check_models(index, route)
        yield from check_targets(index, route, decoded.upstream_names)
        yield from check_ops(index, route, decoded.upstreams)
        yield from check_guardrail(index, route, decoded.upstreams)
        yield from check_conditions(index, route, key_names)
    yield from check_shadowing(decoded.routes, disabled_routes)


def _users(routes: list[tuple[int, Route]]) -> dict[str, list[str]]:
    """Upstream name → the names of the routes that target it, in table order."""
    users: dict[str, list[str]] = {}
    for _, route in routes:
        for upstream in dict.fromkeys(split_target(t)[0] for t in route_targets(route)):
            users.setdefault(upstream, []).append(route.name)
    return users


def _disabled_routes(
    routes: list[tuple[int, Route]], disabled_upstreams: set[str]
) -> frozenset[str]:
    """Routes whose every target is a disabled upstream: nothing could serve them."""
    names = set()
    for _, route in routes:
        upstreams = {split_target(target)[0] for target in route_targets(route)}
        if upstreams and upstreams <= disabled_upstreams:
            names.add(route.name)
    return frozenset(names)
