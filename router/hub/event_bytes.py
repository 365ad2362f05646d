"""The hub's stream events as bytes, for the upstream spokes' machines that write a hub stream
(an OpenAI Chat or Responses upstream's stream, converted): the pre-encoded templates their
per-delta events are one `%` fill of, and the events that open and close a message.

Templates take the block index (`%d`) and an encoded JSON value (`%s`): a delta costs one string
encode and one fill, no dict building.
"""

from __future__ import annotations

from typing import Any

import msgspec

from router.core.sse import encode_event

_encode = msgspec.json.Encoder().encode

TEXT_DELTA = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,'
    b'"delta":{"type":"text_delta","text":%s}}\n\n'
)
THINKING_DELTA = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,'
    b'"delta":{"type":"thinking_delta","thinking":%s}}\n\n'
)
SIGNATURE_DELTA = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,'
    b'"delta":{"type":"signature_delta","signature":%s}}\n\n'
)
JSON_DELTA = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,'
    b'"delta":{"type":"input_json_delta","partial_json":%s}}\n\n'
)
BLOCK_START = b'event: content_block_start\ndata: {"type":"content_block_start","index":%d,"content_block":%s}\n\n'
# The blocks text and thinking start as: empty, their content follows in deltas (a thinking
# block's signature last, in a signature_delta).
TEXT_BLOCK = b'{"type":"text","text":""}'
THINKING_BLOCK = b'{"type":"thinking","thinking":"","signature":""}'
BLOCK_STOP = b'event: content_block_stop\ndata: {"type":"content_block_stop","index":%d}\n\n'
PING = encode_event("ping", b'{"type":"ping"}')
MESSAGE_STOP = encode_event("message_stop", b'{"type":"message_stop"}')


def message_start(message_id: str, model: str, input_tokens: int) -> bytes:
    """The message_start event: an empty assistant message, as Anthropic opens its streams."""
    message: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 0},
    }
    return encode_event("message_start", _encode({"type": "message_start", "message": message}))


def message_delta(stop_reason: str | None, usage: Any) -> bytes:
    """The message_delta event that ends the answer: its stop reason and usage (hub shape)."""
    payload = {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None}, "usage": usage}
    return encode_event("message_delta", _encode(payload))


def take(out: list[bytes]) -> bytes:
    """The events one call produced, joined, and the list emptied for the next call."""
    if len(out) == 1:  # the common case: one delta per call
        return out.pop()
    taken = b"".join(out)
    out.clear()
    return taken
