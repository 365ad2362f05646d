"""A spoke's field table (schemas/<spoke>.<side>.toml) compiled the way a pair compiles it
(router.routing.compose), for unit tests that run independently of the spoke's registration;
shared by the spokes' table helpers (tests/spokes/<spoke>/.../client_table.py, upstream_table.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import msgspec

from router.config.schema import Op
from router.hub.messages import MessagesRequest
from router.mapping.compile import Compiled, compile_fields
from router.mapping.spec import PairSpec, parse_pair_spec
from router.spokes.tables import read_pair_text


@dataclass(frozen=True)
class PairTable:
    """One side's table: its name (`gemini.client`), the functions its [request] and [response]
    sections call, and the tags its variant tables may name."""

    name: str
    request_functions: Mapping[str, Callable[..., Any]]
    answer_functions: Mapping[str, Callable[..., Any]]
    variants: Collection[str]

    @cached_property
    def spec(self) -> PairSpec:
        functions = {*self.request_functions, *self.answer_functions}
        return parse_pair_spec(self.name, read_pair_text(self.name), functions, set(self.variants))

    @cached_property
    def request(self) -> Compiled:
        return self.compiled("request")

    @cached_property
    def response(self) -> Compiled:
        return self.compiled("response")

    def compiled(self, section: str, ops: Sequence[Op] = ()) -> Compiled:
        """A section compiled afresh (with a route's ops, when given)."""
        spec = self.spec
        fields = spec.request if section == "request" else spec.response
        functions = self.request_functions if section == "request" else self.answer_functions
        return compile_fields(name=f"convert_{section}", origin=f"test {section}", fields=fields, ops=ops,
                              functions=functions, values=spec.values)


def as_json(out: Any) -> dict[str, Any]:
    """A converter's output as the other side reads it: through JSON (raw fields spliced in)."""
    result: dict[str, Any] = json.loads(msgspec.json.encode(out))
    return result


def checked_hub_request(out: Any) -> dict[str, Any]:
    """A hub request as JSON, checked against the hub Struct on the way."""
    encoded = msgspec.json.encode(out)
    msgspec.json.decode(encoded, type=MessagesRequest)
    result: dict[str, Any] = json.loads(encoded)
    return result


def decode_hub(body: dict[str, Any]) -> MessagesRequest:
    """A hub request the way the front door decodes it: raw JSON bytes straight into the struct."""
    return msgspec.json.decode(msgspec.json.encode(body), type=MessagesRequest)
