"""Route conditions (`when = { ... }`), compiled at load: what a request must be like for a
route to take it.

A route's `when` becomes a `Condition`: a tuple of checks ordered cheap first (key, headers,
then body facts, the token estimate last), so a failing cheap check spares the rest. Header globs
are compiled here too, never per request. The facts a check reads about one request are computed
lazily by router.routing.facts; a lookup without facts cannot evaluate a condition, so
conditional routes are skipped there.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from operator import attrgetter, eq
from typing import Literal, Protocol

from router.config.rules import GLOB_CHARS
from router.config.schema import Route, When


class Facts(Protocol):
    """What a check may ask of one request (router.routing.facts.RequestFacts computes it)."""

    key_name: str | None

    def header(self, name: str) -> str | None: ...

    @property
    def thinking(self) -> bool: ...

    @property
    def images(self) -> bool: ...

    @property
    def tools(self) -> bool: ...

    @property
    def input_tokens(self) -> int: ...


# --- conditions ----------------------------------------------------------------------------------


class Check(Protocol):
    """One condition of a route: `label` as the operator wrote it, `holds` for the lookup and
    `observed` (the request's value, as text) for `router explain`."""

    @property
    def label(self) -> str: ...

    def holds(self, facts: Facts) -> bool: ...

    def observed(self, facts: Facts) -> str: ...


@dataclass(frozen=True, slots=True)
class KeyCheck:
    names: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"key in [{', '.join(_quoted(n) for n in self.names)}]"

    def holds(self, facts: Facts) -> bool:
        return facts.key_name in self.names

    def observed(self, facts: Facts) -> str:
        return _quoted(facts.key_name) if facts.key_name is not None else "no key"


@dataclass(frozen=True, slots=True)
class HeaderCheck:
    name: str  # lower case
    patterns: tuple[str, ...]
    tests: tuple[Callable[[str], object], ...]  # one per pattern, compiled at load

    @property
    def label(self) -> str:
        values = ", ".join(_quoted(p) for p in self.patterns)
        return f"header {self.name} = {values}" if len(self.patterns) == 1 else f"header {self.name} in [{values}]"

    def holds(self, facts: Facts) -> bool:
        value = facts.header(self.name)
        return value is not None and any(test(value) for test in self.tests)

    def observed(self, facts: Facts) -> str:
        value = facts.header(self.name)
        return "absent" if value is None else _quoted(value)


@dataclass(frozen=True, slots=True)
class FlagCheck:
    fact: Literal["tools", "thinking", "images"]
    want: bool
    read: Callable[[Facts], bool]

    @property
    def label(self) -> str:
        return f"{self.fact} = {_bool(self.want)}"

    def holds(self, facts: Facts) -> bool:
        return self.read(facts) is self.want

    def observed(self, facts: Facts) -> str:
        return _bool(self.read(facts))


@dataclass(frozen=True, slots=True)
class TokenCheck:
    low: int | None
    high: int | None

    @property
    def label(self) -> str:
        bounds = []
        if self.low is not None:
            bounds.append(f"min-input-tokens = {self.low}")
        if self.high is not None:
            bounds.append(f"max-input-tokens = {self.high}")
        return ", ".join(bounds)

    def holds(self, facts: Facts) -> bool:
        tokens = facts.input_tokens
        return (self.low is None or tokens >= self.low) and (self.high is None or tokens <= self.high)

    def observed(self, facts: Facts) -> str:
        return f"~{facts.input_tokens} input tokens"


@dataclass(frozen=True, slots=True)
class Condition:
    """A route's `when`, compiled: every check must hold. Checks are ordered cheap first."""

    checks: tuple[Check, ...]

    def holds(self, facts: Facts | None) -> bool:
        if facts is None:
            return False  # nothing to evaluate against: see the module docstring
        for check in self.checks:
            if not check.holds(facts):
                return False
        return True

    @property
    def needs_tokens(self) -> bool:
        return any(isinstance(check, TokenCheck) for check in self.checks)


def has_conditions(route: Route) -> bool:
    """Whether the route has any condition (`when = {}` has none: it always holds)."""
    return route.when is not None and compile_when(route.when) is not None


def compile_when(when: When | None) -> Condition | None:
    """The route's conditions as checks, cheap first; None when there are none to check."""
    if when is None:
        return None
    checks: list[Check] = []
    if when.key is not None:
        checks.append(KeyCheck(tuple(when.key)))
    checks.extend(_header_check(name, value) for name, value in when.header.items())
    for fact in ("tools", "thinking", "images"):
        want: bool | None = getattr(when, fact)
        if want is not None:
            checks.append(FlagCheck(fact, want, attrgetter(fact)))
    if when.min_input_tokens is not None or when.max_input_tokens is not None:
        checks.append(TokenCheck(when.min_input_tokens, when.max_input_tokens))
    return Condition(tuple(checks)) if checks else None


def _header_check(name: str, value: str | list[str]) -> HeaderCheck:
    patterns = (value,) if isinstance(value, str) else tuple(value)
    return HeaderCheck(name.lower(), patterns, tuple(_value_test(p) for p in patterns))


def _value_test(pattern: str) -> Callable[[str], object]:
    """Exact text compares as a string; a glob (case-sensitive, like the value) as a regex."""
    if not GLOB_CHARS.intersection(pattern):
        return partial(eq, pattern)
    return re.compile(fnmatch.translate(pattern)).match


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _bool(value: bool) -> str:
    return "true" if value else "false"
