"""The Anthropic Messages spoke: the hub's own protocol, so it converts nothing; its requests,
answers and events are the hub's. It brings what a protocol brings besides conversion: the
front door's decoders, error shapes, usage, stream ending rules and the upstream's endpoint."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import msgspec

from router.config.schema import Upstream
from router.hub.finish import read_finish
from router.hub.messages import MessagesRequest, MessagesRouting
from router.hub.usage import read_usage
from router.spokes.anthropic import errors, upstream, view
from router.spokes.spoke import (
    ClientSide,
    PassthroughRules,
    RequestView,
    Spoke,
    UpstreamSide,
)

PING = b'event: ping\ndata: {"type": "ping"}\n\n'


def example(model: str) -> dict[str, Any]:
    return {"model": model, "max_tokens": 1024, "messages": [{"role": "user", "content": "Hello"}]}


def model_list(names: Sequence[str]) -> dict[str, Any]:
    data = [{"type": "model", "id": name, "display_name": name, "created_at": "1970-01-01T00:00:00Z"} for name in names]
    return {"data": data, "has_more": False,
            "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None}


MESSAGES_API = UpstreamSide(
    kinds=("anthropic",),
    table=None,
    answer_decoder=None,
    stream_to_hub=None,
    url=upstream.messages_url,
    headers=upstream.headers,
    forwarding=upstream.forwarding,
    count_tokens_url=upstream.count_tokens_url,
)

# Claude on Vertex AI: the same requests, answers and events (passthrough for Anthropic
# clients), another endpoint per model, the version in the body, Google credentials.
VERTEX_AI = dataclasses.replace(
    MESSAGES_API,
    url=upstream.vertex_url,
    model_in_url=True,
    headers=upstream.vertex_headers,
    forwarding=upstream.vertex_forwarding,
    count_tokens_url=upstream.no_token_counter,
    body_edit=upstream.vertex_body,
)


def _vertex_variant(settings: Upstream) -> UpstreamSide | None:
    return VERTEX_AI if upstream.on_vertex(settings) else None


def _never(data: bytes) -> bool:
    return False  # an Anthropic stream ends with an event name (message_stop), not with data


SPOKE = Spoke(
    name="anthropic",
    title="Anthropic Messages",
    is_hub=True,
    read_usage=read_usage,
    read_finish=read_finish,
    client_side=ClientSide(
        paths=("/v1/messages",),
        routing_decoder=msgspec.json.Decoder(MessagesRouting).decode,
        request_decoder=msgspec.json.Decoder(MessagesRequest).decode,
        view=RequestView(thinking=view.thinking, images=view.images, tools=view.tools, input_tokens=view.input_tokens),
        table=None,
        stream_from_hub=None,
        error_body=errors.error_body,
        error_event=errors.error_event,
        status=errors.error_status,
        passthrough=PassthroughRules(
            done_marker=None, end_events=frozenset({"message_stop", "error"}), ends=_never, ping=PING),
        example=example,
        model_list=model_list,
        marker_header="anthropic-version",
    ),
    upstream_side=dataclasses.replace(MESSAGES_API, variant=_vertex_variant),
)
