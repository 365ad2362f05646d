"""The built-in `mock` upstream: an OpenAI-compatible chat model that answers deterministically and
offline, so the shipped routes.toml works on a fresh machine and the tests have a real peer.

Behaviour (documented in the README):
- text: echoes the last user text ("Echo: ...") — or, after a tool ran, what the tool returned;
  trailing system and developer messages are not the user's (Claude Code puts one last);
- thinking: emits `reasoning_content` first when the request sets `reasoning_effort` or the user
  text contains the word "think";
- tools: when the request offers tools and the last user text names one, it calls that tool with
  arguments made from the tool's JSON Schema (required properties filled with typed samples);
- streaming: the same answer as `chat.completion.chunk`s, word by word, usage last when asked.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import msgspec

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
_WORD = re.compile(r"\S+\s*")

Json = dict[str, Any]


def last_turn(messages: list[Json]) -> Json:
    """The last user or tool message: the one being answered. Claude Code ends `messages` with a
    `role: system` message (its agents and tools), which is not what the user said."""
    for message in reversed(messages):
        if message.get("role") not in ("system", "developer"):
            return message
    return {}


def answer(request: Json) -> Json:
    """The whole answer as a chat.completion message: content, reasoning_content, tool_calls."""
    last = last_turn(request.get("messages") or [])
    text = _text_of(last.get("content"))
    message: Json = {"role": "assistant", "content": None}
    if _wants_thinking(request, text):
        message["reasoning_content"] = f"The user wrote {len(text)} characters; I will answer plainly."
    tool = None if last.get("role") == "tool" else _named_tool(request.get("tools") or [], text)
    if tool is not None:
        message["tool_calls"] = [_tool_call(tool, request)]
    elif last.get("role") == "tool":
        message["content"] = f"The tool returned: {text}"
    else:
        message["content"] = f"Echo: {text}"
    return message


def completion(request: Json) -> Json:
    message = answer(request)
    return {
        "id": _request_id(request),
        "object": "chat.completion",
        "created": 0,
        "model": request.get("model", "mock"),
        "choices": [{"index": 0, "message": message, "finish_reason": _finish(message)}],
        "usage": _usage(request, message),
    }


def chunks(request: Json) -> Iterator[Json]:
    """The same answer as a stream of chat.completion.chunk objects."""
    message = answer(request)
    base = {"id": _request_id(request), "object": "chat.completion.chunk", "created": 0,
            "model": request.get("model", "mock")}
    yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
    for piece in _WORD.findall(message.get("reasoning_content") or ""):
        yield {**base, "choices": [{"index": 0, "delta": {"reasoning_content": piece}}]}
    for piece in _WORD.findall(message.get("content") or ""):
        yield {**base, "choices": [{"index": 0, "delta": {"content": piece}}]}
    for index, call in enumerate(message.get("tool_calls") or ()):
        yield from _tool_call_chunks(base, index, call)
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": _finish(message)}]}
    if (request.get("stream_options") or {}).get("include_usage"):
        yield {**base, "choices": [], "usage": _usage(request, message)}


def _tool_call_chunks(base: Json, index: int, call: Json) -> Iterator[Json]:
    arguments = call["function"]["arguments"]
    half = len(arguments) // 2
    head = {"index": index, "id": call["id"], "type": "function",
            "function": {"name": call["function"]["name"], "arguments": arguments[:half]}}
    yield {**base, "choices": [{"index": 0, "delta": {"tool_calls": [head]}}]}
    tail = {"index": index, "function": {"arguments": arguments[half:]}}
    yield {**base, "choices": [{"index": 0, "delta": {"tool_calls": [tail]}}]}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [part.get("text", "") for part in content if isinstance(part, dict)]
        return texts[-1] if texts else ""
    return ""


def _wants_thinking(request: Json, text: str) -> bool:
    return bool(request.get("reasoning_effort")) or "think" in text.lower().split()


def _named_tool(tools: list[Json], text: str) -> Json | None:
    words = set(re.findall(r"[A-Za-z0-9_\-]+", text))
    for tool in tools:
        name = (tool.get("function") or {}).get("name")
        if name and name in words:
            return tool
    return None


def _tool_call(tool: Json, request: Json) -> Json:
    function = tool["function"]
    arguments = _sample(function.get("parameters") or {})
    digest = hashlib.sha256(_encode(request.get("messages") or [])).hexdigest()[:16]
    return {"id": f"call_{digest}", "type": "function",
            "function": {"name": function["name"], "arguments": _encode(arguments).decode()}}


def _sample(schema: Json) -> Any:
    """A value of the schema's type: required properties of objects filled in, recursively."""
    kind = schema.get("type")
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {name: _sample(props.get(name) or {}) for name in schema.get("required") or []}
    return {"string": "demo", "integer": 1, "number": 1, "boolean": True, "array": []}.get(
        kind if isinstance(kind, str) else "string", "demo"
    )


def _finish(message: Json) -> str:
    return "tool_calls" if message.get("tool_calls") else "stop"


def _usage(request: Json, message: Json) -> Json:
    prompt = max(len(_encode(request.get("messages") or [])) // 4, 1)
    produced = len(_encode(message)) // 4
    return {"prompt_tokens": prompt, "completion_tokens": produced, "total_tokens": prompt + produced}


def _request_id(request: Json) -> str:
    return "chatcmpl-mock-" + hashlib.sha256(_encode(request.get("messages") or [])).hexdigest()[:12]


class MockTransport(httpx.AsyncBaseTransport):
    """Serves `answer` over httpx in-process: no socket, no network."""

    def __init__(self, delay: float = 0.0) -> None:
        self._delay = delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or not request.url.path.endswith("/chat/completions"):
            return httpx.Response(404, json={"error": {"message": "mock serves POST /chat/completions", "type": "not_found"}})
        try:
            body = _decode(await request.aread())
        except msgspec.DecodeError:
            return httpx.Response(400, json={"error": {"message": "invalid JSON", "type": "invalid_request_error"}})
        if body.get("stream"):
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_SSE(body, self._delay))
        if self._delay:
            await asyncio.sleep(self._delay)
        return httpx.Response(200, headers={"content-type": "application/json"}, content=_encode(completion(body)))


class _SSE(httpx.AsyncByteStream):
    def __init__(self, request: Json, delay: float) -> None:
        self._request = request
        self._delay = delay

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in chunks(self._request):
            if self._delay:
                await asyncio.sleep(self._delay)
            yield b"data: " + _encode(chunk) + b"\n\n"
        yield b"data: [DONE]\n\n"
