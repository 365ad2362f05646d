"""Secrets, resolved from the environment at load: upstream api keys and client keys.

Findings here name variables, never values: a literal secret pasted into routes.toml is refused
without being repeated back (it would land in terminals, CI logs and JSON reports). Client keys
are kept only as sha256 digests, so a loaded table holds no plaintext client key.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from router.table.envref import parse_env_ref
from router.table.problems import Finding, SchemaPath
from router.table.schema import Auth, KeyHash, Upstream

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(slots=True)
class UpstreamKeys:
    """Upstream name → resolved api key (None: the upstream has none, or it is disabled)."""

    keys: dict[str, str | None] = field(default_factory=dict)
    disabled: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)


@dataclass(slots=True)
class ClientKeys:
    """sha256 hex digest → key name (the variable name for `env:` keys)."""

    hashes: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def resolve_upstream_keys(
    upstreams: Mapping[str, Upstream],
    environ: Mapping[str, str],
    users: Mapping[str, Sequence[str]],
) -> UpstreamKeys:
    """`users` maps an upstream to the routes that target it, so that a missing key names the
    routes it breaks."""
    result = UpstreamKeys()
    for name, upstream in upstreams.items():
        result.keys[name] = _upstream_key(name, upstream, environ, users.get(name, ()), result)
    return result


def resolve_client_keys(auth: Auth, environ: Mapping[str, str]) -> ClientKeys:
    result = ClientKeys()
    for index, entry in enumerate(auth.keys):
        path: SchemaPath = ("auth", "keys", index)
        if isinstance(entry, KeyHash):
            _add_hash(entry, path, result)
        else:
            _add_env_key(entry, path, environ, result)
    return result


def _upstream_key(
    name: str,
    upstream: Upstream,
    environ: Mapping[str, str],
    users: Sequence[str],
    result: UpstreamKeys,
) -> str | None:
    reference: str | None = getattr(upstream, "api_key", None)  # mock upstreams have none
    if reference is None:
        return None
    path: SchemaPath = ("upstreams", name, "api-key")
    variable = parse_env_ref(reference)
    if variable is None:
        result.findings.append(_literal_secret(path, "api-key", _variable_for(name)))
        return None
    value = environ.get(variable) or None
    if value is None:
        if upstream.optional:
            result.disabled.add(name)
        result.findings.append(_unset(variable, path, users, optional=upstream.optional))
    return value


def _unset(variable: str, path: SchemaPath, users: Sequence[str], *, optional: bool) -> Finding:
    if optional:
        message = f"{variable} is not set: this optional upstream is off"
        return Finding(path, message, f"export {variable}=... to enable it", "warning")
    message = f"environment variable {variable} is not set{_used_by(users)}"
    return Finding(path, message, f"export {variable}=... or mark the upstream optional = true")


def _used_by(routes: Sequence[str]) -> str:
    if not routes:
        return ""
    noun = "route" if len(routes) == 1 else "routes"
    names = ", ".join(f'"{name}"' for name in routes)
    return f" (needed by {noun} {names})"


def _add_env_key(
    entry: str, path: SchemaPath, environ: Mapping[str, str], result: ClientKeys
) -> None:
    variable = parse_env_ref(entry)
    if variable is None:
        result.findings.append(_literal_secret(path, "a client key", "ROUTER_KEY"))
        return
    value = environ.get(variable) or None
    if value is None:
        fix = f"export {variable}=... or remove it from auth.keys"
        result.findings.append(Finding(path, f"environment variable {variable} is not set", fix))
        return
    result.hashes[hashlib.sha256(value.encode()).hexdigest()] = variable


def _add_hash(entry: KeyHash, path: SchemaPath, result: ClientKeys) -> None:
    if _SHA256_HEX.fullmatch(entry.sha256) is None:
        message = f'sha256 of key "{entry.name}" is not 64 hex digits'
        fix = "use the output of: printf %s \"$KEY\" | sha256sum"
        result.findings.append(Finding((*path, "sha256"), message, fix))
        return
    result.hashes[entry.sha256.lower()] = entry.name


def _literal_secret(path: SchemaPath, what: str, example: str) -> Finding:
    """A secret written into the file. The value is deliberately not part of the message."""
    message = f"{what} is not an environment reference (value not shown: it may be a secret)"
    fix = f'secrets come from the environment; use env:NAME (e.g. "env:{example}")'
    return Finding(path, message, fix)


def _variable_for(name: str) -> str:
    """A plausible variable name for an upstream's key, for the example in a fix."""
    return re.sub(r"[^A-Z0-9_]", "_", name.upper()) + "_API_KEY"
