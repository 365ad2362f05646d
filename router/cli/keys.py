"""`router keys add | list | revoke`: client keys in the keys file, never in routes.toml.

routes.toml is edited by people (and keeps their comments); a program that rewrote it would lose
them. So routes.toml names a keys file once (`[auth] keys-file = "routes.keys.toml"`) and these
commands rewrite only that file, with tomli-w, atomically (write beside it, then rename). A new
key is printed once, to stdout; only its sha256 is written. The server sees a change on its next
reload (SIGHUP, POST /admin/reload, or the file watcher), `router check` at once.

Every command then loads the files as they now are with the servers' own loader (as `router
check` does, in this environment) and says what servers will do: take the change on their next
reload, refuse every client because no key is left, or reject the reload and keep serving the
keys they have, with the same problem lines a server logs. (The one reload refusal that depends
on the running server, dropping every key source, needs routes.toml edited: never done here.)

Exit codes as `router check`: 0 done, 1 refused (the message says why), 2 usage. A revocation that
servers would not take (their reload is rejected) is 1 too, though the file was written: the key
still works. `list` exits 1 when servers would reject the files.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import math
import os
import re
import secrets
import tempfile
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import tomli_w

from router.config.access import NO_KEY_LEFT
from router.config.envref import parse_env_ref
from router.config.keysfile import DEFAULT_KEYS_FILE, keys_file_path
from router.config.load import LoadedConfig, find_config_path, load_config_file
from router.config.problems import InvalidConfig, choice_fix

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
KEY_PREFIX = "rk-"
# Key names end up in logs, Redis keys and 403 messages: keep them plain.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
HEADER = """\
# Client keys, written by `router keys add` / `router keys revoke` (only sha256 digests: the keys
# themselves were shown once, when they were made). routes.toml reads this file through
# [auth] keys-file. `router check` validates it like routes.toml; hand edits are kept, comments
# are not (the commands rewrite the whole file).

