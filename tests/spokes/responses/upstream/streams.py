"""Responses streams for the tests, written the way OpenAI writes them: from a final response
object, every item opened, streamed in deltas (split in pieces) and closed, then
`response.completed` (or another end) carrying the whole response."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from tests.spokes.responses.upstream.upstream_table import sse

Event = dict[str, Any]


def pieces(text: str, size: int = 4) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or []


def response(output: list[dict[str, Any]], *, status: str = "completed", usage: dict[str, Any] | None = None,
             **extra: Any) -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "created_at": 1, "model": "gpt-up", "status": status,
            "output": output, "usage": usage, **extra}


USAGE = {"input_tokens": 120, "input_tokens_details": {"cached_tokens": 100}, "output_tokens": 30,
         "output_tokens_details": {"reasoning_tokens": 12}, "total_tokens": 150}


def events(final: dict[str, Any], end: str = "response.completed") -> list[Event]:
    """The whole event sequence for `final`, sequence-numbered."""
    started = copy.deepcopy(final) | {"status": "in_progress", "output": [], "usage": None}
    out: list[Event] = [{"type": "response.created", "response": started},
                        {"type": "response.in_progress", "response": started}]
    for index, item in enumerate(final["output"]):
        out.extend(item_events(index, item))
    out.append({"type": end, "response": final})
    for number, event in enumerate(out):
        event["sequence_number"] = number
    return out


def item_events(index: int, item: dict[str, Any]) -> Iterator[Event]:
    kind = item["type"]
    opened = {key: value for key, value in item.items() if key not in ("summary", "content", "encrypted_content")}
    if kind == "reasoning":
        opened["summary"] = []
    elif kind == "message":
        opened["content"] = []
    elif kind == "function_call":
        opened["arguments"] = ""
    elif kind == "custom_tool_call":
        opened["input"] = ""
    base = {"item_id": item["id"], "output_index": index}
    yield {"type": "response.output_item.added", "output_index": index, "item": opened}
    if kind == "reasoning":
        for number, part in enumerate(item.get("summary") or ()):
            yield {"type": "response.reasoning_summary_part.added", **base, "summary_index": number,
                   "part": {"type": "summary_text", "text": ""}}
            for piece in pieces(part["text"]):
                yield {"type": "response.reasoning_summary_text.delta", **base, "summary_index": number, "delta": piece}
            yield {"type": "response.reasoning_summary_text.done", **base, "summary_index": number, "text": part["text"]}
            yield {"type": "response.reasoning_summary_part.done", **base, "summary_index": number, "part": part}
    elif kind == "message":
        for number, part in enumerate(item["content"]):
            field = "text" if part["type"] == "output_text" else "refusal"
            yield {"type": "response.content_part.added", **base, "content_index": number,
                   "part": {"type": part["type"], field: ""}}
            delta = "response.output_text.delta" if field == "text" else "response.refusal.delta"
            for piece in pieces(part[field]):
                yield {"type": delta, **base, "content_index": number, "delta": piece, "logprobs": []}
            done = "response.output_text.done" if field == "text" else "response.refusal.done"
            yield {"type": done, **base, "content_index": number, field: part[field]}
            yield {"type": "response.content_part.done", **base, "content_index": number, "part": part}
    elif kind == "function_call":
        for piece in pieces(item["arguments"]):
            yield {"type": "response.function_call_arguments.delta", **base, "delta": piece}
        yield {"type": "response.function_call_arguments.done", **base, "arguments": item["arguments"]}
    elif kind == "custom_tool_call":
        for piece in pieces(item["input"]):
            yield {"type": "response.custom_tool_call_input.delta", **base, "delta": piece}
        yield {"type": "response.custom_tool_call_input.done", **base, "input": item["input"]}
    yield {"type": "response.output_item.done", "output_index": index, "item": item}


def stream(final: dict[str, Any], end: str = "response.completed", named: bool = True) -> bytes:
    return sse(*events(final, end), named=named)


# --- items -------------------------------------------------------------------------------------


def reasoning(*summary: str, encrypted: str | None = "gAAAAB-enc==", item_id: str = "rs_1") -> dict[str, Any]:
    item: dict[str, Any] = {"id": item_id, "type": "reasoning",
                            "summary": [{"type": "summary_text", "text": text} for text in summary]}
    if encrypted is not None:
        item["encrypted_content"] = encrypted
    return item


def message(*texts: str, refusal: str | None = None, item_id: str = "msg_1") -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "output_text", "text": text, "annotations": []} for text in texts]
    if refusal is not None:
        parts.append({"type": "refusal", "refusal": refusal})
    return {"id": item_id, "type": "message", "role": "assistant", "status": "completed", "content": parts}


def function_call(name: str, arguments: str, call_id: str = "call_1", item_id: str = "fc_1") -> dict[str, Any]:
    return {"id": item_id, "type": "function_call", "status": "completed", "call_id": call_id, "name": name,
            "arguments": arguments}


def custom_call(name: str, text: str, call_id: str = "call_c", item_id: str = "ctc_1") -> dict[str, Any]:
    return {"id": item_id, "type": "custom_tool_call", "status": "completed", "call_id": call_id, "name": name,
            "input": text}
