"""A real Gemini API upstream on loopback for end-to-end tests: `python -m tests.support.gemini_mock
--port N --key K`. It is the loopback mock upstream (tests/support/mock_upstream.py: Chat
Completions, Anthropic Messages and the Responses API, on the same port) that also speaks Google's
Gemini API, and records every request it is sent:

  POST …/models/{model}:generateContent          a GenerateContentResponse
  POST …/models/{model}:streamGenerateContent    ?alt=sse: `data: {chunk}\\r\\n\\r\\n` events, no `event:`
                                                 lines; without alt: the chunks as one JSON array
  POST …/models/{model}:countTokens              {"totalTokens": …}
  GET  …/models, …/models/{model}                the model list, one model
  GET  /requests                                 what it was sent (method, path, query, headers, body)

(… is any prefix: /v1beta, /v1, or Vertex AI's /v1/projects/P/locations/L/publishers/google.)

Gemini requests must carry the key given with --key in `x-goog-api-key` (or `?key=`, or as a
Bearer token, as Vertex AI's OAuth token travels): without one the answer is Google's 403
PERMISSION_DENIED, with a wrong one its 400 INVALID_ARGUMENT "API key not valid".

The answers are deterministic, like the other mocks', in Gemini's shape (the recordings in
../shared/fixtures/gemini-cli/*/ are the model):
- "Echo: <the text parts of the last content>", or after a function ran (a `functionResponse`
  part) "The tool returned: <its output>";
- with `thinkingConfig.includeThoughts` a thought part first (`"thought": true`), and the first
  answer part carries a `thoughtSignature`;
- a `functionCall` (args an object, no id, as AI Studio sends it, with a `thoughtSignature`) of
  the declared function the last text names or `toolConfig` forces (tests/support/scripted_calls:
  a backquoted command fills its first required string argument);
- structured output: with `responseMimeType: application/json` a sample of `responseJsonSchema` or
  `responseSchema` (upper-case type names read as JSON Schema's), or `{"echo": <text>}`;
- the stream sends only the new parts in each chunk: the thought, the text word by word, a
  function call whole; `finishReason` and the full `usageMetadata` on the last chunk.

It checks the history as Gemini 3 models do: a model turn's first `functionCall` part must carry
the `thoughtSignature` the mock gave it (or Google's documented placeholder for a history from
another model), else 400 INVALID_ARGUMENT, so a router that loses a signature is caught.

The model name in the path scripts failures, as for the other APIs:
  fail-<status>   that status with Google's error body (429: RESOURCE_EXHAUSTED with a RetryInfo
                  detail of 7 s, and no retry-after header, as the real API answers)
  cut-stream      streams two chunks, then drops the connection
  slow-<ms>       waits that long between stream chunks
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

import httpx
import msgspec
import uvicorn

from tests.support.mock_upstream import MockUpstream, Scope, _body, _send_json
from tests.support.scripted_calls import Call, Offered, chosen, sample
from tests.support.servers import free_port, running

Json = dict[str, Any]
DEFAULT_KEY = "gemini-upstream-key-0123456789"
_WORD = re.compile(r"\S+\s*")
_CALL_PATH = re.compile(r"/models/(?P<model>[^/:]+):(?P<method>[A-Za-z]+)$")
_MODEL_PATH = re.compile(r"/models(?:/(?P<model>[^/:]+))?$")
SIGNATURE_PREFIX = "mock-signature-"
# Google's documented values for a function call whose signature is unknown (a history written by
# another model): Gemini 3 accepts them in place of a real signature.
PLACEHOLDER_SIGNATURES = {"skip_thought_signature_validator", "context_engineering_is_the_way_to_go"}
THOUGHT = "Thinking about it."
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
PROMPT_TOKENS, ANSWER_TOKENS, THOUGHT_TOKENS, CACHED_TOKENS = 11, 7, 2, 3


# --- the answer ---------------------------------------------------------------------------------

def answer(request: Json, model: str) -> Json:
    """The whole answer: a GenerateContentResponse."""
    parts = _parts(request)
    return _chunk(request, model, parts, final=True)


def chunks(request: Json, model: str) -> list[Json]:
    """The same answer as stream chunks, each with only its new parts."""
    pieces = [[part] for part in _stream_pieces(_parts(request))]
    return [_chunk(request, model, piece, final=number == len(pieces) - 1) for number, piece in enumerate(pieces)]


def count_tokens(request: Json) -> Json:
    """One token a word of every text of the request (contents and system instruction), as a
    countTokens answer; the request is `{contents}` or `{generateContentRequest: {...}}`."""
    inner = _get(request, "generateContentRequest", "generate_content_request") or request
    texts = [part.get("text", "") for content in [*_contents(inner), _get(inner, "systemInstruction", "system_instruction") or {}]
             for part in content.get("parts") or [] if isinstance(part, dict)]
    total = max(1, sum(len(text.split()) for text in texts))
    return {"totalTokens": total, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}]}


def error_body(code: int, message: str) -> Json:
    """Google's error shape; a 429 carries the RetryInfo the real API sends."""
    error: Json = {"code": code, "message": message, "status": STATUS_NAMES.get(code, "UNKNOWN")}
    if code == 429:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]
    return {"error": error}


