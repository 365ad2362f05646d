"""Which of Bedrock's two APIs a route target uses: Converse, which speaks one shape for every
model (this spoke converts the hub to it), or InvokeModel, whose body is the model's own; for
Claude that is the Anthropic Messages body, so an Anthropic client's request passes through with
everything Converse has no field for (cache control anywhere, thinking signatures, betas,
fields newer than Converse).

`api = "auto"` (the default) takes InvokeModel when the client speaks Anthropic Messages and the
target's model is Anthropic's, and Converse otherwise: a client of another protocol is converted
anyway, and Converse's one shape serves every model family."""

from __future__ import annotations

from collections.abc import Sequence

from router.config.schema import BedrockUpstream, Upstream

ANTHROPIC = "anthropic"


def is_anthropic_model(model: str) -> bool:
    """`anthropic.claude-…`, a cross-region profile (`us.anthropic.claude-…`, `global.…`), or an
    ARN naming one (`…:foundation-model/anthropic.…`, `…:inference-profile/us.anthropic.…`).
    An application inference profile's ARN does not say which model it serves: set `api`."""
    name = model.rsplit("/", 1)[-1]
    head, _, rest = name.partition(".")
    return head == ANTHROPIC or (rest.startswith(ANTHROPIC + ".") and "." not in head)


def speaks(upstream: Upstream, client: str, models: Sequence[str]) -> str | None:
    """UpstreamSide.speaks: "anthropic" for a target that uses InvokeModel, None for Converse.
    `models` is the target's model, or for a target that sends the client's name the route's
    patterns: auto takes InvokeModel when every one names an Anthropic model
    (`us.anthropic.claude-*`), else Converse, which every model takes."""
    if not isinstance(upstream, BedrockUpstream) or upstream.api == "converse":
        return None
    if upstream.api == "invoke":
        return ANTHROPIC
    anthropic_models = bool(models) and all(is_anthropic_model(model) for model in models)
    return ANTHROPIC if client == ANTHROPIC and anthropic_models else None
