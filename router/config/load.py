"""The one loader: routes.toml text (or the seed gateway's environment) → a validated table.

`router check`, server start and hot reload all call this, so a file `check` accepts is exactly a
file the server will run. Loading either returns a complete `LoadedConfig` or raises
`InvalidConfig` (a `ConfigError`) carrying every problem found; it never half-succeeds, which is
what lets a reload build the new table first and swap only when it is whole.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec

from router.config.access import Access, AccessCheck, check_access
from router.config.keysfile import KeysFileLoad, read_keys_file
from router.config.positions import SourceMap
from router.config.prices import unpriced_targets
from router.config.problems import Finding, InvalidConfig, Problem, format_path
from router.config.schema import Config
from router.config.validate import Validation, validate

SEED_FILENAME = "<environment: UPSTREAM_*>"
SEED_NAME = "seed"
_SEED_VARIABLES = ("UPSTREAM_BASE_URL", "UPSTREAM_API_KEY", "UPSTREAM_MODEL")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
# tomllib's position for an error at the very end of a text with no final newline.
_TOML_AT_END = re.compile(r"\s*\(at end of document\)$")
_ROUTE_NAME = re.compile(r"""^\s*name\s*=\s*(?:"([^"\\]*)"|'([^']*)')""")


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """A valid routing table and what loading learnt from the environment.

    upstream_api_keys: upstream name → resolved key (None when it has none or is disabled);
      left out of repr() so a logged or asserted LoadedConfig never shows a secret.
    client_key_hashes: sha256 hex digest → key name; client keys are hashed at load, so no
      plaintext client key is kept.
    admin_key_hashes: the same for `auth.admin-keys`, kept apart: a client key never opens the
      admin endpoints.
    disabled_upstreams: optional upstreams whose key variable is unset.
    disabled_routes: routes whose every target is a disabled upstream.
    access: what each client key may do and the rate limits (router.config.access).
    keys_file: the keys file read with this table (`[auth] keys-file`), if any: a reload must
      watch it too. Its text is part of `source_sha256`.
    """

    config: Config
    filename: str | None
    source_sha256: str
    upstream_api_keys: Mapping[str, str | None] = field(repr=False)
    client_key_hashes: Mapping[str, str] = field(repr=False)
    admin_key_hashes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    disabled_upstreams: frozenset[str] = frozenset()
    disabled_routes: frozenset[str] = frozenset()
    warnings: tuple[Problem, ...] = ()
    access: Access = Access()
    keys_file: str | None = None

    @property
    def keys_required(self) -> bool:
        """True when `[auth]` names a source of client keys (`keys`, `keys-file`): a server then
        asks every client for a key even when none is left (all revoked, an empty keys file), so
        deleting keys never opens it. False only when no key source is configured at all."""
        auth = self.config.auth
        return bool(auth.keys) or auth.keys_file is not None


def load_config_text(text: str, *, filename: str, environ: Mapping[str, str]) -> LoadedConfig:
    source = SourceMap.from_text(text)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidConfig([_syntax_problem(exc, filename, source)]) from None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return _load_raw(raw, filename=filename, source=source, digest=digest, environ=environ)


def load_config_file(path: str | Path, environ: Mapping[str, str]) -> LoadedConfig:
    filename = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as exc:
        problem = _file_problem(filename, f"cannot read the file: {exc.strerror}")
        raise InvalidConfig([problem]) from None
    except UnicodeDecodeError:
        raise InvalidConfig([_file_problem(filename, "the file is not UTF-8 text")]) from None
    return load_config_text(text, filename=filename, environ=environ)


def config_from_seed_env(environ: Mapping[str, str]) -> LoadedConfig | None:
    """The seed gateway's settings as a one-upstream, one-route table, validated like a file.

    UPSTREAM_BASE_URL / UPSTREAM_API_KEY / UPSTREAM_MODEL name the upstream; CUSTOM_MODEL_NAME is
    the model clients ask for (default: any model). None when the three are not all set."""
    if not all(environ.get(name) for name in _SEED_VARIABLES):
        return None
    raw = seed_table(environ)
    digest = hashlib.sha256(msgspec.json.encode(raw)).hexdigest()
    return _load_raw(raw, filename=SEED_FILENAME, source=None, digest=digest, environ=environ)


