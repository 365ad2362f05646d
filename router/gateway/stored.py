"""Kept answers by id, for each client protocol whose spoke has a History
(router.spokes.history): GET and DELETE `{path}/{id}`, GET `{path}/{id}/input_items`. The paths
and every shape come from the spoke; nothing here names a protocol.

Authenticated like the model endpoints; a key sees only what it kept (another key's answer is
"not found"). Ordinary Litestar handlers, not raw ASGI like the model endpoints: they are not
on the hot path, and Litestar (2.x) does not give a raw ASGI handler its path parameters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Request, Response, get, route
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler

from router.core.errors import RouterError
from router.gateway.auth import authenticate
from router.gateway.endpoint import new_request_id
from router.gateway.errors import error_response
from router.gateway.history import load
from router.gateway.state import RouterState
from router.observe.exchange import exchange_of
from router.spokes.history import History, JSONObject
from router.spokes.registry import CLIENT_SPOKES
from router.spokes.spoke import Spoke

_encode = msgspec.json.Encoder().encode
# (state, history, the key's name, the id, the query) → the answer's JSON
Action = Callable[[RouterState, History, str | None, str, dict[str, str]], Awaitable[JSONObject]]


def stored_endpoints() -> list[HTTPRouteHandler]:
    return [endpoint for spoke in CLIENT_SPOKES for endpoint in _endpoints(spoke)]


def _endpoints(spoke: Spoke) -> list[HTTPRouteHandler]:
    history = spoke.client.history
    if history is None:
        return []
    one = f"{history.path}/{{answer_id:str}}"

    async def kept_answer(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _answer(request, spoke, history, _delete if request.method == HttpMethod.DELETE else _read)

    async def kept_input(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _answer(request, spoke, history, _input_items)

    return [
        route(one, http_method=[HttpMethod.GET, HttpMethod.DELETE], status_code=200,  # DELETE answers a body
              name=f"{spoke.name}:kept")(kept_answer),
        get(f"{one}/input_items", name=f"{spoke.name}:kept_input")(kept_input),
    ]


async def _answer(request: Request[Any, Any, Any], spoke: Spoke, history: History, action: Action) -> Response[bytes]:
    request_id = new_request_id()
    answer_id: str = request.path_params["answer_id"]
    try:
        state: RouterState = request.app.state.router
        key = authenticate(request.headers, state.key_hashes)
        exchange_of(request.scope).key = key  # type: ignore[arg-type]
        body = await action(state, history, key, answer_id, dict(request.query_params))
    except RouterError as error:
        return error_response(error, spoke, request_id)
    return Response(_encode(body), media_type="application/json", headers={"request-id": request_id})


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
