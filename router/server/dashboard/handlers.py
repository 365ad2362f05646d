"""The dashboard's endpoints: the five pages, the login form, and the two admin paths it shares
with the JSON API (GET /admin/config and POST /admin/reload answer browsers with HTML and
everyone else with router.server.admin's JSON, unchanged)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from jinja2 import Environment
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.handlers import HTTPRouteHandler
from litestar.response import Redirect

from router.gateway.state import RouterState
from router.server.admin import MISSING_KEY, admin_refusal, config_answer, error_answer, reload_answer
from router.server.dashboard.config_page import config_context
from router.server.dashboard.guard import (
    CROSS_SITE,
    Refusal,
    cross_site,
    is_form,
    page_refusal,
    prefers_html,
)
from router.server.dashboard.keys import keys_context
from router.server.dashboard.overview import overview_context
from router.server.dashboard.render import environment, page
from router.server.dashboard.routes import routes_context
from router.server.dashboard.session import COOKIE, COOKIE_PATH, SessionKeys
from router.server.dashboard.upstreams import upstreams_context
from router.server.reload import Reloader

ContextOf = Callable[[RouterState, Request[Any, Any, Any]], Awaitable[dict[str, Any]]]
REFRESH_SECONDS = 5


@dataclass(frozen=True, slots=True)
class Dashboard:
    """One per app (on `app.state.dashboard`): the compiled templates and the session secret."""

    env: Environment = field(default_factory=environment)
    sessions: SessionKeys = field(default_factory=SessionKeys)


def _parts(request: Request[Any, Any, Any]) -> tuple[Dashboard, RouterState]:
    return request.app.state.dashboard, request.app.state.router


def _common(request: Request[Any, Any, Any], state: RouterState, current: str) -> dict[str, Any]:
    return {"current": current, "now": state.now(), "refresh": REFRESH_SECONDS,
            "admin_key_required": bool(state.table.loaded.admin_key_hashes)}


def _refused(request: Request[Any, Any, Any], dashboard: Dashboard, state: RouterState, refusal: Refusal,
             next_path: str = "/admin") -> Response[Any]:
    """JSON for API clients; for browsers the login form (401) or the reason (403)."""
    if not prefers_html(request):
        return error_answer(*refusal)
    status, _, message = refusal
    context = {**_common(request, state, ""), "message": message, "next": next_path}
    return page(dashboard.env, "login.html" if status == 401 else "refused.html", context, status)


async def _page(request: Request[Any, Any, Any], template: str, current: str, context_of: ContextOf) -> Response[Any]:
    dashboard, state = _parts(request)
    refusal = page_refusal(request, state, dashboard.sessions)
    if refusal is not None:
        # The first visit has no message to show: a plain login form.
        status, kind, message = refusal
        quiet = (status, kind, "" if message == MISSING_KEY else message)
        return _refused(request, dashboard, state, quiet, request.url.path)
    context = {**_common(request, state, current), **await context_of(state, request)}
    return page(dashboard.env, template, context)


# -- pages -------------------------------------------------------------------------------------


async def _overview(state: RouterState, request: Request[Any, Any, Any]) -> dict[str, Any]:
    return await overview_context(state)


async def _routes(state: RouterState, request: Request[Any, Any, Any]) -> dict[str, Any]:
    return await routes_context(state)


async def _upstreams(state: RouterState, request: Request[Any, Any, Any]) -> dict[str, Any]:
    return upstreams_context(state)


async def _keys(state: RouterState, request: Request[Any, Any, Any]) -> dict[str, Any]:
    return await keys_context(state)


async def _config(state: RouterState, request: Request[Any, Any, Any]) -> dict[str, Any]:
    reloader: Reloader | None = request.app.state.get("reloader")
    return config_context(state, reloader)


@get("/admin")
async def overview_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The overview; `?fragment=live` is its figures alone, which the page's script refreshes."""
    if request.query_params.get("fragment") == "live":
        return await _page(request, "overview_live.html", "overview", _overview)
    return await _page(request, "overview.html", "overview", _overview)


@get("/admin/routes")
async def routes_page(request: Request[Any, Any, Any]) -> Response[Any]:
    return await _page(request, "routes.html", "routes", _routes)


@get("/admin/upstreams")
async def upstreams_page(request: Request[Any, Any, Any]) -> Response[Any]:
    return await _page(request, "upstreams.html", "upstreams", _upstreams)


@get("/admin/keys")
async def keys_page(request: Request[Any, Any, Any]) -> Response[Any]:
    return await _page(request, "keys.html", "keys", _keys)


@get("/admin/config")
async def config_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """HTML when the caller prefers it, else the admin API's JSON exactly as before."""
    if not prefers_html(request):
        return config_answer(request)
    return await _page(request, "config.html", "config", _config)


# -- actions -----------------------------------------------------------------------------------


@post("/admin/reload", status_code=200)
async def reload_action(request: Request[Any, Any, Any]) -> Response[Any]:
    """Reload routes.toml now. The admin key comes in a header or the form's `admin_key` field;
    the session cookie is not enough (CSRF)."""
    dashboard, state = _parts(request)
    key: str | None = None
    if is_form(request):
        if cross_site(request):
            return _refused(request, dashboard, state, CROSS_SITE)
        form = await request.form()
        key = str(form.get("admin_key") or "") or None
    answer = await reload_answer(request, key)
    if not prefers_html(request):
        return answer
    body = msgspec.json.decode(answer.content)
    status = answer.status_code or 200
    context = {**_common(request, state, "config"), "answer": body, "status": status}
    return page(dashboard.env, "reload.html", context, status)


@get("/admin/login")
async def login_form(request: Request[Any, Any, Any]) -> Response[Any]:
    dashboard, state = _parts(request)
    if not state.table.loaded.admin_key_hashes:
        return Redirect("/admin", status_code=303)
    context = {**_common(request, state, ""), "message": "", "next": _next_path(request.query_params.get("next"))}
    return page(dashboard.env, "login.html", context)


@post("/admin/login", status_code=200)
async def login(request: Request[Any, Any, Any]) -> Response[Any]:
    """The form's key → the session cookie (HttpOnly, SameSite=Strict, Secure over https, 12 h)
    and back to the page asked for; a wrong key → the form again, 401."""
    dashboard, state = _parts(request)
    form = await request.form() if is_form(request) else {}
    next_path = _next_path(str(form.get("next") or ""))
    if cross_site(request):
        return _refused(request, dashboard, state, CROSS_SITE, next_path)
    key = str(form.get("admin_key") or "")
    refusal = admin_refusal(request, state, key) if key else (401, "authentication_error", "type the admin key")
    if refusal is not None:
        return _refused(request, dashboard, state, refusal, next_path)
    if not state.table.loaded.admin_key_hashes:
        return Redirect(next_path, status_code=303)  # loopback without admin keys: no session needed
    digest = hashlib.sha256(key.encode()).hexdigest()
    cookie = Cookie(key=COOKIE, value=dashboard.sessions.issue(digest, time.time()), max_age=dashboard.sessions.lifetime,
                    path=COOKIE_PATH, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return Redirect(next_path, status_code=303, cookies=[cookie])


def _next_path(value: str | None) -> str:
    """Where to go after the login: a dashboard path only (never another site)."""
    if value and value.startswith("/admin") and "//" not in value and "\\" not in value:
        return value
    return "/admin"


def dashboard_handlers() -> list[HTTPRouteHandler]:
    return [overview_page, routes_page, upstreams_page, keys_page, config_page, reload_action, login_form, login]