def seed_table(environ: Mapping[str, str]) -> dict[str, Any]:
    """The raw routes.toml data equivalent to the seed environment (the key stays a reference)."""
    upstream = {
        "kind": "openai",
        "base-url": environ["UPSTREAM_BASE_URL"],
        "api-key": "env:UPSTREAM_API_KEY",
    }
    route = {
        "name": SEED_NAME,
        "models": [environ.get("CUSTOM_MODEL_NAME") or "*"],
        "to": f"{SEED_NAME}/{environ['UPSTREAM_MODEL']}",
    }
    return {"upstreams": {SEED_NAME: upstream}, "routes": [route]}


# The environment variables `router serve` hands its workers: the table's path and the key file.
CONFIG_ENV = "ROUTER_CONFIG"
KEY_FILE_ENV = "ROUTER_KEY_FILE"


def find_config_path(
    explicit: str | None, environ: Mapping[str, str], *, cwd: Path | None = None
) -> Path | None:
    """The routes.toml to load: the explicit path, else $ROUTER_CONFIG, else ./routes.toml if it
    exists. Explicit and $ROUTER_CONFIG paths are returned even when missing, so the caller can
    say that file is missing instead of silently falling back to another one."""
    if explicit:
        return Path(explicit)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    default = Path("routes.toml") if cwd is None else cwd / "routes.toml"
    return default if default.is_file() else None


def _load_raw(
    raw: dict[str, Any],
    *,
    filename: str,
    source: SourceMap | None,
    digest: str,
    environ: Mapping[str, str],
) -> LoadedConfig:
    validation = validate(raw, environ)
    keys = read_keys_file(validation.decoded.auth.keys_file, filename, environ)
    access = _check_access(validation, keys, environ)
    findings = [*validation.findings, *keys.config_findings, *access.config, *_price_findings(validation, access.access)]
    problems = [_place(finding, filename, source, raw) for finding in findings]
    in_keys_file = _keys_file_problems(keys, access)
    errors = [*_ordered([p for p in problems if p.severity == "error"]),
              *_ordered([p for p in in_keys_file if p.severity == "error"])]
    warnings = [*_ordered([p for p in problems if p.severity == "warning"]),
                *_ordered([p for p in in_keys_file if p.severity == "warning"])]
    if errors:
        raise InvalidConfig(errors, warnings)
    if keys.path is not None:  # a key added or revoked is a new table, even with routes.toml as it was
        digest = hashlib.sha256(f"{digest}:{hashlib.sha256(keys.text.encode()).hexdigest()}".encode()).hexdigest()
    return _loaded(validation, filename, digest, tuple(warnings), keys, access.access)


def _check_access(validation: Validation, keys: KeysFileLoad, environ: Mapping[str, str]) -> AccessCheck:
    decoded = validation.decoded
    return check_access(
        config_keys=[(("auth", "keys", index), entry) for index, entry in enumerate(decoded.auth.keys)],
        file_keys=keys.entries,
        admin_keys=[(("auth", "admin-keys", index), entry) for index, entry in enumerate(decoded.auth.admin_keys)],
        routes=decoded.routes,
        limits=decoded.limits,
        server=decoded.server,
        environ=environ,
    )


def _price_findings(validation: Validation, access: Access) -> list[Finding]:
    """Targets without a price, said only when a budget would count them as $0."""
    if not access.key_budgets and not access.route_budgets:
        return []
    decoded = validation.decoded
    return list(unpriced_targets(decoded.routes, decoded.upstreams, validation.upstream_keys.disabled))


def _keys_file_problems(keys: KeysFileLoad, access: AccessCheck) -> list[Problem]:
    """Problems in the keys file, placed at their lines there."""
    if keys.path is None:
        return []
    filename = str(keys.path)
    if keys.syntax_error is not None and keys.source is not None:
        return [_syntax_problem(keys.syntax_error, filename, keys.source)]
    return [_place(finding, filename, keys.source, keys.raw) for finding in (*keys.findings, *access.keys_file)]


