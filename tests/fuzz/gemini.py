"""The Gemini door of the fuzz suite: valid Gemini requests (generateContent bodies: the model and
the method are in the path), the fuzz answers rendered as a Gemini upstream sends them, and
readers that check what a Gemini client gets back the way google-genai reads it.

Requests mix what Gemini CLI and the google-genai SDK send: contents with text, inlineData,
fileData, thought parts, functionCall (with an id or without, with a thoughtSignature or without)
and the functionResponse parts that answer them; a systemInstruction (a Content or a bare
string); tools with `parametersJsonSchema` (JSON Schema, Claude Code's keywords too) or
`parameters` (Google's OpenAPI subset, upper-case type names) and tools of other kinds (Google
Search, code execution: dropped for other upstreams); toolConfig's functionCallingConfig;
generationConfig with thinkingConfig (a budget or a level) and structured output
(`responseSchema` / `responseJsonSchema`), camelCase or, sometimes, snake_case as the API also
accepts.
"""

from __future__ import annotations

import base64
import json
import re
from typing import TYPE_CHECKING, Any

from google.genai import types
from hypothesis import strategies as st

from tests.fuzz import strategies as s

if TYPE_CHECKING:  # app.py renders this module's answers: no import back at run time
    from tests.fuzz.app import Reply

JsonObject = dict[str, Any]

# The fuzz table's Gemini routes (tests/fuzz/app.py): converted to Chat, Anthropic and Responses
# upstreams, and passed through to a Gemini upstream.
GEMINI_MODELS = ("gem-plain", "gem-anthropic", "gem-responses", "gem-pass")
METHODS = {False: "generateContent", True: "streamGenerateContent"}

# Google's status names (google.rpc.Code) by HTTP status, as a Gemini client reads them.
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                409: "ABORTED", 413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED",
                500: "INTERNAL", 501: "UNIMPLEMENTED", 502: "UNAVAILABLE", 503: "UNAVAILABLE",
                504: "DEADLINE_EXCEEDED"}


def gemini_path(model: str, stream: bool) -> str:
    return f"/v1beta/models/{model}:{METHODS[stream]}" + ("?alt=sse" if stream else "")


# --- requests ---------------------------------------------------------------------------------------

_B64 = st.binary(min_size=1, max_size=24).map(lambda raw: base64.b64encode(raw).decode())
_OPENAPI_TYPES = ("STRING", "INTEGER", "NUMBER", "BOOLEAN")


_OPENAPI_LEAVES = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(_OPENAPI_TYPES)},
                          optional={"description": s.texts(), "nullable": st.booleans(),
                                    "format": st.sampled_from(["int32", "double", "date-time"])}),
    st.fixed_dictionaries({"type": st.just("STRING"), "enum": st.lists(s.nonempty_texts(10), min_size=1, max_size=3,
                                                                       unique=True)}),
)


def _openapi_node(children: st.SearchStrategy[JsonObject]) -> st.SearchStrategy[JsonObject]:
    return st.one_of(
        st.fixed_dictionaries({"type": st.just("ARRAY"), "items": children},
                              optional={"minItems": st.integers(0, 3), "maxItems": st.integers(3, 9)}),
        openapi_objects(children),
        st.fixed_dictionaries({"anyOf": st.lists(children, min_size=1, max_size=3)}),
    )


@st.composite
def openapi_objects(draw: st.DrawFn, children: st.SearchStrategy[JsonObject] | None = None) -> JsonObject:
    """Google's OpenAPI-subset Schema: upper-case types, `nullable`, `propertyOrdering`."""
    children = children if children is not None else _OPENAPI_CHILDREN
    properties = draw(st.dictionaries(s.NAMES, children, max_size=4))
    schema: JsonObject = {"type": "OBJECT", "properties": properties}
    required, ordered = draw(st.booleans()), draw(st.booleans())
    if properties and required:
        schema["required"] = draw(st.lists(st.sampled_from(sorted(properties)), unique=True))
    if properties and ordered:
        schema["propertyOrdering"] = sorted(properties)
    return schema


