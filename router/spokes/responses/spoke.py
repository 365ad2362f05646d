"""The OpenAI Responses spoke (POST /v1/responses): Codex CLI and the openai SDKs' `responses`
clients through the hub, and upstreams that serve models only on the Responses API from it.

What the protocol has that the hub has not rides as follows: namespaced and custom tools become
function tools under reversible names (names.py, mapped back by `complete_answer` and the
stream); reasoning items' encrypted_content travels as thinking signatures; `store` and
`previous_response_id` are the response store's (history.py), resolved before conversion.
"""

from __future__ import annotations

import msgspec

from router.config.target import TargetContext
from router.core.stream import StreamMachine
from router.hub.messages import AnthropicMessage, MessagesRequest
from router.spokes.openai.spoke import model_list
from router.spokes.responses import errors, stream_end
from router.spokes.responses.answer_wire import ResponseObject
from router.spokes.responses.client import answer as client_answer
from router.spokes.responses.client import complete
from router.spokes.responses.client import request as client_request
from router.spokes.responses.client import view
from router.spokes.responses.client.stream import stream_from_hub
from router.spokes.responses.finish import read_finish
from router.spokes.responses.history import HISTORY
from router.spokes.responses.request_wire import ResponsesRequest, ResponsesRouting
from router.spokes.responses.upstream import answer as upstream_answer
from router.spokes.responses.upstream import content as upstream_content
from router.spokes.responses.upstream import endpoint
from router.spokes.responses.upstream import request as upstream_request
from router.spokes.responses.upstream.stream import stream_to_hub
from router.spokes.responses.usage import read_usage
from router.spokes.spoke import (
    ClientSide,
    FieldTable,
    PassthroughRules,
    RequestView,
    Spoke,
    UpstreamSide,
)

PING = b": ping\n\n"  # Responses streams have no ping event; SDKs skip comment lines


def example(model: str) -> dict[str, object]:
    return {"model": model, "input": "Hello"}


SPOKE = Spoke(
    name="responses",
    title="OpenAI Responses",
    read_usage=read_usage,
    read_finish=read_finish,
    client_side=ClientSide(
        paths=("/v1/responses",),
        routing_decoder=msgspec.json.Decoder(ResponsesRouting).decode,
        request_decoder=msgspec.json.Decoder(ResponsesRequest).decode,
        view=RequestView(thinking=view.thinking, images=view.images, tools=view.tools, input_tokens=view.input_tokens),
        table=FieldTable(
            "responses.client", client_request.FUNCTIONS, client_answer.FUNCTIONS,
            inputs={"request": ResponsesRequest, "response": AnthropicMessage},
            variant_functions=client_request.VARIANTS,
            directions={
                "request": "OpenAI Responses request → Anthropic request",
                "response": "Anthropic answer → OpenAI Responses answer",
                "variants.input_item": "Responses input item → Anthropic turn",
                "variants.content_part": "Responses content part → Anthropic content block",
            },
        ),
        stream_from_hub=stream_from_hub,
        error_body=errors.error_body,
        error_event=errors.error_event,
        status=errors.error_status,
        passthrough=PassthroughRules(
            done_marker=None, end_events=stream_end.END_EVENTS, ends=stream_end.ends, ping=PING,
            failure=stream_end.failure),
        example=example,
        model_list=model_list,
        complete_answer=complete.complete_answer,
        dropped=complete.dropped_tools,
        history=HISTORY,
    ),
    upstream_side=UpstreamSide(
        kinds=("responses",),
        table=FieldTable(
            "responses.upstream", upstream_request.FUNCTIONS, upstream_answer.FUNCTIONS,
            inputs={"request": MessagesRequest, "response": ResponseObject},
            variant_functions=upstream_content.VARIANTS,
            directions={
                "request": "Anthropic request → OpenAI Responses request",
                "response": "OpenAI Responses answer → Anthropic answer",
                "variants.content_block": "Anthropic content block → Responses content part",
            },
        ),
        answer_decoder=msgspec.json.Decoder(ResponseObject).decode,
        stream_to_hub=stream_to_hub,
        url=endpoint.responses_url,
        headers=endpoint.headers,
        forwarding=endpoint.no_forwarding,
        count_tokens_url=endpoint.no_token_counter,
    ),
)
