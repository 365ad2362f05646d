"""Which model family a Converse target is, for what Converse leaves to each family: the fields
of `additionalModelRequestFields` (Claude's `top_k` and `thinking`, Nova's `inferenceConfig.topK`
and `reasoningConfig`), `outputConfig.effort` (Claude's), which families cache prompts
(`cachePoint`), which `toolChoice` kinds a family takes and whether a toolResult may carry a
`status`.

A model id may be a base model (`anthropic.claude-…`, `amazon.nova-pro-v1:0`), a cross-region
inference profile (`us.anthropic.claude-…`, `global.…`, `apac.amazon.nova-…`) or an ARN naming
either; an application inference profile's ARN names no family, so it gets only what every
family takes (and what the route's `supports` says)."""

from __future__ import annotations

from router.spokes.bedrock.api import is_anthropic_model

NOVA = "amazon.nova"
MISTRAL_LARGE = "mistral.mistral-large"

# Converse's ToolChoice: `any` and `tool` only for Claude 3+ and Nova, `any` (not `tool`) also
# for Mistral Large (botocore's ToolChoice / SpecificToolChoice docs, AWS's ToolChoice reference,
# Nova's tool choice modes of March 2025). Other families refuse even `auto` on some models; it
# is Converse's default, so leaving toolChoice out of their requests loses nothing.
ALL_TOOL_CHOICES = frozenset({"auto", "any", "tool"})
MISTRAL_LARGE_TOOL_CHOICES = frozenset({"auto", "any"})
NO_TOOL_CHOICE: frozenset[str] = frozenset()

__all__ = [
    "caches_prompts", "is_anthropic_model", "is_mistral_large_model", "is_nova_model", "keeps_tool_status",
    "tool_choices",
]


def is_nova_model(model: str) -> bool:
    """`amazon.nova-…`, `us.amazon.nova-2-lite-v1:0`, or an ARN naming one."""
    return NOVA in model.rsplit("/", 1)[-1]


def caches_prompts(model: str) -> bool:
    """Claude and Nova take cachePoints; other families reject them."""
    return is_anthropic_model(model) or is_nova_model(model)


def is_mistral_large_model(model: str) -> bool:
    """`mistral.mistral-large-2407-v1:0`, a cross-region profile of one, or an ARN naming one."""
    return MISTRAL_LARGE in model.rsplit("/", 1)[-1]


def tool_choices(model: str) -> frozenset[str]:
    """The toolChoice kinds the model's family takes (none: leave toolChoice out)."""
    if is_anthropic_model(model) or is_nova_model(model):
        return ALL_TOOL_CHOICES
    if is_mistral_large_model(model):
        return MISTRAL_LARGE_TOOL_CHOICES
    return NO_TOOL_CHOICE


def keeps_tool_status(model: str) -> bool:
    """ToolResultBlock.status ("only supported by Amazon Nova and Anthropic Claude 3 and 4
    models", botocore's bedrock-runtime model); other families reject it."""
    return is_anthropic_model(model) or is_nova_model(model)
