"""A real Amazon Bedrock Runtime upstream on loopback for end-to-end tests, that authenticates every
request as AWS does: `python -m tests.support.bedrock_mock --port N`. It is the loopback mock
upstream (tests/support/mock_upstream.py: Chat, Anthropic Messages, Responses on the same port)
that also speaks Bedrock Runtime, and records every Bedrock request it is sent (refused ones too):

  POST /model/{modelId}/converse                     a Converse answer (JSON)
  POST /model/{modelId}/converse-stream              ConverseStream events (application/vnd.amazon.eventstream)
  POST /model/{modelId}/invoke                       an Anthropic Messages answer (Claude's InvokeModel body)
  POST /model/{modelId}/invoke-with-response-stream  `chunk` events: {"bytes": base64 of an Anthropic event}
  GET  /requests                                     what it was sent (method, raw path, model, headers, body)
  POST /credentials                                  {"access_key", "secret_key", "session_token"?,
                                                     "expires_at"?: epoch seconds}: one more identity
  POST /api-keys                                     {"key"}: one more Bedrock API key

The modelId arrives percent-encoded (`arn%3Aaws%3Abedrock%3A…%3Ainference-profile%2Fus.…`, `…-v1%3A0`):
routes split the RAW path, then decode it.

Authentication (tests/support/sigv4_check.py): a SigV4 signature recomputed with botocore for the
credentials table (service `bedrock`, the mock's region, X-Amz-Date within 5 minutes, the session
token of temporary credentials), or `Authorization: Bearer <a known Bedrock API key>`. Refusals are
AWS's: 403 InvalidSignatureException, UnrecognizedClientException, ExpiredTokenException,
MissingAuthenticationTokenException; 403 AccessDeniedException for an unknown API key.

The answers are deterministic, like the other mocks':
- Converse: "Echo: <the text of the last user turn>", or after a toolResult "The tool returned:
  <its output>"; a toolUse of the declared tool the last text names or toolChoice forces
  (tests/support/scripted_calls); with `additionalModelRequestFields.thinking` enabled, a
  reasoningContent block first (reasoningText with a signature this mock recognises; also a
  redactedContent block when the text holds Anthropic's redacted-thinking trigger string); usage
  with cacheRead/cacheWrite tokens when the request has cachePoints; stopReason end_turn, tool_use,
  or max_tokens when inferenceConfig.maxTokens is fewer than the answer's words.
- ConverseStream: messageStart, text and reasoning deltas word by word (a signature delta at the
  end of reasoning), toolUse start + input deltas (two JSON string pieces), contentBlockStop,
  messageStop, metadata (usage, metrics). Each event carries Bedrock's `p` padding member.
- InvokeModel: tests/support/anthropic_mock's message and events; the stream's message_stop
  carries `amazon-bedrock-invocationMetrics`, as Bedrock adds it.

It checks requests as Bedrock does, a 400 ValidationException otherwise: Converse's turn order
(user first, roles alternating), blank text blocks, empty turns, toolUse/toolResult without a
toolConfig, toolResults that do not answer the previous turn's toolUse ids one for one, image and
document formats outside Bedrock's lists (`png`, not `image/png`), bytes not in base64, document
names with characters Bedrock refuses (a `.`), a reasoningText whose signature it did not issue (or none: a history from another
model must not carry signature-less reasoning), redactedContent it did not issue; InvokeModel's
body (anthropic_version "bedrock-2023-05-31", or the Anthropic API version the anthropic SDK's
Bedrock client sends, and max_tokens required; `model` and `stream`
refused as extraneous keys).

The model id (its last `/` segment for an ARN) scripts failures:
  fail-<status>   that status with Bedrock's body and x-amzn-ErrorType (429 ThrottlingException,
                  503 ServiceUnavailableException, 400 ValidationException, 403
                  AccessDeniedException, 404 ResourceNotFoundException, 408 ModelTimeoutException,
                  424 ModelErrorException, 500 InternalServerException)
  not-ready       429 ModelNotReadyException
  echo-key        a 403 AccessDeniedException quoting the request's Authorization and
                  X-Amz-Security-Token, to prove the router does not forward upstream errors raw
  stream-throttle a stream of three events, then a throttlingException frame
  stream-error    a stream of three events, then a modelStreamErrorException frame
  cut-stream      a stream of two frames, then the connection dropped
  slow-<ms>       waits that long between stream frames
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from itertools import pairwise
from typing import Any
from urllib.parse import unquote

import httpx
import msgspec
import uvicorn

from tests.spokes.bedrock.frames import event_frame, exception_frame, frame
from tests.support import anthropic_mock
from tests.support.mock_upstream import MockUpstream, Scope, _body, _send_json
from tests.support.scripted_calls import Call, Offered, chosen
from tests.support.servers import free_port, running
from tests.support.sigv4_check import KnownCredentials, ReceivedRequest, Refusal, verify

Json = dict[str, Any]

# --- the test identities ------------------------------------------------------------------------

REGION = "us-east-1"
# Temporary credentials (as STS, SSO and roles give): the session token must come with them.
ACCESS_KEY = "AKIDROUTERTEST0000001"
SECRET_KEY = "routerTestSecretKey0000000000000000000001"
SESSION_TOKEN = "routerTestSessionToken//0001=="
# Long-term credentials (an IAM user's): no session token.
STATIC_ACCESS_KEY = "AKIDROUTERTEST0000002"
STATIC_SECRET_KEY = "routerTestSecretKey0000000000000000000002"
API_KEY = "ABSKQmVkcm9ja0FQSUtleS1yb3V0ZXItdGVzdA=="  # the shape of a Bedrock API key
DEFAULT_CREDENTIALS = (KnownCredentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN),
                       KnownCredentials(STATIC_ACCESS_KEY, STATIC_SECRET_KEY))

# --- the answers' constants ---------------------------------------------------------------------

SIGNATURE_PREFIX = "bedrock-mock-signature-"
REDACTED_PREFIX = "bedrock-mock-redacted-"
# Anthropic's documented string that makes Claude answer with redacted thinking.
REDACTED_TRIGGER = "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_46C9A13E193C177646C7398A98432ECCCE4C1253"
THOUGHT = "Considering the question."
INPUT_TOKENS, OUTPUT_TOKENS, CACHE_READ_TOKENS, CACHE_WRITE_TOKENS, LATENCY_MS = 11, 7, 3, 5, 42
ANTHROPIC_VERSION = "bedrock-2023-05-31"
# Bedrock's own version, or an Anthropic API version: the anthropic SDK's Bedrock client (2.x) sends
# its API version (e.g. "2026-10-21") in the body.
_ANTHROPIC_VERSION = re.compile(r"bedrock-2023-05-31|\d{4}-\d{2}-\d{2}")
EVENTSTREAM = b"application/vnd.amazon.eventstream"
PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"
MEDIA_FORMATS = {"image": {"png", "jpeg", "gif", "webp"},
                 "document": {"pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"}}
_DOCUMENT_NAME = re.compile(r"(?:[A-Za-z0-9\-()\[\]]| (?! ))+")
_WORD = re.compile(r"\S+\s*")
_ROUTE = re.compile(r"/model/(?P<model>[^/]+)/(?P<action>converse|converse-stream|invoke|invoke-with-response-stream)$")
_BEDROCK_FAULT = "http://internal.amazon.com/coral/com.amazon.bedrock/"
_AUTH_FAULT = "http://internal.amazon.com/coral/com.amazon.coral.service/"
SCRIPTED_ERRORS = {
    400: ("ValidationException", "scripted 400: The provided request is not valid"),
    403: ("AccessDeniedException", "You don't have access to the model with the specified model ID."),
    404: ("ResourceNotFoundException", "Could not resolve the foundation model from the provided model identifier."),
    408: ("ModelTimeoutException", "Model has timed out in processing the request. Try your request again."),
    424: ("ModelErrorException", "The model returned an error: scripted 424"),
    429: ("ThrottlingException", "Too many requests, please wait before trying again."),
    500: ("InternalServerException", "The system encountered an unexpected error during processing. Try your request again."),
    503: ("ServiceUnavailableException", "Bedrock is unable to process your request."),
}
NOT_READY = ("ModelNotReadyException",
             "Model is not ready to serve inference requests. The AWS SDK will automatically retry the operation up to 5 times.")


# --- Converse -----------------------------------------------------------------------------------

def converse_answer(request: Json) -> Json:
    """The whole Converse answer."""
    blocks, stop_reason = _answer_blocks(request)
    return {"output": {"message": {"role": "assistant", "content": blocks}}, "stopReason": stop_reason,
            "usage": _usage(request), "metrics": {"latencyMs": LATENCY_MS}}


def converse_events(request: Json) -> list[tuple[str, Json]]:
    """The same answer as ConverseStream events: (event type, payload), without the padding."""
    blocks, stop_reason = _answer_blocks(request)
    events: list[tuple[str, Json]] = [("messageStart", {"role": "assistant"})]
    for index, block in enumerate(blocks):
        events.extend(_block_events(index, block))
        events.append(("contentBlockStop", {"contentBlockIndex": index}))
    events.append(("messageStop", {"stopReason": stop_reason}))
    events.append(("metadata", {"usage": _usage(request), "metrics": {"latencyMs": LATENCY_MS}}))
    return events


def _block_events(index: int, block: Json) -> Iterator[tuple[str, Json]]:
    def delta(value: Json) -> tuple[str, Json]:
        return "contentBlockDelta", {"delta": value, "contentBlockIndex": index}
    if "text" in block:
        for word in _WORD.findall(block["text"]) or [""]:
            yield delta({"text": word})
    elif "toolUse" in block:
        call = block["toolUse"]
        yield "contentBlockStart", {"start": {"toolUse": {"toolUseId": call["toolUseId"], "name": call["name"]}},
                                    "contentBlockIndex": index}
        arguments = json.dumps(call["input"])
        for piece in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2:]):
            yield delta({"toolUse": {"input": piece}})
    elif "redactedContent" in block["reasoningContent"]:
        yield delta({"reasoningContent": {"redactedContent": block["reasoningContent"]["redactedContent"]}})
    else:
        reasoning = block["reasoningContent"]["reasoningText"]
        for word in _WORD.findall(reasoning["text"]):
            yield delta({"reasoningContent": {"text": word}})
        yield delta({"reasoningContent": {"signature": reasoning["signature"]}})


def _answer_blocks(request: Json) -> tuple[list[Json], str]:
    messages = _messages(request)
    given = _blocks(messages[-1]) if messages else []
    text = " ".join(block["text"] for block in given if isinstance(block.get("text"), str))
    digest = _digest(messages)
    blocks = _reasoning(digest, text) if _thinking_enabled(request) else []
    results = [block["toolResult"] for block in given if isinstance(block.get("toolResult"), dict)]
    call = None if results else _call(request, _said(given))
    if results:
        blocks.append({"text": f"The tool returned: {_output_of(results[0])}"})
        return blocks, "end_turn"
    if call is not None:
        blocks.append({"toolUse": {"toolUseId": f"tooluse_{digest}", "name": call.name, "input": call.arguments}})
        return blocks, "tool_use"
    words = _WORD.findall(f"Echo: {text}")
    limit = (request.get("inferenceConfig") or {}).get("maxTokens")
    if isinstance(limit, int) and limit < len(words):
        blocks.append({"text": "".join(words[:limit]).rstrip()})
        return blocks, "max_tokens"
    blocks.append({"text": f"Echo: {text}"})
    return blocks, "end_turn"


def _said(given: list[Json]) -> str:
    """What the user said in the last turn, for choosing a tool: its first text that is not a
    `<system-reminder>`. Converse has no role:"system" message, so Claude Code's (its environment,
    agents and tools, naming every tool) arrives as the turn's last text; its reminders come
    before the prompt. Neither asks for a call (the other mocks skip the system message:
    router.upstream.mock.last_turn)."""
    texts = [block["text"] for block in given if isinstance(block.get("text"), str)
             and not block["text"].lstrip().startswith("<system-reminder>")]
    return texts[0] if texts else ""


def _reasoning(digest: str, text: str) -> list[Json]:
    signature = base64.b64encode(f"{SIGNATURE_PREFIX}{digest}".encode()).decode()
    blocks: list[Json] = [{"reasoningContent": {"reasoningText": {"text": THOUGHT, "signature": signature}}}]
    if REDACTED_TRIGGER in text:
        redacted = base64.b64encode(f"{REDACTED_PREFIX}{digest}".encode()).decode()
        blocks.append({"reasoningContent": {"redactedContent": redacted}})
    return blocks


def _thinking_enabled(request: Json) -> bool:
    thinking = (request.get("additionalModelRequestFields") or {}).get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def _call(request: Json, text: str) -> Call | None:
    """The toolUse the mock makes: of the tool toolChoice forces (`tool`, or the first with
    `any`), else of the one the text names."""
    config = request.get("toolConfig") or {}
    specs = [tool["toolSpec"] for tool in config.get("tools") or [] if isinstance(tool.get("toolSpec"), dict)]
    offered = [Offered(spec.get("name", ""), (spec.get("inputSchema") or {}).get("json") or {}) for spec in specs]
    choice = config.get("toolChoice") or {}
    forced = (choice.get("tool") or {}).get("name") if "tool" in choice else (
        offered[0].name if "any" in choice and offered else None)
    return chosen(offered, text, forced)


def _output_of(result: Json) -> str:
    pieces = [item["text"] if "text" in item else json.dumps(item.get("json"), sort_keys=True)
              for item in result.get("content") or [] if isinstance(item, dict) and ("text" in item or "json" in item)]
    return " ".join(pieces)


def _usage(request: Json) -> Json:
    usage: Json = {"inputTokens": INPUT_TOKENS, "outputTokens": OUTPUT_TOKENS}
    cached = _has_cache_points(request)
    if cached:
        usage["cacheReadInputTokens"], usage["cacheWriteInputTokens"] = CACHE_READ_TOKENS, CACHE_WRITE_TOKENS
    usage["totalTokens"] = INPUT_TOKENS + OUTPUT_TOKENS + (CACHE_READ_TOKENS + CACHE_WRITE_TOKENS if cached else 0)
    return usage


def _has_cache_points(request: Json) -> bool:
    blocks = [*(request.get("system") or []), *((request.get("toolConfig") or {}).get("tools") or []),
              *(block for message in _messages(request) for block in _blocks(message))]
    return any(isinstance(block, dict) and "cachePoint" in block for block in blocks)


def converse_error(request: Json) -> str | None:
    """Why Bedrock would refuse this Converse request (its ValidationException message), or None."""
    messages = _messages(request)
    if not messages or messages[0].get("role") != "user":
        return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
    for index, (before, message) in enumerate(zip([{}, *messages], messages)):
        if message.get("role") == before.get("role"):
            return ("A conversation must alternate between user and assistant roles. Make sure the conversation "
                    "alternates between user and assistant roles and try again.")
        refused = _turn_error(index, message)
        if refused is not None:
            return refused
    for index, block in enumerate(request.get("system") or []):
        if isinstance(block, dict) and "text" in block and not str(block["text"]).strip():
            return f"The text field in the SystemContentBlock object at system.{index} is blank. Add text to the text field, and try again."
    uses_tools = any("toolUse" in block or "toolResult" in block for message in messages for block in _blocks(message))
    if uses_tools and not request.get("toolConfig"):
        return "The toolConfig field must be defined when using toolUse and toolResult content blocks."
    return _pairing_error(messages)


def _pairing_error(messages: list[Json]) -> str | None:
    """Each toolUse of an assistant turn is answered by a toolResult of the same id in the next
    turn, and only those: a router that renames or loses an id is caught."""
    for index, (asked, answered) in enumerate(pairwise(messages), start=1):
        uses = [block["toolUse"].get("toolUseId") for block in _blocks(asked) if isinstance(block.get("toolUse"), dict)]
        results = [block["toolResult"].get("toolUseId") for block in _blocks(answered)
                   if isinstance(block.get("toolResult"), dict)]
        if len(results) > len(uses):
            return (f"The number of toolResult blocks at messages.{index}.content exceeds the number of toolUse "
                    "blocks of previous turn.")
        missing = [use for use in uses if use not in results]
        if missing:
            return f"Expected toolResult blocks at messages.{index}.content for the following Ids: {', '.join(map(str, missing))}"
    return None


def _turn_error(index: int, message: Json) -> str | None:
    blocks = _blocks(message)
    if not blocks:
        return f"The content field in the Message object at messages.{index} is empty. Add a ContentBlock object to the content field and try again."
    for number, block in enumerate(blocks):
        where = f"messages.{index}.content.{number}"
        if "text" in block and not str(block["text"]).strip():
            return f"The text field in the ContentBlock object at {where} is blank. Add text to the text field, and try again."
        media = _media_error(where, block)
        if media is not None:
            return media
        reasoning = block.get("reasoningContent")
        if isinstance(reasoning, dict):
            refused = _reasoning_error(where, reasoning)
            if refused is not None:
                return f"The model returned the following errors: {refused}"
    return None


def _media_error(where: str, block: Json) -> str | None:
    """An image or document as Bedrock takes it: a format from its list (not a MIME type), bytes
    in base64, a document name of the characters Bedrock allows."""
    for kind, formats in MEDIA_FORMATS.items():
        media = block.get(kind)
        if not isinstance(media, dict):
            continue
        if media.get("format") not in formats:
            return (f"1 validation error detected: Value '{media.get('format')}' at '{where}.{kind}.format' failed to "
                    f"satisfy constraint: Member must satisfy enum value set: [{', '.join(sorted(formats))}]")
        source = media.get("source") or {}
        if "bytes" in source and not _is_base64(source["bytes"]):
            return f"Invalid base64 in {where}.{kind}.source.bytes"
        if kind == "document" and not _DOCUMENT_NAME.fullmatch(str(media.get("name", ""))):
            return ("The document file name can only contain alphanumeric characters, whitespace characters, hyphens, "
                    "parentheses, and square brackets. The name can't contain more than one consecutive whitespace character.")
    return None


def _is_base64(value: Any) -> bool:
    try:
        return isinstance(value, str) and bool(value) and bool(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return False


def _reasoning_error(where: str, reasoning: Json) -> str | None:
    """Claude checks what comes back: reasoning it wrote, with the signature it gave."""
    if "redactedContent" in reasoning:
        return None if _issued(reasoning["redactedContent"], REDACTED_PREFIX) else f"{where}: Invalid `data` in `redacted_thinking` block"
    text = reasoning.get("reasoningText") or {}
    if "signature" not in text:
        return f"{where}.thinking.signature: Field required"
    return None if _issued(text["signature"], SIGNATURE_PREFIX) else f"{where}: Invalid `signature` in `thinking` block"


def _issued(value: Any, prefix: str) -> bool:
    try:
        return isinstance(value, str) and base64.b64decode(value, validate=True).startswith(prefix.encode())
    except (binascii.Error, ValueError):
        return False


def _messages(request: Json) -> list[Json]:
    return [message for message in request.get("messages") or [] if isinstance(message, dict)]


def _blocks(message: Json) -> list[Json]:
    return [block for block in message.get("content") or [] if isinstance(block, dict)]


def _digest(value: Any) -> str:
    """Ids and signatures differ between conversations, as a real server's do."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