_OPENAPI_CHILDREN = st.recursive(_OPENAPI_LEAVES, _openapi_node, max_leaves=4)
OPENAPI_OBJECTS = openapi_objects()
TOOL_SCHEMAS = s.tool_schemas()
JSON_OBJECTS = s.json_objects()
TEXTS = s.texts()
NONEMPTY_TEXTS = s.nonempty_texts()


@st.composite
def function_declarations(draw: st.DrawFn) -> list[JsonObject]:
    names = draw(st.lists(s.TOOL_NAMES, min_size=1, max_size=3, unique_by=str.lower))
    declarations = []
    for name in names:
        declaration: JsonObject = {"name": name}
        if draw(st.booleans()):
            declaration["description"] = draw(TEXTS)
        kind = draw(st.sampled_from(["json", "openapi", "none"]))
        if kind == "json":
            declaration["parametersJsonSchema"] = draw(TOOL_SCHEMAS)
        elif kind == "openapi":
            declaration["parameters"] = draw(OPENAPI_OBJECTS)
        declarations.append(declaration)
    return declarations


OTHER_TOOLS: st.SearchStrategy[JsonObject] = st.sampled_from([{"googleSearch": {}}, {"codeExecution": {}}, {"urlContext": {}}])


# Google refuses an empty text part ("an empty text parameter"): texts are never empty.
USER_PARTS = st.one_of(
    st.fixed_dictionaries({"text": NONEMPTY_TEXTS}),
    st.fixed_dictionaries({"inlineData": st.fixed_dictionaries({"mimeType": s.IMAGE_TYPES, "data": _B64})}),
    st.fixed_dictionaries({"fileData": st.fixed_dictionaries({"mimeType": s.IMAGE_TYPES, "fileUri": s.URLS})}),
)


@st.composite
def _model_turn(draw: st.DrawFn, tool_names: list[str]) -> tuple[JsonObject, list[JsonObject]]:
    """A model turn and the calls it made (name, id or None)."""
    parts: list[JsonObject] = []
    if draw(st.booleans()):
        thought: JsonObject = {"text": draw(NONEMPTY_TEXTS), "thought": True}
        if draw(st.booleans()):
            thought["thoughtSignature"] = draw(s.SIGNATURES)
        parts.append(thought)
    if draw(st.booleans()) or not tool_names:
        text: JsonObject = {"text": draw(NONEMPTY_TEXTS)}
        if draw(st.booleans()):
            text["thoughtSignature"] = draw(s.SIGNATURES)
        parts.append(text)
    calls: list[JsonObject] = []
    if tool_names:
        for number in range(draw(st.integers(0, 2))):
            call: JsonObject = {"name": draw(st.sampled_from(tool_names)), "args": draw(JSON_OBJECTS)}
            if draw(st.booleans()):
                call["id"] = f"{call['name']}_{number}_{draw(s.IDS)}"
            part: JsonObject = {"functionCall": call}
            if number == 0 and draw(st.booleans()):
                part["thoughtSignature"] = draw(s.SIGNATURES)
            parts.append(part)
            calls.append(call)
    if not parts:
        parts.append({"text": draw(NONEMPTY_TEXTS)})
    return {"role": "model", "parts": parts}, calls


@st.composite
def _user_turn(draw: st.DrawFn, answering: list[JsonObject]) -> JsonObject:
    """A user turn: a functionResponse for each call of the turn before (same name, same id when
    it had one), then maybe more parts."""
    parts: list[JsonObject] = []
    for call in answering:
        response: JsonObject = {"name": call["name"], "response": draw(JSON_OBJECTS)}
        if "id" in call:
            response["id"] = call["id"]
        parts.append({"functionResponse": response})
    parts.extend(draw(st.lists(USER_PARTS, min_size=0 if answering else 1, max_size=3)))
    return {"role": "user", "parts": parts}


@st.composite
def gemini_contents(draw: st.DrawFn, tool_names: list[str]) -> list[JsonObject]:
    contents = [draw(_user_turn([]))]
    for _ in range(draw(st.integers(0, 2))):
        model, calls = draw(_model_turn(tool_names))
        contents += [model, draw(_user_turn(calls))]
    return contents


