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
_INT = (int,)
# Where Gemini keeps them (its request Struct has one field per spelling).
CONFIGS = ("generationConfig", "generation_config", "generation_config_snake")


def request_parameters(request: Any) -> dict[str, int | float]:
    """The parameters `request` sets (none of them: an empty dict): the request's own fields
    first, then Gemini's generation config. Plain loops: this runs on every traced request."""
    found: dict[str, int | float] = {}
    _collect(request, found)
    for name in CONFIGS:
        config = _field(request, name)
        if config is not None:
            _collect(config, found)
    return found


def _collect(source: Any, found: dict[str, int | float]) -> None:
    """The parameters `source` sets that `found` lacks (its first spelling set wins)."""
    for attribute, names, types in PARAMETERS:
        if attribute in found:
            continue
        for name in names:
            value = _field(source, name)
            if isinstance(value, int | float) and not isinstance(value, bool) and isinstance(value, types):
                found[attribute] = value if types == _INT else float(value)
                break


def _field(source: Any, name: str) -> Any:
    return source.get(name) if isinstance(source, dict) else getattr(source, name, None)
