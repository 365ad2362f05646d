"""The keys file (`[auth] keys-file = "routes.keys.toml"`), read as a part of loading routes.toml.

`router keys add/revoke` write that file (router/cli/keys.py) so that routes.toml, edited by people
and full of their comments, is never rewritten by a program. The loader reads it with the same
strictness as routes.toml: the same structure walk (unknown keys are errors with "did you mean"),
problems placed at their line in the keys file. Its text is part of the table's digest, so a
reload sees a key added or revoked even when routes.toml did not change.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from router.config.credentials import resolve_key_list
from router.config.decode import decode_item
from router.config.positions import SourceMap
from router.config.problems import Finding, SchemaPath
from router.config.schema import KeyHash, KeysFile
from router.config.structure import walk

DEFAULT_KEYS_FILE = "routes.keys.toml"


@dataclass(slots=True)
class KeysFileLoad:
    """What reading the keys file gave. `findings` have keys-file paths (`keys[2].sha256`),
    `config_findings` routes.toml paths (`auth.keys-file`: the file is missing or unreadable);
    `syntax_error` is left for the loader to place, with its own TOML-error wording."""

    path: Path | None = None
    text: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    source: SourceMap | None = None
    entries: list[tuple[SchemaPath, KeyHash]] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    config_findings: list[Finding] = field(default_factory=list)
    syntax_error: tomllib.TOMLDecodeError | None = None


def keys_file_path(routes_file: str | Path, keys_file: str) -> Path:
    """`keys-file` is relative to the routes.toml that names it (absolute paths stay as they are)."""
    return Path(routes_file).parent / keys_file


def read_keys_file(keys_file: str | None, routes_file: str, environ: Mapping[str, str]) -> KeysFileLoad:
    if keys_file is None:
        return KeysFileLoad()
    path = keys_file_path(routes_file, keys_file)
    result = KeysFileLoad(path=path)
    text = _read(path, result)
    if text is None:
        return result
    result.text, result.source = text, SourceMap.from_text(text)
    try:
        result.raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        result.syntax_error = exc
        return result
    _decode(result)
    resolved = resolve_key_list(result.entries, environ)
    result.hashes, result.findings = resolved.hashes, [*result.findings, *resolved.findings]
    return result


def _read(path: Path, result: KeysFileLoad) -> str | None:
    where: SchemaPath = ("auth", "keys-file")
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        message = f"{path} does not exist yet: no keys from it"
        result.config_findings.append(Finding(where, message, "`router keys add NAME` creates it", "warning"))
    except OSError as exc:
        result.config_findings.append(Finding(where, f"cannot read {path}: {exc.strerror}", "check the path and its permissions"))
    except UnicodeDecodeError:
        result.config_findings.append(Finding(where, f"{path} is not UTF-8 text", "rewrite it as UTF-8"))
    return None


def _decode(result: KeysFileLoad) -> None:
    """Each `[[keys]]` table on its own, so one broken entry does not hide the next one's problems."""
    walk({k: v for k, v in result.raw.items() if k != "keys"}, KeysFile, (), result.findings)
    keys = result.raw.get("keys", [])
    if not isinstance(keys, list):
        walk(keys, list[KeyHash], ("keys",), result.findings)
        return
    for index, item in enumerate(keys):
        entry = decode_item(item, KeyHash, ("keys", index), result.findings)
        if entry is not None:
            result.entries.append((("keys", index), entry))
