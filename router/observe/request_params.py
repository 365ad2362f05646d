"""The sampling parameters a client's request set, as traces name them (the GenAI semantic
conventions' gen_ai.request.max_tokens, .temperature, .top_p), read from the request as it was
decoded for its target: the client spoke's request Struct (converting pairs) or the body's dict
(passthrough). Protocols name them differently; none names another's field for something else,
so one list of names serves all of them. Traces only: read once per attempt of a sampled request.
"""

from __future__ import annotations

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
    """What to read of one request type: its parameter fields in `_ORDER`'s order, and its
    generation-config fields."""

    parameters: tuple[tuple[str, str, bool], ...]
    configs: tuple[str, ...]


def fields_of(kind: type) -> Fields:
    """The fields of a Struct type that may hold a parameter (asking a Struct for a field it lacks
    raises inside getattr, so only its own are read)."""
    names = frozenset(getattr(kind, "__struct_fields__", ()))
    return Fields(tuple(spelling for spelling in _ORDER if spelling[0] in names),
                  tuple(name for name in getattr(kind, "__struct_fields__", ()) if name in CONFIGS))


_DICT = Fields(_ORDER, tuple(sorted(CONFIGS)))  # a dict may hold any spelling


def request_parameters(request: Any, known: dict[type, Fields] | None = None) -> dict[str, int | float]:
    """The parameters `request` (a Struct or a dict) sets, none of them: an empty dict; its own
    fields first, then Gemini's generation config. `known`: the fields of each Struct type seen
    (the Tracing's, so that each type is looked at once), this runs on every traced request."""
    kind = type(request)
    is_dict = kind is dict
    if is_dict:
        fields = _DICT
    else:
        kept = known.get(kind) if known is not None else None
        if kept is None:
            kept = fields_of(kind)
            if known is not None:
                known[kind] = kept
        fields = kept
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