def history_error(request: Json) -> str | None:
    """Why Gemini 3 would refuse this history: a model turn whose first function call lost the
    thought signature the model gave it, or carries one the model never gave; None when fine."""
    for index, content in enumerate(_contents(request)):
        if content.get("role") != "model":
            continue
        calls = [part for part in content.get("parts") or [] if isinstance(part, dict) and _get(part, "functionCall", "function_call")]
        if not calls:
            continue
        signature = _get(calls[0], "thoughtSignature", "thought_signature")
        if signature is None:
            return (f"Function call is missing a thought_signature in functionCall parts. This is required for tools "
                    f"to work correctly, and missing thought_signature may lead to degraded model performance. "
                    f"Additional data, function call `default_api:{_get(calls[0], 'functionCall', 'function_call').get('name')}`, "
                    f"position {index + 1}.")
        if signature not in PLACEHOLDER_SIGNATURES and not _is_ours(signature):
            return f"Corrupted thought signature at contents[{index}]."
    return None


def _is_ours(signature: Any) -> bool:
    try:
        return isinstance(signature, str) and base64.b64decode(signature, validate=True).decode().startswith(SIGNATURE_PREFIX)
    except ValueError:
        return False


def _parts(request: Json) -> list[Json]:
    contents = _contents(request)
    last = contents[-1] if contents else {}
    given = [part for part in last.get("parts") or [] if isinstance(part, dict)]
    digest = hashlib.sha256(json.dumps(contents, sort_keys=True).encode()).hexdigest()[:12]
    signature = base64.b64encode(f"{SIGNATURE_PREFIX}{digest}".encode()).decode()
    thinking = _includes_thoughts(request)
    parts: list[Json] = [{"text": THOUGHT, "thought": True}] if thinking else []
    responses = [_get(part, "functionResponse", "function_response") for part in given]
    results = [response for response in responses if isinstance(response, dict)]
    text = " ".join(part["text"] for part in given if isinstance(part.get("text"), str) and not part.get("thought"))
    call = None if results else _call(request, text)
    if results:
        parts.append({"text": f"The tool returned: {_output_of(results[0].get('response'))}"})
    elif call is not None:
        parts.append({"functionCall": {"name": call.name, "args": call.arguments}})
    else:
        parts.append({"text": _answer_text(request, text)})
    if thinking or call is not None:
        parts[-1]["thoughtSignature"] = signature
    return parts


def _includes_thoughts(request: Json) -> bool:
    return bool(_get(_config(request, "thinkingConfig", "thinking_config") or {}, "includeThoughts", "include_thoughts"))


def _contents(request: Json) -> list[Json]:
    contents = request.get("contents")
    if isinstance(contents, dict):
        return [contents]
    return [content for content in contents or [] if isinstance(content, dict)]


def _get(mapping: Json, camel: str, snake: str) -> Any:
    """A member by its camelCase name or, as the API also accepts, its snake_case one."""
    return mapping[camel] if camel in mapping else mapping.get(snake)


def _config(request: Json, camel: str, snake: str) -> Any:
    return _get(_get(request, "generationConfig", "generation_config") or {}, camel, snake)


def _output_of(response: Any) -> str:
    """A function response's output: its `output`/`result`/`content` member when that is text,
    else the whole response as JSON."""
    if isinstance(response, dict):
        for name in ("output", "result", "content"):
            value = response.get(name)
            if isinstance(value, str):
                return value
            if isinstance(value, list) and all(isinstance(p, dict) and "text" in p for p in value):
                return "".join(p["text"] for p in value)
    return json.dumps(response, sort_keys=True)


