"""The Responses API's kept answers: what is kept of a finished response (`store` not false), how
`previous_response_id` rebuilds the conversation from it, and the shapes of GET and DELETE
/v1/responses/{id} and GET /v1/responses/{id}/input_items. Pure functions; the gateway does
the I/O (router.gateway.history, router.gateway.stored) and exports nothing of this protocol.

A record is {"response": the response object as the client got it, "input": every input item
that led to it}. The input is the whole conversation (the kept history the request continued,
then its own input), so a later turn rebuilds from one record, whichever target answers it:

    expanded input = record input + the record response's output items + this request's input

`instructions` are not carried over (the API does not: each request brings its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from router.core.errors import InvalidRequest, ModelNotFound, RouterError
from router.spokes.history import History, JSONObject
from router.spokes.responses.request_wire import Item, ResponsesRouting

PATH = "/v1/responses"
# A stream's answer is final in these events (`response.failed` is not kept: the client was told
# of an error, and continuing from it would continue a turn that did not happen).
FINAL_EVENTS = frozenset({"response.completed", "response.incomplete"})
FINAL_MARKERS = tuple(event.encode() for event in sorted(FINAL_EVENTS))
DEFAULT_PAGE, MAX_PAGE = 20, 100


class _Final(msgspec.Struct):
    type: str = ""
    response: dict[str, Any] | None = None


_decode_final = msgspec.json.Decoder(_Final).decode


def continues(fields: ResponsesRouting) -> str | None:
    return fields.previous_response_id or None


def keeps(fields: ResponsesRouting) -> bool:
    """`store` defaults to true in the API; Codex sends false."""
    return fields.store is not False


def input_items(request: JSONObject) -> list[Item]:
    """The request's input as items: a string is one user message."""
    given = request.get("input")
    if isinstance(given, str):
        return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": given}]}]
    if isinstance(given, list):
        return given
    return []


def expand(request: JSONObject, record: JSONObject) -> JSONObject:
    """`request` with the kept conversation before its own input (previous_response_id kept:
    see History.expand)."""
    output = record["response"].get("output") or []
    expanded = dict(request)
    expanded["input"] = [*record["input"], *output, *input_items(request)]
    return expanded


def record(request: JSONObject, answer: JSONObject) -> JSONObject:
    """`request` is the request as it went on (expanded when it continued a kept answer)."""
    return {"response": answer, "input": input_items(request)}


def answer_id(answer: JSONObject) -> str | None:
    kept = answer.get("id")
    return kept if isinstance(kept, str) and kept else None


def final_answer(event: str | None, data: bytes) -> JSONObject | None:
    """The response object of a `response.completed` or `response.incomplete` event."""
    if event is not None and event not in FINAL_EVENTS:
        return None
    if event is None and not any(marker in data for marker in FINAL_MARKERS):
        return None
    try:
        final = _decode_final(data)
    except msgspec.DecodeError:
        return None
    return final.response if final.type in FINAL_EVENTS else None


def unknown(previous: str) -> RouterError:
    """As the API words it; the field is named for clients that show only the message."""
    return InvalidRequest(f"Previous response with id '{previous}' not found (previous_response_id).",
                          param="previous_response_id", code="previous_response_not_found")


def not_found(kept: str) -> RouterError:
    return ModelNotFound(f"No response found with id '{kept}'.")


def answer_of(kept: JSONObject) -> JSONObject:
    response: JSONObject = kept["response"]
    return response


def deleted(kept: str) -> JSONObject:
    return {"id": kept, "object": "response", "deleted": True}


def input_page(kept: JSONObject, query: Mapping[str, str]) -> JSONObject:
    """OpenAI's list shape: `order` (asc | desc, the API's default desc), `limit` (1 to 100,
    default 20), `after` (an item id). Items kept without an id are listed as `item_<n>`
    (their place in the conversation), so paging with `after` works for them too."""
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise InvalidRequest(f"order: expected 'asc' or 'desc', got {order!r}")
    limit = _limit(query.get("limit"))
    items = [item if "id" in item else {"id": f"item_{index}", **item} for index, item in enumerate(kept["input"])]
    if order == "desc":
        items.reverse()
    after = query.get("after")
    if after is not None:
        position = next((index for index, item in enumerate(items) if item.get("id") == after), None)
        if position is None:
            raise InvalidRequest(f"after: no input item with id {after!r}")
        items = items[position + 1:]
    page = items[:limit]
    return {
        "object": "list", "data": page, "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None, "has_more": len(items) > limit,
    }


def _limit(given: str | None) -> int:
    if given is None:
        return DEFAULT_PAGE
    if not given.isdigit() or not 1 <= int(given) <= MAX_PAGE:
        raise InvalidRequest(f"limit: expected a whole number from 1 to {MAX_PAGE}, got {given!r}")
    return int(given)


HISTORY = History(
    path=PATH, continues=continues, keeps=keeps, expand=expand, pointer="previous_response_id",
    record=record, answer_id=answer_id,
    final_markers=FINAL_MARKERS, final_answer=final_answer, unknown=unknown, not_found=not_found,
    answer_of=answer_of, deleted=deleted, input_page=input_page,
)
