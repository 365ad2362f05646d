"""Claude on Bedrock through InvokeModel: the Anthropic Messages protocol (passthrough for
Anthropic clients; the hub's own answers and events for every other client), with Bedrock's
differences: the model and streaming in the URL, `anthropic_version` and the betas in the body,
the stream in AWS's binary event-stream framing (each `chunk` one Anthropic event), a guardrail
in headers, and AWS credentials (SigV4 or a Bedrock API key) instead of `x-api-key`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from router.config.target import TargetContext
from router.spokes.bedrock import endpoint
from router.spokes.bedrock.eventstream import invoke_reframer
from router.spokes.spoke import StreamFraming, UpstreamSide

# The Messages API version Bedrock takes, in the body (it reads no anthropic-version header).
BEDROCK_VERSION = "bedrock-2023-05-31"
EVENT_STREAM = "application/vnd.amazon.eventstream"

# InvokeModel's guardrail settings travel in headers (botocore's bedrock-runtime model).
_TRACE = {"enabled": "ENABLED", "enabled_full": "ENABLED_FULL", "disabled": "DISABLED"}


def invoke_body(body: dict[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
    """The Messages request as InvokeModel takes it: no `model` or `stream` (both are in the
    URL; Bedrock rejects them in the body), the version and the client's betas in the body."""
    body.pop("model", None)
    body.pop("stream", None)
    body.setdefault("anthropic_version", BEDROCK_VERSION)
    betas = headers.get("anthropic-beta")
    if betas and "anthropic_beta" not in body:
        body["anthropic_beta"] = [flag.strip() for flag in betas.split(",") if flag.strip()]
    return body


def guardrail_headers(ctx: TargetContext) -> Mapping[str, str]:
    guardrail = ctx.guardrail
    if guardrail is None:
        return {}
    headers = {"x-amzn-bedrock-guardrailidentifier": guardrail.id,
               "x-amzn-bedrock-guardrailversion": guardrail.version}
    if guardrail.trace is not None:
        headers["x-amzn-bedrock-trace"] = _TRACE[guardrail.trace]
    return headers


INVOKE_MODEL = UpstreamSide(
    kinds=(),  # no kind of its own: the side a `bedrock` upstream speaks for Anthropic targets
    table=None,  # the hub's protocol: nothing to convert
    answer_decoder=None,
    stream_to_hub=None,
    url=endpoint.invoke_url,
    headers=endpoint.headers,
    forwarding=endpoint.beta_forwarding,
    count_tokens_url=endpoint.no_token_counter,
    model_in_url=True,
    body_edit=invoke_body,
    fault=endpoint.fault,
    stream_framing=StreamFraming(EVENT_STREAM, invoke_reframer),
    target_headers=guardrail_headers,
)