# --- InvokeModel (Claude) -----------------------------------------------------------------------

def invoke_error(request: Json) -> str | None:
    """Why Bedrock would refuse this Claude InvokeModel body, or None."""
    for key in ("model", "stream"):
        if key in request:
            return f"Malformed input request: #: extraneous key [{key}] is not permitted, please reformat your input and try again."
    for key in ("anthropic_version", "max_tokens", "messages"):
        if key not in request:
            return f"Malformed input request: #: required key [{key}] not found, please reformat your input and try again."
    if not _ANTHROPIC_VERSION.fullmatch(str(request["anthropic_version"])):
        return f"Malformed input request: #/anthropic_version: {request['anthropic_version']} is not a valid enum value, please reformat your input and try again."
    return None


def invoke_answer(request: Json, model: str) -> Json:
    return anthropic_mock.message(_as_messages_request(request, model))


def invoke_events(request: Json, model: str) -> list[Json]:
    """The Anthropic stream events; message_stop carries Bedrock's invocation metrics."""
    events = [event for _, event in anthropic_mock.events(_as_messages_request(request, model))]
    events[-1] = {**events[-1], "amazon-bedrock-invocationMetrics": {
        "inputTokenCount": INPUT_TOKENS, "outputTokenCount": OUTPUT_TOKENS,
        "invocationLatency": LATENCY_MS, "firstByteLatency": LATENCY_MS // 2}}
    return events


def _as_messages_request(request: Json, model: str) -> Json:
    """The body as the Anthropic mock reads it: the model from the path, Bedrock's own members
    gone (the mock would list them back as unknown fields)."""
    return {**{k: v for k, v in request.items() if k not in ("anthropic_version", "anthropic_beta")}, "model": model}


# --- event-stream frames ------------------------------------------------------------------------
# Encoded by tests/spokes/bedrock/frames.py; Bedrock pads every event's JSON with a `p` member (its
# length hides the content's), so the router's decoder must ignore members it does not know.

def _event_frame(event_type: str, payload: Json) -> bytes:
    return event_frame(event_type, {**payload, "p": PADDING[: 1 + len(json.dumps(payload)) % len(PADDING)]})


def _chunk_frame(event: Json) -> bytes:
    return _event_frame("chunk", {"bytes": base64.b64encode(msgspec.json.encode(event)).decode()})


def _scripted_end(script: str) -> bytes | None:
    """The exception frame a scripted stream ends with."""
    if script == "stream-throttle":
        return exception_frame("throttlingException", SCRIPTED_ERRORS[429][1])
    if script == "stream-error":  # with the members Bedrock adds to this exception
        return frame({":exception-type": "modelStreamErrorException", ":content-type": "application/json",
                      ":message-type": "exception"},
                     msgspec.json.encode({"message": "The model stream failed: scripted", "originalStatusCode": 500,
                                          "originalMessage": "scripted stream error"}))
    return None


# --- the server ---------------------------------------------------------------------------------

class BedrockMockUpstream(MockUpstream):
    """The loopback mock upstream, plus Bedrock Runtime, its authentication and a record of every
    request. The identities live on the instance, one table per process."""

    def __init__(self, region: str, credentials: list[KnownCredentials], api_keys: list[str]) -> None:
        super().__init__()
        self.region = region
        self.credentials = {known.access_key: known for known in credentials}
        self.api_keys = set(api_keys)
        self.requests: list[Json] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in ("/health", "/stats"):
            await super().__call__(scope, receive, send)
            return
        if scope["path"] == "/requests":
            await _send_json(send, 200, self.requests)
            return
        raw = await _body(receive)
        if scope["path"] in ("/credentials", "/api-keys"):
            await self._add_identity(send, scope["path"], msgspec.json.decode(raw))
            return
        route = _ROUTE.search(_raw_path(scope))
        if route is None:
            await super().__call__(scope, _replay(raw, receive), send)
            return
        model = unquote(route["model"])
        received = _received(scope, raw)
        self.requests.append(_record(received, model, raw))
        refusal = self._refusal(received)
        if refusal is not None:
            await _send_error(send, refusal.status, refusal.error_type, refusal.message, _AUTH_FAULT)
            return
        await self._bedrock(scope, receive, send, received, model, route["action"])

    async def _add_identity(self, send: Any, path: str, body: Json) -> None:
        if path == "/api-keys":
            self.api_keys.add(body["key"])
        else:
            known = KnownCredentials(**body)
            self.credentials[known.access_key] = known
        await _send_json(send, 200, {"added": True})

    def _refusal(self, received: ReceivedRequest) -> Refusal | None:
        authorization = received.header("authorization") or ""
        if authorization.startswith("Bearer "):
            if authorization.removeprefix("Bearer ").strip() in self.api_keys:
                return None
            return Refusal(403, "AccessDeniedException", "Authentication failed: Please make sure your API Key is valid.")
        return verify(received, self.credentials, self.region)

    async def _bedrock(self, scope: Scope, receive: Any, send: Any, received: ReceivedRequest, model: str,
                       action: str) -> None:
        script = model.rsplit("/", 1)[-1]
        scripted = _scripted_error(script, received)
        if scripted is not None:
            await _send_error(send, *scripted)
            return
        try:
            request = msgspec.json.decode(received.body)
        except msgspec.DecodeError:
            request = None
        if not isinstance(request, dict):
            await _send_error(send, 400, "ValidationException", "Malformed input request, please reformat your input and try again.")
            return
        converse = action.startswith("converse")
        refused = converse_error(request) if converse else invoke_error(request)
        if refused is not None:
            await _send_error(send, 400, "ValidationException", refused)
        elif action == "converse":
            await _send_json(send, 200, converse_answer(request), _request_id(received))
        elif action == "invoke":
            await _send_json(send, 200, invoke_answer(request, model), [*_request_id(received), *_token_counts()])
        else:
            frames = ([_event_frame(name, payload) for name, payload in converse_events(request)] if converse
                      else [_chunk_frame(event) for event in invoke_events(request, model)])
            await self._stream_frames(receive, send, _scripted_frames(frames, script), script, cut_at=2, done=b"",
                                      content_type=EVENTSTREAM)


def _scripted_error(script: str, received: ReceivedRequest) -> tuple[int, str, str] | None:
    if script.startswith("fail-") and script.removeprefix("fail-").isdigit():
        status = int(script.removeprefix("fail-"))
        error_type, message = SCRIPTED_ERRORS.get(status, ("InternalServerException", f"scripted {status}"))
        return status, error_type, message
    if script == "not-ready":
        return 429, *NOT_READY
    if script == "echo-key":
        return 403, "AccessDeniedException", (
            f"User is not authorized with Authorization={received.header('authorization')} "
            f"X-Amz-Security-Token={received.header('x-amz-security-token')}")
    return None


def _scripted_frames(frames: list[bytes], script: str) -> Iterator[bytes]:
    end = _scripted_end(script)
    yield from frames if end is None else [*frames[:3], end]


async def _send_error(send: Any, status: int, error_type: str, message: str, fault: str = _BEDROCK_FAULT) -> None:
    """Bedrock's error: the name in x-amzn-ErrorType, the message in the body."""
    await _send_json(send, status, {"message": message}, [(b"x-amzn-errortype", f"{error_type}:{fault}".encode()),
                                                          (b"x-amzn-requestid", b"00000000-mock-0000-0000-000000000000")])


def _request_id(received: ReceivedRequest) -> list[tuple[bytes, bytes]]:
    return [(b"x-amzn-requestid", f"mock-{_digest(received.target)}".encode())]


def _token_counts() -> list[tuple[bytes, bytes]]:
    return [(b"x-amzn-bedrock-input-token-count", str(INPUT_TOKENS).encode()),
            (b"x-amzn-bedrock-output-token-count", str(OUTPUT_TOKENS).encode()),
            (b"x-amzn-bedrock-invocation-latency", str(LATENCY_MS).encode())]


def _raw_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if raw else str(scope["path"])


def _received(scope: Scope, raw: bytes) -> ReceivedRequest:
    query = scope.get("query_string", b"").decode("latin-1")
    target = _raw_path(scope) + (f"?{query}" if query else "")
    headers = [(name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in scope["headers"]]
    return ReceivedRequest(scope["method"], target, headers, raw)


def _record(received: ReceivedRequest, model: str, raw: bytes) -> Json:
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    return {"method": received.method, "path": received.target, "model": model,
            "headers": dict(received.headers), "body": body}


def _replay(raw: bytes, receive: Any) -> Any:
    """A receive callable that gives the body already read, then the connection's own events."""
    given = False

    async def replay() -> Any:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    return replay


# --- for tests ----------------------------------------------------------------------------------

@contextmanager
def bedrock_upstream(region: str = REGION, credentials: tuple[KnownCredentials, ...] = DEFAULT_CREDENTIALS,
                     api_keys: tuple[str, ...] = (API_KEY,)) -> Iterator[str]:
    """A mock Bedrock (and Chat, Anthropic, Responses) upstream in its own process; its base URL."""
    port = free_port()
    table = json.dumps([asdict(known) for known in credentials])
    args = ["tests.support.bedrock_mock", "--port", str(port), "--region", region, "--credentials", table]
    with running([*args, *(argument for key in api_keys for argument in ("--api-key", key))], port):
        yield f"http://127.0.0.1:{port}"


def add_credentials(base_url: str, known: KnownCredentials) -> None:
    """Make the running mock accept one more identity (e.g. the refreshed credentials of a test
    whose first ones expire)."""
    httpx.post(f"{base_url}/credentials", json=asdict(known), timeout=5.0).raise_for_status()


def add_api_key(base_url: str, key: str) -> None:
    httpx.post(f"{base_url}/api-keys", json={"key": key}, timeout=5.0).raise_for_status()


def recorded(base_url: str, since: int = 0) -> list[Json]:
    """The Bedrock requests the mock at base_url was sent, from number `since` on."""
    return list(httpx.get(f"{base_url}/requests", timeout=5.0).json()[since:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--region", default=REGION)
    parser.add_argument("--credentials", default=json.dumps([asdict(known) for known in DEFAULT_CREDENTIALS]),
                        help="JSON list of {access_key, secret_key, session_token?, expires_at?}")
    parser.add_argument("--api-key", action="append", default=None, help="a Bedrock API key to accept (repeatable)")
    args = parser.parse_args()
    credentials = [KnownCredentials(**known) for known in json.loads(args.credentials)]
    app = BedrockMockUpstream(args.region, credentials, args.api_key if args.api_key is not None else [API_KEY])
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
