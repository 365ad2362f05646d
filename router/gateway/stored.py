"""Kept answers by id, for each client protocol whose spoke has a History
(router.spokes.history): GET and DELETE `{path}/{id}`, GET `{path}/{id}/input_items`. The paths
and every shape come from the spoke; nothing here names a protocol.

Authenticated like the model endpoints; a key sees only what it kept (another key's answer is
"not found"). Raw ASGI handlers like the model endpoints (router.gateway.endpoint): they need
nothing of the framework's request machinery.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

import msgspec
from litestar import asgi
from litestar.handlers import ASGIRouteHandler

from router.core.answer import Unary
from router.core.errors import InvalidRequest, RouterError
from router.gateway.auth import authenticate
from router.gateway.endpoint import new_request_id, router_state
from router.gateway.history import load
from router.gateway.incoming import Receive, Scope, Send, headers_of
from router.gateway.send import error_answer, send_unary
from router.gateway.state import RouterState
from router.observe.exchange import exchange_of
from router.spokes.history import History, JSONObject
from router.spokes.registry import CLIENT_SPOKES
from router.spokes.spoke import Spoke

_encode = msgspec.json.Encoder().encode
# (state, history, the key's name, the id, the query) → the answer's JSON
Action = Callable[[RouterState, History, str | None, str, dict[str, str]], Awaitable[JSONObject]]


def stored_endpoints() -> list[ASGIRouteHandler]:
    return [endpoint for spoke in CLIENT_SPOKES for endpoint in _endpoints(spoke)]


def _endpoints(spoke: Spoke) -> list[ASGIRouteHandler]:
    history = spoke.client.history
    if history is None:
        return []
    one = f"{history.path}/{{answer_id:str}}"
    return [
        _endpoint(spoke, history, one, {"GET": _read, "DELETE": _delete}),
        _endpoint(spoke, history, f"{one}/input_items", {"GET": _input_items}),
    ]


def _endpoint(spoke: Spoke, history: History, path: str, actions: dict[str, Action]) -> ASGIRouteHandler:
    allowed = ", ".join(actions)

    async def kept_answer(scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        try:
            action = actions.get(scope["method"])
            if action is None:
                raise _not_allowed(scope, allowed)
            state = router_state(scope)
            key = authenticate(headers_of(scope), state.key_hashes)
            exchange_of(scope).key = key
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            body = await action(state, history, key, scope["path_params"]["answer_id"], query)
            answer = Unary(_encode(body), {"request-id": request_id})
        except RouterError as error:
            answer = error_answer(error, spoke, request_id)
        await send_unary(answer, send)

    kept_answer.__name__ = kept_answer.__qualname__ = f"{spoke.name}_kept_answer"
    return asgi(path, copy_scope=False, name=f"{spoke.name}:{path}")(kept_answer)


async def _record(state: RouterState, history: History, key: str | None, answer_id: str) -> JSONObject:
    record = None if state.store is None else await load(state.store, answer_id, key)
    if record is None:
        raise history.not_found(answer_id)
    return record


async def _read(state: RouterState, history: History, key: str | None, answer_id: str,
                query: dict[str, str]) -> JSONObject:
    return history.answer_of(await _record(state, history, key, answer_id))


async def _delete(state: RouterState, history: History, key: str | None, answer_id: str,
                  query: dict[str, str]) -> JSONObject:
    await _record(state, history, key, answer_id)  # another key's answer is not found, nor deleted
    assert state.store is not None, "a record was found in it"
    if not await state.store.delete(answer_id):
        raise history.not_found(answer_id)  # gone meanwhile (expired, or deleted by a racing call)
    return history.deleted(answer_id)


async def _input_items(state: RouterState, history: History, key: str | None, answer_id: str,
                       query: dict[str, str]) -> JSONObject:
    return history.input_page(await _record(state, history, key, answer_id), query)


def _not_allowed(scope: Scope, allowed: str) -> InvalidRequest:
    error = InvalidRequest(f"method {scope['method']} is not allowed on {scope['path']}; use {allowed}",
                           headers={"allow": allowed})
    error.status = 405
    return error
