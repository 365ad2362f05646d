"""The Anthropic Messages side of the loopback mock upstream: the same deterministic answers as
router.upstream.mock (echo, thinking, a tool call when a tool is named or forced by tool_choice,
a backquoted command as its shell argument: tests/support/scripted_calls.py), in Anthropic shape.

For passthrough tests it also reflects what it received: the request's unknown top-level fields and
unknown content block types are listed back in the text, and a request carrying `future_field`
gets a `future_field` and an unknown `future_block` content block in the answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from router.upstream.mock import last_turn
from tests.support.scripted_calls import Call, Offered, chosen

Json = dict[str, Any]
KNOWN_FIELDS = {"model", "messages", "max_tokens", "system", "stream", "tools", "tool_choice", "thinking",
                "temperature", "top_p", "top_k", "stop_sequences", "metadata"}
KNOWN_BLOCKS = {"text", "image", "tool_use", "tool_result", "thinking", "redacted_thinking", "document"}


def message(request: Json) -> Json:
    last = last_turn(request.get("messages") or [])
    content = last.get("content")
    blocks = content if isinstance(content, list) else [{"type": "text", "text": content or ""}]
    out: list[Json] = []
    if (request.get("thinking") or {}).get("type") == "enabled":
        out.append({"type": "thinking", "thinking": "Considering the question.", "signature": "sig-mock"})
    results = [b for b in blocks if b.get("type") == "tool_result"]
    text = " ".join(b.get("text", "") for b in blocks if b.get("type") == "text")
    tool = _called_tool(request, text)
    if results:
        result = results[0].get("content")
        shown = result if isinstance(result, str) else " ".join(p.get("text", "") for p in result or [])
        out.append({"type": "text", "text": f"The tool returned: {shown}"})
    elif tool is not None:
        out.append({"type": "tool_use", "id": f"toolu_{_digest(request)}", "name": tool.name, "input": tool.arguments})
    else:
        out.append({"type": "text", "text": f"Echo: {text}{_reflection(request, blocks)}"})
    answer: Json = {
        "id": f"msg_{_digest(request)}", "type": "message", "role": "assistant", "model": request.get("model"),
        "content": out, "stop_reason": "tool_use" if any(b["type"] == "tool_use" for b in out) else "end_turn",
        "stop_sequence": None, "usage": {"input_tokens": 11, "output_tokens": 7, "cache_read_input_tokens": 3},
    }
    if "future_field" in request:
        answer["future_field"] = {"kept": True}
        answer["content"].append({"type": "future_block", "payload": [1, 2, 3]})
    return answer


def _digest(request: Json) -> str:
    """Ids differ between conversations, as a real server's do (a response store keys on them)."""
    return hashlib.sha256(json.dumps(request.get("messages"), sort_keys=True).encode()).hexdigest()[:16]


def _reflection(request: Json, blocks: list[Json]) -> str:
    unknown_fields = sorted(set(request) - KNOWN_FIELDS)
    unknown_blocks = sorted({b.get("type", "") for b in blocks} - KNOWN_BLOCKS)
    if not unknown_fields and not unknown_blocks:
        return ""
    return f" | fields: {','.join(unknown_fields)} | blocks: {','.join(unknown_blocks)}"


def _called_tool(request: Json, text: str) -> Call | None:
    choice = request.get("tool_choice") or {}
    forced = choice.get("name") if choice.get("type") == "tool" else None
    offered = [Offered(tool.get("name", ""), tool.get("input_schema") or {}) for tool in request.get("tools") or []
               if "input_schema" in tool]  # server tools (web_search, ...) have none: the mock cannot run them
    return chosen(offered, text, forced)


def events(request: Json) -> Iterator[tuple[str, Json]]:
    """The same message as Anthropic SSE events, text split in words, tool input in two pieces."""
    answer = message(request)
    start = {**answer, "content": [], "stop_reason": None, "usage": {"input_tokens": 11, "output_tokens": 0}}
    yield "message_start", {"type": "message_start", "message": start}
    for index, block in enumerate(answer["content"]):
        yield from _block_events(index, block)
    delta = {"stop_reason": answer["stop_reason"], "stop_sequence": None}
    yield "message_delta", {"type": "message_delta", "delta": delta, "usage": {"output_tokens": 7}}
    yield "message_stop", {"type": "message_stop"}


def _block_events(index: int, block: Json) -> Iterator[tuple[str, Json]]:
    kind = block["type"]
    empty = {"text": {"type": "text", "text": ""}, "thinking": {"type": "thinking", "thinking": "", "signature": ""},
             "tool_use": {**block, "input": {}}}.get(kind, block)
    yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": empty}
    if kind == "text":
        for word in re.findall(r"\S+\s*", block["text"]):
            yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                          "delta": {"type": "text_delta", "text": word}}
    elif kind == "thinking":
        yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                      "delta": {"type": "thinking_delta", "thinking": block["thinking"]}}
        yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                      "delta": {"type": "signature_delta", "signature": block["signature"]}}
    elif kind == "tool_use":
        arguments = json.dumps(block["input"])
        for piece in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]):
            yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                          "delta": {"type": "input_json_delta", "partial_json": piece}}
    yield "content_block_stop", {"type": "content_block_stop", "index": index}