"""


class Refused(Exception):
    """A request this command will not carry out; the message says why and what to do."""


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)


def run_keys(argv: Sequence[str], environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(list(argv))
    except _UsageError as exc:
        err.write(f"{parser.format_usage()}router keys: error: {exc}\n")
        return EXIT_USAGE
    path = find_config_path(args.config, environ)
    if path is None or not path.is_file():
        err.write(f"router keys: {path or 'routes.toml'}: no such file (pass --config PATH)\n")
        return EXIT_USAGE
    try:
        if args.command == "list":
            return list_keys(path, environ, out, err, as_json=args.json)
        with _locked(_keys_path(path, _read_toml(path))):  # two `add`s at once must not lose one
            if args.command == "add":
                return add(path, args, environ, out, err)
            return revoke(path, args.name, environ, err)
    except Refused as exc:
        err.write(f"router keys {args.command}: {exc}\n")
        return EXIT_REFUSED


def _parser() -> _Parser:
    parser = _Parser(prog="router keys", description="Client keys in the keys file ([auth] keys-file).")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    add_cmd = commands.add_parser("add", help="make a key; print it once; store its sha256")
    add_cmd.add_argument("name")
    add_cmd.add_argument("--routes", help="comma-separated route names this key may use (default: all)")
    add_cmd.add_argument("--models", help="comma-separated model names or globs this key may ask for")
    add_cmd.add_argument("--rpm", type=int, help="requests per minute for this key")
    add_cmd.add_argument("--tpm", type=int, help="tokens per minute for this key (input + output)")
    add_cmd.add_argument("--budget-usd", type=float, help="USD this key may spend per budget period")
    add_cmd.add_argument("--budget-period", choices=("day", "week", "month"),
                         help="the budget's calendar period in UTC (default: day)")
    list_cmd = commands.add_parser("list", help="names, routes and limits (never the hashes in full)")
    list_cmd.add_argument("--json", action="store_true")
    revoke_cmd = commands.add_parser("revoke", help="remove a key from the keys file")
    revoke_cmd.add_argument("name")
    for command in (add_cmd, list_cmd, revoke_cmd):
        command.add_argument("--config", help="routes.toml (default: $ROUTER_CONFIG, then ./routes.toml)")
    return parser


# --- the commands --------------------------------------------------------------------------------


def add(config: Path, args: argparse.Namespace, environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    routes_toml = _read_toml(config)
    keys_path = _keys_path(config, routes_toml)
    entries = _read_keys(keys_path)
    _check_name(args.name, routes_toml, entries)
    entry: dict[str, Any] = {"name": args.name}
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    entry["sha256"] = hashlib.sha256(key.encode()).hexdigest()
    if args.routes is not None:
        entry["routes"] = _check_routes(_split(args.routes), routes_toml)
    if args.models is not None:
        entry["models"] = _split(args.models)
    limits = {unit: _positive(unit, getattr(args, unit)) for unit in ("rpm", "tpm") if getattr(args, unit) is not None}
    if limits:
        entry["limits"] = limits
    budget = _budget(args.budget_usd, args.budget_period)
    if budget is not None:
        entry["budget"] = budget
    write_keys(keys_path, [*entries, entry])
    err.write(f'router keys: added "{args.name}" to {keys_path} ({_describe(entry)}).\n')
    verdict = server_verdict(config, environ)
    if verdict.rejected:
        err.write(_rejected(config, f'the new key works nowhere until that is fixed (`router keys revoke {args.name}` undoes it)', verdict))
    else:
        err.write("router keys: servers accept it from their next reload.\n")
    err.write("router keys: the key is shown this once; give it to its owner now:\n")
    out.write(key + "\n")
    return EXIT_OK


def revoke(config: Path, name: str, environ: Mapping[str, str], err: TextIO) -> int:
    routes_toml = _read_toml(config)
    keys_path = _keys_path(config, routes_toml)
    entries = _read_keys(keys_path)
    kept = [entry for entry in entries if entry.get("name") != name]
    if len(kept) == len(entries):
        if name in _config_key_names(routes_toml):
            raise Refused(f'"{name}" is a key in {config} itself: remove it there by hand (this command never rewrites that file)')
        names = [str(entry.get("name")) for entry in entries]
        raise Refused(f'no key named "{name}" in {keys_path}; ' + (choice_fix(name, names, otherwise="the keys are") if names else "it has no keys"))
    write_keys(keys_path, kept)
    err.write(f'router keys: revoked "{name}" in {keys_path}.\n')
    verdict = server_verdict(config, environ)
    if verdict.rejected:
        err.write(_rejected(config, f'servers keep accepting "{name}" until that is fixed', verdict))
        return EXIT_REFUSED
    if verdict.no_key_left:
        err.write(f'router keys: servers refuse "{name}" from their next reload; {NO_KEY_LEFT}.\n')
    else:
        err.write(f'router keys: servers refuse "{name}" from their next reload.\n')
    return EXIT_OK


def list_keys(config: Path, environ: Mapping[str, str], out: TextIO, err: TextIO, *, as_json: bool) -> int:
    routes_toml = _read_toml(config)
    rows = [_row(entry, str(config)) for entry in _config_keys(routes_toml)]
    keys_file = routes_toml.get("auth", {}).get("keys-file")
    if keys_file is not None:
        keys_path = keys_file_path(config, keys_file)
        rows += [_row(entry, str(keys_path)) for entry in _read_keys(keys_path)]
    if as_json:
        out.write(json.dumps(rows, indent=2) + "\n")
    else:
        _list_rows(rows, out)
    verdict = server_verdict(config, environ)
    if verdict.rejected:
        err.write(_rejected(config, "they keep serving the keys they have until that is fixed", verdict))
        return EXIT_REFUSED
    if verdict.no_key_left:
        err.write(f"router keys: {NO_KEY_LEFT}.\n")
    return EXIT_OK


def _list_rows(rows: list[dict[str, Any]], out: TextIO) -> None:
    for row in rows:
        scope = f"routes {', '.join(row['routes'])}" if row["routes"] is not None else "all routes"
        if row["models"] is not None:
            scope += f"; models {', '.join(row['models'])}"
        limits = ", ".join(f"{v} {k}" for k, v in (row["limits"] or {}).items()) or "no limits"
        out.write(f"{row['name']:<24} {row['key']:<22} {scope}; {limits}  ({row['file']})\n")
    if not rows:
        out.write("no client keys\n")


# --- what servers will do ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a server reloading these files does: reject them (`rejected`: the problem lines it
    logs and GET /admin/config shows) or serve them (`no_key_left`: refusing every client)."""

    rejected: tuple[str, ...] = ()
    no_key_left: bool = False


def server_verdict(config: Path, environ: Mapping[str, str]) -> Verdict:
    """The servers' own loader on the files as they now are, in this environment (as `router
    check`): a file it refuses is a reload every server rejects."""
    try:
        loaded = load_config_file(config, environ)
    except InvalidConfig as exc:
        return Verdict(rejected=tuple(problem.render() for problem in exc.problems))
    return Verdict(no_key_left=no_key_left(loaded))


def no_key_left(loaded: LoadedConfig) -> bool:
    """Keys are configured (a keys file, `[auth] keys`) but none is there: servers refuse all."""
    return loaded.keys_required and not loaded.client_key_hashes


def _rejected(config: Path, consequence: str, verdict: Verdict) -> str:
    lines = "".join(f"  {line}\n" for line in verdict.rejected)
    return (f"router keys: servers reject the reload of {config} (checked as `router check` does, with this "
            f"environment) and keep their current table; {consequence}:\n{lines}")


# --- the keys file -------------------------------------------------------------------------------


