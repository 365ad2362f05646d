"""The OpenAI Responses side of the loopback mock upstream (POST /v1/responses): the same
deterministic answers as router.upstream.mock and anthropic_mock, in Responses shape.

- text: "Echo: <the last user text>", or after a tool ran "The tool returned: <its output>"
  (function_call_output and custom_tool_call_output, output as a string or a list of parts);
  developer and system messages are not the user's, nor are reasoning items or tool lists;
- structured output: with `text.format` json_schema the text is a sample of the schema as JSON,
  with json_object `{"echo": <the user text>}`;
- reasoning: a reasoning item first, with a summary, when the request sets `reasoning` (an effort
  or a summary) or the user text contains the word "think"; it carries `encrypted_content` when
  `include` asks for "reasoning.encrypted_content", as the real API does;
- tools: the call scripted_calls chooses (a forced tool_choice, or the tool the user text names;
  a backquoted command fills the shell argument) as a `function_call`, or a `custom_tool_call`
  for a freeform tool; tools of `namespace` tools (top-level or in an `additional_tools` input
  item, as Codex sends them) are offered by their own names and called with their `namespace`;
- streaming: the event sequence real servers send (the recordings in
  ../shared/fixtures/codex/*/ `response.sse`), every event with its `sequence_number`: text
  word by word, arguments and freeform input in two pieces, `response.completed` with usage.

Failures are scripted by model name in tests/support/mock_upstream.py, as for the other APIs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from tests.support.scripted_calls import Call, Offered, chosen, sample

Json = dict[str, Any]
_WORD = re.compile(r"\S+\s*")
ENCRYPTED_REASONING = "reasoning.encrypted_content"
USAGE = {"input_tokens": 11, "input_tokens_details": {"cached_tokens": 3},
         "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 18}


def response(request: Json) -> Json:
    """The whole answer as a response object."""
    output = _output(request)
    usage = {**USAGE, "output_tokens_details": {"reasoning_tokens": 2 if output[0]["type"] == "reasoning" else 0}}
    return {**_envelope(request), "status": "completed", "output": output, "usage": usage}


def events(request: Json) -> Iterator[tuple[str, Json]]:
    """The same answer as Responses SSE events (name, data), sequence-numbered from 0."""
    final = response(request)
    started = {**_envelope(request), "status": "in_progress", "output": [], "usage": None}
    raw: list[Json] = [{"type": "response.created", "response": started},
                       {"type": "response.in_progress", "response": started}]
    for index, item in enumerate(final["output"]):
        raw.extend(_item_events(index, item))
    raw.append({"type": "response.completed", "response": final})
    for number, event in enumerate(raw):
        yield event["type"], {**event, "sequence_number": number}


# --- the answer ---------------------------------------------------------------------------------

def _output(request: Json) -> list[Json]:
    items = _input_items(request)
    last = _last_turn(items)
    digest = hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()[:12]
    user_text = _text_of(last.get("content"), " ") if last.get("type", "message") == "message" else ""
    output: list[Json] = []
    if _wants_reasoning(request, user_text):
        output.append(_reasoning(request, user_text, digest))
    if last.get("type") in ("function_call_output", "custom_tool_call_output"):
        output.append(_message(f"The tool returned: {_text_of(last.get('output'))}", digest))
        return output
    call = _call(request, user_text)
    if call is not None:
        output.append(call_item(call, _namespaces(request).get(call.name), digest))
    else:
        output.append(_message(_answer_text(request, user_text), digest))
    return output


def _input_items(request: Json) -> list[Json]:
    given = request.get("input")
    if isinstance(given, str):
        return [{"type": "message", "role": "user", "content": given}]
    return [item for item in given or [] if isinstance(item, dict)]


def _last_turn(items: list[Json]) -> Json:
    """The item being answered: the last user message or tool output (not developer or system
    messages, reasoning items, or Codex's additional_tools item)."""
    for item in reversed(items):
        kind = item.get("type", "message")
        if kind == "message" and item.get("role") not in ("system", "developer"):
            return item
        if kind in ("function_call_output", "custom_tool_call_output"):
            return item
    return {}


def _text_of(content: Any, separator: str = "") -> str:
    """A message's or a tool output's text: a string, or its parts' texts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return separator.join(part.get("text", "") for part in content if isinstance(part, dict) and "text" in part)
    return ""


def _wants_reasoning(request: Json, text: str) -> bool:
    reasoning = request.get("reasoning") or {}
    asked = reasoning.get("effort") not in (None, "none") or reasoning.get("summary") is not None
    return asked or "think" in text.lower().split()


def _reasoning(request: Json, text: str, digest: str) -> Json:
    summary = f"The user wrote {len(text)} characters; I will answer plainly."
    item: Json = {"id": f"rs_{digest}", "type": "reasoning", "summary": [{"type": "summary_text", "text": summary}]}
    if ENCRYPTED_REASONING in (request.get("include") or []):
        item["encrypted_content"] = base64.b64encode(f"mock-reasoning-{digest}".encode()).decode()
    return item


def _message(text: str, digest: str) -> Json:
    return {"id": f"msg_{digest}", "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def _answer_text(request: Json, user_text: str) -> str:
    text_format = (request.get("text") or {}).get("format") or {}
    if text_format.get("type") == "json_schema":
        return json.dumps(sample(text_format.get("schema") or {}))
    if text_format.get("type") == "json_object":
        return json.dumps({"echo": user_text})
    return f"Echo: {user_text}"


def _offered(request: Json) -> list[Offered]:
    offered = []
    for tool in _all_tools(request):
        kind = tool.get("type")
        if kind == "function":
            offered.append(Offered(tool.get("name", ""), tool.get("parameters") or {}))
        elif kind == "custom":
            offered.append(Offered(tool.get("name", ""), None))
    return offered


def _declared(request: Json) -> Iterator[Json]:
    """The request's tool definitions: top-level `tools` and those of additional_tools items."""
    yield from request.get("tools") or []
    for item in _input_items(request):
        if item.get("type") == "additional_tools":
            yield from item.get("tools") or []


def _all_tools(request: Json) -> Iterator[Json]:
    """Every function and custom tool of the request, namespaces opened."""
    for tool in _declared(request):
        yield from (tool.get("tools") or []) if tool.get("type") == "namespace" else [tool]


def _namespaces(request: Json) -> dict[str, str]:
    """Tool name → the namespace it was declared in."""
    return {inner.get("name", ""): tool.get("name", "") for tool in _declared(request)
            if tool.get("type") == "namespace" for inner in tool.get("tools") or []}


def _call(request: Json, user_text: str) -> Call | None:
    choice = request.get("tool_choice")
    forced = choice.get("name") if isinstance(choice, dict) and choice.get("type") in ("function", "custom") else None
    return chosen(_offered(request), user_text, forced)


def call_item(call: Call, namespace: str | None, digest: str) -> Json:
    """A function_call item, or a custom_tool_call for a freeform tool (string input)."""
    common: Json = {"status": "completed", "call_id": f"call_{digest}", "name": call.name}
    if namespace is not None:
        common["namespace"] = namespace
    if isinstance(call.arguments, str):
        return {"id": f"ctc_{digest}", "type": "custom_tool_call", **common, "input": call.arguments}
    return {"id": f"fc_{digest}", "type": "function_call", **common, "arguments": json.dumps(call.arguments)}


def _envelope(request: Json) -> Json:
    """The response object's members that repeat the request's settings."""
    digest = hashlib.sha256(json.dumps(request.get("input"), sort_keys=True).encode()).hexdigest()[:12]
    return {
        "id": f"resp_{digest}", "object": "response", "created_at": 1795314621, "error": None,
        "incomplete_details": None, "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"), "model": request.get("model"),
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": request.get("previous_response_id"),
        "reasoning": request.get("reasoning") or {"effort": None, "summary": None},
        "store": request.get("store", True), "temperature": request.get("temperature", 1.0),
        "text": request.get("text") or {"format": {"type": "text"}},
        "tool_choice": request.get("tool_choice", "auto"), "tools": request.get("tools") or [],
        "top_p": request.get("top_p", 1.0), "truncation": "disabled", "metadata": request.get("metadata") or {},
    }