def _answer_text(request: Json, text: str) -> str:
    if _config(request, "responseMimeType", "response_mime_type") != "application/json":
        return f"Echo: {text}"
    schema = _config(request, "responseJsonSchema", "response_json_schema") or _config(
        request, "responseSchema", "response_schema")
    return json.dumps(sample(json_schema(schema))) if isinstance(schema, dict) else json.dumps({"echo": text})


def json_schema(schema: Any) -> Any:
    """Gemini's OpenAPI subset read as JSON Schema: type names in lower case, recursively."""
    if isinstance(schema, list):
        return [json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {key: (value.lower() if key == "type" and isinstance(value, str) else json_schema(value))
            for key, value in schema.items()}


def _declarations(request: Json) -> list[Json]:
    return [declaration for tool in request.get("tools") or [] if isinstance(tool, dict)
            for declaration in _get(tool, "functionDeclarations", "function_declarations") or []]


def _call(request: Json, text: str) -> Call | None:
    """The call the mock makes: of a function `toolConfig` forces (mode ANY), else of the one the
    text names; none with mode NONE."""
    config = _get(_get(request, "toolConfig", "tool_config") or {}, "functionCallingConfig", "function_calling_config") or {}
    mode = str(config.get("mode", "AUTO")).upper()
    if mode == "NONE":
        return None
    offered = [Offered(d.get("name", ""), json_schema(_get(d, "parametersJsonSchema", "parameters_json_schema")
                                                      or d.get("parameters") or {})) for d in _declarations(request)]
    allowed = _get(config, "allowedFunctionNames", "allowed_function_names") or [tool.name for tool in offered]
    return chosen(offered, text, allowed[0] if mode == "ANY" and allowed else None)


def _stream_pieces(parts: list[Json]) -> Iterator[Json]:
    """The parts as a stream sends them: text word by word (a signature on the first word), a
    thought or a function call whole."""
    for part in parts:
        if "functionCall" in part or part.get("thought"):
            yield part
            continue
        extra = {k: v for k, v in part.items() if k != "text"}
        for number, word in enumerate(_WORD.findall(part["text"]) or [""]):
            yield {"text": word, **(extra if number == 0 else {})}


def _chunk(request: Json, model: str, parts: list[Json], final: bool) -> Json:
    candidate: Json = {"content": {"role": "model", "parts": parts}, "index": 0}
    usage: Json = {"promptTokenCount": PROMPT_TOKENS, "totalTokenCount": PROMPT_TOKENS}
    if final:
        candidate["finishReason"] = "STOP"
        usage = _usage(request)
    digest = hashlib.sha256(json.dumps(_contents(request), sort_keys=True).encode()).hexdigest()[:16]
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model, "responseId": f"mock-{digest}"}


def _usage(request: Json) -> Json:
    thinking = bool(_config(request, "thinkingConfig", "thinking_config"))
    thoughts = THOUGHT_TOKENS if thinking else 0
    usage: Json = {"promptTokenCount": PROMPT_TOKENS, "candidatesTokenCount": ANSWER_TOKENS,
                   "cachedContentTokenCount": CACHED_TOKENS, "totalTokenCount": PROMPT_TOKENS + ANSWER_TOKENS + thoughts,
                   "promptTokensDetails": [{"modality": "TEXT", "tokenCount": PROMPT_TOKENS}]}
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return usage


# --- the server ---------------------------------------------------------------------------------

