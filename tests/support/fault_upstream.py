"""A fault-injecting upstream on loopback: `python -m tests.support.fault_upstream --port N`.

One raw asyncio HTTP/1.1 server (keep-alive, content-length request bodies) speaking OpenAI Chat
Completions (POST /v1/chat/completions), Anthropic Messages (POST /v1/messages), OpenAI
Responses (POST /v1/responses), Google's Gemini API (POST /v1beta/models/{model}:
generateContent, `:streamGenerateContent?alt=sse`) and Amazon Bedrock Runtime (POST
/model/{modelId}/converse, /converse-stream, and Claude's /invoke, /invoke-with-response-stream),
so it can drop a connection, send half a body or hang exactly where a test wants. Answers are those of the other mocks
(router.upstream.mock, tests.support.anthropic_mock, tests.support.responses_mock,
tests.support.gemini_mock, tests.support.bedrock_mock); streams go out chunked, one event per chunk, so a close before the
last chunk is a broken body, never a clean end. A Responses stream's only terminal event is
`response.completed` (it has no [DONE]), and a Gemini stream's is its last chunk, the one with
`finishReason` (Google sends no end marker), so for them `no-terminal` and `no-done` are the same
stream.

Gemini: the model and the method are in the path (the body names neither); events are
`data: {chunk}\r\n\r\n` with no `event:` lines, errors Google's `{"error": {"code", "message",
"status"}}` (a 429's RetryInfo detail says 7 s, and no retry-after header comes with it, as the
real API answers); the key must come in `x-goog-api-key` and only there (not `?key=`, not a
bearer token: else 403 PERMISSION_DENIED), and a stream must ask for `alt=sse` (else 400), so a
router that sends a Gemini request any other way fails every cell.

Bedrock: the model id is in the path, percent-encoded (the body names neither it nor `stream`,
which the path's action says); streams are AWS event-stream binary frames
(`application/vnd.amazon.eventstream`, tests/spokes/bedrock/frames.py), one frame per chunk.
Converse's answer is whole at `messageStop`; the `metadata` after it (the usage) is its last
event, so `no-done` is a stream without it. InvokeModel's are `chunk` frames carrying the
Anthropic events, message_stop last. A stream's `malformed` event is a frame whose CRC does not
match its bytes (corrupted in transit; its payload still JSON), its mid-stream error an exception
frame (`internalServerException`). Errors are Bedrock's: the status, `{"message"}` and
`x-amzn-ErrorType: <Name>Exception:http://internal.amazon.com/coral/com.amazon.bedrock/`, never a
retry-after of Bedrock's own (429-ra and echo-header-error add theirs); a scripted status is the
exception Bedrock answers for it: 429 ThrottlingException, 500 InternalServerException, 503
ServiceUnavailableException; Bedrock has no 529, so `529` is its overloaded answer,
ModelNotReadyException (a 429 that means the model is loading), and has no 401, so `echo-401` is
a 403 AccessDeniedException (its answer to a bad API key). The key must come as `Authorization:
Bearer` (a Bedrock API key; else 403 AccessDeniedException), and a body Bedrock would refuse
(tests.support.bedrock_mock's checks: an InvokeModel body with `model` or `stream`, without
`anthropic_version`; a Converse conversation out of order) is a 400 ValidationException.

The fault is the model name's second dot-separated part (`<anything>.<fault>[.<anything>]`, so
`a2o.429-ra.stream` is fault `429-ra`); a name without a known fault is answered normally:

  429-ra, 429, 500, 503, 529   that status with an error body (429-ra: retry-after: 7)
  once-500                     500 on the first attempt of this model name, answers afterwards
  drop-headers                 reads the request, closes before any response byte
  drop-mid                     unary: content-length of the whole body, half sent, close;
                               stream: two events, then close inside the chunked body
  truncated                    unary: half the JSON with a content-length that matches it;
                               stream: two events and half of the third, then a clean end
  no-terminal                  stream: the content only (no finish_reason / [DONE]; no
                               message_delta / message_stop; no response.completed), clean end
  no-done                      stream: all but the last event ([DONE] / message_stop /
                               response.completed), clean end
  malformed                    unary: a 200 whose body is not JSON; stream: a `data:` line
                               that is not JSON after the first events, then the rest
  hang-first                   reads the request, sends nothing until the peer goes away
  hang-after                   unary: head and 10 bytes of body, then hangs; stream: head and
                               the first event, then hangs
  dribble                      unary: head, then one byte of body every 0.3 s (a read timeout
                               never fires; only a total one does)
  echo-401, echo-500           that status; the message quotes our credential header (and
                               the first half of the key, as providers half-mask keys)
  echo-header-error            a 500 carrying `x-echo` and `retry-after` with the credential
  echo-header-ok               a normal answer carrying `x-echo: <credential>`
  echo-stream                  stream: the first events, then an error event/chunk quoting the
                               credential (`data: {"error":...}` / `event: error` / `event: error`
                               and `response.failed`, as OpenAI ends a failed response / Google's
                               error object as a `data:` chunk / Bedrock's exception frame), clean end

GET /attempts?model=NAME answers {"attempts": n}: the requests this model name got, so a test
can tell whether the router retried. GET /health answers 200.
"""

