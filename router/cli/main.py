"""`router serve | check | explain | keys | usage | schema` (exit 0 ok, 1 invalid config or no route, 2 usage)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from router.cli.check import run_check
from router.config.keyfile import ensure_key, key_file_for
from router.config.load import CONFIG_ENV, KEY_FILE_ENV, LoadedConfig, find_config_path
from router.config.rules import route_targets
from router.config.schema import Server
from router.core.errors import ConfigError
from router.core.netaddr import is_loopback

# The server modules (Litestar, uvicorn) are imported only by `serve`: `check` stays light.
# uvicorn's httptools protocol, writing each loop iteration's bytes in one syscall (router.server.coalesce);
# named, not imported: the CLI must not import uvicorn before it runs it.
HTTP_PROTOCOL = "router.server.coalesce:CoalescingHttpToolsProtocol"
APP_FACTORY = "router.server.serve:app_factory"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "check":
        return run_check(rest, os.environ, sys.stdout, sys.stderr)
    if command == "explain":
        # Imported here: explain builds the whole table (converters, compiled code).
        from router.cli.explain import run_explain

        return run_explain(rest, os.environ, sys.stdout, sys.stderr)
    if command == "serve":
        return serve(rest)
    if command == "schema":
        return schema(rest)
    if command == "keys":
        from router.cli.keys import run_keys

        return run_keys(rest, os.environ, sys.stdout, sys.stderr)
    if command == "usage":
        from router.cli.usage import run_usage

        return run_usage(rest, os.environ, sys.stdout, sys.stderr)
    print(f"router: unknown command {command!r}\n{USAGE}", file=sys.stderr)
    return 2


USAGE = """usage: router serve [--config PATH] [--host HOST] [--port PORT] [--workers N]
       router check [PATH] [--json]
       router keys add NAME [--config PATH] [--routes a,b] [--models m,n] [--rpm N] [--tpm N]
       router keys list [--config PATH] [--json] | router keys revoke NAME [--config PATH]
       router explain MODEL [--client anthropic|openai] [--body FILE] [--config PATH]
                      [--header K:V ...] [--key NAME]   which route, target and upstream body, and why
       router usage [--by key|route|target] [--since 24h] [--json] [--url URL] [--admin-key env:NAME]
                    [--config PATH]    tokens and cost from a running router's ledger
       router schema [--markdown]      routes.toml's JSON Schema (or its Markdown reference)"""


def schema(argv: list[str]) -> int:
    from router.config.reference import json_schema, reference_markdown

    if argv not in ([], ["--markdown"]):
        print(f"router schema: unexpected arguments {argv}\n{USAGE}", file=sys.stderr)
        return 2
    if argv:
        sys.stdout.write(reference_markdown())
    else:
        sys.stdout.buffer.write(json_schema())
    return 0


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="router serve", exit_on_error=False)
    parser.add_argument("--config", help="routes.toml (default: $ROUTER_CONFIG, then ./routes.toml)")
    parser.add_argument("--host", help="bind address (default: [server].host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: [server].port, 8080)")
    parser.add_argument("--workers", type=int, help="worker processes (default: [server].workers, 1)")
    return parser


def serve(argv: list[str]) -> int:
    try:
        args = _serve_parser().parse_args(argv)
    except (argparse.ArgumentError, SystemExit) as exc:
        print(f"router serve: {exc}", file=sys.stderr)
        return 2
    from router.server.serve import load_for_serving

    path = find_config_path(args.config, os.environ)
    if args.config and path is None:
        print(f"router serve: {args.config}: no such file", file=sys.stderr)
        return 2
    try:
        loaded = load_for_serving(path, os.environ)
    except ConfigError as exc:
        _print_problems(exc)
        return 1
    server = loaded.config.server
    host, port = args.host or server.host, args.port or server.port
    workers = args.workers or server.workers
    env = _worker_environment(path, loaded, host)
    _print_summary(loaded, host, port)
    _raise_open_file_limit()
    if workers > server.workers:  # `router check` warns about [server] workers, not --workers
        _warn_per_worker_counts(loaded, workers)
    return _run_uvicorn(host, port, workers, env, server)


