"""The front door of a protocol whose URL names the model and the method (a spoke with
`ModelPaths`, e.g. Gemini's `POST /v1beta/models/{model}:generateContent`):

    POST <prefix>/<model>:<method>   generate, stream, count tokens
    GET  <prefix>/<model>            one model, if this front door serves it
    GET  <prefix>                    the models it serves

Each prefix is mounted as one raw ASGI handler that reads the rest of the path itself (Litestar
2.25 fails with a 500 on a raw ASGI handler with path parameters). A mount sees only what
follows its prefix; the scope's path is put back whole first, so the access log shows the path
the client asked for (never its query string, which may carry the key). `GET /v1/models` is
shared by every protocol (router.gateway.ops): where a mount covers that path, the mount
answers it as ops does (Litestar allows no other handler on a mounted path).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

import msgspec
from litestar import asgi
from litestar.handlers import ASGIRouteHandler

from router.core.answer import Answer, Streamed, Unary
from router.core.errors import InvalidRequest, ModelNotFound, RouterError
from router.gateway.auth import authenticate
from router.gateway.context import RequestContext, decode_client
from router.gateway.dispatch import dispatch, route
from router.gateway.endpoint import answer_request, new_request_id, router_state
from router.gateway.incoming import Receive, Scope, Send, headers_of
from router.gateway.ops import LISTING_PATH, models_listing
from router.gateway.send import error_answer, send_unary
from router.gateway.state import RouterState
from router.hub.messages import RoutingFields
from router.observe.exchange import exchange_of
from router.routing.lookup import is_glob
from router.spokes.registry import CLIENT_SPOKES, spokes_for_listing
from router.spokes.spoke import ModelPaths, PathCall, Spoke

_encode = msgspec.json.Encoder().encode


def model_path_endpoints() -> list[ASGIRouteHandler]:
    return [_mount(spoke, paths, prefix) for spoke, paths, prefix in _mounted()]


def covers_listing() -> bool:
    """Whether a mount answers GET /v1/models (then ops' own handler must not be registered)."""
    return any(prefix == LISTING_PATH for *_, prefix in _mounted())


def _mounted() -> list[tuple[Spoke, ModelPaths, str]]:
    return [(spoke, paths, prefix) for spoke in CLIENT_SPOKES
            if (paths := spoke.client.model_paths) is not None for prefix in paths.prefixes]


def _mount(spoke: Spoke, paths: ModelPaths, prefix: str) -> ASGIRouteHandler:
    async def model_path_request(scope: Scope, receive: Receive, send: Send) -> None:
        rest = scope["path"].strip("/")  # the mount's remainder: "<model>:<method>", "<model>" or ""
        scope["path"] = f"{prefix}/{rest}" if rest else prefix
        if not _below(scope, prefix):  # "/v1/modelsX": the mount matched a longer word
            await _refuse(send, spoke, ModelNotFound(f"no endpoint {scope['method']} {scope['path']}"))
            return
        query = scope.get("query_string", b"").decode("latin-1")
        if not rest and prefix == LISTING_PATH:
            await _shared_listing(scope, send)
        elif not rest:
            await _listing(scope, send, spoke, query)
        elif ":" not in rest:
            await _one_model(scope, send, spoke, paths, rest, query)
        else:
            await _model_call(scope, receive, send, spoke, paths, rest, query)

    model_path_request.__name__ = model_path_request.__qualname__ = f"{spoke.name}_model_path_request"
    return asgi(prefix, is_mount=True, copy_scope=False, name=f"{spoke.name}:{prefix}")(model_path_request)


def _below(scope: Scope, prefix: str) -> bool:
    """The raw path is the prefix or below it (the mount also matches "/v1/modelsX")."""
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    raw_path = raw.split(b"?", 1)[0].rstrip(b"/").decode("latin-1")
    return raw_path == prefix or raw_path.startswith(prefix + "/")


async def _model_call(scope: Scope, receive: Receive, send: Send, spoke: Spoke, paths: ModelPaths,
                      rest: str, query: str) -> None:
    call = paths.call(rest, query)
    if call is None:
        method = rest.partition(":")[2]
        await _refuse(send, spoke, ModelNotFound(f"no method {method!r} on {scope['path']}; "
                                                  "served: generateContent, streamGenerateContent, countTokens"))
        return
    if call.method != "count_tokens":
        scope_exchange(scope)
    query_key = _query_key(spoke, query)
    handler = _count_tokens(paths, call) if call.method == "count_tokens" else _generate(paths, call)

    async def handle(ctx: RequestContext) -> Answer:
        ctx.call, ctx.query_key = call, query_key
        return await handler(ctx)

    await answer_request(scope, receive, send, spoke, handle)


def scope_exchange(scope: Scope) -> None:
    """A model call is counted with the model requests (router_requests_total), as the other
    protocols' model paths are: the middleware could not tell from the mount's path."""
    exchange_of(scope).model_request = True


def _generate(paths: ModelPaths, call: PathCall) -> Callable[[RequestContext], Awaitable[Answer]]:
    async def generate(ctx: RequestContext) -> Answer:
        answer = await dispatch(ctx)
        if isinstance(answer, Streamed) and not call.sse:
            answer.iterator = paths.reframe(answer.iterator)
            answer.content_type = paths.reframed_type.encode("latin-1")
        return answer
    return generate


def _count_tokens(paths: ModelPaths, call: PathCall) -> Callable[[RequestContext], Awaitable[Answer]]:
    """Counted here, offline, with the estimator routing and limits use (router.hub.tokens),
    whatever the target: allowed for the key like a model call, but no budget is spent."""
    async def count_tokens(ctx: RequestContext) -> Answer:
        plan, *_ = route(ctx, lambda _body: RoutingFields(model=call.model))
        counted = ctx.spoke.client.view.input_tokens(decode_client(paths.count_request, ctx.body))
        headers = {"request-id": ctx.request_id, "x-router-route": plan.route}
        return Unary(_encode(paths.count_answer(counted)), headers)
    return count_tokens


async def _one_model(scope: Scope, send: Send, spoke: Spoke, paths: ModelPaths, model: str, query: str) -> None:
    state = router_state(scope)
    try:
        _authenticated(scope, state, spoke, query)
        _get_only(scope)
        if not _serves(state, spoke, model):
            raise ModelNotFound(f"model {model!r} is not served here; GET {scope['path'].rsplit('/', 1)[0]} lists the models")
    except RouterError as error:
        await _refuse(send, spoke, error)
        return
    await send_unary(Unary(_encode(paths.model_info(model))), send)


async def _shared_listing(scope: Scope, send: Send) -> None:
    """GET /v1/models, as router.gateway.ops answers it (only GET: it lists, nothing else)."""
    headers = headers_of(scope)
    try:
        _get_only(scope)
    except RouterError as error:
        await _refuse(send, spokes_for_listing(headers)[0], error)
        return
    await send_unary(models_listing(router_state(scope), headers), send)


async def _listing(scope: Scope, send: Send, spoke: Spoke, query: str) -> None:
    state = router_state(scope)
    try:
        _authenticated(scope, state, spoke, query)
        _get_only(scope)
    except RouterError as error:
        await _refuse(send, spoke, error)
        return
    names = [name for name in state.table.model_names(spoke.name) if not is_glob(name)]  # type: ignore[arg-type]
    await send_unary(Unary(_encode(spoke.client.model_list(list(dict.fromkeys(names))))), send)


def _authenticated(scope: Scope, state: RouterState, spoke: Spoke, query: str) -> None:
    authenticate(headers_of(scope), state.key_hashes, spoke.client.key_header, _query_key(spoke, query))


def _get_only(scope: Scope) -> None:
    if scope["method"] not in ("GET", "HEAD"):
        error = InvalidRequest(f"method {scope['method']} is not allowed on {scope['path']}; use GET",
                               headers={"allow": "GET"})
        error.status = 405
        raise error


def _serves(state: RouterState, spoke: Spoke, model: str) -> bool:
    names = state.table.model_names(spoke.name)  # type: ignore[arg-type]
    return any(name == model or (is_glob(name) and fnmatch.fnmatchcase(model, name)) for name in names)


def _query_key(spoke: Spoke, query: str) -> str | None:
    """The key the URL carried, where the protocol allows one there (Gemini's `?key=`)."""
    name = spoke.client.key_query
    if name is None or not query:
        return None
    return next((value for field, value in parse_qsl(query) if field == name), None)


async def _refuse(send: Send, spoke: Spoke, error: RouterError) -> None:
    await send_unary(error_answer(error, spoke, new_request_id()), send)