from __future__ import annotations

import argparse
import asyncio
import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import msgspec

from router.upstream.mock import chunks, completion
from tests.spokes.bedrock.frames import chunk_frame, event_frame, exception_frame
from tests.support import anthropic_mock, bedrock_mock, gemini_mock, responses_mock

_encode = msgspec.json.Encoder().encode
HANG_LIMIT = 15.0  # a hung answer gives up after this long even if the router never does


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    line = await reader.readline()
    if not line.strip():
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    url = urlsplit(target)
    return Request(method, url.path, parse_qs(url.query), headers, body)


def head(status: int, headers: list[tuple[str, str]]) -> bytes:
    reason = "Overloaded" if status == 529 else HTTPStatus(status).phrase
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class Api(ABC):
    """What differs between the APIs: answers, stream events, error bodies, credentials."""

    name: str
    stream_type = "text/event-stream"

    @abstractmethod
    def answer(self, request: Any, model: str) -> bytes:
        ...

    @abstractmethod
    def events(self, request: Any, model: str) -> tuple[list[bytes], list[bytes]]:
        """(content events, closing events): the closing ones end with the terminal event."""
        ...

    @abstractmethod
    def error_body(self, status: int, message: str) -> bytes:
        ...

    @abstractmethod
    def error_event(self, message: str, sequence_number: int) -> bytes:
        """The API's mid-stream failure, after `sequence_number` events (APIs that number them)."""
        ...

    @abstractmethod
    def malformed_event(self) -> bytes:
        ...

    @abstractmethod
    def credential(self, headers: dict[str, str]) -> tuple[str, str]:
        """(the credential header's value as received, the key's first half)."""
        ...

    def error_answer(self, status: int, message: str) -> tuple[int, bytes, list[tuple[str, str]]]:
        """A scripted error status → (the status sent, its body, its headers) as the API answers it."""
        return status, self.error_body(status, message), []

    def refusal(self, request: Request, payload: Any, stream: bool) -> tuple[int, str] | None:
        """(status, message) when the request is not what the router must send; None when fine."""
        return None


