"""What the loader says about a routes.toml: one `Problem` per mistake, each naming the file, the
place (line, route or section, path) and the fix, so an operator can act on a message alone.

Checks produce `Finding`s (a schema path, a message and a fix, no file positions); the loader
turns them into `Problem`s once it knows where in the text each path lives. Problem text never
contains a secret: checks only ever mention variable names, never values.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from router.core.errors import ConfigError

Severity = Literal["error", "warning"]
PathPart = str | int
SchemaPath = tuple[PathPart, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem at a schema path, before it is placed in the file."""

    path: SchemaPath
    message: str
    fix: str
    severity: Severity = "error"


@dataclass(frozen=True, slots=True)
class Problem:
    """One message of `router check`: `render()` for people, `as_json()` for tools.

    route: the route's name for problems under `routes[N]`; otherwise a section label such as
      `upstream deepseek`, `server` or `auth` (None for the file as a whole).
    path: where in the schema, e.g. `routes[2].request[0].field`.
    """

    severity: Severity
    file: str | None
    line: int | None
    column: int | None
    route: str | None
    path: str | None
    message: str
    fix: str

    def render(self) -> str:
        head = _location(self.file, self.line, self.column)
        if self.severity == "warning":
            head += " warning:"
        subject = self._subject()
        body = f"{subject}: {self.message}" if subject else self.message
        return f"{head} {body} — {self.fix}"

    def as_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "route": self.route,
            "path": self.path,
            "message": self.message,
            "fix": self.fix,
        }

    def _subject(self) -> str:
        """`route "x" (routes[1].to)`: the name people know it by, then the exact path."""
        label = _label_text(self.route, self.path)
        if self.path is None:
            return label
        return f"{label} ({self.path})" if label else f"({self.path})"


class InvalidConfig(ConfigError):
    """A routes.toml with errors. `problems` holds every error found in one pass (not just the
    first); `warnings` what would not have stopped loading."""

    def __init__(self, problems: Sequence[Problem], warnings: Sequence[Problem] = ()) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.warnings: tuple[Problem, ...] = tuple(warnings)
        super().__init__(_summary(self.problems))


def did_you_mean(word: object, choices: Iterable[str]) -> str | None:
    """The closest choice to a misspelt `word`, if any is close enough to be a likely typo."""
    if not isinstance(word, str):
        return None
    matches = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def choice_fix(word: object, choices: Iterable[str], *, otherwise: str = "use one of") -> str:
    """`did you mean "x"?` when a choice is close, else the whole (sorted) list of choices."""
    ordered = sorted(choices)
    guess = did_you_mean(word, ordered)
    if guess is not None:
        return f'did you mean "{guess}"?'
    return f"{otherwise}: {', '.join(ordered)}"


def format_path(path: SchemaPath) -> str:
    """`('routes', 2, 'request', 0, 'field')` → `routes[2].request[0].field`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = part if _BARE_KEY.fullmatch(part) else f'"{part}"'
            text += f".{key}" if text else key
    return text


def _location(file: str | None, line: int | None, column: int | None) -> str:
    head = file or "<config>"
    if line is not None:
        head += f":{line}"
        if column is not None:
            head += f":{column}"
    return head + ":"


def _label_text(route: str | None, path: str | None) -> str:
    if route is None:
        return ""
    if path is not None and path.startswith("routes["):
        return f'route "{route}"'
    kind, _, name = route.partition(" ")
    return f'{kind} "{name}"' if name else route


def _summary(problems: Sequence[Problem]) -> str:
    if not problems:
        return "invalid configuration"
    first = problems[0].render()
    more = len(problems) - 1
    return first if more == 0 else f"{first} (and {more} more)"
