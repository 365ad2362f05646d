"""Protocol pairs: for (client protocol, upstream protocol), the shipped field table, the functions
it may call, and the stream machine. `build_converters` compiles one route target's converters."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from router.convert import anthropic_to_openai, openai_to_anthropic
from router.convert.context import TargetContext
from router.mapping.compile import Compiled, compile_fields
from router.mapping.spec import PairSpec, parse_pair_spec, read_pair_text
from router.table.schema import Op


@dataclass(frozen=True, slots=True)
class PairFunctions:
    request: Mapping[str, Callable[..., Any]]
    response: Mapping[str, Callable[..., Any]]


PAIRS: Mapping[str, PairFunctions] = {
    "anthropic__openai": PairFunctions(anthropic_to_openai.FUNCTIONS, openai_to_anthropic.FUNCTIONS),
}


@dataclass(frozen=True, slots=True)
class Converters:
    """One target's compiled request and response converters, and the value maps streams use."""

    request: Compiled
    response: Compiled
    values: Mapping[str, Mapping[str, Any]]


@cache
def pair_spec(pair: str) -> PairSpec:
    """The shipped table of a pair, parsed once per process (it is package data, not config)."""
    functions = PAIRS[pair]
    return parse_pair_spec(pair, read_pair_text(pair), {*functions.request, *functions.response})


def build_converters(pair: str, ctx: TargetContext, ops: Sequence[Op] = ()) -> Converters:
    spec = pair_spec(pair)
    functions = PAIRS[pair]
    origin = f"route={ctx.route} target={ctx.upstream}/{ctx.model or '*'} {pair}"
    request = compile_fields(
        name="convert_request", origin=f"{origin} request", fields=spec.request, ops=ops,
        functions=functions.request, values=spec.values,
    )
    response = compile_fields(
        name="convert_response", origin=f"{origin} response", fields=spec.response, ops=(),
        functions=functions.response, values=spec.values,
    )
    return Converters(request, response, spec.values)
