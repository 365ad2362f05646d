"""Hub streams made from hub answers (how Anthropic streams each block), for the client-side
stream machines' tests (Responses, Gemini): one answer gives both sides of the oracle (the stream
folded, the unary answer)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

USAGE = {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 7}


def pieces(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def block_events(index: int, block: dict[str, Any], size: int) -> Iterator[dict[str, Any]]:
    """How Anthropic streams a block: started empty, its content in deltas of `size` characters."""
    kind = block["type"]
    if kind == "text":
        yield {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
        for piece in pieces(block["text"], size):
            yield {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}
    elif kind == "thinking":
        yield {"type": "content_block_start", "index": index,
               "content_block": {"type": "thinking", "thinking": "", "signature": ""}}
        for piece in pieces(block["thinking"], size):
            yield {"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": piece}}
        yield {"type": "content_block_delta", "index": index,
               "delta": {"type": "signature_delta", "signature": block["signature"]}}
    elif kind == "tool_use":
        yield {"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}}
        arguments = json.dumps(block["input"], separators=(",", ":")) if block["input"] else ""
        for piece in [""] + pieces(arguments, size):
            yield {"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": piece}}
    else:  # redacted_thinking, server tools: whole at the start
        yield {"type": "content_block_start", "index": index, "content_block": block}
    yield {"type": "content_block_stop", "index": index}


def stream_of(message: dict[str, Any], size: int = 4) -> list[dict[str, Any]]:
    usage = message["usage"]
    start_usage = {key: value for key, value in usage.items() if key != "output_tokens"} | {"output_tokens": 1}
    events = [{"type": "message_start", "message": {**message, "content": [], "stop_reason": None, "usage": start_usage}}]
    for index, block in enumerate(message["content"]):
        events.extend(block_events(index, block, size))
    events.append({"type": "message_delta", "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                   "usage": {"output_tokens": usage["output_tokens"]}})
    events.append({"type": "message_stop"})
    return events


def sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(b"event: %s\ndata: %s\n\n" % (event["type"].encode(), json.dumps(event).encode())
                    for event in events)


def message(*content: dict[str, Any], stop_reason: str = "end_turn") -> dict[str, Any]:
    return {"id": "msg_01abc", "type": "message", "role": "assistant", "model": "claude-x",
            "content": list(content), "stop_reason": stop_reason, "usage": USAGE}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def thinking(value: str, signature: str = "c2ln") -> dict[str, Any]:
    return {"type": "thinking", "thinking": value, "signature": signature}


def redacted(data: str = "ZW5j") -> dict[str, Any]:
    return {"type": "redacted_thinking", "data": data}


def tool_use(name: str, arguments: dict[str, Any], call_id: str = "toolu_1") -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}