THINKING_CONFIGS = st.one_of(
    st.fixed_dictionaries({}, optional={"includeThoughts": st.booleans()}),
    st.fixed_dictionaries({"thinkingBudget": st.sampled_from([-1, 0, 128, 1024, 8192, 24576])},
                          optional={"includeThoughts": st.booleans()}),
    st.fixed_dictionaries({"thinkingLevel": st.sampled_from(["MINIMAL", "LOW", "MEDIUM", "HIGH"])},
                          optional={"includeThoughts": st.booleans()}),
)
_STRUCTURED = st.one_of(
    st.fixed_dictionaries({"responseMimeType": st.just("application/json"), "responseSchema": OPENAPI_OBJECTS}),
    st.fixed_dictionaries({"responseMimeType": st.just("application/json"), "responseJsonSchema": TOOL_SCHEMAS}),
    st.fixed_dictionaries({"responseMimeType": st.sampled_from(["application/json", "text/plain"])}),
)


@st.composite
def generation_configs(draw: st.DrawFn) -> JsonObject:
    config: JsonObject = draw(st.fixed_dictionaries({}, optional={
        "temperature": st.floats(0, 2), "topP": st.floats(0, 1), "topK": st.integers(1, 100),
        "maxOutputTokens": st.integers(1, 8192), "candidateCount": st.just(1), "seed": st.integers(0, 2**31 - 1),
        "stopSequences": st.lists(s.nonempty_texts(8), max_size=4),
        "presencePenalty": st.floats(-2, 2), "frequencyPenalty": st.floats(-2, 2),
        "thinkingConfig": THINKING_CONFIGS,
    }))
    if draw(st.booleans()):
        config.update(draw(_STRUCTURED))
    return config


def _tool_config(tool_names: list[str]) -> st.SearchStrategy[JsonObject]:
    modes = st.sampled_from(["AUTO", "ANY", "NONE", "VALIDATED"])
    allowed = st.lists(st.sampled_from(tool_names), min_size=1, unique=True) if tool_names else st.nothing()
    calling = st.fixed_dictionaries({"mode": modes}, optional={"allowedFunctionNames": allowed}).map(
        lambda config: config if config["mode"] in ("ANY", "VALIDATED") else {"mode": config["mode"]})
    return st.fixed_dictionaries({"functionCallingConfig": calling})


_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")
# Values that are the caller's own JSON (call arguments, results, schemas): their keys are data.
_OPAQUE = frozenset({"args", "response", "parametersJsonSchema", "parameters", "responseSchema", "responseJsonSchema"})


def snake_case(value: Any) -> Any:
    """The same request with snake_case field names (protobuf JSON), as the API also accepts;
    the caller's own JSON inside it left as it is."""
    if isinstance(value, list):
        return [snake_case(item) for item in value]
    if isinstance(value, dict):
        return {_SNAKE.sub("_", key).lower(): child if key in _OPAQUE else snake_case(child)
                for key, child in value.items()}
    return value


@st.composite
def gemini_requests(draw: st.DrawFn) -> JsonObject:
    """A generateContent body."""
    declarations = draw(st.just([]) | function_declarations())
    tool_names = [declaration["name"] for declaration in declarations]
    body: JsonObject = {"contents": draw(gemini_contents(tool_names))}
    tools: list[JsonObject] = [{"functionDeclarations": declarations}] if declarations else []
    tools += draw(st.lists(OTHER_TOOLS, max_size=1))
    if tools:
        body["tools"] = tools
    configured = draw(st.booleans())
    if declarations and configured:
        body["toolConfig"] = draw(_tool_config(tool_names))
    if draw(st.booleans()):
        body["systemInstruction"] = draw(st.one_of(
            st.fixed_dictionaries({"parts": st.lists(st.fixed_dictionaries({"text": NONEMPTY_TEXTS}), min_size=1,
                                                     max_size=2)}, optional={"role": st.just("user")}),
            NONEMPTY_TEXTS))
    if draw(st.booleans()):
        body["generationConfig"] = draw(generation_configs())
    if draw(st.booleans()):
        body["safetySettings"] = [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
    return snake_case(body) if draw(st.integers(0, 4)) == 0 else body


# --- answers, as a Gemini upstream sends them ------------------------------------------------------

_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "stop_sequence": "STOP", "tool_calls": "STOP"}