@contextmanager
def _locked(keys_path: Path) -> Iterator[None]:
    """An exclusive lock beside the keys file for one read-change-write."""
    try:
        handle = open(keys_path.parent / f".{keys_path.name}.lock", "a")  # noqa: SIM115 - held for the block
    except OSError as exc:
        raise Refused(f"cannot write beside {keys_path}: {exc.strerror}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def write_keys(path: Path, entries: list[dict[str, Any]]) -> None:
    """Replace the keys file in one step: a reader sees the old file or the new one, never half."""
    try:
        _replace(path, HEADER + tomli_w.dumps({"keys": entries}))
    except OSError as exc:
        raise Refused(f"cannot write {path}: {exc.strerror}") from None


def _replace(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read_keys(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    keys = _read_toml(path).get("keys", [])
    if not isinstance(keys, list) or not all(isinstance(entry, dict) for entry in keys):
        raise Refused(f"{path}: `keys` is not a list of tables; run `router check` and fix it first")
    return keys


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise Refused(f"{path}: invalid TOML ({exc}); run `router check` and fix it first") from None
    except OSError as exc:
        raise Refused(f"{path}: cannot read it ({exc.strerror})") from None


def _keys_path(config: Path, routes_toml: dict[str, Any]) -> Path:
    keys_file = routes_toml.get("auth", {}).get("keys-file")
    if not isinstance(keys_file, str):
        raise Refused(
            f"{config} names no keys file, and this command never rewrites it. Add, under [auth]:\n\n"
            f'    keys-file = "{DEFAULT_KEYS_FILE}"\n\nthen run this again.'
        )
    return keys_file_path(config, keys_file)


def _config_keys(routes_toml: dict[str, Any]) -> list[dict[str, Any]]:
    """routes.toml's own `[auth] keys`, as tables (`env:NAME` strings named by their variable)."""
    keys = routes_toml.get("auth", {}).get("keys", [])
    result = []
    for entry in keys if isinstance(keys, list) else []:
        if isinstance(entry, str):
            result.append({"name": parse_env_ref(entry) or "?", "key": entry})
        elif isinstance(entry, dict):
            result.append(entry)
    return result


def _config_key_names(routes_toml: dict[str, Any]) -> list[str]:
    return [str(entry.get("name")) for entry in _config_keys(routes_toml)]


def _check_name(name: str, routes_toml: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    if _NAME.fullmatch(name) is None:
        raise Refused(f'"{name}" is not a usable key name: letters, digits, ".", "_" and "-", up to 64')
    if name in [entry.get("name") for entry in entries] or name in _config_key_names(routes_toml):
        raise Refused(f'a key named "{name}" exists; revoke it first (`router keys revoke {name}`) or pick another name')


def _check_routes(names: list[str], routes_toml: dict[str, Any]) -> list[str]:
    routes = routes_toml.get("routes", [])
    known = [str(route.get("name")) for route in routes if isinstance(route, dict)] if isinstance(routes, list) else []
    for name in names:
        if name not in known:
            raise Refused(f'no route named "{name}": ' + choice_fix(name, known, otherwise="the routes are"))
    return names


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _positive(unit: str, value: int) -> int:
    if value < 1:
        raise Refused(f"--{unit} {value} allows nothing; leave it out for no limit")
    return value


def _budget(usd: float | None, period: str | None) -> dict[str, Any] | None:
    """The key's `budget` table, or None without --budget-usd (a period alone would cap nothing)."""
    if usd is None:
        if period is not None:
            raise Refused("--budget-period needs --budget-usd (the amount to cap)")
        return None
    if not (math.isfinite(usd) and usd > 0):
        raise Refused(f"--budget-usd {usd:g} allows nothing; leave it out for no budget")
    return {"usd": usd, "period": period or "day"}


def _row(entry: dict[str, Any], file: str) -> dict[str, Any]:
    """What `list` shows of a key: never a whole digest (8 hex digits tell keys apart)."""
    digest = entry.get("sha256")
    key = f"sha256:{digest[:8]}…" if isinstance(digest, str) else str(entry.get("key", "?"))
    return {"name": entry.get("name"), "key": key, "routes": entry.get("routes"), "models": entry.get("models"),
            "limits": entry.get("limits"), "budget": entry.get("budget"), "file": file}


def _describe(entry: dict[str, Any]) -> str:
    parts = [f"routes {', '.join(entry['routes'])}" if "routes" in entry else "all routes"]
    if "models" in entry:
        parts.append(f"models {', '.join(entry['models'])}")
    parts += [f"{value} {unit}" for unit, value in entry.get("limits", {}).items()]
    if isinstance(budget := entry.get("budget"), dict) and isinstance(usd := budget.get("usd"), int | float):
        parts.append(f"${usd:.2f} a {budget.get('period', 'day')} budget")
    return "; ".join(parts)
