"""The Gemini spoke: Gemini CLI and Google's GenAI SDKs as clients (`POST /v1beta/models/
{model}:generateContent`, `:streamGenerateContent`, `:countTokens`; also under `/v1/`), and
Google AI Studio and Vertex AI as upstreams (`kind = "gemini"`).

The URL, not the body, names the model and whether to stream (path.py; the gateway's
ModelPaths front door sets them on the decoded request). Thought signatures ride through the
hub as thinking blocks' signatures: a Gemini client's `thoughtSignature` packs the hub's
thinking blocks whole (client/signature.py), a Gemini upstream's is tagged by upstream
(upstream/signature.py).
"""

from __future__ import annotations

from typing import Any

import msgspec

from router.hub.messages import AnthropicMessage, MessagesRequest
from router.spokes.gemini import errors, path, stream_end
from router.spokes.gemini.answer_wire import GenerateContentResponse
from router.spokes.gemini.client import answer as client_answer
from router.spokes.gemini.client import request as client_request
from router.spokes.gemini.client import view
from router.spokes.gemini.client.array_stream import json_array
from router.spokes.gemini.client.models import model_info, model_list
from router.spokes.gemini.client.stream import stream_from_hub
from router.spokes.gemini.finish import read_finish
from router.spokes.gemini.request_wire import GenerateContentRequest, count_tokens_request, decode_routing
from router.spokes.gemini.upstream import answer as upstream_answer
from router.spokes.gemini.upstream import content as upstream_content
from router.spokes.gemini.upstream import endpoint
from router.spokes.gemini.upstream import request as upstream_request
from router.spokes.gemini.upstream.retry import fault
from router.spokes.gemini.upstream.stream import stream_to_hub
from router.spokes.gemini.usage import read_usage
from router.spokes.spoke import (
    ClientSide,
    FieldTable,
    ModelPaths,
    PassthroughRules,
    RequestView,
    Spoke,
    UpstreamSide,
)


def example(model: str) -> dict[str, object]:
    return {"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]}


def token_count(tokens: int) -> dict[str, Any]:
    """`:countTokens`' answer."""
    return {"totalTokens": tokens}


SPOKE = Spoke(
    name="gemini",
    title="Gemini",
    read_usage=read_usage,
    read_finish=read_finish,
    client_side=ClientSide(
        paths=(),
        routing_decoder=decode_routing,
        request_decoder=msgspec.json.Decoder(GenerateContentRequest).decode,
        view=RequestView(thinking=view.thinking, images=view.images, tools=view.tools, input_tokens=view.input_tokens),
        table=FieldTable(
            "gemini.client", client_request.FUNCTIONS, client_answer.FUNCTIONS,
            inputs={"request": GenerateContentRequest, "response": AnthropicMessage},
            variant_functions=client_request.VARIANTS,
            directions={
                "request": "Gemini request → Anthropic request",
                "response": "Anthropic answer → Gemini answer",
            },
        ),
        stream_from_hub=stream_from_hub,
        error_body=errors.error_body,
        error_event=errors.error_event,
        status=errors.error_status,
        # Gemini streams have no ping event, and Google's parsers are strict about what a line
        # may be (`data: ` only): a quiet stream sends nothing rather than risk a comment line.
        passthrough=PassthroughRules(done_marker=None, end_events=frozenset(), ends=stream_end.ends, ping=b""),
        example=example,
        model_list=model_list,
        marker_header="x-goog-api-client",
        error_paths=("/v1beta/",),
        complete_answer=client_answer.complete_answer,
        dropped=client_request.dropped_tools,
        model_paths=ModelPaths(
            prefixes=path.PREFIXES, call=path.path_call, model_info=model_info,
            count_request=count_tokens_request, count_answer=token_count, reframe=json_array,
        ),
        key_header="x-goog-api-key",
        key_query="key",
    ),
    upstream_side=UpstreamSide(
        kinds=("gemini",),
        table=FieldTable(
            "gemini.upstream", upstream_request.FUNCTIONS, upstream_answer.FUNCTIONS,
            inputs={"request": MessagesRequest, "response": GenerateContentResponse},
            variant_functions=upstream_content.VARIANTS,
            directions={
                "request": "Anthropic request → Gemini request",
                "response": "Gemini answer → Anthropic answer",
                "variants.content_block": "Anthropic content block → Gemini part",
            },
        ),
        answer_decoder=msgspec.json.Decoder(GenerateContentResponse).decode,
        stream_to_hub=stream_to_hub,
        url=endpoint.gemini_url,
        headers=endpoint.headers,
        forwarding=endpoint.no_forwarding,
        count_tokens_url=endpoint.count_tokens_url,
        model_in_url=True,
        fault=fault,
    ),
)
