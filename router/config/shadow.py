"""Shadowed routes: a route that can never match because earlier routes take all its models.

The first matching route wins, so a later route is dead when, for every one of its model
patterns, some earlier route serving (at least) all of its clients matches that pattern. Deciding
whether one glob contains another is hard in general; this stays conservative (no false alarms):
an earlier pattern covers a later one when it is `*`, identical, or matches the later pattern's
text as if it were a name (`claude-*` covers `claude-3-*` and `claude-3-opus`).

Routes that are off (no key in this environment) cannot take requests, so they shadow nothing.
Neither do routes with conditions (`when`): a request that fails them falls through to the later
route. (A conditional route could still cover a later one whose conditions imply its own; that
needs reasoning about globs and token ranges together, so it stays unreported: never a false
alarm.) A later route's own conditions do not save it: whatever they are, the earlier
unconditioned route takes its models first.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from fnmatch import fnmatchcase

from router.config.conditions import has_conditions
from router.config.problems import Finding
from router.config.rules import glob_problem
from router.config.schema import Route


def check_shadowing(
    routes: Sequence[tuple[int, Route]], disabled: Collection[str]
) -> Iterator[Finding]:
    for position, (index, route) in enumerate(routes):
        if _reported_elsewhere(route):
            continue  # already reported; a broken pattern would make a confusing second message
        earlier = [r for _, r in routes[:position] if r.name not in disabled and not has_conditions(r)]
        winners = _covering_routes(route, earlier)
        if winners is not None:
            yield _finding(index, route, winners)


def _reported_elsewhere(route: Route) -> bool:
    """No models, no clients or a broken pattern: already an error, and calling such a route
    shadowed as well would only confuse."""
    return not route.models or not route.clients or any(map(glob_problem, route.models))


def covers(earlier: str, later: str) -> bool:
    """Whether every model `later` matches is matched by `earlier` (conservatively)."""
    return earlier == "*" or earlier == later or fnmatchcase(later, earlier)


def _covering_routes(route: Route, earlier: Sequence[Route]) -> list[str] | None:
    """Names of the earlier routes that take each of `route`'s patterns; None if one escapes."""
    serving = [r for r in earlier if set(route.clients) <= set(r.clients)]
    winners: list[str] = []
    for pattern in route.models:
        winner = next((r for r in serving if any(covers(q, pattern) for q in r.models)), None)
        if winner is None:
            return None
        if winner.name not in winners:
            winners.append(winner.name)
    return winners


def _finding(index: int, route: Route, winners: list[str]) -> Finding:
    names = " and ".join(f'"{name}"' for name in winners)
    message = f"unreachable: every model it lists is taken first by route {names}"
    fix = f"move it above route {names}, or narrow {names}'s models"
    return Finding(("routes", index, "models"), message, fix)
