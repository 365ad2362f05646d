"""What a converter knows about the target it converts for, resolved once per route at load."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from router.config.schema import Guardrail, Supports, ThinkingBudgets

Reasoning = Literal["none", "effort", "reasoning-content"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """`Supports` with every field resolved (route ← upstream ← these defaults)."""

    reasoning: Reasoning = "none"
    vision: bool = True
    max_output_tokens: int | None = None
    top_k: bool = False
    cache_control: bool = False
    tool_schema: Literal["full", "clean"] = "full"
    stream_usage: bool = True
    thinking_budgets: ThinkingBudgets = ThinkingBudgets()

    @classmethod
    def resolve(cls, *layers: Supports) -> Capabilities:
        """Later layers win; a layer's unset (None) fields inherit."""
        resolved: dict[str, object] = {}
        for layer in layers:
            for name in layer.__struct_fields__:
                value = getattr(layer, name)
                if value is not None:
                    resolved[name] = value
        return cls(**resolved)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class TargetContext:
    """Passed as `ctx` to every generated converter and stream machine."""

    route: str
    upstream: str
    model: str | None  # None: the client's model name goes upstream unchanged
    caps: Capabilities
    ping_interval: float = 10.0
    # An Amazon Bedrock guardrail (the route's, else the upstream's); only Bedrock's side reads it.
    guardrail: Guardrail | None = None
