"""Templates to responses: one jinja2 Environment per app (templates compiled once), HTML escaped
everywhere (autoescape: a route named `<script>` is text), and the headers every page carries.

Content-Security-Policy: nothing from elsewhere; the one <style> block and the one inline
script run by a nonce drawn per response; no frames, forms post to this origin only.
"""

from __future__ import annotations

import math
import secrets
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from litestar import Response
from litestar.datastructures import Cookie

HTML = "text/html; charset=utf-8"


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("router.server.dashboard", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters.update(num=human_number, raw=raw_number, usd=usd, iso=iso_time, percent=percent, ms=milliseconds)
    return env


def security_headers(nonce: str) -> dict[str, str]:
    policy = (f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; connect-src 'self'; "
              "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    return {"cache-control": "no-store", "x-frame-options": "DENY", "content-security-policy": policy,
            "x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}


def page(env: Environment, template: str, context: dict[str, Any], status: int = 200,
         cookies: list[Cookie] | None = None) -> Response[str]:
    nonce = secrets.token_urlsafe(16)
    html = env.get_template(template).render(**context, nonce=nonce)
    return Response(html, status_code=status, media_type=HTML, headers=security_headers(nonce), cookies=cookies)


# -- filters -------------------------------------------------------------------------------------


def raw_number(value: float) -> str:
    """`data-value`: the exact number, as Python prints it (parseable by float())."""
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def human_number(value: float | None) -> str:
    """1234567 → 1,234,567; 0.5 → 0.5; None → –."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def usd(value: float | None) -> str:
    if value is None:
        return "–"
    return f"${value:,.4f}" if 0 < abs(value) < 1 else f"${value:,.2f}"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def milliseconds(value: float | None) -> str:
    return "–" if value is None else (f"{value:.2f} ms" if value < 10 else f"{value:,.0f} ms")


def iso_time(value: float | None) -> str:
    """Epoch seconds → `2026-12-04 20:47:11Z`."""
    if value is None:
        return "–"
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