class GeminiMockUpstream(MockUpstream):
    """The loopback mock upstream, plus the Gemini API and a record of every request."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self.requests: list[Json] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in ("/health", "/stats"):
            await super().__call__(scope, receive, send)
            return
        if scope["path"] == "/requests":
            await _send_json(send, 200, self.requests)
            return
        raw = await _body(receive)
        self.requests.append(_record(scope, raw))
        call, listing = _CALL_PATH.search(scope["path"]), _MODEL_PATH.search(scope["path"])
        if call is None and listing is None:
            await super().__call__(scope, _replay(raw, receive), send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await _send_json(send, refusal[0], error_body(*refusal))
        elif call is not None:
            await self._gemini(scope, receive, send, raw, call["model"], call["method"])
        else:
            assert listing is not None
            await _send_json(send, 200, _model(listing["model"]) if listing["model"] else
                             {"models": [_model("gemini-mock"), _model("gemini-mock-pro")]})

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        """Google's answer to a missing or wrong API key, or None when the key is right."""
        headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
        query = parse_qs(scope.get("query_string", b"").decode())
        bearer = headers.get("authorization", "").removeprefix("Bearer ").strip() or None
        given = headers.get("x-goog-api-key") or (query.get("key") or [None])[0] or bearer
        if given is None:
            return 403, "Method doesn't allow unregistered callers (callers without established identity)."
        if given != self.key:
            return 400, "API key not valid. Please pass a valid API key."
        return None

    async def _gemini(self, scope: Scope, receive: Any, send: Any, raw: bytes, model: str, method: str) -> None:
        try:
            request = msgspec.json.decode(raw) if raw else {}
        except msgspec.DecodeError as error:
            await _send_json(send, 400, error_body(400, f"Invalid JSON payload received. {error}"))
            return
        if not isinstance(request, dict):
            await _send_json(send, 400, error_body(400, "Invalid JSON payload received: not an object."))
            return
        if model.startswith("fail-"):
            status = int(model.removeprefix("fail-"))
            await _send_json(send, status, error_body(status, f"scripted {status}"))
            return
        if method == "countTokens":
            await _send_json(send, 200, count_tokens(request))
            return
        refused = history_error(request)
        if refused is not None:
            await _send_json(send, 400, error_body(400, refused))
        elif method == "generateContent":
            await _send_json(send, 200, answer(request, model))
        elif method == "streamGenerateContent":
            await self._stream_chunks(scope, receive, send, request, model)
        else:
            await _send_json(send, 404, error_body(404, f"Method not found: {method}"))

    async def _stream_chunks(self, scope: Scope, receive: Any, send: Any, request: Json, model: str) -> None:
        encoded = [msgspec.json.encode(chunk) for chunk in chunks(request, model)]
        if b"alt=sse" in scope.get("query_string", b""):
            frames: Iterator[bytes] = (b"data: " + chunk + b"\r\n\r\n" for chunk in encoded)
            await self._stream_frames(receive, send, frames, model, cut_at=2, done=b"")
            return
        # Without alt=sse the API streams one JSON array, its elements separated as Google's are.
        pieces = (b"[" + chunk if number == 0 else b"\r\n," + chunk for number, chunk in enumerate(encoded))
        await self._stream_frames(receive, send, pieces, model, cut_at=2, done=b"]",
                                  content_type=b"application/json; charset=UTF-8")


def _record(scope: Scope, raw: bytes) -> Json:
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    return {"method": scope["method"], "path": scope["path"], "query": scope.get("query_string", b"").decode(),
            "headers": {name.decode().lower(): value.decode() for name, value in scope["headers"]}, "body": body}


def _replay(raw: bytes, receive: Any) -> Any:
    """A receive callable that gives the body already read, then the connection's own events
    (the stream machinery watches them for a disconnect)."""
    given = False

    async def replay() -> Any:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    return replay


def _model(name: str) -> Json:
    return {"name": f"models/{name}", "version": "001", "displayName": name, "inputTokenLimit": 1048576,
            "outputTokenLimit": 65536, "thinking": True,
            "supportedGenerationMethods": ["generateContent", "countTokens"]}


# --- for tests ----------------------------------------------------------------------------------

@contextmanager
def gemini_upstream(key: str = DEFAULT_KEY) -> Iterator[str]:
    """A mock Gemini (and Chat, Anthropic, Responses) upstream in its own process; its base URL."""
    port = free_port()
    with running(["tests.support.gemini_mock", "--port", str(port), "--key", key], port):
        yield f"http://127.0.0.1:{port}"


def recorded(base_url: str, since: int = 0) -> list[Json]:
    """The requests the mock at base_url was sent, from number `since` on."""
    return list(httpx.get(f"{base_url}/requests", timeout=5.0).json()[since:])


def gemini_calls(base_url: str, since: int = 0) -> list[Json]:
    """The recorded Gemini API calls (…/models/{model}:{method}), from request number `since` on."""
    return [request for request in recorded(base_url, since) if _CALL_PATH.search(request["path"])]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", default=DEFAULT_KEY, help="the API key Gemini requests must carry")
    args = parser.parse_args()
    uvicorn.run(GeminiMockUpstream(args.key), host="127.0.0.1", port=args.port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
