"""A whole hub answer (Anthropic Messages JSON) as the event stream Anthropic would have sent for
it: message_start, then per content block a content_block_start, its deltas and a
content_block_stop, then message_delta (stop reason, usage) and message_stop.

For the response cache (router.gateway.cache): a cached answer is replayed to a streaming client
through the client's own stream machine, so it gets a proper stream in its protocol, never a
recording of bytes another client was sent.
"""

from __future__ import annotations

from typing import Any

import msgspec

from router.core.sse import encode_event

_encode = msgspec.json.Encoder().encode

# Blocks whose content streams as deltas: (the empty block they start as, the delta per field).
_TEXT_START = {"type": "text", "text": ""}
_THINKING_START = {"type": "thinking", "thinking": "", "signature": ""}


def replay_events(answer: dict[str, Any]) -> list[tuple[str, bytes]]:
    """(event name, data) for each event of the stream that carries `answer`."""
    events = [("message_start", _encode({"type": "message_start", "message": _opened(answer)}))]
    for index, block in enumerate(answer.get("content") or ()):
        events.extend(_block_events(index, block))
    delta = {"stop_reason": answer.get("stop_reason"), "stop_sequence": answer.get("stop_sequence")}
    events.append(("message_delta", _encode({"type": "message_delta", "delta": delta,
                                             "usage": answer.get("usage") or {}})))
    events.append(("message_stop", b'{"type":"message_stop"}'))
    return events


def replay_stream(answer: dict[str, Any]) -> bytes:
    """The same events as SSE bytes: a hub client's stream."""
    return b"".join(encode_event(name, data) for name, data in replay_events(answer))


def _opened(answer: dict[str, Any]) -> dict[str, Any]:
    """The message as message_start shows it: no content or stop reason yet; the input side of
    the usage (output tokens come with message_delta)."""
    usage = {name: value for name, value in (answer.get("usage") or {}).items() if name != "output_tokens"}
    usage["output_tokens"] = 0
    return {"id": answer.get("id", ""), "type": "message", "role": "assistant", "model": answer.get("model", ""),
            "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}


def _block_events(index: int, block: dict[str, Any]) -> list[tuple[str, bytes]]:
    kind = block.get("type")
    if kind == "text":
        start: dict[str, Any] = dict(_TEXT_START)
        if "citations" in block:
            start["citations"] = []
        deltas = [{"type": "text_delta", "text": block.get("text", "")}]
        deltas += [{"type": "citations_delta", "citation": citation} for citation in block.get("citations") or ()]
    elif kind == "thinking":
        start = dict(_THINKING_START)
        deltas = [{"type": "thinking_delta", "thinking": block.get("thinking", "")},
                  {"type": "signature_delta", "signature": block.get("signature", "")}]
    elif kind in ("tool_use", "server_tool_use"):
        start = {**block, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": _encode(block.get("input") or {}).decode()}]
    else:  # redacted thinking, tool results of server tools: whole in their start, as Anthropic sends them
        start, deltas = block, []
    events = [("content_block_start", _encode({"type": "content_block_start", "index": index, "content_block": start}))]
    events += [("content_block_delta", _encode({"type": "content_block_delta", "index": index, "delta": delta}))
               for delta in deltas]
    events.append(("content_block_stop", _encode({"type": "content_block_stop", "index": index})))
    return events
