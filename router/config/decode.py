"""Decode raw routes.toml data section by section, item by item.

Each upstream and each route is converted on its own, so one broken route never hides what is
wrong with the next one; items that fail are left out of `Decoded` (their findings say why) and
the semantic checks run on what did decode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from router.config.problems import Finding, SchemaPath
from router.config.schema import Auth, Cache, Config, Limits, ResponseStore, Route, Server, Telemetry, Upstream
from router.config.structure import from_validation_error, walk

T = TypeVar("T")


@dataclass(slots=True)
class Decoded:
    """What decoded. `upstream_names` includes upstreams that failed to decode, so a route that
    targets a broken upstream is not also told that the upstream does not exist."""

    server: Server = field(default_factory=Server)
    auth: Auth = field(default_factory=Auth)
    limits: Limits = field(default_factory=Limits)
    response_store: ResponseStore = field(default_factory=ResponseStore)
    cache: Cache = field(default_factory=Cache)
    telemetry: Telemetry | None = None
    upstreams: dict[str, Upstream] = field(default_factory=dict)
    upstream_names: frozenset[str] = frozenset()
    routes: list[tuple[int, Route]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def config(self) -> Config:
        """The whole table; only meaningful when nothing failed to decode."""
        routes = [route for _, route in self.routes]
        return Config(server=self.server, auth=self.auth, limits=self.limits, response_store=self.response_store,
                      cache=self.cache,
                      telemetry=self.telemetry,
                      upstreams=self.upstreams, routes=routes)


def decode_config(raw: dict[str, Any]) -> Decoded:
    decoded = Decoded()
    _top_level_keys(raw, decoded.findings)
    decoded.server = _section(raw, "server", Server, decoded.findings) or Server()
    decoded.auth = _section(raw, "auth", Auth, decoded.findings) or Auth()
    decoded.limits = _section(raw, "limits", Limits, decoded.findings) or Limits()
    decoded.response_store = _section(raw, "response-store", ResponseStore, decoded.findings) or ResponseStore()
    decoded.cache = _section(raw, "cache", Cache, decoded.findings) or Cache()
    decoded.telemetry = _section(raw, "telemetry", Telemetry, decoded.findings)
    _upstreams(raw.get("upstreams", {}), decoded)
    _routes(raw.get("routes", []), decoded)
    return decoded


def decode_item(value: Any, tp: Any, path: SchemaPath, findings: list[Finding]) -> Any:
    """One item through the shape walk, then msgspec itself; None when it does not decode.

    msgspec's own error is reported only when the walk found nothing (it would repeat it)."""
    local: list[Finding] = []
    cleaned = walk(value, tp, path, local)
    findings.extend(local)
    try:
        return msgspec.convert(cleaned, type=tp, str_keys=True)
    except msgspec.ValidationError as exc:
        if not local:
            findings.append(from_validation_error(exc, tp, path))
        return None


def _top_level_keys(raw: dict[str, Any], findings: list[Finding]) -> None:
    """Unknown top-level keys (the sections themselves are walked one item at a time)."""
    sections = ("server", "auth", "limits", "response-store", "telemetry", "cache", "upstreams", "routes")
    unknown = {key: value for key, value in raw.items() if key not in sections}
    walk(unknown, Config, (), findings)


def _section(raw: dict[str, Any], key: str, tp: type[T], findings: list[Finding]) -> T | None:
    if key not in raw:
        return None
    result: T | None = decode_item(raw[key], tp, (key,), findings)
    return result


def _upstreams(value: Any, decoded: Decoded) -> None:
    if not isinstance(value, dict):
        walk(value, dict[str, Upstream], ("upstreams",), decoded.findings)
        return
    decoded.upstream_names = frozenset(value)
    for name, item in value.items():
        upstream = decode_item(item, Upstream, ("upstreams", name), decoded.findings)
        if upstream is not None:
            decoded.upstreams[name] = upstream


def _routes(value: Any, decoded: Decoded) -> None:
    if not isinstance(value, list):
        walk(value, list[Route], ("routes",), decoded.findings)
        return
    for index, item in enumerate(value):
        route = decode_item(item, Route, ("routes", index), decoded.findings)
        if route is not None:
            decoded.routes.append((index, route))
