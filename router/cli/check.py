"""`router check [PATH] [--json]`: validate a routing table offline with the server's own loader.

Exit codes: 0 valid, 1 invalid, 2 usage (bad flags, no such file, nothing to check). Problems go
to `out` one per line, errors first, then a summary line; with --json, one JSON object instead.
The problem lines are the ones a server logs (and GET /admin/config shows) when it rejects a
reload of the same file, and the summary says when servers refuse every client (keys configured,
none left).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from router.config.access import NO_KEY_LEFT
from router.config.load import (
    LoadedConfig,
    config_from_seed_env,
    find_config_path,
    load_config_file,
)
from router.config.problems import Problem
from router.core.errors import ConfigError

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

_NOTHING_TO_CHECK = (
    "router check: nothing to check: pass PATH, set ROUTER_CONFIG, create ./routes.toml, "
    "or set UPSTREAM_BASE_URL, UPSTREAM_API_KEY and UPSTREAM_MODEL\n"
)


class _UsageError(Exception):
    """argparse wants to exit; a library function must return a code instead."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)


def run_check(argv: list[str], environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        err.write(f"{parser.format_usage()}router check: error: {exc}\n")
        return EXIT_USAGE
    if args.help:
        out.write(parser.format_help())
        return EXIT_OK
    return _check(args.path, environ, out, err, as_json=args.json)


def _parser() -> _Parser:
    parser = _Parser(
        prog="router check",
        description="Validate routes.toml (or the seed UPSTREAM_* environment) offline.",
        add_help=False,
    )
    parser.add_argument(
        "path", nargs="?", metavar="PATH", help="default: $ROUTER_CONFIG, else ./routes.toml"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("-h", "--help", action="store_true", help="show this help")
    return parser


def _check(
    explicit: str | None, environ: Mapping[str, str], out: TextIO, err: TextIO, *, as_json: bool
) -> int:
    path = find_config_path(explicit, environ)
    if path is not None and not path.is_file():
        err.write(f"router check: {path}: no such file\n")
        return EXIT_USAGE
    try:
        loaded = _load(path, environ)
    except ConfigError as exc:
        problems: Sequence[Problem] = getattr(exc, "problems", ())
        warnings: Sequence[Problem] = getattr(exc, "warnings", ())
        _report(_display_name(path), out, problems, warnings, None, as_json=as_json)
        return EXIT_INVALID
    if loaded is None:
        err.write(_NOTHING_TO_CHECK)
        return EXIT_USAGE
    _report(_display_name(path), out, (), loaded.warnings, loaded, as_json=as_json)
    return EXIT_OK


def _load(path: Path | None, environ: Mapping[str, str]) -> LoadedConfig | None:
    if path is None:
        return config_from_seed_env(environ)
    return load_config_file(path, environ)


def _display_name(path: Path | None) -> str:
    return str(path) if path is not None else "environment (UPSTREAM_*)"


def _report(
    name: str,
    out: TextIO,
    errors: Sequence[Problem],
    warnings: Sequence[Problem],
    loaded: LoadedConfig | None,
    *,
    as_json: bool,
) -> None:
    if as_json:
        document = {
            "ok": loaded is not None,
            "file": name,
            "errors": [problem.as_json() for problem in errors],
            "warnings": [problem.as_json() for problem in warnings],
        }
        out.write(json.dumps(document, ensure_ascii=False) + "\n")
        return
    for problem in (*errors, *warnings):
        out.write(problem.render() + "\n")
    out.write(_summary(name, errors, warnings, loaded) + "\n")


def _summary(
    name: str, errors: Sequence[Problem], warnings: Sequence[Problem], loaded: LoadedConfig | None
) -> str:
    """`routes.toml: OK — 3 upstreams, 5 routes (2 disabled: no key in environment)` or
    `routes.toml: 5 errors`."""
    if loaded is None:
        text = f"{name}: {_count(len(errors), 'error')}"
        return text + (f", {_count(len(warnings), 'warning')}" if warnings else "")
    config = loaded.config
    disabled = len(loaded.disabled_routes)
    routes = _count(len(config.routes), "route")
    if disabled:
        routes += f" ({disabled} disabled: no key in environment)"
    keys = f", {_count(len(loaded.client_key_hashes), 'client key')} (with {loaded.keys_file})" if loaded.keys_file else ""
    if loaded.keys_required and not loaded.client_key_hashes:
        keys += f"; {NO_KEY_LEFT}"
    return f"{name}: OK — {_count(len(config.upstreams), 'upstream')}, {routes}{keys}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
