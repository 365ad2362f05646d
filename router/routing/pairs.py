"""Protocol pairs: for (client protocol, upstream protocol), the shipped field table and the
functions it may call. `build_converters` compiles one route target's converters.

Converted pairs decode the client's body into Structs and build the upstream body from the
`[request]` table. Passthrough pairs (the same protocol on both sides) edit the client's own body
in place, so fields and block types we don't know yet still reach the upstream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

from router.spokes import passthrough
from router.spokes.openai.upstream import answer as openai_to_anthropic
from router.spokes.openai.upstream import request as anthropic_to_openai
from router.config.target import TargetContext
from router.spokes.openai.client import answer as openai_client_response
from router.spokes.openai.client import request as openai_client_request
from router.mapping.compile import Compiled, compile_fields
from router.mapping.spec import PairSpec, parse_pair_spec
from router.spokes.tables import read_pair_text
from router.config.schema import Op


@dataclass(frozen=True, slots=True)
class PairFunctions:
    request: Mapping[str, Callable[..., Any]]
    response: Mapping[str, Callable[..., Any]]


PAIRS: Mapping[str, PairFunctions] = MappingProxyType(
    {
        "anthropic__openai": PairFunctions(anthropic_to_openai.FUNCTIONS, openai_to_anthropic.FUNCTIONS),
        "openai__anthropic": PairFunctions(openai_client_request.FUNCTIONS, openai_client_response.FUNCTIONS),
        "passthrough": PairFunctions(passthrough.FUNCTIONS, MappingProxyType({})),
    }
)
_TABLES = {"anthropic__openai": "openai.upstream", "openai__anthropic": "openai.client"}
PASSTHROUGH_PAIRS = frozenset({"anthropic__anthropic", "openai__openai"})


@dataclass(frozen=True, slots=True)
class Converters:
    """One target's compiled converters. `response` is None on passthrough pairs: the upstream's
    answer goes back as it was sent (scrubbed)."""

    pair: str
    request: Compiled
    response: Compiled | None
    values: Mapping[str, Mapping[str, Any]]
    # Passthrough answers with response ops: the decoded answer, edited in place.
    response_edit: Compiled | None = None

    @property
    def passthrough(self) -> bool:
        return self.response is None


def serves(pair: str) -> bool:
    return pair in PAIRS or pair in PASSTHROUGH_PAIRS


@cache
def pair_spec(pair: str) -> PairSpec:
    """The shipped table of a pair, parsed once per process (it is package data, not config)."""
    functions = PAIRS[pair]
    return parse_pair_spec(pair, read_pair_text(_TABLES.get(pair, pair)), {*functions.request, *functions.response})


def build_converters(
    pair: str, ctx: TargetContext, ops: Sequence[Op] = (), response_ops: Sequence[Op] = ()
) -> Converters:
    origin = f"route={ctx.route} target={ctx.upstream}/{ctx.model or '*'} {pair}"
    if pair in PASSTHROUGH_PAIRS:
        spec = pair_spec("passthrough")
        request = compile_fields(
            name="convert_request", origin=f"{origin} request", fields=spec.request, ops=ops,
            functions=PAIRS["passthrough"].request, values=spec.values, edit_in_place=True,
        )
        edit = compile_fields(
            name="edit_response", origin=f"{origin} response", fields=(), ops=response_ops,
            functions={}, values={}, edit_in_place=True,
        ) if response_ops else None
        return Converters(pair, request, None, spec.values, edit)
    spec, functions = pair_spec(pair), PAIRS[pair]
    request = compile_fields(
        name="convert_request", origin=f"{origin} request", fields=spec.request, ops=ops,
        functions=functions.request, values=spec.values,
    )
    response = compile_fields(
        name="convert_response", origin=f"{origin} response", fields=spec.response, ops=response_ops,
        functions=functions.response, values=spec.values,
    )
    return Converters(pair, request, response, spec.values)