def _worker_environment(path: Path | None, loaded: LoadedConfig, host: str) -> dict[str, str]:
    """What each worker's app factory reads; the generated key is made here, once, not per worker."""
    env: dict[str, str] = {}
    if path is not None:
        env[CONFIG_ENV] = str(path.absolute())  # not resolve(): a config-map symlink swap must stay visible
    # Only a table that names no key source at all is open; one whose keys are all revoked is
    # closed on purpose, and a generated key would open it again.
    if not loaded.keys_required and not is_loopback(host):
        explicit = os.environ.get(KEY_FILE_ENV)
        key_file = Path(explicit) if explicit else key_file_for(path)
        key, created = ensure_key(key_file)
        if created:
            print(f"router: no client keys configured and {host} is reachable beyond loopback;")
            print(f"router: generated a key (shown once, stored 0600 in {key_file}):\n\n    {key}\n")
        env[KEY_FILE_ENV] = str(key_file.absolute())
    return env


def _raise_open_file_limit() -> None:
    """Two descriptors an open stream: the soft limit a shell gives (often 1,024) would cap the
    router near 460 streams, so it is raised to the hard limit before the workers start."""
    from router.server.open_files import describe, raise_open_file_limit

    limit = raise_open_file_limit()
    line = describe(limit) if limit is not None else None
    if line:
        print(line)


def _run_uvicorn(host: str, port: int, workers: int, env: dict[str, str], server: Server) -> int:
    """uvicorn's access log stays off: router.observe.accesslog writes one JSON line per request instead."""
    import uvicorn

    from router.observe.metrics import multiprocess_directory

    os.environ.update(env)
    options: dict[str, Any] = {
        "factory": True, "host": host, "port": port, "workers": workers,
        "loop": "uvloop", "http": HTTP_PROTOCOL, "lifespan": "on", "access_log": False, "log_level": "info",
        "timeout_graceful_shutdown": server.shutdown_timeout,  # a float works
        "proxy_headers": bool(server.forwarded_allow_ips), "forwarded_allow_ips": server.forwarded_allow_ips,
    }
    with multiprocess_directory(workers):
        if workers > 1:  # our supervisor: SIGHUP reloads the workers in place (router.server.supervisor)
            from router.server.supervisor import run_workers

            return run_workers(uvicorn.Config(APP_FACTORY, **options))
        uvicorn.run(APP_FACTORY, **options)
    return 0


def _print_problems(exc: ConfigError) -> None:
    problems = getattr(exc, "problems", None)
    if not problems:
        print(f"router: {exc}", file=sys.stderr)
        return
    for problem in problems:
        print(problem.render(), file=sys.stderr)


def _warn_per_worker_counts(loaded: LoadedConfig, workers: int) -> None:
    access = loaded.access
    counted = access.active or bool(access.key_budgets) or bool(access.route_budgets)
    if counted and access.settings.backend == "memory":
        print(f"router: warning: rate limits and budgets are counted in memory by each of the {workers} workers "
              f'on its own (together {workers}x); [limits] backend = "redis" shares them', file=sys.stderr)


def _print_summary(loaded: LoadedConfig, host: str, port: int) -> None:
    """Which routes serve and which providers are waiting for their key."""
    print(f"router: serving {loaded.filename or 'UPSTREAM_* environment'} on http://{host}:{port}")
    for route in loaded.config.routes:
        targets = route_targets(route)
        state = "off (no API key in the environment)" if route.name in loaded.disabled_routes else "on"
        names = ", ".join(route.models)
        print(f"  {route.name:<24} {names:<28} -> {', '.join(targets)}  [{state}]")
