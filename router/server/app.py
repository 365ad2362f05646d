"""create_app(state, reloader) -> Litestar. The lifespan starts the reloader (when the table comes
from a file) and closes the upstream clients; nothing happens at import."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, cast

from litestar import Litestar, Request, Response
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from router.config.schema import Cors
from router.core.errors import (
    InvalidRequest,
    ModelNotFound,
    PayloadTooLarge,
    RouterError,
)
from router.gateway.count_tokens import count_tokens
from router.gateway.endpoint import new_request_id
from router.gateway.errors import error_response
from router.gateway.model_paths import covers_listing, model_path_endpoints
from router.gateway.models import model_endpoints
from router.gateway.ops import (
    auth_token,
    health,
    list_models,
    prometheus_metrics,
    ready,
)
from router.gateway.state import RouterState
from router.gateway.stored import stored_endpoints
from router.observe import accesslog
from router.observe.batched import flush_periodically
from router.observe.exchange import (
    ObserveMiddleware,
    Scope,
    access_log_of,
    record_unrouted,
)
from router.server.admin_usage import admin_usage
from router.server.dashboard import Dashboard, dashboard_handlers
from router.server.reload import Reloader
from router.server.shutdown import serving_lifespan
from router.spokes.registry import spoke_for_path

if TYPE_CHECKING:
    from router.observe.otel import Tracing

log = logging.getLogger("router")


def _http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    """Litestar's own errors (no such path, wrong method, body too large) in the client's shape,
    with a request id and an access-log line like every other answer."""
    error: RouterError
    if exc.status_code == 404:
        error = ModelNotFound(f"no endpoint {request.method} {request.url.path}; served here: {_served(request.app)}")
    elif exc.status_code == 413:
        limit = request.route_handler.resolve_request_max_body_size()
        error = PayloadTooLarge(f"request body larger than {limit} bytes ([server] max-body-bytes)")
    else:
        error = InvalidRequest(str(exc.detail))
        error.status = exc.status_code
    request_id = new_request_id()
    response = error_response(error, spoke_for_path(request.url.path), request_id)
    # litestar types the scope as a TypedDict and status_code as optional; error_response sets it
    status = cast(int, response.status_code)
    record_unrouted(cast(Scope, request.scope), status, request_id, access_log_of(request.app.state.router))
    return response


def _served(app: Litestar) -> str:
    """The endpoints this app serves, "POST /v1/messages, ...", for a 404's message."""
    endpoints: list[str] = []
    for route in app.routes:
        methods = sorted(set(getattr(route, "methods", ())) - {"HEAD", "OPTIONS"}) or ["POST"]
        endpoints.extend(f"{method} {route.path}" for method in methods)
    return ", ".join(endpoints)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """A bug: log it with the traceback, answer without one."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    error = RouterError("internal error in the router")
    error.status = HTTP_500_INTERNAL_SERVER_ERROR
    return error_response(error, spoke_for_path(request.url.path))


def create_app(state: RouterState, reloader: Reloader | None = None, *, drain_signals: bool = False,
               tracing: Tracing | None = None) -> Litestar:
    """`reloader`: None for a table that does not come from a file (tests, UPSTREAM_* variables);
    POST /admin/reload then says there is nothing to reload. `drain_signals`: under `router serve`,
    SIGTERM turns /ready to 503 first (router.server.shutdown). [server] body limit and CORS apply here.
    `tracing`: traces (router.observe.tracing.start_tracing), None when off; shut down (its last
    spans exported) when the server stops."""
    server = state.table.loaded.config.server
    accesslog.install()
    # httpx logs every request at INFO: a formatted line per call on the hot path, and noise.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if reloader is not None:
            reloader.start()
        # The batched counters reach Prometheus (and, with workers, this worker's metrics file)
        # at least once a second, and once more at the end.
        flusher = asyncio.get_running_loop().create_task(flush_periodically(state.metrics.flush))
        try:
            yield
        finally:
            state.ready = False
            if reloader is not None:
                await reloader.stop()
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            await state.aclose()
            if tracing is not None:
                await asyncio.to_thread(tracing.shutdown)  # blocks on the last export

    return Litestar(
        route_handlers=[
            *model_endpoints(), *model_path_endpoints(), *stored_endpoints(), count_tokens,
            *(() if covers_listing() else (list_models,)), health, ready, auth_token,
            *dashboard_handlers(), admin_usage, prometheus_metrics,
        ],
        lifespan=[lifespan, serving_lifespan(state, drain_signals)],
        middleware=[DefineMiddleware(ObserveMiddleware, state=state, tracing=tracing)],  # type: ignore[arg-type]
        cors_config=_cors(server.cors),
        state=State({"router": state, "reloader": reloader, "dashboard": Dashboard()}),
        exception_handlers={HTTPException: _http_exception, Exception: _unexpected},
        openapi_config=None,
        request_max_body_size=server.max_body_bytes,
        debug=False,
    )


def _cors(cors: Cors | None) -> CORSConfig | None:
    if cors is None:
        return None
    return CORSConfig(
        allow_origins=cors.origins, allow_methods=cors.methods, allow_headers=cors.headers,  # type: ignore[arg-type]
        expose_headers=cors.expose_headers, allow_credentials=cors.credentials, max_age=cors.max_age,
    )
