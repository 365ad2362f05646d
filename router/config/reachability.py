"""Conditions that can never hold: a route with them is dead weight that looks alive.

Shadowing by earlier routes is shadow.py; this module looks at one route's own `when`:
- `min-input-tokens` above `max-input-tokens` (or a negative maximum): no request fits;
- a header whose list of allowed values is empty, or whose name no HTTP header can have;
- `key = []`: no key is in an empty list;
- a key name that no configured client key has: only a warning, since keys are often added to
  `[auth]` after the routes that will use them, but the route cannot match until then.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from router.config.envref import parse_env_ref
from router.config.problems import Finding, SchemaPath, choice_fix
from router.config.schema import Auth, KeyHash, Route, When

# RFC 9110 field-name characters: a header condition naming anything else can never match.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# The name router/server/serve.py gives the key it generates when no keys are configured.
GENERATED_KEY_NAME = "generated"


def client_key_names(auth: Auth) -> frozenset[str] | None:
    """The names `when.key` may use: key tables' names and `env:` keys' variable names (the same
    names the loader gives each key's hash). With no keys configured, the server generates one
    when it listens beyond loopback. None when a keys file may hold more names."""
    if _keys_file(auth):
        return None
    if not auth.keys and not _keys_file(auth):
        return frozenset({GENERATED_KEY_NAME})
    names = set()
    for entry in auth.keys:
        name = entry.name if isinstance(entry, KeyHash) else parse_env_ref(entry)
        if name is not None:
            names.add(name)
    return frozenset(names)


def _keys_file(auth: Auth) -> str | None:
    """`[auth] keys-file`: its keys are read apart from this file, so their names are not known
    here (read defensively: the keys file is a newer part of the schema)."""
    value = getattr(auth, "keys_file", None)
    return value if isinstance(value, str) else None


def check_conditions(
    index: int, route: Route, key_names: frozenset[str] | None
) -> Iterator[Finding]:
    """`key_names`: the client key names `when.key` may use; None when they cannot all be known
    (a keys file), which leaves unknown names unreported rather than wrongly reported."""
    when = route.when
    if when is None:
        return
    path: SchemaPath = ("routes", index, "when")
    yield from _token_bounds(when, path)
    yield from _headers(when, path)
    yield from _keys(when, path, key_names)


def _token_bounds(when: When, path: SchemaPath) -> Iterator[Finding]:
    low, high = when.min_input_tokens, when.max_input_tokens
    if high is not None and high < 0:
        message = f"max-input-tokens is {high}, so no request fits and this route never matches"
        yield Finding((*path, "max-input-tokens"), message, "use a bound of 0 or more, or remove it")
    elif low is not None and high is not None and low > high:
        message = f"min-input-tokens {low} is above max-input-tokens {high}, so this route never matches"
        fix = "swap the two bounds, or remove one of them"
        yield Finding((*path, "min-input-tokens"), message, fix)


def _headers(when: When, path: SchemaPath) -> Iterator[Finding]:
    for name, value in when.header.items():
        where: SchemaPath = (*path, "header", name)
        if not _HEADER_NAME.fullmatch(name):
            message = f'"{name}" is not a valid header name, so this condition never holds'
            yield Finding(where, message, 'write the bare name, e.g. header = { "x-team" = "research" }')
        if isinstance(value, list) and not value:
            message = f'header "{name}" has an empty list of values, so this route never matches'
            fix = f'list the values it may have, e.g. {{ "{name}" = ["a", "b-*"] }}, or remove it'
            yield Finding(where, message, fix)


def _keys(when: When, path: SchemaPath, key_names: frozenset[str] | None) -> Iterator[Finding]:
    if when.key is None:
        return
    if not when.key:
        message = "key is an empty list, so no client key matches and this route never matches"
        yield Finding((*path, "key"), message, "name the client keys it serves, or remove key")
        return
    for number, name in enumerate(when.key):
        if key_names is not None and name not in key_names:
            message = f'no client key is named "{name}", so that name can never match'
            yield Finding((*path, "key", number), message, _key_fix(name, key_names), "warning")


def _key_fix(name: str, key_names: frozenset[str]) -> str:
    add = f'add {{ name = "{name}", sha256 = "..." }} to [auth] keys'
    if key_names == {GENERATED_KEY_NAME}:
        return f"{add} (none are configured)"
    return choice_fix(name, key_names, otherwise=f"{add}, or use one of")
