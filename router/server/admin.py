"""Admin endpoints' answers: `POST /admin/reload` (reload routes.toml now) and `GET /admin/config`
(which table is serving, since when, how reloads went, and the configuration with every secret
redacted). The paths are served by router.server.dashboard, which answers browsers with HTML and
everyone else with these JSON answers.

Opened by an admin key (`[auth] admin-keys`), never by a client key: a client may call models,
not change where everyone's traffic goes. With no admin key configured they answer only loopback
peers that did not come through a proxy (behind a proxy the peer is the proxy, never the caller).
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec
from litestar import Request, Response

from router.config.envref import parse_env_ref
from router.config.load import SEED_FILENAME, LoadedConfig
from router.core.netaddr import is_direct_loopback
from router.gateway.auth import presented_key
from router.gateway.state import RouterState
from router.server.reload import Reloader, ReloadStats, iso, reload_other_workers
from router.upstream.scrub import REDACTED, Scrubber

_encode = msgspec.json.Encoder().encode


async def reload_answer(request: Request[Any, Any, Any], key: str | None = None) -> Response[bytes]:
    """POST /admin/reload's JSON: 200 reloaded/unchanged with the serving version; 422 with every
    problem, old table kept. `key`: the admin key when it came in a form field rather than a
    header (router.server.dashboard serves the path and reads the form)."""
    state: RouterState = request.app.state.router
    denied = admin_denied(request, state, key)
    if denied is not None:
        return denied
    reloader: Reloader | None = request.app.state.get("reloader")
    if reloader is None:
        errors = ["this server's table does not come from a file: there is nothing to reload"]
        return _json({"status": "unavailable", "errors": errors, "version": version(state)}, 409)
    result = await reloader.reload("admin endpoint")
    reload_other_workers(reloader.environ)
    if result.status == "invalid":
        return _json({"status": "invalid", "errors": list(result.errors), "version": version(state)}, 422)
    return _json({"status": result.status, "version": version(state)}, 200)


def config_answer(request: Request[Any, Any, Any]) -> Response[bytes]:
    """GET /admin/config's JSON (router.server.dashboard serves the path: HTML to browsers)."""
    state: RouterState = request.app.state.router
    denied = admin_denied(request, state)
    if denied is not None:
        return denied
    reloader: Reloader | None = request.app.state.get("reloader")
    stats = reloader.stats if reloader is not None else ReloadStats()
    loaded = state.table.loaded
    body = {**version(state), "reloads": stats.as_json(), "config": redacted_config(loaded)}
    return Response(scrubbed(_encode(body), loaded), media_type="application/json")


def version(state: RouterState) -> dict[str, str]:
    """Which table is serving: its file's sha256, when it went live, and where it came from."""
    loaded = state.table.loaded
    return {"sha256": loaded.source_sha256, "loaded_at": iso(state.loaded_at), "source": source_of(loaded)}


def source_of(loaded: LoadedConfig) -> str:
    return "environment" if loaded.filename in (None, SEED_FILENAME) else str(loaded.filename)


# -- authentication ----------------------------------------------------------------------------


LOOPBACK_ONLY = "admin endpoints answer loopback only until [auth] admin-keys is configured"
MISSING_KEY = "missing admin key: send it as x-api-key or Authorization: Bearer"


def admin_denied(request: Request[Any, Any, Any], state: RouterState, key: str | None = None) -> Response[bytes] | None:
    """None when the caller may use the admin endpoints, else the answer to send. `key`: one
    presented otherwise than in the headers (a form field); the headers' is used without it."""
    refusal = admin_refusal(request, state, key)
    return None if refusal is None else error_answer(*refusal)


def admin_refusal(request: Request[Any, Any, Any], state: RouterState, key: str | None = None) -> tuple[int, str, str] | None:
    """None when the caller may use the admin endpoints, else (status, error type, message)."""
    admin_hashes = state.table.loaded.admin_key_hashes
    if not admin_hashes:
        return None if is_local_request(request) else (403, "permission_error", LOOPBACK_ONLY)
    key = key or presented_key(request.headers)
    if not key:
        return 401, "authentication_error", MISSING_KEY
    digest = hashlib.sha256(key.encode()).hexdigest()
    if digest in admin_hashes:
        return None
    if digest in state.key_hashes:
        return 403, "permission_error", "a client key does not open the admin endpoints"
    return 401, "authentication_error", "invalid admin key"


def is_local_request(request: Request[Any, Any, Any]) -> bool:
    """A loopback peer that did not come through a proxy (the same rule as GET /auth-token)."""
    peer = request.client.host if request.client else None
    return is_direct_loopback(peer, request.headers)


def error_answer(status: int, kind: str, message: str) -> Response[bytes]:
    return _json({"error": {"type": kind, "message": message}}, status)


def _json(body: dict[str, Any], status: int) -> Response[bytes]:
    return Response(_encode(body), status_code=status, media_type="application/json")


# -- redaction ---------------------------------------------------------------------------------


def redacted_config(loaded: LoadedConfig) -> dict[str, Any]:
    """The Config as JSON with secrets out: api keys only as their `env:NAME` reference, key
    hashes and header values (they may carry credentials) replaced, credentials in URLs removed."""
    config: dict[str, Any] = msgspec.to_builtins(loaded.config)
    auth = config.get("auth", {})
    for section in ("keys", "admin-keys"):
        auth[section] = [_redacted_key(entry) for entry in auth.get(section, [])]
    for upstream in config.get("upstreams", {}).values():
        _redact_upstream(upstream)
    return config


def _redact_upstream(upstream: dict[str, Any]) -> None:
    if upstream.get("api-key") is not None:
        upstream["api-key"] = _reference(upstream["api-key"])
    if "headers" in upstream:
        upstream["headers"] = {name: REDACTED for name in upstream["headers"]}
    if "base-url" in upstream:
        upstream["base-url"] = redacted_url(upstream["base-url"])


def _redacted_key(entry: Any) -> Any:
    """A string key is a reference; a table names its key by digest or by reference."""
    if isinstance(entry, str):
        return _reference(entry)
    if not isinstance(entry, dict):
        return REDACTED
    redacted = dict(entry)
    if redacted.get("sha256") is not None:
        redacted["sha256"] = REDACTED
    if isinstance(redacted.get("key"), str):
        redacted["key"] = _reference(redacted["key"])
    return redacted


def _reference(value: str) -> str:
    """`${NAME}` and `env:NAME` both shown as `env:NAME`; anything else is not shown at all."""
    variable = parse_env_ref(value)
    return f"env:{variable}" if variable else REDACTED


def redacted_url(url: str) -> str:
    """`https://user:pass@host/v1?key=…` keeps scheme, host and path only."""
    parts = urlsplit(url)
    if not (parts.username or parts.password or parts.query or parts.fragment):
        return url
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, REDACTED if parts.query else "", ""))


def scrubbed(body: bytes, loaded: LoadedConfig) -> bytes:
    """The last net: no resolved upstream key leaves, whatever field it might have landed in."""
    secrets = [key for key in loaded.upstream_api_keys.values() if key]
    return Scrubber.for_secrets(secrets).data(body) if secrets else body
