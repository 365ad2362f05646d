"""`GET /admin/usage?by=key|route|target&since=24h`: the ledger's totals as JSON rows, for
`router usage` and anything else an operator points at it. Admin auth as the other admin
endpoints (router.server.admin.admin_denied); names only, never a key or a digest.

    {"by": "key", "since": <epoch s>, "rows": [{"name": "ci", "requests": 12, "errors": 0,
      "input_tokens": ..., "output_tokens": ..., "cache_read_tokens": ..., "cache_write_tokens": ...,
      "cost_usd": 0.42, "latency_ms_sum": ..., "cache_hits": 3}, ...],
     "budgets": [{"scope": "key", "name": "ci", "spent": ..., "usd": 50.0, "period": "day",
      "resets_at": "2026-12-05T00:00:00Z", "warn": false}, ...]}

`cache_hits`: requests the response cache answered (no tokens, no cost; counted in `requests`
too). Rows are sorted by cost, then requests, highest first. Budgets are every configured one, with
what it has spent in its current period (left out when the shared store does not answer).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, Response, get

from router.gateway.state import RouterState
from router.ledger import LedgerUnavailable, UsageTotals
from router.server.admin import admin_denied

_encode = msgspec.json.Encoder().encode
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
BY = ("key", "route", "target")


@get("/admin/usage")
async def admin_usage(request: Request[Any, Any, Any]) -> Response[bytes]:
    state: RouterState = request.app.state.router
    denied = admin_denied(request, state)
    if denied is not None:
        return denied
    by = request.query_params.get("by", "key")
    since_text = request.query_params.get("since", "24h")
    seconds = parse_duration(since_text)
    if by not in BY or seconds is None:
        message = f"by must be one of {', '.join(BY)}; since a duration such as 90m, 24h, 7d (got by={by!r}, since={since_text!r})"
        return _json({"error": {"type": "invalid_request_error", "message": message}}, 400)
    since = state.budgets.now() - seconds
    state.settle_usage()
    try:
        totals = await state.ledger.totals(by, since)  # type: ignore[arg-type]  # checked against BY
    except LedgerUnavailable as exc:
        return _json({"error": {"type": "api_error", "message": f"the usage store did not answer ({exc})"}}, 503)
    body = {"by": by, "since": since, "rows": rows(totals), "budgets": await _budgets(state)}
    return _json(body, 200)


def rows(totals: dict[str, UsageTotals]) -> list[dict[str, Any]]:
    ordered = sorted(totals.items(), key=lambda item: (-item[1].cost_usd, -item[1].requests, item[0]))
    return [{"name": name, **msgspec.to_builtins(figures)} for name, figures in ordered]


async def _budgets(state: RouterState) -> list[dict[str, Any]]:
    access = state.table.loaded.access
    try:
        statuses = await state.budgets.budget_status(access.key_budgets, access.route_budgets)
    except LedgerUnavailable:
        return []
    return [{**msgspec.to_builtins(status), "resets_at": status.resets_at_iso} for status in statuses]


def parse_duration(text: str) -> float | None:
    """`90s`, `30m`, `24h`, `7d`, `2w` (or a plain number of seconds) → seconds; None if not one."""
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    match = _DURATION.fullmatch(text.strip())
    return None if match is None else float(match[1]) * _UNIT_SECONDS[match[2]]


def _json(body: dict[str, Any], status: int) -> Response[bytes]:
    return Response(_encode(body), status_code=status, media_type="application/json")