# --- the stream ---------------------------------------------------------------------------------

def _item_events(index: int, item: Json) -> Iterator[Json]:
    kind = item["type"]
    at = {"item_id": item["id"], "output_index": index}
    openings: dict[str, Json] = {"reasoning": {"summary": []}, "message": {"status": "in_progress", "content": []},
                                 "function_call": {"status": "in_progress", "arguments": ""},
                                 "custom_tool_call": {"status": "in_progress", "input": ""}}
    opening = openings[kind]
    added = {key: value for key, value in item.items() if key != "encrypted_content"}
    yield {"type": "response.output_item.added", "output_index": index, "item": {**added, **opening}}
    if kind == "reasoning":
        yield from _summary_events(at, item["summary"][0]["text"])
    elif kind == "message":
        yield from _text_events(at, item["content"][0]["text"])
    elif kind == "function_call":
        yield from _piece_events("response.function_call_arguments", at, "arguments", item["arguments"])
    else:
        yield from _piece_events("response.custom_tool_call_input", at, "input", item["input"])
    yield {"type": "response.output_item.done", "output_index": index, "item": item}


def _summary_events(at: Json, text: str) -> Iterator[Json]:
    where = {**at, "summary_index": 0}
    yield {"type": "response.reasoning_summary_part.added", **where, "part": {"type": "summary_text", "text": ""}}
    for piece in _WORD.findall(text):
        yield {"type": "response.reasoning_summary_text.delta", **where, "delta": piece}
    yield {"type": "response.reasoning_summary_text.done", **where, "text": text}
    yield {"type": "response.reasoning_summary_part.done", **where, "part": {"type": "summary_text", "text": text}}


def _text_events(at: Json, text: str) -> Iterator[Json]:
    where = {**at, "content_index": 0}
    yield {"type": "response.content_part.added", **where, "part": {"type": "output_text", "text": "", "annotations": []}}
    for piece in _WORD.findall(text):
        yield {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
    yield {"type": "response.output_text.done", **where, "text": text, "logprobs": []}
    yield {"type": "response.content_part.done", **where, "part": {"type": "output_text", "text": text, "annotations": []}}


def _piece_events(prefix: str, at: Json, member: str, value: str) -> Iterator[Json]:
    half = len(value) // 2
    for piece in (value[:half], value[half:]):
        yield {"type": f"{prefix}.delta", **at, "delta": piece}
    yield {"type": f"{prefix}.done", **at, member: value}
