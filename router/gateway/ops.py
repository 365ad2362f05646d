"""Operational endpoints: /health, /ready, /metrics, /auth-token and /v1/models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Request, Response, get

from router.core.answer import Unary
from router.core.errors import RouterError
from router.core.netaddr import is_direct_loopback
from router.gateway.auth import authenticate
from router.gateway.send import error_answer
from router.gateway.state import RouterState
from router.routing.lookup import Table, is_glob
from router.spokes.registry import spokes_for_listing
from router.spokes.spoke import Spoke

_encode = msgspec.json.Encoder().encode


@get("/health")
async def health() -> Response[bytes]:
    """Liveness: the process answers."""
    return Response(b'{"status":"ok"}', media_type="application/json")


@get("/ready")
async def ready(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Readiness: a table is loaded and the server is not draining."""
    state = request.app.state.router
    if not state.ready:
        return Response(b'{"status":"draining"}', status_code=503, media_type="application/json")
    routes = len(state.table.loaded.config.routes)
    return Response(_encode({"status": "ready", "routes": routes}), media_type="application/json")


@get("/metrics")
async def prometheus_metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus text format (OpenMetrics when asked for); with several workers, all of them."""
    body, content_type = request.app.state.router.metrics.exposition(request.headers.get("accept", ""))
    # Litestar appends "; charset=utf-8" to text/ types itself.
    return Response(body, media_type=content_type.replace("; charset=utf-8", ""))


@get("/auth-token")
async def auth_token(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The generated client key, for a local tool to pick up. Loopback peers only: the seed gateway
    handed it to anyone on the internet. Behind a proxy the peer is the proxy, never the client, so
    a forwarded request is refused too."""
    state = request.app.state.router
    peer = request.client.host if request.client else None
    if not is_direct_loopback(peer, request.headers) or state.generated_key is None:
        return Response(b'{"error":"not found"}', status_code=404, media_type="application/json")
    return Response(_encode({"token": state.generated_key}), media_type="application/json")


LISTING_PATH = "/v1/models"


@get(LISTING_PATH)
async def list_models(request: Request[Any, Any, Any]) -> Response[bytes]:
    """In the shape of the client's protocol, told by the header only its clients send
    (anthropic-version); the exact model names its front door serves."""
    answer = models_listing(request.app.state.router, request.headers)
    return Response(answer.body, status_code=answer.status, headers=answer.headers, media_type="application/json")


def models_listing(state: RouterState, headers: Mapping[str, str]) -> Unary:
    """GET /v1/models, shared by the protocols that use that path (router.gateway.model_paths
    serves it where a protocol's model paths are mounted below it)."""
    spokes = spokes_for_listing(headers)
    try:
        authenticate(headers, state.key_hashes, spokes[0].client.key_header)
    except RouterError as error:
        return error_answer(error, spokes[0])
    return Unary(_encode(spokes[0].client.model_list(_names(state.table, spokes))))


def _names(table: Table, spokes: tuple[Spoke, ...]) -> list[str]:
    """The exact names the spokes' front doors serve, each once, in table order. Globs are
    rules, not names a client can pick, so they are not listed."""
    names = (name for spoke in spokes for name in table.model_names(spoke.name))  # type: ignore[arg-type]
    return [name for name in dict.fromkeys(names) if not is_glob(name)]
