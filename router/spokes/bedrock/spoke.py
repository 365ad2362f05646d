"""The Bedrock spoke: Amazon Bedrock as an upstream (`kind = "bedrock"`); no client speaks it.

Two APIs of one upstream (api.py says which a route target uses):
- Converse / ConverseStream, one request shape for every model family: the hub converts to it
  (request.py, content.py, schemas/bedrock.upstream.toml) and back (answer.py, stream.py);
- InvokeModel / InvokeModelWithResponseStream with Claude's own body (invoke.py): the Anthropic
  Messages protocol, so the pair is the Anthropic spoke's passthrough or the hub's own answers.

Both stream in AWS's binary event-stream framing, reframed to SSE before the stream machine
(eventstream.py, with botocore's parser); both are authenticated per request by SigV4 or a
Bedrock API key (router.upstream.aws_credentials).
"""

from __future__ import annotations

from types import MappingProxyType

import msgspec

from router.hub.messages import MessagesRequest
from router.spokes.bedrock import answer, api, content, endpoint, request
from router.spokes.bedrock.eventstream import converse_reframer
from router.spokes.bedrock.invoke import EVENT_STREAM, INVOKE_MODEL
from router.spokes.bedrock.stream import stream_to_hub
from router.spokes.bedrock.usage import read_usage
from router.spokes.bedrock.wire import ConverseResponse
from router.spokes.spoke import FieldTable, Spoke, StreamFraming, UpstreamSide

SPOKE = Spoke(
    name="bedrock",
    title="Amazon Bedrock Converse",
    read_usage=read_usage,
    upstream_side=UpstreamSide(
        kinds=("bedrock",),
        table=FieldTable(
            "bedrock.upstream", request.FUNCTIONS, answer.FUNCTIONS,
            inputs={"request": MessagesRequest, "response": ConverseResponse},
            variant_functions=content.VARIANTS,
            directions={
                "request": "Anthropic request → Bedrock Converse request",
                "response": "Bedrock Converse answer → Anthropic answer",
                "variants.content_block": "Anthropic content block → Converse content block",
            },
        ),
        answer_decoder=msgspec.json.Decoder(ConverseResponse).decode,
        stream_to_hub=stream_to_hub,
        url=endpoint.converse_url,
        headers=endpoint.headers,
        forwarding=endpoint.no_forwarding,
        count_tokens_url=endpoint.no_token_counter,
        model_in_url=True,
        fault=endpoint.fault,
        stream_framing=StreamFraming(EVENT_STREAM, converse_reframer),
        speaks=api.speaks,
        also_speaks=MappingProxyType({api.ANTHROPIC: INVOKE_MODEL}),
    ),
)
