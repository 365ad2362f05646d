"""The sampling parameters a client's request set, as traces name them (the GenAI semantic
conventions' gen_ai.request.max_tokens, .temperature, .top_p), read from the request as it was
decoded for its target: the client spoke's request Struct (converting pairs) or the body's dict
(passthrough). Protocols name them differently; none names another's field for something else,
so one list of names serves all of them. Traces only: a sampled request's first attempt notes
its request, and its span reads `parameters_key` at its end (what the parameters follow from,
read in C, a part of the key its span's kept encoding is found by); `request_parameters` runs
only for a combination not yet encoded.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, NamedTuple

# attribute, the fields that may hold it (Anthropic, OpenAI Chat, Responses, Gemini camel and
# snake case, and the Gemini request Struct's snake-case twins), the JSON types it may have
PARAMETERS: tuple[tuple[str, tuple[str, ...], tuple[type, ...]], ...] = (
    ("gen_ai.request.max_tokens", ("max_tokens", "max_completion_tokens", "max_output_tokens", "maxOutputTokens",
                                   "max_output_tokens_snake"), (int,)),
    ("gen_ai.request.temperature", ("temperature",), (int, float)),
    ("gen_ai.request.top_p", ("top_p", "topP", "top_p_snake"), (int, float)),
)
# Where Gemini keeps them (its request Struct has one field per spelling).
CONFIGS = frozenset({"generationConfig", "generation_config", "generation_config_snake"})
# Every spelling in the order its attribute takes it (the first set wins), with its attribute and
# whether only an integer will do.
_ORDER: tuple[tuple[str, str, bool], ...] = tuple(
    (name, attribute, types == (int,)) for attribute, names, types in PARAMETERS for name in names)


class Fields(NamedTuple):
    """What to read of one request type: its parameter fields in `_ORDER`'s order, its
    generation-config fields, and (a type without those) all its parameter fields' values at
    once, in C (`parameters_key`)."""

    parameters: tuple[tuple[str, str, bool], ...]
    configs: tuple[str, ...]
    values: Callable[[Any], tuple[Any, ...]] | None = None  # ends with the type: part of the key


def fields_of(kind: type) -> Fields:
    """The fields of a Struct type that may hold a parameter (asking a Struct for a field it lacks
    raises inside getattr, so only its own are read)."""
    names = frozenset(getattr(kind, "__struct_fields__", ()))
    parameters = tuple(spelling for spelling in _ORDER if spelling[0] in names)
    configs = tuple(name for name in getattr(kind, "__struct_fields__", ()) if name in CONFIGS)
    if configs:
        return Fields(parameters, configs)
    # "__class__" last: the key says whose fields these are, and attrgetter returns a tuple even
    # for a type with one parameter field (or none).
    values = attrgetter(*(name for name, _, _ in parameters), "__class__")
    return Fields(parameters, configs, values)


_DICT = Fields(_ORDER, tuple(sorted(CONFIGS)))  # a dict may hold any spelling
_DICT_VALUES = tuple(name for name, _, _ in _ORDER) + _DICT.configs


def parameters_key(request: Any, known: dict[type, Fields]) -> tuple[Any, ...]:
    """What `request_parameters(request)` follows from, cheaply: the values of the request's
    parameter fields (a Struct's type last) and their types, read in C (the parameters
    themselves are found only when a trace's span tail is made: router.observe.otel). The types
    because 1, 1.0 and true are one key, and set different parameters. A Struct type with
    generation configs gives the parameters' own items. A value that cannot hash (a dict's
    generation config, a client's stray list) makes the key unhashable: the caller then uses
    the parameters' items."""
    kind = type(request)
    if kind is dict:
        values = tuple(map(request.get, _DICT_VALUES))
    else:
        fields = known.get(kind) or _remember(kind, known)
        if fields.values is None:
            return tuple(request_parameters(request, known).items())
        values = fields.values(request)
    return values + tuple(map(type, values))


def _remember(kind: type, known: dict[type, Fields]) -> Fields:
    fields = known[kind] = fields_of(kind)
    return fields


def request_parameters(request: Any, known: dict[type, Fields] | None = None) -> dict[str, int | float]:
    """The parameters `request` (a Struct or a dict) sets, none of them: an empty dict; its own
    fields first, then Gemini's generation config. `known`: the fields of each Struct type seen
    (the Tracing's, so that each type is looked at once)."""
    kind = type(request)
    is_dict = kind is dict
    if is_dict:
        fields = _DICT
    else:
        kept = known.get(kind) if known is not None else None
        fields = kept or (fields_of(kind) if known is None else _remember(kind, known))
    parameters: dict[str, int | float] = {}
    for name, attribute, integer in fields.parameters:
        if attribute in parameters:
            continue
        value = request.get(name) if is_dict else getattr(request, name)
        number = value.__class__  # exactly int or float: a JSON true is a bool, an int subclass
        if number is int:
            parameters[attribute] = value if integer else float(value)
        elif number is float and not integer:
            parameters[attribute] = value
    for name in fields.configs:
        config = request.get(name) if is_dict else getattr(request, name)
        if config is not None:
            for attribute, value in request_parameters(config, known).items():
                parameters.setdefault(attribute, value)
    return parameters
