"""What each client key may do and how much: allow-lists and rate limits, compiled at load.

    routes.toml [auth] keys + keys file + [[routes]] limits + [limits]
        └─ check_access (findings, at load) ─► Access (immutable, on LoadedConfig)
                                                 └─ Access.admit(key, route, model) per request
                                                      → PermissionDenied | None | RuleSet

`KeyHashes` is who may call at all: the accepted keys, and whether a key is asked for when
none is left.

`Access.active` is False when no key has an allow-list and nothing has a limit: the request path
then pays one attribute read and one `if`. The rules of one (key, route) pair are made on first
use and kept (there are as many pairs as the configuration allows, no more).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal
from urllib.parse import urlsplit

from router.config.envref import parse_env_ref
from router.config.problems import Finding, SchemaPath, choice_fix
from router.config.rules import glob_problem
from router.config.schema import Budget, KeyHash, Limits, Rate, Route, Server
from router.core.errors import PermissionDenied

Unit = Literal["requests", "tokens"]
REDIS_SCHEMES = ("redis", "rediss", "unix")

# Where the per-worker warnings point: the setting that makes them true and is always written
# when they are (the memory backend is the default, so [limits] may not be in the file at all).
WORKERS = ("server", "workers")


@dataclass(frozen=True, slots=True)
class LimitSettings:
    """`[limits]` resolved: which backend counts, and where. The URL may hold a password from
    the environment, so it stays out of repr()."""

    backend: Literal["memory", "redis"] = "memory"
    redis_url: str | None = field(default=None, repr=False)
    fail_open: bool = True


@dataclass(frozen=True, slots=True)
class Rule:
    """One budget a request draws on. `name` is its storage key (shared by replicas through
    Redis), `scope` how messages name it."""

    name: str
    scope: str
    unit: Unit
    limit: int


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Every budget one request must fit, all or none."""

    rules: tuple[Rule, ...]
    settings: LimitSettings

    @property
    def counts_tokens(self) -> bool:
        return any(rule.unit == "tokens" for rule in self.rules)


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    """One named key's allow-lists (None: everything) and own limits."""

    routes: frozenset[str] | None = None
    models: Callable[[str], object] | None = None
    limits: Rate | None = None


@dataclass(frozen=True, slots=True)
class Access:
    policies: Mapping[str, KeyPolicy] = field(default_factory=lambda: MappingProxyType({}))
    route_limits: Mapping[str, Rate] = field(default_factory=lambda: MappingProxyType({}))
    settings: LimitSettings = LimitSettings()
    active: bool = False
    # Spending caps (router.gateway.budgets checks them): key name → budget, route name → budget.
    key_budgets: Mapping[str, Budget] = field(default_factory=lambda: MappingProxyType({}))
    route_budgets: Mapping[str, Budget] = field(default_factory=lambda: MappingProxyType({}))
    _rules: dict[tuple[str | None, str], RuleSet | None] = field(default_factory=dict, repr=False, compare=False)

    def admit(self, key: str | None, route: str, model: str) -> RuleSet | None:
        """Raise PermissionDenied when `key` may not use `route` or `model`; else the limits
        that apply (None: none)."""
        policy = self.policies.get(key) if key is not None else None
        if policy is not None:
            if policy.routes is not None and route not in policy.routes:
                raise PermissionDenied(f'this API key ("{key}") may not use route "{route}"')
            if policy.models is not None and not policy.models(model):
                raise PermissionDenied(f'this API key ("{key}") may not use model "{model}"')
        cache = (key, route)
        try:
            return self._rules[cache]
        except KeyError:
            rules = self._rules[cache] = self._rule_set(key, policy, route)
            return rules

    def _rule_set(self, key: str | None, policy: KeyPolicy | None, route: str) -> RuleSet | None:
        rules = [
            *_rules(f"key:{key}", f'key "{key}"', policy.limits if policy else None),
            *_rules(f"route:{route}", f'route "{route}"', self.route_limits.get(route)),
        ]
        return RuleSet(tuple(rules), self.settings) if rules else None


# What a server does when its [auth] names key sources that hold no key: the reload log,
# `router keys` and `router check` all say it in these words.
NO_KEY_LEFT = "no client key is left: servers refuse every client (401) until a key is added"


