"""A protocol whose API keeps answers for later (the Responses API's `store` and
`previous_response_id`): what the gateway asks of its spoke to keep an answer, to rebuild a
conversation from a kept one whatever the route's target, and to serve kept answers by id.

The gateway owns the store (router.store), which key may see what, and when to read and write;
the spoke owns what a record holds and every shape a client sees. Records are JSON objects the
spoke makes (`record`) and reads (`expand`, `answer_of`, `input_page`); the gateway keeps each
with the API key that made it, and a record made by another key is "not found".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from router.core.errors import RouterError

JSONObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class History:
    # Kept answers are served at GET and DELETE `{path}/{id}` and GET `{path}/{id}/input_items`.
    path: str
    # Asked of the routing fields of the first decode (free: no second decode of the body).
    continues: Callable[[Any], str | None]  # the id of the kept answer the request continues
    keeps: Callable[[Any], bool]  # does the request ask for its answer to be kept?
    # (request, record) → the request with the kept conversation in it, so any target (another
    # protocol, or the same one that never saw the id) can answer it. The pointer stays, for a
    # converted answer to repeat it as the API does; passthrough targets get the request
    # without it (router.gateway.context), or they would look the id up themselves.
    expand: Callable[[JSONObject, JSONObject], JSONObject]
    pointer: str  # the request field naming the kept answer the request continues
    # (request as sent on, answer as the client got it) → the record to keep.
    record: Callable[[JSONObject, JSONObject], JSONObject]
    answer_id: Callable[[JSONObject], str | None]  # the id the answer is kept and found by
    # A stream's final answer: bytes that appear in the event carrying it (a cheap filter: a
    # stream is searched for them, and only parsed from the event that holds one), and that
    # event (name, data) → the answer object, None for any other event.
    final_markers: tuple[bytes, ...]
    final_answer: Callable[[str | None, bytes], JSONObject | None]
    unknown: Callable[[str], RouterError]  # a request continues an id that is not kept (400)
    not_found: Callable[[str], RouterError]  # GET or DELETE of an id that is not kept (404)
    answer_of: Callable[[JSONObject], JSONObject]  # GET `{path}/{id}`: the record → its answer
    deleted: Callable[[str], JSONObject]  # DELETE `{path}/{id}`'s answer
    # GET `{path}/{id}/input_items`: (record, query parameters) → one page of the input items;
    # a bad parameter raises a RouterError naming it.
    input_page: Callable[[JSONObject, Mapping[str, str]], JSONObject]
