"""Which model family a Converse target is, for what Converse leaves to each family: the fields
of `additionalModelRequestFields` (Claude's `top_k` and `thinking`, Nova's `inferenceConfig.topK`
and `reasoningConfig`), `outputConfig.effort` (Claude's), and which families cache prompts
(`cachePoint`).

A model id may be a base model (`anthropic.claude-…`, `amazon.nova-pro-v1:0`), a cross-region
inference profile (`us.anthropic.claude-…`, `global.…`, `apac.amazon.nova-…`) or an ARN naming
either; an application inference profile's ARN names no family, so it gets only what every
family takes (and what the route's `supports` says)."""

from __future__ import annotations

from router.spokes.bedrock.api import is_anthropic_model

NOVA = "amazon.nova"

__all__ = ["caches_prompts", "is_anthropic_model", "is_nova_model"]


def is_nova_model(model: str) -> bool:
    """`amazon.nova-…`, `us.amazon.nova-2-lite-v1:0`, or an ARN naming one."""
    return NOVA in model.rsplit("/", 1)[-1]


def caches_prompts(model: str) -> bool:
    """Claude and Nova take cachePoints; other families reject them."""
    return is_anthropic_model(model) or is_nova_model(model)
