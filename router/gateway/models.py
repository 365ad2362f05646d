"""The model endpoints: every path each spoke's clients POST to, made from the registry. A new
protocol's front door is its spoke's `ClientSide.paths`; nothing here names one."""

from __future__ import annotations

from litestar import asgi
from litestar.handlers import ASGIRouteHandler

from router.gateway.dispatch import dispatch
from router.gateway.endpoint import answer_request
from router.gateway.incoming import Receive, Scope, Send
from router.spokes.registry import CLIENT_SPOKES
from router.spokes.spoke import Spoke


def model_endpoints() -> list[ASGIRouteHandler]:
    return [_endpoint(spoke, path) for spoke in CLIENT_SPOKES for path in spoke.client.paths]


def _endpoint(spoke: Spoke, path: str) -> ASGIRouteHandler:
    async def model_request(scope: Scope, receive: Receive, send: Send) -> None:
        await answer_request(scope, receive, send, spoke, dispatch)

    model_request.__name__ = model_request.__qualname__ = f"{spoke.name}_model_request"
    return asgi(path, copy_scope=False, name=f"{spoke.name}:{path}")(model_request)
