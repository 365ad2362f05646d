"""A real OpenAI-compatible upstream on loopback for end-to-end tests: `python -m
tests.support.mock_upstream --port N`. It answers like the built-in mock (router.upstream.mock):
Chat Completions on /v1/chat/completions, the Anthropic Messages API on /v1/messages
(anthropic_mock) and the OpenAI Responses API on /v1/responses (responses_mock). All three call
tools by the same rules (scripted_calls: a forced tool_choice, or the tool the user names, with a
backquoted command as its shell argument). The model name scripts failures (Chat and Responses):

  fail-<status>   answers that status with an OpenAI error body (429 carries retry-after: 7)
  echo-key        a 401 whose message echoes the Authorization header, as some providers do
  cut-stream      streams two chunks (Responses: five events), then drops the connection
  slow-<ms>       waits that long between stream chunks

GET /stats tells how many streams ran to the end and how many the router abandoned (closed the
connection mid-stream), so a test can prove a client disconnect reaches the upstream at once.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
from typing import Any

import msgspec
import uvicorn

from router.upstream.mock import chunks, completion, last_turn
from tests.support import anthropic_mock, responses_mock
from tests.support.scripted_calls import Offered, chosen, command_in

_encode = msgspec.json.Encoder().encode
Scope = dict[str, Any]


async def _body(receive: Any) -> bytes:
    parts = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(parts)


async def _send_json(send: Any, status: int, body: Any, headers: list[tuple[bytes, bytes]] = []) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), *headers]})
    await send({"type": "http.response.body", "body": _encode(body)})


class MockUpstream:
    """The ASGI app; its counters live on the instance, one per process."""

    def __init__(self) -> None:
        self.stats = {"completed": 0, "aborted": 0}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["path"] in ("/health", "/stats"):
            await _send_json(send, 200, self.stats)
            return
        request = msgspec.json.decode(await _body(receive))
        model = str(request.get("model", ""))
        if scope["path"].startswith("/v1/messages"):
            await self._anthropic(scope, send, request)
        elif model.startswith("fail-"):
            status = int(model.removeprefix("fail-"))
            extra = [(b"retry-after", b"7")] if status == 429 else []
            await _send_json(send, status, {"error": {"message": f"scripted {status}", "type": "scripted"}}, extra)
        elif model == "echo-key":
            auth = dict(scope["headers"]).get(b"authorization", b"").decode()
            await _send_json(send, 401, {"error": {"message": f"Incorrect API key provided: {auth}", "type": "auth"}})
        elif scope["path"].startswith("/v1/responses"):
            await self._responses(receive, send, request, model)
        elif request.get("stream"):
            await self._stream(receive, send, _as_scripted(request), model)
        else:
            await _send_json(send, 200, completion(_as_scripted(request)))

    async def _anthropic(self, scope: Scope, send: Any, request: dict[str, Any]) -> None:
        """The Anthropic Messages API: /v1/messages and /v1/messages/count_tokens. A unary answer
        carries an extra `seen` member (passthrough keeps unknown fields) reporting the headers the
        router forwarded, so tests can check the beta policy and the credentials."""
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        if scope["path"].endswith("/count_tokens"):
            await _send_json(send, 200, {"input_tokens": 42, "seen_model": request.get("model")})
            return
        if not request.get("stream"):
            seen = {name: headers.get(name) for name in ("anthropic-beta", "anthropic-version", "x-api-key")}
            await _send_json(send, 200, {**anthropic_mock.message(request), "seen": seen})
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        for name, data in anthropic_mock.events(request):
            frame = b"event: " + name.encode() + b"\ndata: " + _encode(data) + b"\n\n"
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _responses(self, receive: Any, send: Any, request: dict[str, Any], model: str) -> None:
        """The OpenAI Responses API: a response object, or its events (no [DONE] line: the
        stream ends after response.completed)."""
        if not request.get("stream"):
            await _send_json(send, 200, responses_mock.response(request))
            return
        frames = (b"event: " + name.encode() + b"\ndata: " + _encode(data) + b"\n\n"
                  for name, data in responses_mock.events(request))
        await self._stream_frames(receive, send, frames, model, cut_at=5, done=b"")

    async def _stream(self, receive: Any, send: Any, request: dict[str, Any], model: str) -> None:
        frames = (b"data: " + _encode(chunk) + b"\n\n" for chunk in chunks(request))
        await self._stream_frames(receive, send, frames, model, cut_at=2, done=b"data: [DONE]\n\n")

    async def _stream_frames(self, receive: Any, send: Any, frames: Iterator[bytes], model: str,
                             cut_at: int, done: bytes, content_type: bytes = b"text/event-stream") -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", content_type)]})
        delay = int(model.removeprefix("slow-")) / 1000 if model.startswith("slow-") else 0.0
        disconnected = asyncio.Event()
        watcher = asyncio.create_task(_watch_disconnect(receive, disconnected))
        try:
            for number, frame in enumerate(frames):
                if model == "cut-stream" and number == cut_at:
                    raise RuntimeError("scripted disconnect")  # uvicorn drops the connection mid-body
                if delay:
                    await asyncio.sleep(delay)
                if disconnected.is_set():
                    self.stats["aborted"] += 1
                    return
                await send({"type": "http.response.body", "body": frame, "more_body": True})
            await send({"type": "http.response.body", "body": done, "more_body": False})
            self.stats["completed"] += 1
        finally:
            watcher.cancel()


def _as_scripted(request: dict[str, Any]) -> dict[str, Any]:
    """The Chat request as router.upstream.mock should read it to follow the mocks' common tool
    rules (scripted_calls). That mock calls only a tool the last user text names, with sampled
    arguments; so when the rules choose another call (a forced tool_choice, a namespaced tool
    named by its own name, a backquoted command), the chosen tool's schema pins the arguments
    (`const`) and the user's message names the tool. Otherwise the request is left as it is."""
    messages = request.get("messages") or []
    last = last_turn(messages)
    if last.get("role") != "user":
        return request
    content = last.get("content")
    text = content if isinstance(content, str) else " ".join(
        p.get("text", "") for p in content or [] if isinstance(p, dict))
    functions = [tool.get("function") or {} for tool in request.get("tools") or []]
    choice = request.get("tool_choice")
    forced = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
    call = chosen([Offered(f.get("name", ""), f.get("parameters") or {}) for f in functions], text, forced)
    if call is None or (forced is None and command_in(text) is None and call.name in text.split()):
        return request
    pinned = {"type": "object", "properties": {k: {"const": v} for k, v in call.arguments.items()},
              "required": list(call.arguments)}
    tools = [{"type": "function", "function": {**f, "parameters": pinned}} if f.get("name") == call.name else tool
             for f, tool in zip(functions, request.get("tools") or [])]
    named = [{"role": "user", "content": call.name} if message is last else message for message in messages]
    return {**request, "tools": tools, "messages": named}


async def _watch_disconnect(receive: Any, disconnected: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    disconnected.set()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(MockUpstream(), host="127.0.0.1", port=args.port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
