"""`router usage [--by key|route|target] [--since 24h] [--json] [--url URL] [--admin-key env:NAME]
[--config PATH]`: what was used and spent, from a running router's ledger (`GET /admin/usage`).

The URL defaults to the config's `[server]` host and port (a wildcard bind address is reached on
loopback). The admin key, when the server has `[auth] admin-keys`, is given as a reference to
an environment variable, never on the command line itself.

The table's token columns add up to every token billed: INPUT is the uncached input (prompt
tokens neither read from nor written to a cache), then OUTPUT, CACHE-READ and CACHE-WRITE. HITS
are the requests the response cache answered (counted in REQUESTS too; they use no tokens).
"""

from __future__ import annotations

import argparse
import json
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import httpx

from router.config.envref import parse_env_ref
from router.config.load import find_config_path

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8080
WILDCARDS = ("0.0.0.0", "::", "")
COLUMNS = ("REQUESTS", "ERRORS", "HITS", "INPUT", "OUTPUT", "CACHE-READ", "CACHE-WRITE", "COST USD", "AVG MS")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="router usage", exit_on_error=False)
    parser.add_argument("--by", choices=("key", "route", "target"), default="key")
    parser.add_argument("--since", default="24h", help="how far back: 90m, 24h, 7d (whole hours are counted)")
    parser.add_argument("--json", action="store_true", help="the endpoint's JSON as it came")
    parser.add_argument("--url", help="the router (default: the config's [server] host and port)")
    parser.add_argument("--admin-key", help="env:NAME, the variable holding an admin key")
    parser.add_argument("--config", help="routes.toml (default: $ROUTER_CONFIG, then ./routes.toml)")
    return parser


def run_usage(argv: Sequence[str], environ: Mapping[str, str], out: TextIO, err: TextIO,
              transport: httpx.BaseTransport | None = None) -> int:
    try:
        args = _parser().parse_args(list(argv))
    except (argparse.ArgumentError, SystemExit) as exc:
        print(f"router usage: {exc}", file=err)
        return 2
    headers: dict[str, str] = {}
    if args.admin_key:
        variable = parse_env_ref(args.admin_key)
        if variable is None:
            print("router usage: --admin-key takes env:NAME (the key itself never goes on a command line)", file=err)
            return 2
        if not environ.get(variable):
            print(f"router usage: environment variable {variable} is not set", file=err)
            return 2
        headers["authorization"] = f"Bearer {environ[variable]}"
    url = (args.url or default_url(args.config, environ)).rstrip("/")
    try:
        with httpx.Client(transport=transport, timeout=10.0) as client:
            response = client.get(f"{url}/admin/usage", params={"by": args.by, "since": args.since}, headers=headers)
    except httpx.HTTPError as exc:
        print(f"router usage: {url} did not answer ({type(exc).__name__}: {exc})", file=err)
        return 1
    if response.status_code != 200:
        print(f"router usage: {url} answered {response.status_code}: {_error_message(response)}", file=err)
        return 1
    body = response.json()
    if args.json:
        out.write(json.dumps(body, indent=2) + "\n")
    else:
        out.write(render_table(body))
    return 0


def default_url(config: str | None, environ: Mapping[str, str]) -> str:
    """http://host:port of the config's [server] (read from the file alone: no environment
    variable the rest of the config needs has to be set to ask for usage)."""
    host, port = DEFAULT_HOST, DEFAULT_PORT
    path = find_config_path(config, environ)
    if path is not None:
        try:
            server = tomllib.loads(Path(path).read_text()).get("server", {})
        except (OSError, tomllib.TOMLDecodeError):
            server = {}
        host, port = str(server.get("host", host)), int(server.get("port", port))
    if host in WILDCARDS:
        host = DEFAULT_HOST
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def render_table(body: Mapping[str, Any]) -> str:
    """Aligned columns, one row per name and a total; then the budgets, if any."""
    by = str(body.get("by", "key")).upper()
    rows = [_cells(row) for row in body.get("rows", [])]
    if rows:
        total: dict[str, Any] = {"name": "TOTAL"}
        for field in ("requests", "errors", "cache_hits", "input_tokens", "output_tokens", "cache_read_tokens",
                      "cache_write_tokens", "cost_usd", "latency_ms_sum"):
            total[field] = sum(row.get(field, 0) for row in body["rows"])
        rows.append(_cells(total))
    table = [[by, *COLUMNS], *(rows or [["(no requests)", *[""] * len(COLUMNS)]])]
    lines = [_aligned(row, table) for row in table]
    budgets = body.get("budgets") or []
    if budgets:
        lines += ["", "BUDGETS"]
        for budget in budgets:
            warn = "  (over warning threshold)" if budget.get("warn") else ""
            lines.append(f"  {budget['scope']} {budget['name']}: ${budget['spent']:.2f} of ${budget['usd']:.2f} "
                         f"per {budget['period']}, resets at {budget['resets_at']}{warn}")
    return "\n".join(lines) + "\n"


def _cells(row: Mapping[str, Any]) -> list[str]:
    requests = int(row.get("requests", 0))
    cache_read, cache_write = int(row.get("cache_read_tokens", 0)), int(row.get("cache_write_tokens", 0))
    uncached = max(int(row.get("input_tokens", 0)) - cache_read - cache_write, 0)
    average = float(row.get("latency_ms_sum", 0.0)) / requests if requests else 0.0
    return [
        str(row.get("name") or "(no key)"), f"{requests:,}", f"{int(row.get('errors', 0)):,}",
        f"{int(row.get('cache_hits', 0)):,}", f"{uncached:,}",
        f"{int(row.get('output_tokens', 0)):,}", f"{cache_read:,}", f"{cache_write:,}",
        f"{float(row.get('cost_usd', 0.0)):.4f}", f"{average:.0f}",
    ]


def _aligned(row: list[str], table: list[list[str]]) -> str:
    widths = [max(len(line[index]) for line in table) for index in range(len(row))]
    first = row[0].ljust(widths[0])
    rest = [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
    return "  ".join([first, *rest]).rstrip()


def _error_message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]
