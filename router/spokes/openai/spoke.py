"""The OpenAI Chat Completions spoke: OpenAI clients (the openai SDKs, most tools) through the
hub, and OpenAI-compatible upstreams (OpenAI, DeepSeek, OpenRouter, vLLM, Ollama, Groq, the
built-in mock, Azure OpenAI) from it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import msgspec

from router.config.schema import AzureUpstream, Upstream
from router.config.target import TargetContext
from router.core.ids import new_id
from router.core.stream import StreamMachine
from router.hub.messages import AnthropicMessage, MessagesRequest, ModelRequestRouting
from router.spokes.openai import azure, errors, stream_end
from router.spokes.openai.client import answer as client_answer
from router.spokes.openai.client import content as client_content
from router.spokes.openai.client import request as client_request
from router.spokes.openai.client import view
from router.spokes.openai.client.stream import OpenAIStreamFromAnthropic
from router.spokes.openai.finish import read_finish
from router.spokes.openai.upstream import answer as upstream_answer
from router.spokes.openai.upstream import content as upstream_content
from router.spokes.openai.upstream import endpoint
from router.spokes.openai.upstream import request as upstream_request
from router.spokes.openai.upstream.stream import AnthropicStreamFromOpenAI
from router.spokes.openai.usage import read_usage
from router.spokes.openai.wire import ChatCompletion, ChatRequest
from router.spokes.spoke import (
    ClientSide,
    FieldTable,
    PassthroughRules,
    RequestView,
    Spoke,
    UpstreamSide,
    Values,
)

PING = b": ping\n\n"  # OpenAI streams have no ping event; SDKs skip comment lines


def example(model: str) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "Hello"}]}


def model_list(names: Sequence[str]) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "router"} for name in names]}


def stream_from_hub(ctx: TargetContext, model: str, src: ChatRequest, values: Values) -> StreamMachine:
    include_usage = bool(src.stream_options and src.stream_options.include_usage)
    return OpenAIStreamFromAnthropic(
        ctx, completion_id=new_id("chatcmpl-"), model=model, include_usage=include_usage,
        finish_values=values["stop_reason"],
    )


def stream_to_hub(ctx: TargetContext, model: str, values: Values) -> StreamMachine:
    return AnthropicStreamFromOpenAI(
        ctx, message_id=upstream_answer.new_message_id(), model=model, input_tokens=None,
        finish_values=values["finish_reason"],
    )


CHAT_API = UpstreamSide(
    kinds=("openai", "mock", "azure"),  # the built-in mock answers in OpenAI's shape; Azure OpenAI is a variant
    table=FieldTable(
        "openai.upstream", upstream_request.FUNCTIONS, upstream_answer.FUNCTIONS,
        inputs={"request": MessagesRequest, "response": ChatCompletion},
        variant_functions=upstream_content.VARIANTS,
        directions={
            "request": "Anthropic request → OpenAI Chat request",
            "response": "OpenAI Chat answer → Anthropic answer",
            "variants.content_block": "Anthropic content block → OpenAI content part",
        },
    ),
    answer_decoder=msgspec.json.Decoder(ChatCompletion).decode,
    stream_to_hub=stream_to_hub,
    url=endpoint.chat_url,
    headers=endpoint.headers,
    forwarding=endpoint.no_forwarding,
    count_tokens_url=endpoint.no_token_counter,
)

# Azure OpenAI: the same requests, answers and streams, Azure's endpoints, `api-key` and error
# details (router.spokes.openai.azure). Without an api-version the v1 API, one URL per upstream.
AZURE_V1 = dataclasses.replace(CHAT_API, url=azure.v1_url, headers=azure.headers, fault=azure.fault)


def _azure_variant(settings: Upstream) -> UpstreamSide | None:
    """An Azure upstream's side: the v1 API, or with an api-version its deployments (the model
    in the URL; the version is the upstream's, so the side is made for it, at load)."""
    if not isinstance(settings, AzureUpstream):
        return None
    if settings.api_version is None:
        return AZURE_V1
    return dataclasses.replace(AZURE_V1, url=azure.deployment_url(settings.api_version), model_in_url=True)


SPOKE = Spoke(
    name="openai",
    title="OpenAI Chat Completions",
    read_usage=read_usage,
    read_finish=read_finish,
    client_side=ClientSide(
        paths=("/v1/chat/completions",),
        routing_decoder=msgspec.json.Decoder(ModelRequestRouting).decode,
        request_decoder=msgspec.json.Decoder(ChatRequest).decode,
        view=RequestView(thinking=view.thinking, images=view.images, tools=view.tools, input_tokens=view.input_tokens),
        table=FieldTable(
            "openai.client", client_request.FUNCTIONS, client_answer.FUNCTIONS,
            inputs={"request": ChatRequest, "response": AnthropicMessage},
            variant_functions=client_content.VARIANTS,
            directions={
                "request": "OpenAI Chat request → Anthropic request",
                "response": "Anthropic answer → OpenAI Chat answer",
                "variants.content_part": "OpenAI content part → Anthropic content block",
            },
        ),
        stream_from_hub=stream_from_hub,
        error_body=errors.error_body,
        error_event=errors.error_event,
        status=errors.error_status,
        passthrough=PassthroughRules(
            done_marker=stream_end.DONE, end_events=frozenset({"error"}), ends=stream_end.ends, ping=PING),
        example=example,
        model_list=model_list,
        error_paths=("/v1/completions", "/v1/embeddings"),
    ),
    upstream_side=dataclasses.replace(CHAT_API, variant=_azure_variant),
)
