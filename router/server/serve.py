"""The uvicorn app factory: each worker process loads the table itself from the environment the
`router serve` command prepared (ROUTER_CONFIG, ROUTER_KEY_FILE), so `--workers N` needs no pickling.
Each worker also watches that file and reloads on its own (ROUTER_RELOAD_INTERVAL seconds between
polls, default 1)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from litestar import Litestar

from router.config.keyfile import key_hash, read_key
from router.config.load import (
    CONFIG_ENV,
    KEY_FILE_ENV,
    LoadedConfig,
    config_from_seed_env,
    load_config_file,
)
from router.core.errors import ConfigError
from router.gateway.state import open_state
from router.observe.tracing import start_tracing
from router.routing.lookup import build_table
from router.server.app import create_app
from router.server.coalesce import HEAD_LIMITS_KEY, HeadLimits
from router.server.reload import DEFAULT_POLL_INTERVAL, Reloader

RELOAD_INTERVAL_ENV = "ROUTER_RELOAD_INTERVAL"


def load_for_serving(path: Path | None, environ: Mapping[str, str]) -> LoadedConfig:
    """The file when there is one, else the seed gateway's UPSTREAM_* variables."""
    if path is not None:
        return load_config_file(path, environ)
    loaded = config_from_seed_env(environ)
    if loaded is None:
        raise ConfigError("no routes.toml found and UPSTREAM_BASE_URL/UPSTREAM_API_KEY/UPSTREAM_MODEL are not set")
    return loaded


def app_factory() -> Litestar:
    environ = os.environ
    path = Path(environ[CONFIG_ENV]) if environ.get(CONFIG_ENV) else None
    loaded = load_for_serving(path, environ)
    key_file = environ.get(KEY_FILE_ENV)
    key = read_key(Path(key_file)) if key_file else None
    generated = {key_hash(key): "generated"} if key else None
    state = open_state(build_table(loaded), generated_key_hashes=generated, generated_key=key)
    reloader = Reloader(state, path, environ, interval=reload_interval(environ)) if path is not None else None
    tracing = start_tracing(loaded.config.telemetry, environ, lambda: state.table.loaded.config)
    app = create_app(state, reloader, drain_signals=True, tracing=tracing)
    # Read by the connection protocol (router.server.coalesce), which sees the app, not the table:
    # [server] is read at start, so a reload does not move the head limits.
    app.state[HEAD_LIMITS_KEY] = HeadLimits.of(loaded.config.server)
    return app


def reload_interval(environ: Mapping[str, str]) -> float:
    """Seconds between two looks at the file; tests and impatient operators lower it."""
    text = environ.get(RELOAD_INTERVAL_ENV)
    if not text:
        return DEFAULT_POLL_INTERVAL
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ConfigError(f"{RELOAD_INTERVAL_ENV}={text!r}: expected a positive number of seconds")
    return value