def gemini_usage(answer: s.Answer) -> JsonObject:
    prompt = answer.input_tokens + answer.cached_tokens
    return {"promptTokenCount": prompt, "candidatesTokenCount": answer.output_tokens,
            "cachedContentTokenCount": answer.cached_tokens, "totalTokenCount": prompt + answer.output_tokens}


def _answer_parts(answer: s.Answer, pieces: bool) -> list[JsonObject]:
    """Thought, text, calls (whole); the thinking's signature on the first part after it."""
    cut = answer.cut if pieces else (lambda text: [text] if text else [])
    parts: list[JsonObject] = [{"text": piece, "thought": True} for piece in cut(answer.thinking)]
    answer_parts: list[JsonObject] = [{"text": piece} for piece in cut(answer.text)]
    answer_parts += [{"functionCall": {"name": call.name, "args": call.arguments}} for call in answer.calls]
    if answer.thinking and answer_parts:
        answer_parts[0] = {**answer_parts[0], "thoughtSignature": answer.signature}
    return parts + answer_parts


def _response(answer: s.Answer, parts: list[JsonObject], final: bool) -> JsonObject:
    candidate: JsonObject = {"content": {"role": "model", "parts": parts}, "index": 0}
    if final:
        candidate["finishReason"] = _FINISH[answer.finish]
    return {"candidates": [candidate], "usageMetadata": gemini_usage(answer), "modelVersion": answer.model,
            "responseId": answer.id}


def gemini_response(answer: s.Answer) -> JsonObject:
    return _response(answer, _answer_parts(answer, pieces=False), final=True)


def gemini_sse(answer: s.Answer) -> bytes:
    """One part a chunk, `finishReason` on the last, `data: …\\r\\n\\r\\n` as Google frames them."""
    parts = _answer_parts(answer, pieces=True)
    chunks = [_response(answer, [part], final=number == len(parts) - 1) for number, part in enumerate(parts)]
    return b"".join(b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n" for chunk in chunks)


# --- what a Gemini client gets --------------------------------------------------------------------

_EVENT_END = re.compile(rb"\r\n\r\n|\n\n")


def gemini_events(body: bytes) -> list[JsonObject]:
    """A stream's events, each one `data: ` line holding one JSON object (Google's parsers, the
    SDK's and Gemini CLI's, take nothing else: no `event:` line, no comment)."""
    events = []
    for event in _EVENT_END.split(body):
        if not event:
            continue
        assert event.startswith(b"data: ") and b"\n" not in event.rstrip(b"\r"), event[:500]
        events.append(json.loads(event[6:]))
    return events


def gemini_answer(reply: Reply, stream: bool) -> JsonObject:
    """The answer as google-genai models it (its pydantic models forbid unknown fields); a stream
    folded: no chunk an error, every chunk's parts new, `finishReason` on the last chunk only."""
    if not stream:
        assert reply.content_type.startswith("application/json"), reply.content_type
        chunks = [reply.json()]
    else:
        assert reply.content_type.startswith("text/event-stream"), reply.content_type
        chunks = gemini_events(reply.body)
    assert chunks, reply.body[:2000]
    parts: list[JsonObject] = []
    for number, chunk in enumerate(chunks):
        assert "error" not in chunk, chunk
        types.GenerateContentResponse.model_validate(chunk)
        candidates = chunk.get("candidates") or [{}]
        assert len(candidates) == 1, chunk
        finished = "finishReason" in candidates[0]
        assert finished == (number == len(chunks) - 1), (number, len(chunks), chunk)
        parts += (candidates[0].get("content") or {}).get("parts") or []
    return {**chunks[-1], "candidates": [{**chunks[-1]["candidates"][0], "content": {"role": "model", "parts": parts}}]}


def gemini_error(reply: Reply) -> str:
    """`{"error": {"code", "message", "status"}}`, code the HTTP status, status its name; the message."""
    body = reply.json()
    assert set(body) == {"error"} and {"code", "message", "status"} <= set(body["error"]), body
    error = body["error"]
    assert error["code"] == reply.status and error["status"] == STATUS_NAMES.get(reply.status), (reply.status, body)
    assert isinstance(error["message"], str), body
    message: str = error["message"]
    return message