class OpenAIChat(Api):
    name = "openai"

    def answer(self, request: Any, model: str) -> bytes:
        return _encode(completion(request))

    def events(self, request: Any, model: str) -> tuple[list[bytes], list[bytes]]:
        content: list[bytes] = []
        closing: list[bytes] = []
        for item in chunks(request):
            finished = not item["choices"] or item["choices"][0].get("finish_reason") is not None
            (closing if finished or closing else content).append(b"data: " + _encode(item) + b"\n\n")
        return content, [*closing, b"data: [DONE]\n\n"]

    def error_body(self, status: int, message: str) -> bytes:
        return _encode({"error": {"message": message, "type": "server_error" if status >= 500 else "invalid_request_error",
                                  "param": None, "code": None}})

    def error_event(self, message: str, sequence_number: int) -> bytes:
        return b"data: " + _encode({"error": {"message": message, "type": "server_error", "code": None}}) + b"\n\n"

    def malformed_event(self) -> bytes:
        return b'data: {"id": "chatcmpl-broken", "choices": [{"delta": {"content": "x"\n\n'

    def credential(self, headers: dict[str, str]) -> tuple[str, str]:
        value = headers.get("authorization", "")
        key = value.removeprefix("Bearer ")
        return value, key[: len(key) // 2]


class AnthropicMessages(Api):
    name = "anthropic"

    def answer(self, request: Any, model: str) -> bytes:
        return _encode(anthropic_mock.message(request))

    def events(self, request: Any, model: str) -> tuple[list[bytes], list[bytes]]:
        frames = [(name, b"event: " + name.encode() + b"\ndata: " + _encode(data) + b"\n\n")
                  for name, data in anthropic_mock.events(request)]
        cut = next(i for i, (name, _) in enumerate(frames) if name == "message_delta")
        return [frame for _, frame in frames[:cut]], [frame for _, frame in frames[cut:]]

    def error_body(self, status: int, message: str) -> bytes:
        kind = {401: "authentication_error", 429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
        return _encode({"type": "error", "error": {"type": kind, "message": message}})

    def error_event(self, message: str, sequence_number: int) -> bytes:
        body = {"type": "error", "error": {"type": "api_error", "message": message}}
        return b"event: error\ndata: " + _encode(body) + b"\n\n"

    def malformed_event(self) -> bytes:
        return b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {\n\n'

    def credential(self, headers: dict[str, str]) -> tuple[str, str]:
        key = headers.get("x-api-key", "")
        return key, key[: len(key) // 2]


class OpenAIResponses(OpenAIChat):
    """OpenAI's Responses API: OpenAI's error body and credential, its own objects and events."""

    name = "responses"

    def answer(self, request: Any, model: str) -> bytes:
        return _encode(responses_mock.response(request))

    def events(self, request: Any, model: str) -> tuple[list[bytes], list[bytes]]:
        frames = [b"event: " + name.encode() + b"\ndata: " + _encode(data) + b"\n\n"
                  for name, data in responses_mock.events(request)]
        return frames[:-1], frames[-1:]  # response.completed: the one terminal event

    def error_event(self, message: str, sequence_number: int) -> bytes:
        """`error`, then `response.failed` carrying the same error (both quote `message`)."""
        error = _encode({"type": "error", "code": "server_error", "message": message, "param": None,
                         "sequence_number": sequence_number})
        failed = _encode({"type": "response.failed", "sequence_number": sequence_number + 1,
                          "response": {"id": "resp_failed", "object": "response", "status": "failed",
                                       "error": {"code": "server_error", "message": message},
                                       "incomplete_details": None, "output": [], "usage": None}})
        return b"event: error\ndata: " + error + b"\n\nevent: response.failed\ndata: " + failed + b"\n\n"

    def malformed_event(self) -> bytes:
        return b'event: response.output_text.delta\ndata: {"type": "response.output_text.delta", "delta": \n\n'


class Gemini(Api):
    """Google's Gemini API (AI Studio): its answers and chunks, its error object, x-goog-api-key."""

    name = "gemini"

    def answer(self, request: Any, model: str) -> bytes:
        return _encode(gemini_mock.answer(request, model))

    def events(self, request: Any, model: str) -> tuple[list[bytes], list[bytes]]:
        frames = [b"data: " + _encode(item) + b"\r\n\r\n" for item in gemini_mock.chunks(request, model)]
        return frames[:-1], frames[-1:]  # the chunk with finishReason: the one terminal event

    def error_body(self, status: int, message: str) -> bytes:
        return _encode(gemini_mock.error_body(status, message))

    def error_event(self, message: str, sequence_number: int) -> bytes:
        return b"data: " + self.error_body(500, message) + b"\r\n\r\n"

    def malformed_event(self) -> bytes:
        return b'data: {"candidates": [{"content": {"role": "model", "parts": [{"text": \r\n\r\n'

    def credential(self, headers: dict[str, str]) -> tuple[str, str]:
        key = headers.get("x-goog-api-key", "")
        return key, key[: len(key) // 2]

    def refusal(self, request: Request, payload: Any, stream: bool) -> tuple[int, str] | None:
        """The key or the stream framing is not what the router must send."""
        if not request.headers.get("x-goog-api-key") or "key" in request.query or "authorization" in request.headers:
            return 403, "the key must come in x-goog-api-key, and only there"
        if stream and request.query.get("alt") != ["sse"]:
            return 400, "streamGenerateContent without alt=sse answers a JSON array"
        return None


class Bedrock(Api):
    """Amazon Bedrock Runtime with a Bedrock API key: its exceptions, its binary event stream."""

    stream_type = "application/vnd.amazon.eventstream"
    # A scripted status → the exception Bedrock answers for it, and that exception's status.
    EXCEPTIONS: ClassVar[Mapping[int, tuple[str, int]]] = {429: ("ThrottlingException", 429), 500: ("InternalServerException", 500),
                  503: ("ServiceUnavailableException", 503), 529: ("ModelNotReadyException", 429),
                  401: ("AccessDeniedException", 403), 403: ("AccessDeniedException", 403),
                  400: ("ValidationException", 400)}
    FAULT_URI = "http://internal.amazon.com/coral/com.amazon.bedrock/"

    def error_body(self, status: int, message: str) -> bytes:
        return _encode({"message": message})

    def error_answer(self, status: int, message: str) -> tuple[int, bytes, list[tuple[str, str]]]:
        name, sent = self.EXCEPTIONS[status]
        return sent, self.error_body(sent, message), [("x-amzn-errortype", f"{name}:{self.FAULT_URI}")]

    def error_event(self, message: str, sequence_number: int) -> bytes:
        return exception_frame("internalServerException", message)

    def credential(self, headers: dict[str, str]) -> tuple[str, str]:
        value = headers.get("authorization", "")
        key = value.removeprefix("Bearer ")
        return value, key[: len(key) // 2]

    def refusal(self, request: Request, payload: Any, stream: bool) -> tuple[int, str] | None:
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return 403, "Authentication failed: a Bedrock API key comes as Authorization: Bearer"
        refused = self.validation_error(payload)
        return None if refused is None else (400, refused)

    @abstractmethod
    def validation_error(self, payload: Any) -> str | None:
        ...


def corrupted(frame: bytes) -> bytes:
    """The frame with its message CRC changed: its bytes no longer match what was sent."""
    return frame[:-4] + bytes(byte ^ 0xFF for byte in frame[-4:])


class BedrockConverse(Bedrock):
    name = "bedrock"

    def answer(self, request: Any, model: str) -> bytes:
        return _encode(bedrock_mock.converse_answer(request))

    def events(self, request: Any, model: str) -> tuple[list[bytes], list[bytes]]:
        frames = [(name, event_frame(name, payload)) for name, payload in bedrock_mock.converse_events(request)]
        cut = next(i for i, (name, _) in enumerate(frames) if name == "messageStop")
        return [frame for _, frame in frames[:cut]], [frame for _, frame in frames[cut:]]

    def malformed_event(self) -> bytes:
        return corrupted(event_frame("contentBlockDelta", {"delta": {"text": "x"}, "contentBlockIndex": 0}))

    def validation_error(self, payload: Any) -> str | None:
        return bedrock_mock.converse_error(payload) if isinstance(payload, dict) else "Malformed input request"


class BedrockInvoke(Bedrock):
    """Claude's InvokeModel: the Anthropic Messages body and events, in Bedrock's envelope."""

    name = "bedrock-invoke"

    def answer(self, request: Any, model: str) -> bytes:
        return _encode(bedrock_mock.invoke_answer(request, model))

    def events(self, request: Any, model: str) -> tuple[list[bytes], list[bytes]]:
        events = bedrock_mock.invoke_events(request, model)
        cut = next(i for i, event in enumerate(events) if event["type"] == "message_delta")
        return [chunk_frame(event) for event in events[:cut]], [chunk_frame(event) for event in events[cut:]]

    def malformed_event(self) -> bytes:
        return corrupted(chunk_frame({"type": "content_block_delta", "index": 0,
                                      "delta": {"type": "text_delta", "text": "x"}}))

    def validation_error(self, payload: Any) -> str | None:
        return bedrock_mock.invoke_error(payload) if isinstance(payload, dict) else "Malformed input request"


PROTOCOLS: dict[str, Api] = {"/v1/chat/completions": OpenAIChat(), "/v1/messages": AnthropicMessages(),
                             "/v1/responses": OpenAIResponses()}
GEMINI = Gemini()
_GEMINI_CALL = re.compile(r"/v1beta/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)")
BEDROCK_APIS: dict[str, Api] = {"converse": BedrockConverse(), "invoke": BedrockInvoke()}
_BEDROCK_CALL = re.compile(r"/model/(?P<model>[^/]+)/(?P<api>converse|invoke)(?P<stream>-stream|-with-response-stream)?")
STATUS_FAULTS = {"429-ra": 429, "429": 429, "500": 500, "503": 503, "529": 529, "once-500": 500,
                 "echo-401": 401, "echo-500": 500, "echo-header-error": 500}


@dataclass(frozen=True)
class Call:
    """What a POST asks for: the API, the model name (the fault's carrier), whether to stream."""

    protocol: Api
    model: str
    stream: bool


def call_of(request: Request, payload: Any) -> Call | None:
    """The body names the model and `stream` for every API but Gemini and Bedrock, whose path
    names both."""
    if (protocol := PROTOCOLS.get(request.path)) is not None:
        return Call(protocol, str(payload.get("model", "")), bool(payload.get("stream")))
    if (match := _GEMINI_CALL.fullmatch(request.path)) is not None:
        return Call(GEMINI, unquote(match["model"]), match["method"] == "streamGenerateContent")
    if (match := _BEDROCK_CALL.fullmatch(request.path)) is not None:
        api = BEDROCK_APIS[match["api"]]
        # a model whose id is not one path segment is one the router failed to encode
        return Call(api, unquote(match["model"]), match["stream"] is not None)
    return None


def fault_of(model: str) -> str:
    parts = model.split(".")
    return parts[1] if len(parts) > 1 else ""


class FaultUpstream:
    def __init__(self) -> None:
        self.attempts: Counter[str] = Counter()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (request := await read_request(reader)) is not None:
                if not await self.respond(request, reader, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def respond(self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection must close afterwards."""
        if request.method == "GET":
            model = (request.query.get("model") or [""])[0]
            payload = {"attempts": self.attempts[model]} if request.path == "/attempts" else {"ok": True}
            status = 200 if request.path in ("/attempts", "/health") else 404
            body = _encode(payload)
            writer.write(head(status, [("content-type", "application/json"), ("content-length", str(len(body)))]) + body)
            await writer.drain()
            return True
        payload = msgspec.json.decode(request.body)
        call = call_of(request, payload)
        if call is None:
            writer.write(head(404, [("content-length", "0")]))
            return True
        protocol, model, stream = call.protocol, call.model, call.stream
        self.attempts[model] += 1
        if (refusal := protocol.refusal(request, payload, stream)) is not None:
            await send_json(writer, *protocol.error_answer(*refusal))
            return True
        fault = fault_of(model)
        if fault == "once-500" and self.attempts[model] > 1:
            fault = ""
        credential, half = protocol.credential(request.headers)
        echo = f"Incorrect API key provided: {credential} (key {half}****)"

        if fault == "drop-headers":
            return False
        if fault == "hang-first":
            await hang(reader)
            return False
        if fault in STATUS_FAULTS:
            status = STATUS_FAULTS[fault]
            message = echo if fault in ("echo-401", "echo-500") else f"scripted {status}"
            extra = {"429-ra": [("retry-after", "7")],
                     "echo-header-error": [("x-echo", credential), ("retry-after", credential)]}.get(fault, [])
            sent, body, headers = protocol.error_answer(status, message)
            await send_json(writer, sent, body, [*headers, *extra])
            return True
        extra = [("x-echo", credential)] if fault == "echo-header-ok" else []
        if stream:
            return await self.stream(protocol, payload, model, fault, echo, extra, reader, writer)
        body = protocol.answer(payload, model)
        if fault == "malformed":
            body = b'{"id": "broken", "choices": [' + b"not json" + b"]}"
        elif fault == "truncated":
            body = body[: len(body) // 2]
        elif fault == "dribble":
            writer.write(head(200, [("content-type", "application/json"), ("content-length", str(len(body)))]))
            for byte in range(len(body)):
                if reader.at_eof():  # the router gave up
                    return False
                writer.write(body[byte : byte + 1])
                await writer.drain()
                await asyncio.sleep(0.3)
            return True
        elif fault in ("drop-mid", "hang-after"):
            writer.write(head(200, [("content-type", "application/json"), ("content-length", str(len(body)))]))
            writer.write(body[: len(body) // 2] if fault == "drop-mid" else body[:10])
            await writer.drain()
            if fault == "hang-after":
                await hang(reader)
            return False
        await send_json(writer, 200, body, extra)
        return True

    async def stream(self, protocol: Api, payload: Any, model: str, fault: str, echo: str,
                     extra: list[tuple[str, str]], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        content, closing = protocol.events(payload, model)
        events = [*content, *closing]
        clean_end = True
        if fault == "drop-mid":
            events, clean_end = events[:2], False
        elif fault == "truncated":
            events = [*events[:2], events[2][: len(events[2]) // 2]]
        elif fault == "no-terminal":
            events = content
        elif fault == "no-done":
            events = events[:-1]
        elif fault == "malformed":
            events = [*events[:2], protocol.malformed_event(), *events[2:]]
        elif fault == "echo-stream":
            events = [*events[:2], protocol.error_event(echo, 2)]
        elif fault == "hang-after":
            events, clean_end = events[:1], False
        writer.write(head(200, [("content-type", protocol.stream_type), ("transfer-encoding", "chunked"), *extra]))
        for event in events:
            writer.write(chunk(event))
            await writer.drain()
        if fault == "hang-after":
            await hang(reader)
        if not clean_end:
            return False
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True


async def send_json(writer: asyncio.StreamWriter, status: int, body: bytes, extra: list[tuple[str, str]]) -> None:
    headers = [("content-type", "application/json"), ("content-length", str(len(body))), *extra]
    writer.write(head(status, headers) + body)
    await writer.drain()


async def hang(reader: asyncio.StreamReader) -> None:
    """Send nothing until the peer closes (its timeout fired) or HANG_LIMIT passes."""
    try:
        await asyncio.wait_for(reader.read(), HANG_LIMIT)
    except (TimeoutError, ConnectionError):
        pass


async def serve(port: int) -> None:
    server = await asyncio.start_server(FaultUpstream().handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