class KeyHashes(Mapping[str, str]):
    """The client keys a server accepts (sha256 hex digest → key name) and whether it asks for
    a key at all. An empty mapping alone cannot tell "no auth configured" (open, loopback only)
    from "keys configured, none left" (every client refused): `required` does, and a server
    whose `[auth]` names keys or a keys file stays closed when the last one is revoked."""

    __slots__ = ("_hashes", "required")

    def __init__(self, hashes: Mapping[str, str], *, required: bool) -> None:
        self._hashes = MappingProxyType(dict(hashes))
        self.required = required or bool(hashes)

    def __getitem__(self, digest: str) -> str:
        return self._hashes[digest]

    def get(self, digest: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self._hashes.get(digest, default)  # per request: the C lookup, not Mapping's

    def __contains__(self, digest: object) -> bool:
        return digest in self._hashes

    def __iter__(self) -> Iterator[str]:
        return iter(self._hashes)

    def __len__(self) -> int:
        return len(self._hashes)

    def __repr__(self) -> str:
        return f"KeyHashes({sorted(self._hashes.values())}, required={self.required})"  # names, never digests


def keys_required(hashes: Mapping[str, str]) -> bool:
    """Whether a client must present a key: always when there are keys; with none, only when
    they are a KeyHashes that says keys are configured."""
    return bool(hashes) or (isinstance(hashes, KeyHashes) and hashes.required)


def _rules(name: str, scope: str, rate: Rate | None) -> Iterator[Rule]:
    if rate is None:
        return
    if rate.rpm is not None:
        yield Rule(f"{name}:rpm", scope, "requests", rate.rpm)
    if rate.tpm is not None:
        yield Rule(f"{name}:tpm", scope, "tokens", rate.tpm)


# --- building and checking, at load ---------------------------------------------------------------


@dataclass(slots=True)
class AccessCheck:
    """The compiled Access and what is wrong, split by file: `config` findings have
    routes.toml paths, `keys_file` findings keys-file paths."""

    access: Access
    config: list[Finding] = field(default_factory=list)
    keys_file: list[Finding] = field(default_factory=list)


def check_access(
    *,
    config_keys: Sequence[tuple[SchemaPath, str | KeyHash]],
    file_keys: Sequence[tuple[SchemaPath, KeyHash]],
    admin_keys: Sequence[tuple[SchemaPath, str | KeyHash]],
    routes: Sequence[tuple[int, Route]],
    limits: Limits,
    server: Server,
    environ: Mapping[str, str],
) -> AccessCheck:
    route_names = [route.name for _, route in routes]
    result = AccessCheck(Access())
    seen: dict[str, SchemaPath] = {}
    policies: dict[str, KeyPolicy] = {}
    key_budgets: dict[str, Budget] = {}
    for entries, out in ((config_keys, result.config), (file_keys, result.keys_file)):
        for path, entry in entries:
            name = parse_env_ref(entry) if isinstance(entry, str) else entry.name
            if name is None:
                continue  # a literal secret: credentials.py refuses it without repeating it
            out.extend(_duplicate(name, path, seen))
            if isinstance(entry, KeyHash):
                out.extend(_check_key(entry, path, route_names))
                policy = _policy(entry)
                if policy is not None:
                    policies[name] = policy
                if entry.budget is not None:
                    key_budgets[name] = entry.budget
    for path, entry in admin_keys:
        if isinstance(entry, KeyHash) and (entry.routes, entry.models, entry.limits, entry.budget) != (None,) * 4:
            message = f'admin key "{entry.name}" has routes, models, limits or a budget'
            result.config.append(Finding(path, message, "admin keys open only the admin endpoints: remove them"))
    route_limits = {}
    for index, route in routes:
        if route.limits is not None:
            result.config.extend(_check_rate(route.limits, ("routes", index, "limits")))
            route_limits[route.name] = route.limits
    settings = _settings(limits, environ, result.config)
    limited = bool(route_limits) or any(p.limits is not None for p in policies.values())
    if limited and settings.backend == "memory" and server.workers > 1:
        message = f"rate limits count in each of the {server.workers} workers: together they allow {server.workers}x"
        result.config.append(Finding(WORKERS, message, 'use [limits] backend = "redis" to share one budget', "warning"))
    route_budgets = {route.name: route.budget for _, route in routes if route.budget is not None}
    result.config.extend(_memory_budget_warning(bool(key_budgets) or bool(route_budgets), settings, server))
    result.access = Access(
        policies=MappingProxyType(policies),
        route_limits=MappingProxyType(route_limits),
        settings=settings,
        active=bool(policies) or bool(route_limits),
        key_budgets=MappingProxyType(key_budgets),
        route_budgets=MappingProxyType(route_budgets),
    )
    return result


def _memory_budget_warning(budgeted: bool, settings: LimitSettings, server: Server) -> Iterator[Finding]:
    """Spend kept in memory is each worker's own: every worker lets a key or route spend its
    whole budget, so together they allow `workers` times as much."""
    if budgeted and settings.backend == "memory" and server.workers > 1:
        message = (f"budgets are counted in memory by each of the {server.workers} workers on its own: "
                   f"a key or route may spend {server.workers}x its budget")
        yield Finding(WORKERS, message, 'use [limits] backend = "redis" so every worker adds to one total', "warning")


def _duplicate(name: str, path: SchemaPath, seen: dict[str, SchemaPath]) -> list[Finding]:
    if name not in seen:
        seen[name] = path
        return []
    message = f'a second key named "{name}": its permissions and limits would be mixed up with the first'
    return [Finding(path, message, "give every key a name of its own (`router keys revoke` removes one)")]


def _check_key(entry: KeyHash, path: SchemaPath, route_names: Sequence[str]) -> Iterator[Finding]:
    for index, route in enumerate(entry.routes or ()):
        if route not in route_names:
            fix = choice_fix(route, route_names, otherwise="the routes are")
            yield Finding((*path, "routes", index), f'no route named "{route}"', fix)
    for index, pattern in enumerate(entry.models or ()):
        problem = glob_problem(pattern)
        if problem is not None:
            yield Finding((*path, "models", index), problem, "close the bracket, or escape it as [[]")
    if entry.limits is not None:
        yield from _check_rate(entry.limits, (*path, "limits"))


def _check_rate(rate: Rate, path: SchemaPath) -> Iterator[Finding]:
    for unit in ("rpm", "tpm"):
        value = getattr(rate, unit)
        if value is not None and value < 1:
            yield Finding((*path, unit), f"{unit} = {value} allows nothing", f"use a positive number, or leave {unit} out for no limit")


def _policy(entry: KeyHash) -> KeyPolicy | None:
    if entry.routes is None and entry.models is None and entry.limits is None:
        return None
    models = None
    if entry.models is not None:
        pattern = "|".join(fnmatch.translate(model) for model in entry.models) or "(?!)"
        models = re.compile(pattern).match
    routes = frozenset(entry.routes) if entry.routes is not None else None
    return KeyPolicy(routes, models, entry.limits)


def _settings(limits: Limits, environ: Mapping[str, str], out: list[Finding]) -> LimitSettings:
    url = None
    if limits.backend == "redis":
        url = _redis_url(limits.redis_url, environ, out)
    elif limits.redis_url is not None:
        message = 'redis-url is set but backend is "memory"'
        out.append(Finding(("limits", "redis-url"), message, 'set backend = "redis" to use it', "warning"))
    return LimitSettings(limits.backend, url, limits.fail_open)


def _redis_url(reference: str | None, environ: Mapping[str, str], out: list[Finding]) -> str | None:
    path: SchemaPath = ("limits", "redis-url")
    if reference is None:
        out.append(Finding(("limits",), 'backend "redis" needs a redis-url', 'add redis-url = "env:REDIS_URL"'))
        return None
    variable = parse_env_ref(reference)
    if variable is None:
        return _literal_url(reference, path, out)
    value = environ.get(variable) or None
    if value is None:
        out.append(Finding(path, f"environment variable {variable} is not set", f"export {variable}=redis://host:6379/0"))
        return None
    if urlsplit(value).scheme not in REDIS_SCHEMES:
        out.append(Finding(path, f"{variable} is not a redis:// URL", "use redis://, rediss:// or unix://"))
        return None
    return value


def _literal_url(value: str, path: SchemaPath, out: list[Finding]) -> str | None:
    parts = urlsplit(value)
    if parts.password:
        message = "redis-url holds a password (value not shown: it is a secret)"
        out.append(Finding(path, message, 'put the URL in the environment: redis-url = "env:REDIS_URL"'))
        return None
    if parts.scheme not in REDIS_SCHEMES:
        out.append(Finding(path, f'"{value}" is not a redis:// URL', "use redis://host:6379/0, rediss:// or unix://"))
        return None
    return value
