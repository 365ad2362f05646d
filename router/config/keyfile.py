"""The generated client key: made at first start when the server is reachable beyond loopback and
no key is configured, so an exposed router is never open. Stored 0600 beside the config."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

KEY_FILE_NAME = ".router-key"


def key_file_for(config_path: Path | None) -> Path:
    return (config_path.parent if config_path else Path.cwd()) / KEY_FILE_NAME


def ensure_key(path: Path) -> tuple[str, bool]:
    """The key in `path`, creating it (mode 0600, never world-readable even briefly) if absent.
    Returns (key, created)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text("utf-8").strip(), False
    key = f"rk-{secrets.token_urlsafe(32)}"
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key, True


def read_key(path: Path) -> str | None:
    try:
        return path.read_text("utf-8").strip() or None
    except FileNotFoundError:
        return None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
