"""The sampling parameters a client's request set, as traces name them (the GenAI semantic
conventions' gen_ai.request.max_tokens, .temperature, .top_p), read from the request as it was
decoded for its target: the client spoke's request Struct (converting pairs) or the body's dict
(passthrough). Protocols name them differently; none names another's field for something else,
so one list of names serves all of them. Traces only: read once per attempt of a sampled request.
"""

from __future__ import annotations

from typing import Any

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
# Each spelling: its attribute, its rank among the attribute's spellings (the first set wins), its types.
_SPELLINGS = {name: (attribute, rank, types) for attribute, names, types in PARAMETERS
              for rank, name in enumerate(names)}
_WANTED = CONFIGS | _SPELLINGS.keys()
_NUMBER = (int, float)


def request_parameters(request: Any) -> dict[str, int | float]:
    """The parameters `request` sets (none of them: an empty dict): the request's own fields
    first, then Gemini's generation config. One pass over each source's own fields: asking a
    Struct for a field it lacks (getattr's default) raises inside, and this runs on every traced
    request."""
    found: dict[str, tuple[int, int | float]] = {}
    configs: list[Any] = []
    for name, value in _fields(request):
        if name not in _WANTED:  # most of a request (a dict's fields are not sifted by _fields)
            continue
        if name in CONFIGS:
            if value is not None:
                configs.append(value)
        else:
            _note(name, value, found)
    parameters = {attribute: value for attribute, (_, value) in found.items()}
    for config in configs:
        found = {}
        for name, value in _fields(config):
            if name in _SPELLINGS:
                _note(name, value, found)
        for attribute, (_, value) in found.items():
            parameters.setdefault(attribute, value)
    return parameters


def _note(name: str, value: Any, found: dict[str, tuple[int, int | float]]) -> None:
    if not isinstance(value, _NUMBER) or isinstance(value, bool):
        return
    attribute, rank, types = _SPELLINGS[name]
    if isinstance(value, types) and (attribute not in found or rank < found[attribute][0]):
        found[attribute] = (rank, value if types == (int,) else float(value))


def _fields(source: Any) -> Any:
    """(name, value) of the fields of a dict or a Struct that may hold a parameter."""
    if isinstance(source, dict):
        return source.items()
    names = getattr(type(source), "__struct_fields__", ())
    return [(name, getattr(source, name)) for name in names if name in _WANTED]