def _loaded(
    validation: Validation, filename: str, digest: str, warnings: tuple[Problem, ...],
    keys: KeysFileLoad, access: Access,
) -> LoadedConfig:
    return LoadedConfig(
        config=validation.decoded.config(),
        filename=filename,
        source_sha256=digest,
        upstream_api_keys=MappingProxyType(dict(validation.upstream_keys.keys)),
        client_key_hashes=MappingProxyType({**validation.client_keys.hashes, **keys.hashes}),
        admin_key_hashes=MappingProxyType(dict(validation.client_keys.admin_hashes)),
        disabled_upstreams=frozenset(validation.upstream_keys.disabled),
        disabled_routes=validation.disabled_routes,
        warnings=warnings,
        access=access,
        keys_file=str(keys.path) if keys.path is not None else None,
    )


def _ordered(problems: list[Problem]) -> list[Problem]:
    """Top to bottom through the file (stable: same-line problems keep check order)."""
    return sorted(problems, key=lambda p: (p.line is None, p.line or 0, p.column or 0))


def _place(
    finding: Finding, filename: str, source: SourceMap | None, raw: dict[str, Any]
) -> Problem:
    line, column = source.locate(finding.path) if source else (None, None)
    return Problem(
        severity=finding.severity,
        file=filename,
        line=line,
        column=column,
        route=_label(finding.path, lambda index: _raw_route_name(raw, index)),
        path=format_path(finding.path) or None,
        message=finding.message,
        fix=finding.fix,
    )


def _label(path: tuple[str | int, ...], route_name: Any) -> str | None:
    """The name people know a section by: the route's name, `upstream NAME`, `server`, `auth`."""
    if len(path) >= 2 and path[0] == "routes" and isinstance(path[1], int):
        name: str | None = route_name(path[1])
        return name
    if len(path) >= 2 and path[0] == "upstreams":
        return f"upstream {path[1]}"
    if len(path) >= 2 and path[0] == "keys" and isinstance(path[1], int):
        name = route_name(path[1])  # in the keys file, `keys[N]` is known by its name
        return f"key {name}" if name else None
    if path and path[0] in ("server", "auth", "limits", "response-store", "cache"):
        return str(path[0])
    return None


def _raw_route_name(raw: dict[str, Any], index: int) -> str | None:
    routes = raw.get("routes", raw.get("keys"))
    if isinstance(routes, list) and index < len(routes) and isinstance(routes[index], dict):
        name = routes[index].get("name")
        return name if isinstance(name, str) else None
    return None


def _syntax_problem(exc: tomllib.TOMLDecodeError, filename: str, source: SourceMap) -> Problem:
    message = str(exc)
    match = _TOML_POSITION.search(message)
    line, column = (int(match.group(1)), int(match.group(2))) if match else (None, None)
    at_end = None if match else _TOML_AT_END.search(message)
    if at_end:  # the last line, just after its last character
        match, line, column = at_end, len(source.lines), len(source.lines[-1]) + 1
    detail = message[: match.start()] if match else message
    section = source.section_at(line) if line is not None else ()
    return Problem(
        severity="error",
        file=filename,
        line=line,
        column=column,
        route=_label(section, lambda index: _text_route_name(source, index)),
        path=format_path(section) or None,
        message=f"invalid TOML: {detail}",
        fix=_syntax_fix(detail),
    )


def _syntax_fix(detail: str) -> str:
    if "twice" in detail:
        return "each table may appear only once: merge the two or rename one"
    return "fix the TOML syntax at this position (strings need quotes, arrays [..], tables {..})"


def _text_route_name(source: SourceMap, index: int) -> str | None:
    """A route's name read from the text, for files that do not parse."""
    line, _ = source.locate(("routes", index, "name"))
    match = _ROUTE_NAME.match(source.lines[line - 1]) if line is not None else None
    return (match.group(1) or match.group(2)) if match else None


def _file_problem(filename: str, message: str) -> Problem:
    fix = "check the path and that the file is readable"
    return Problem("error", filename, None, None, None, None, message, fix)
