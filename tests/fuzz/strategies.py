"""Hypothesis strategies: valid client requests per front door, valid upstream answers and streams.

Everything generated here is something a real client or upstream could send, so a property that
fails on it found a router bug, not a fuzzer artefact. Invalid inputs are made from these by
mutation (tests/fuzz/mutations.py). Requests are plain JSON values (dicts, lists, str ...):
the app is fed their bytes, the converters their decoded structs.

Strings lean on what breaks gateways: U+2028/U+2029 (legal in JSON, line breaks to JavaScript and
to naive SSE writers), NUL, emoji with joiners, right-to-left text, SSE look-alikes, empty and huge.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

Json = Any
JsonObject = dict[str, Any]

# --- strings ---------------------------------------------------------------------------------------

ODD_STRINGS = (
    "",
    " ",
    "\u2028",
    "\u2029",
    "line\u2028sep",
    "\x00",
    "nul\x00inside",
    "😀",
    "👨‍👩‍👧‍👦 family",
    "\u202eright-to-left override\u202c",
    "שלום עולם",
    "مرحبا بالعالم",
    "\ufeffbom",
    "\\",
    '"quoted"',
    "\r\n",
    "data: [DONE]\n\n",
    "event: message_stop\ndata: {}\n\n",
    "</s><|im_end|>",
    "\t\x1f\x7f",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
)

# Any code point but surrogates (JSON text must be valid UTF-8, and clients send UTF-8).
_CHARS = st.characters(exclude_categories=("Cs",))


def texts(max_size: int = 30) -> st.SearchStrategy[str]:
    """Short arbitrary text, or one of the odd strings, or a few of them glued together."""
    return st.one_of(
        st.text(_CHARS, max_size=max_size),
        st.sampled_from(ODD_STRINGS),
        st.lists(st.sampled_from(ODD_STRINGS), min_size=2, max_size=4).map("".join),
    )


def nonempty_texts(max_size: int = 30) -> st.SearchStrategy[str]:
    """Where the real APIs refuse an empty string (text blocks, stop sequences ...)."""
    odd = [text for text in ODD_STRINGS if text]
    return st.one_of(
        st.text(_CHARS, min_size=1, max_size=max_size),
        st.sampled_from(odd),
        st.lists(st.sampled_from(odd), min_size=2, max_size=4).map("".join),
    )


def huge_texts() -> st.SearchStrategy[str]:
    """A long value (a pasted file, a long tool output) of 2 KB to 200 KB, made by repeating a
    piece rather than drawn character by character (which would be slow and shrink badly)."""
    pieces = st.sampled_from(ODD_STRINGS[2:] + ("x", "ab "))
    return st.builds(lambda piece, size: piece * (size // len(piece) + 1), pieces, st.integers(2_000, 200_000))


def prose() -> st.SearchStrategy[str]:
    """A message's text: usually short, one time in twenty huge."""
    return st.one_of(*[nonempty_texts()] * 19, huge_texts())


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,24}", fullmatch=True)
TOOL_NAMES = NAMES.filter(lambda name: name != "json_response")  # reserved by the OpenAI→Anthropic pair
IDS = st.from_regex(r"[A-Za-z0-9]{1,24}", fullmatch=True)
BASE64 = st.binary(max_size=48).map(lambda raw: base64.b64encode(raw).decode())
URLS = st.builds("https://example.com/{}.png?q={}".format, IDS, IDS)
IMAGE_TYPES = st.sampled_from(["image/png", "image/jpeg", "image/gif", "image/webp"])

# --- JSON values and JSON Schemas -------------------------------------------------------------------

JSON_LEAVES: st.SearchStrategy[Json] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    texts(12),
)


def json_values(max_leaves: int = 8) -> st.SearchStrategy[Json]:
    return st.recursive(
        JSON_LEAVES,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(texts(10), children, max_size=3),
        max_leaves=max_leaves,
    )


def json_objects(max_leaves: int = 8) -> st.SearchStrategy[JsonObject]:
    return st.dictionaries(texts(10), json_values(max_leaves), max_size=3)


_SCHEMA_LEAVES: st.SearchStrategy[JsonObject] = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["string", "number", "integer", "boolean", "null"])},
                          optional={"description": texts(), "default": JSON_LEAVES}),
    st.fixed_dictionaries({"enum": st.lists(JSON_LEAVES, min_size=1, max_size=4)}),
    st.fixed_dictionaries({"const": JSON_LEAVES}),
    st.fixed_dictionaries({"type": st.just("integer"), "exclusiveMinimum": st.integers(-5, 5)},
                          optional={"exclusiveMaximum": st.integers(6, 100), "minimum": st.integers(-10, 0)}),
    st.fixed_dictionaries({"type": st.just("number"), "exclusiveMaximum": st.floats(-1e6, 1e6)}),
    st.fixed_dictionaries({"type": st.just("string")},
                          optional={"pattern": st.just("^[a-z]+$"), "format": st.sampled_from(["uri", "date-time"]),
                                    "minLength": st.integers(0, 5), "examples": st.lists(texts(), max_size=2)}),
    st.booleans(),  # `true` / `false` schemas
)


def _schema_nodes(children: st.SearchStrategy[Json]) -> st.SearchStrategy[Json]:
    return st.one_of(
        st.fixed_dictionaries({"type": st.just("array"), "items": children}),
        st.fixed_dictionaries({"anyOf": st.lists(children, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"oneOf": st.lists(children, min_size=1, max_size=3)}),
        object_schemas(children, max_properties=3),
    )


@st.composite
def object_schemas(draw: st.DrawFn, children: st.SearchStrategy[Json], max_properties: int = 5) -> JsonObject:
    """`{"type": "object", "properties": ...}` with `required` and the keywords strict validators
    reject (`propertyNames`, `patternProperties`, `$defs` with `const`)."""
    properties = draw(st.dictionaries(NAMES, children, max_size=max_properties))
    schema: JsonObject = {"type": "object", "properties": properties}
    if properties and draw(st.booleans()):
        schema["required"] = draw(st.lists(st.sampled_from(sorted(properties)), unique=True))
    extras = draw(st.fixed_dictionaries({}, optional={
        "additionalProperties": st.booleans(),
        "propertyNames": st.just({"pattern": "^[a-z_]+$"}),
        "patternProperties": st.just({"^x-": {"type": "string"}}),
        "description": texts(),
        "$defs": st.just({"leaf": {"type": "string", "const": "x"}}),
    }))
    return {**schema, **extras}


@st.composite
def tool_schemas(draw: st.DrawFn) -> JsonObject:
    """A tool's input schema: always an object schema at the top (both APIs require it), with
    Claude Code's 2020-12 keywords sprinkled in."""
    schema = draw(object_schemas(st.recursive(_SCHEMA_LEAVES, _schema_nodes, max_leaves=4)))
    if draw(st.booleans()):
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


# --- Anthropic Messages requests --------------------------------------------------------------------

CACHE_CONTROL = st.fixed_dictionaries({"type": st.just("ephemeral")}, optional={"ttl": st.sampled_from(["5m", "1h"])})


def with_cache_control(block: st.SearchStrategy[JsonObject]) -> st.SearchStrategy[JsonObject]:
    return st.builds(lambda b, cc: {**b, **cc}, block, st.fixed_dictionaries({}, optional={"cache_control": CACHE_CONTROL}))


def anthropic_text_block(text: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[JsonObject]:
    return with_cache_control(st.fixed_dictionaries({"type": st.just("text"), "text": text if text is not None else prose()}))


def anthropic_image_block() -> st.SearchStrategy[JsonObject]:
    base64_source = st.fixed_dictionaries({"type": st.just("base64"), "media_type": IMAGE_TYPES, "data": BASE64})
    url_source = st.fixed_dictionaries({"type": st.just("url"), "url": URLS})
    return with_cache_control(st.fixed_dictionaries({"type": st.just("image"), "source": base64_source | url_source}))


def anthropic_document_block() -> st.SearchStrategy[JsonObject]:
    sources = st.one_of(
        st.fixed_dictionaries({"type": st.just("base64"), "media_type": st.just("application/pdf"), "data": BASE64}),
        st.fixed_dictionaries({"type": st.just("text"), "media_type": st.just("text/plain"), "data": texts()}),
        st.fixed_dictionaries({"type": st.just("url"), "url": URLS}),
        st.fixed_dictionaries({"type": st.just("content"),
                               "content": texts() | st.lists(anthropic_text_block(nonempty_texts()), min_size=1, max_size=3)}),
    )
    return with_cache_control(st.fixed_dictionaries(
        {"type": st.just("document"), "source": sources},
        optional={"title": texts(), "context": texts(), "citations": st.fixed_dictionaries({"enabled": st.booleans()})},
    ))


def anthropic_user_block() -> st.SearchStrategy[JsonObject]:
    return st.one_of(anthropic_text_block(), anthropic_text_block(), anthropic_image_block(), anthropic_document_block())


def anthropic_tool_result(tool_use_id: str) -> st.SearchStrategy[JsonObject]:
    content = st.one_of(texts(), prose(), st.lists(anthropic_text_block() | anthropic_image_block(), max_size=3))
    return with_cache_control(st.fixed_dictionaries(
        {"type": st.just("tool_result"), "tool_use_id": st.just(tool_use_id)},
        optional={"content": content, "is_error": st.booleans()},
    ))


TOOL_USE_IDS = IDS.map("toolu_{}".format)
SIGNATURES = st.binary(min_size=1, max_size=48).map(lambda raw: base64.b64encode(raw).decode())


@st.composite
def anthropic_assistant_turn(draw: st.DrawFn, tool_names: list[str]) -> tuple[JsonObject, list[str]]:
    """An assistant message (thinking first, as Anthropic returns it) and the ids of its tool calls."""
    if draw(st.integers(0, 4)) == 0:
        return {"role": "assistant", "content": draw(prose())}, []
    blocks: list[JsonObject] = []
    if draw(st.booleans()):
        blocks.append(draw(st.one_of(
            st.fixed_dictionaries({"type": st.just("thinking"), "thinking": prose(), "signature": SIGNATURES}),
            st.fixed_dictionaries({"type": st.just("redacted_thinking"), "data": SIGNATURES}),
        )))
    blocks.extend(draw(st.lists(anthropic_text_block(), max_size=2)))
    ids = draw(st.lists(TOOL_USE_IDS, max_size=3, unique=True))
    for call_id in ids:
        name = draw(st.sampled_from(tool_names) if tool_names else TOOL_NAMES)
        blocks.append({"type": "tool_use", "id": call_id, "name": name, "input": draw(json_objects())})
    if not blocks:
        blocks.append(draw(anthropic_text_block()))
    return {"role": "assistant", "content": blocks}, ids


@st.composite
def anthropic_user_turn(draw: st.DrawFn, answering: list[str]) -> JsonObject:
    """A user message: the results of every pending call first (Anthropic requires them), then
    the user's own blocks; a plain string when nothing is pending, sometimes."""
    if not answering and draw(st.booleans()):
        return {"role": "user", "content": draw(prose())}
    results = [draw(anthropic_tool_result(call_id)) for call_id in draw(st.permutations(answering))]
    own = draw(st.lists(anthropic_user_block(), min_size=0 if results else 1, max_size=3))
    return {"role": "user", "content": results + own}


@st.composite
def anthropic_messages(draw: st.DrawFn, tool_names: list[str]) -> list[JsonObject]:
    """user, assistant, user ... ending with a user turn; tool calls answered in the next turn."""
    messages = [draw(anthropic_user_turn([]))]
    for _ in range(draw(st.integers(0, 3))):
        assistant, ids = draw(anthropic_assistant_turn(tool_names))
        messages.append(assistant)
        messages.append(draw(anthropic_user_turn(ids)))
    return messages


def anthropic_tools() -> st.SearchStrategy[list[JsonObject]]:
    function_tool = with_cache_control(st.fixed_dictionaries(
        {"name": TOOL_NAMES, "input_schema": tool_schemas()},
        optional={"description": texts(), "type": st.just("custom")},
    ))
    server_tool = st.sampled_from([
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
        {"type": "bash_20250124", "name": "bash"},
        {"type": "text_editor_20250429", "name": "str_replace_based_edit_tool"},
    ])
    return st.lists(st.one_of(function_tool, function_tool, server_tool), max_size=4, unique_by=lambda t: t["name"])


def anthropic_tool_choice(tool_names: list[str]) -> st.SearchStrategy[JsonObject]:
    kinds = [st.fixed_dictionaries({"type": st.sampled_from(["auto", "any", "none"])})]
    if tool_names:
        kinds.append(st.fixed_dictionaries({"type": st.just("tool"), "name": st.sampled_from(tool_names)}))
    return st.builds(lambda choice, extra: {**choice, **extra}, st.one_of(kinds),
                     st.fixed_dictionaries({}, optional={"disable_parallel_tool_use": st.booleans()}))


THINKING_CONFIGS = st.one_of(
    st.fixed_dictionaries({"type": st.just("enabled"), "budget_tokens": st.integers(1024, 64_000)}),
    st.just({"type": "disabled"}),
    st.just({"type": "adaptive"}),
)

# The models of the fuzz app's table (tests/fuzz/app.py): converted pairs with several
# capability sets, and passthrough.
ANTHROPIC_MODELS = ("conv-plain", "conv-deepseek", "conv-openrouter", "conv-openai", "conv-responses", "pass-anthropic")
OPENAI_MODELS = ("conv-plain", "conv-budget", "conv-responses", "pass-openai")
CONVERTED_ANTHROPIC_MODELS = tuple(model for model in ANTHROPIC_MODELS if model.startswith("conv-"))


@st.composite
def anthropic_requests(draw: st.DrawFn, models: tuple[str, ...] = ANTHROPIC_MODELS) -> JsonObject:
    """A POST /v1/messages body, every optional field independently present or not."""
    tools = draw(anthropic_tools())
    tool_names = [tool["name"] for tool in tools if tool.get("type") in (None, "custom")]
    system = st.one_of(texts(), prose(), st.lists(anthropic_text_block(), min_size=1, max_size=3))
    optional: dict[str, st.SearchStrategy[Any]] = {
        "system": system,
        "stop_sequences": st.lists(nonempty_texts(), max_size=4),
        "temperature": st.floats(0, 1),
        "top_p": st.floats(0, 1),
        "top_k": st.integers(1, 500),
        "metadata": st.fixed_dictionaries({}, optional={"user_id": texts()}),
        "thinking": THINKING_CONFIGS,
        "output_config": st.fixed_dictionaries({"effort": st.sampled_from(["low", "medium", "high", "max"])}),
        "stream": st.booleans(),
    }
    if tools:
        optional["tools"] = st.just(tools)
        optional["tool_choice"] = anthropic_tool_choice(tool_names)
    return draw(st.fixed_dictionaries(
        {
            "model": st.sampled_from(models),
            "max_tokens": st.integers(1, 200_000),
            "messages": anthropic_messages(tool_names),
        },
        optional=optional,
    ))


# --- OpenAI Chat Completions requests ----------------------------------------------------------------


def data_urls(media_types: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds("data:{};base64,{}".format, media_types, BASE64)


def openai_text_part(text: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[JsonObject]:
    return with_cache_control(st.fixed_dictionaries({"type": st.just("text"), "text": text if text is not None else prose()}))


def openai_user_part() -> st.SearchStrategy[JsonObject]:
    image_url = st.fixed_dictionaries({"url": data_urls(IMAGE_TYPES) | URLS},
                                      optional={"detail": st.sampled_from(["auto", "low", "high"])})
    image = st.fixed_dictionaries({"type": st.just("image_url"), "image_url": image_url})
    file = st.fixed_dictionaries({"type": st.just("file"), "file": st.fixed_dictionaries(
        {"file_data": data_urls(st.just("application/pdf"))}, optional={"filename": texts()})})
    audio = st.fixed_dictionaries({"type": st.just("input_audio"),
                                   "input_audio": st.fixed_dictionaries({"data": BASE64, "format": st.just("wav")})})
    return st.one_of(openai_text_part(), openai_text_part(), image, file, audio)


def openai_content(parts: st.SearchStrategy[JsonObject]) -> st.SearchStrategy[str | list[JsonObject]]:
    return st.one_of(prose(), st.lists(parts, min_size=1, max_size=3))


def openai_system_message() -> st.SearchStrategy[JsonObject]:
    return st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "developer"]), "content": openai_content(openai_text_part())},
        optional={"name": NAMES},
    )


def openai_user_message() -> st.SearchStrategy[JsonObject]:
    return st.fixed_dictionaries({"role": st.just("user"), "content": openai_content(openai_user_part())},
                                 optional={"name": NAMES})


@st.composite
def openai_assistant_turn(draw: st.DrawFn, tool_names: list[str]) -> tuple[JsonObject, list[str]]:
    """An assistant message (text and/or tool calls) and its call ids."""
    ids = draw(st.lists(IDS.map("call_{}".format), max_size=3, unique=True))
    calls = [
        {"id": call_id, "type": "function", "function": {
            "name": draw(st.sampled_from(tool_names) if tool_names else TOOL_NAMES),
            "arguments": json.dumps(draw(json_objects()), ensure_ascii=draw(st.booleans())),
        }}
        for call_id in ids
    ]
    message: JsonObject = {"role": "assistant"}
    if calls:
        message["tool_calls"] = calls
        message["content"] = draw(st.none() | texts())
    else:
        message["content"] = draw(openai_content(openai_text_part()) | st.lists(
            st.fixed_dictionaries({"type": st.just("refusal"), "refusal": nonempty_texts()}), min_size=1, max_size=1))
    if draw(st.booleans()):
        message["reasoning_content"] = draw(texts())
    return message, ids


@st.composite
def openai_messages(draw: st.DrawFn, tool_names: list[str]) -> list[JsonObject]:
    """System/developer messages (at the start and sometimes mid-conversation), user turns,
    assistant turns with tool calls each answered by its `tool` message."""
    messages = draw(st.lists(openai_system_message(), max_size=2))
    messages.append(draw(openai_user_message()))
    for _ in range(draw(st.integers(0, 3))):
        assistant, ids = draw(openai_assistant_turn(tool_names))
        messages.append(assistant)
        for call_id in ids:
            content = draw(texts() | st.lists(openai_text_part(), min_size=1, max_size=2))
            messages.append({"role": "tool", "tool_call_id": call_id, "content": content})
        if draw(st.booleans()):
            messages.append(draw(openai_system_message()))
        if not ids or draw(st.booleans()):
            messages.append(draw(openai_user_message()))
    return messages


def openai_tools() -> st.SearchStrategy[list[JsonObject]]:
    function = st.fixed_dictionaries({"name": TOOL_NAMES},
                                     optional={"description": texts(), "parameters": tool_schemas(), "strict": st.booleans()})
    tool = st.fixed_dictionaries({"type": st.just("function"), "function": function})
    return st.lists(tool, max_size=4, unique_by=lambda t: t["function"]["name"])


def openai_tool_choice(tool_names: list[str]) -> st.SearchStrategy[Any]:
    named = st.builds(lambda name: {"type": "function", "function": {"name": name}}, st.sampled_from(tool_names))
    return st.sampled_from(["auto", "none", "required"]) | named


RESPONSE_FORMATS = st.one_of(
    st.just({"type": "text"}),
    st.just({"type": "json_object"}),
    st.builds(lambda name, schema, strict: {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": strict}},
              NAMES, tool_schemas(), st.booleans()),
)


@st.composite
def openai_requests(draw: st.DrawFn, models: tuple[str, ...] = OPENAI_MODELS) -> JsonObject:
    """A POST /v1/chat/completions body."""
    tools = draw(openai_tools())
    tool_names = [tool["function"]["name"] for tool in tools]
    stream = draw(st.booleans())
    optional: dict[str, st.SearchStrategy[Any]] = {
        "temperature": st.floats(0, 2),
        "top_p": st.floats(0, 1),
        "n": st.just(1),
        "stop": nonempty_texts() | st.lists(nonempty_texts(), max_size=4),
        "max_tokens": st.integers(1, 100_000),
        "max_completion_tokens": st.integers(1, 100_000),
        "reasoning_effort": st.sampled_from(["none", "minimal", "low", "medium", "high"]),
        "response_format": RESPONSE_FORMATS,
        "user": texts(),
        "seed": st.integers(0, 2**31),
        "presence_penalty": st.floats(-2, 2),
        "frequency_penalty": st.floats(-2, 2),
        "logprobs": st.just(False),
        "metadata": st.dictionaries(NAMES, texts(), max_size=3),
    }
    if stream:
        optional["stream_options"] = st.fixed_dictionaries({"include_usage": st.booleans()})
    if tools:
        optional["tools"] = st.just(tools)
        optional["tool_choice"] = openai_tool_choice(tool_names)
        optional["parallel_tool_calls"] = st.booleans()
    body = draw(st.fixed_dictionaries(
        {"model": st.sampled_from(models), "messages": openai_messages(tool_names)}, optional=optional,
    ))
    if stream:
        body["stream"] = True
    elif draw(st.booleans()):
        body["stream"] = False
    return body


# --- OpenAI Responses requests ------------------------------------------------------------------------
# Every input item type of router/spokes/responses/client/items.py ([variants.input_item]: message,
# function_call, custom_tool_call, their outputs, reasoning, additional_tools, item_reference, an
# item type with no hub form), every tool type (function, custom with and without a grammar,
# namespace, built-in), every tool_choice form, reasoning and text.format.

ENCRYPTED = st.one_of(SIGNATURES, st.just("gAAAAABfake-openai-token"))  # OpenAI's own: left out when converted


def responses_text_part(kind: str = "input_text") -> st.SearchStrategy[JsonObject]:
    return st.fixed_dictionaries({"type": st.just(kind), "text": prose()})


def responses_user_part() -> st.SearchStrategy[JsonObject]:
    image = st.fixed_dictionaries({"type": st.just("input_image"), "image_url": data_urls(IMAGE_TYPES) | URLS},
                                  optional={"detail": st.sampled_from(["auto", "low", "high"])})
    by_id = st.fixed_dictionaries({"type": st.sampled_from(["input_image", "input_file"]), "file_id": IDS.map("file-{}".format)})
    pdf = st.fixed_dictionaries({"type": st.just("input_file"), "file_data": data_urls(st.just("application/pdf"))},
                                optional={"filename": texts()})
    file_url = st.fixed_dictionaries({"type": st.just("input_file"), "file_url": URLS.map(lambda url: url.replace(".png", ".pdf"))})
    return st.one_of(responses_text_part(), responses_text_part(), image, pdf, file_url, by_id)


def responses_assistant_part() -> st.SearchStrategy[JsonObject]:
    output_text: st.SearchStrategy[JsonObject] = st.fixed_dictionaries({"type": st.just("output_text"), "text": prose()},
                                        optional={"annotations": st.just([])})
    refusal = st.fixed_dictionaries({"type": st.just("refusal"), "refusal": nonempty_texts()})
    return st.one_of(output_text, output_text, refusal)


def _with_item_id(prefix: str, item: st.SearchStrategy[JsonObject]) -> st.SearchStrategy[JsonObject]:
    return st.builds(lambda body, extra: {**body, **extra}, item,
                     st.fixed_dictionaries({}, optional={"id": IDS.map(f"{prefix}_{{}}".format)}))


def responses_message(roles: tuple[str, ...], parts: st.SearchStrategy[JsonObject]) -> st.SearchStrategy[JsonObject]:
    content = st.one_of(prose(), st.lists(parts, min_size=1, max_size=3))
    return _with_item_id("msg", st.fixed_dictionaries(
        {"role": st.sampled_from(roles), "content": content}, optional={"type": st.just("message")}))


@dataclass(frozen=True)
class DeclaredTool:
    """A tool a call may name: its own name, its namespace, whether it takes free text."""

    name: str
    namespace: str | None
    custom: bool


def responses_function_tool(names: st.SearchStrategy[str] = TOOL_NAMES) -> st.SearchStrategy[JsonObject]:
    return st.fixed_dictionaries({"type": st.just("function"), "name": names},
                                 optional={"description": texts(), "parameters": tool_schemas(), "strict": st.booleans()})


def responses_custom_tool(names: st.SearchStrategy[str] = TOOL_NAMES) -> st.SearchStrategy[JsonObject]:
    grammar = st.one_of(
        st.just({"type": "text"}),
        st.fixed_dictionaries({"type": st.just("grammar"), "syntax": st.just("lark"),
                               "definition": st.just('start: "a"+')}),
        st.fixed_dictionaries({"type": st.just("grammar"), "syntax": st.just("regex"),
                               "definition": st.just("^[a-z]+$")}),
    )
    return st.fixed_dictionaries({"type": st.just("custom"), "name": names},
                                 optional={"description": texts(), "format": grammar})


def responses_namespace_tool() -> st.SearchStrategy[JsonObject]:
    inner = st.one_of(responses_function_tool(NAMES), responses_custom_tool(NAMES))
    return st.fixed_dictionaries({"type": st.just("namespace"), "name": NAMES,
                                  "tools": st.lists(inner, min_size=1, max_size=3, unique_by=lambda t: t["name"])},
                                 optional={"description": texts()})


BUILTIN_TOOLS: st.SearchStrategy[JsonObject] = st.sampled_from([
    {"type": "web_search"},
    {"type": "web_search_preview", "search_context_size": "low"},
    {"type": "file_search", "vector_store_ids": ["vs_1"]},
    {"type": "code_interpreter", "container": {"type": "auto"}},
    {"type": "image_generation"},
    {"type": "local_shell"},
])


def responses_tools() -> st.SearchStrategy[list[JsonObject]]:
    tool = st.one_of(responses_function_tool(), responses_function_tool(), responses_custom_tool(),
                     responses_namespace_tool(), BUILTIN_TOOLS)
    return st.lists(tool, max_size=4, unique_by=lambda t: t.get("name", t["type"]))


def declared(tools: list[JsonObject]) -> list[DeclaredTool]:
    out = []
    for tool in tools:
        if tool["type"] in ("function", "custom"):
            out.append(DeclaredTool(tool["name"], None, tool["type"] == "custom"))
        elif tool["type"] == "namespace":
            out.extend(DeclaredTool(inner["name"], tool["name"], inner["type"] == "custom") for inner in tool["tools"])
    return out


def responses_call_output(call: JsonObject) -> st.SearchStrategy[JsonObject]:
    kind = "custom_tool_call_output" if call["type"] == "custom_tool_call" else "function_call_output"
    parts = st.lists(responses_text_part() | responses_user_part(), min_size=1, max_size=2)
    return _with_item_id("out", st.fixed_dictionaries(
        {"type": st.just(kind), "call_id": st.just(call["call_id"]), "output": st.one_of(texts(), prose(), parts)}))


@st.composite
def responses_call(draw: st.DrawFn, tools: list[DeclaredTool]) -> JsonObject:
    """A function_call (arguments JSON text) or custom_tool_call (free text) of a declared tool."""
    tool = draw(st.sampled_from(tools)) if tools else DeclaredTool(draw(TOOL_NAMES), None, draw(st.booleans()))
    item: JsonObject = {"call_id": draw(IDS.map("call_{}".format)), "name": tool.name}
    if tool.namespace is not None:
        item["namespace"] = tool.namespace
    if draw(st.booleans()):
        item["status"] = "completed"
    if tool.custom:
        return {"type": "custom_tool_call", "id": draw(IDS.map("ctc_{}".format)), **item, "input": draw(texts())}
    arguments = json.dumps(draw(json_objects()), ensure_ascii=draw(st.booleans()))
    return {"type": "function_call", "id": draw(IDS.map("fc_{}".format)), **item, "arguments": arguments}


def responses_reasoning_item() -> st.SearchStrategy[JsonObject]:
    summary = st.lists(st.fixed_dictionaries({"type": st.just("summary_text"), "text": texts()}), max_size=2)
    return st.fixed_dictionaries({"type": st.just("reasoning"), "id": IDS.map("rs_{}".format), "summary": summary},
                                 optional={"encrypted_content": ENCRYPTED, "content": st.none()})


OTHER_ITEMS: st.SearchStrategy[JsonObject] = st.sampled_from([
    {"type": "item_reference", "id": "msg_stored"},
    {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search", "query": "q"}},
    {"type": "compaction", "id": "cmp_1", "encrypted_content": "Y29tcGFjdA=="},
])


@st.composite
def responses_input(draw: st.DrawFn, tools: list[DeclaredTool]) -> list[JsonObject]:
    """System/developer messages, a user turn, then rounds of (reasoning, assistant text, calls),
    every call answered by its output before the next user message; the last item is a user
    message or a tool output. Sometimes an additional_tools item (as Codex sends its tools) or an
    item a converting target leaves out."""
    items = draw(st.lists(responses_message(("system", "developer"), responses_text_part()), max_size=2))
    # The first user message has text: parts with no hub form (by file_id) may be all a later one
    # has, but a request with nothing a converting target can answer is a 400 (no input).
    first = draw(responses_message(("user",), responses_user_part()))
    if isinstance(first["content"], list):
        first["content"].insert(draw(st.integers(0, len(first["content"]))), draw(responses_text_part()))
    items.append(first)
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            items.append(draw(responses_reasoning_item()))
        if draw(st.booleans()):
            items.append(draw(responses_message(("assistant",), responses_assistant_part())))
        calls = draw(st.lists(responses_call(tools), max_size=2, unique_by=lambda call: call["call_id"]))
        items.extend(calls)
        items.extend(draw(responses_call_output(call)) for call in calls)
        if draw(st.integers(0, 5)) == 0:
            items.append(draw(OTHER_ITEMS))
        if not calls or draw(st.booleans()):
            items.append(draw(responses_message(("user",), responses_user_part())))
    return items


def responses_tool_choice(tools: list[DeclaredTool]) -> st.SearchStrategy[Any]:
    kinds: list[st.SearchStrategy[Any]] = [
        st.sampled_from(["auto", "none", "required"]),
        st.fixed_dictionaries({"type": st.just("allowed_tools"), "mode": st.sampled_from(["auto", "required"]),
                               "tools": st.just([])}),
        st.just({"type": "web_search_preview"}),  # a built-in tool's choice
    ]
    if tools:
        def named(tool: DeclaredTool) -> JsonObject:
            choice: JsonObject = {"type": "custom" if tool.custom else "function", "name": tool.name}
            return {**choice, "namespace": tool.namespace} if tool.namespace is not None else choice
        kinds.append(st.sampled_from(tools).map(named))
    return st.one_of(kinds)


TEXT_FORMATS = st.one_of(
    st.just({"type": "text"}),
    st.just({"type": "json_object"}),
    st.builds(lambda name, schema, strict: {"type": "json_schema", "name": name, "schema": schema, "strict": strict},
              NAMES, tool_schemas(), st.booleans()),
)

# The models of the fuzz app's Responses door: converted to Chat and to Anthropic, and passthrough.
RESPONSES_MODELS = ("conv-plain", "conv-anthropic", "pass-responses")


@st.composite
def responses_requests(draw: st.DrawFn, models: tuple[str, ...] = RESPONSES_MODELS) -> JsonObject:
    """A POST /v1/responses body: `input` a string or items (tools declared in `tools` or an
    additional_tools item), every optional field independently present or not."""
    tools = draw(responses_tools())
    text_input = draw(st.integers(0, 4)) == 0
    in_item = bool(tools) and not text_input and draw(st.integers(0, 3)) == 0  # Codex's way: an additional_tools item
    callable_tools = declared(tools)
    given_input: Any = draw(prose()) if text_input else draw(responses_input(callable_tools))
    if in_item:
        given_input.insert(0, {"type": "additional_tools", "role": "developer", "tools": tools})
    optional: dict[str, st.SearchStrategy[Any]] = {
        "instructions": texts() | prose(),
        "reasoning": st.fixed_dictionaries({}, optional={
            "effort": st.sampled_from(["none", "minimal", "low", "medium", "high"]),
            "summary": st.sampled_from(["auto", "concise", "detailed"])}),
        "text": st.fixed_dictionaries({}, optional={"format": TEXT_FORMATS,
                                                    "verbosity": st.sampled_from(["low", "medium", "high"])}),
        "max_output_tokens": st.integers(16, 100_000),
        "temperature": st.floats(0, 2),
        "top_p": st.floats(0, 1),
        "metadata": st.dictionaries(NAMES, texts(), max_size=3),
        "user": texts(),
        "prompt_cache_key": texts(),
        "service_tier": st.sampled_from(["auto", "default", "flex", "priority"]),
        "include": st.lists(st.sampled_from(["reasoning.encrypted_content", "message.output_text.logprobs"]),
                            unique=True),
        "store": st.booleans(),
        "stream": st.booleans(),
    }
    if tools and not in_item:
        optional["tools"] = st.just(tools)
    if callable_tools:
        optional["tool_choice"] = responses_tool_choice(callable_tools)
        optional["parallel_tool_calls"] = st.booleans()
    return draw(st.fixed_dictionaries({"model": st.sampled_from(models), "input": st.just(given_input)},
                                      optional=optional))


# --- upstream answers: one abstract answer, its unary body and its stream ---------------------------


@dataclass(frozen=True)
class ToolCallAnswer:
    id: str
    name: str
    arguments: JsonObject


@dataclass(frozen=True)
class Answer:
    """What a model said, independent of protocol: the generators below render it as an OpenAI
    chat.completion and chunk stream, or an Anthropic message and event stream."""

    id: str
    model: str
    thinking: str
    signature: str
    text: str
    calls: tuple[ToolCallAnswer, ...]
    finish: str  # the protocol-neutral reason: stop, length, tool_calls, stop_sequence
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    pieces: tuple[int, ...] = field(default=(1,))  # how deltas are cut: piece sizes, cycled
    ping_every: int = 0  # Anthropic streams: a ping after every N events (0: none)
    usage_chunk: bool = True  # OpenAI streams: a final usage chunk with no choices

    def cut(self, text: str) -> list[str]:
        """`text` in delta-sized pieces (the sizes cycle), never an empty piece."""
        out, start, turn = [], 0, 0
        while start < len(text):
            size = self.pieces[turn % len(self.pieces)]
            out.append(text[start : start + size])
            start, turn = start + size, turn + 1
        return out


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    calls = tuple(
        ToolCallAnswer(call_id, draw(TOOL_NAMES), draw(json_objects()))
        for call_id in draw(st.lists(IDS.map("call_{}".format), max_size=3, unique=True))
    )
    text = draw(texts(60))
    if not calls and not text:
        text = draw(nonempty_texts())
    finish = "tool_calls" if calls else draw(st.sampled_from(["stop", "length", "stop_sequence"]))
    return Answer(
        id=draw(IDS), model=draw(NAMES), thinking=draw(st.just("") | texts(60)), signature=draw(SIGNATURES),
        text=text, calls=calls, finish=finish,
        input_tokens=draw(st.integers(0, 10**6)), output_tokens=draw(st.integers(0, 10**5)),
        cached_tokens=draw(st.integers(0, 1000)),
        pieces=tuple(draw(st.lists(st.integers(1, 40), min_size=1, max_size=4))),
        ping_every=draw(st.integers(0, 4)), usage_chunk=draw(st.booleans()),
    )


_OPENAI_FINISH = {"stop": "stop", "length": "length", "stop_sequence": "stop", "tool_calls": "tool_calls"}
_ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens", "stop_sequence": "stop_sequence", "tool_calls": "tool_use"}


def _arguments(call: ToolCallAnswer) -> str:
    return json.dumps(call.arguments, ensure_ascii=False)


def openai_usage(answer: Answer) -> JsonObject:
    return {
        "prompt_tokens": answer.input_tokens + answer.cached_tokens,
        "completion_tokens": answer.output_tokens,
        "total_tokens": answer.input_tokens + answer.cached_tokens + answer.output_tokens,
        "prompt_tokens_details": {"cached_tokens": answer.cached_tokens},
    }


def openai_completion(answer: Answer) -> JsonObject:
    """The answer as an OpenAI chat.completion body."""
    message: JsonObject = {"role": "assistant", "content": answer.text or None}
    if answer.thinking:
        message["reasoning_content"] = answer.thinking
    if answer.calls:
        message["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": _arguments(call)}}
            for call in answer.calls
        ]
    return {
        "id": answer.id, "object": "chat.completion", "created": 1_700_000_000, "model": answer.model,
        "choices": [{"index": 0, "message": message, "finish_reason": _OPENAI_FINISH[answer.finish]}],
        "usage": openai_usage(answer),
    }


def openai_chunks(answer: Answer) -> list[JsonObject | str]:
    """The same answer as chunk payloads, "[DONE]" last: role first, reasoning, text, each tool
    call announced (id, name) then its arguments in pieces, finish, the usage chunk."""
    head = {"id": answer.id, "object": "chat.completion.chunk", "created": 1_700_000_000, "model": answer.model}

    def chunk(delta: JsonObject, finish: str | None = None) -> JsonObject:
        return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    out: list[JsonObject | str] = [chunk({"role": "assistant", "content": ""})]
    out.extend(chunk({"reasoning_content": piece}) for piece in answer.cut(answer.thinking))
    out.extend(chunk({"content": piece}) for piece in answer.cut(answer.text))
    for index, call in enumerate(answer.calls):
        out.append(chunk({"tool_calls": [{"index": index, "id": call.id, "type": "function",
                                           "function": {"name": call.name, "arguments": ""}}]}))
        out.extend(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                   for piece in answer.cut(_arguments(call)))
    out.append(chunk({}, _OPENAI_FINISH[answer.finish]))
    if answer.usage_chunk:
        out.append({**head, "choices": [], "usage": openai_usage(answer)})
    out.append("[DONE]")
    return out


def openai_sse(answer: Answer) -> bytes:
    return b"".join(
        b"data: " + (payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()) + b"\n\n"
        for payload in openai_chunks(answer)
    )


def anthropic_blocks(answer: Answer) -> list[JsonObject]:
    blocks: list[JsonObject] = []
    if answer.thinking:
        blocks.append({"type": "thinking", "thinking": answer.thinking, "signature": answer.signature})
    if answer.text:
        blocks.append({"type": "text", "text": answer.text})
    blocks.extend({"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments} for call in answer.calls)
    return blocks


def anthropic_usage(answer: Answer) -> JsonObject:
    return {"input_tokens": answer.input_tokens, "output_tokens": answer.output_tokens,
            "cache_read_input_tokens": answer.cached_tokens, "cache_creation_input_tokens": 0}


def anthropic_message(answer: Answer) -> JsonObject:
    """The answer as an Anthropic Messages body."""
    return {
        "id": f"msg_{answer.id}", "type": "message", "role": "assistant", "model": answer.model,
        "content": anthropic_blocks(answer), "stop_reason": _ANTHROPIC_STOP[answer.finish],
        "stop_sequence": "STOP" if answer.finish == "stop_sequence" else None, "usage": anthropic_usage(answer),
    }


def anthropic_events(answer: Answer) -> list[tuple[str, JsonObject]]:
    """The same answer as a Messages event stream, pings sprinkled in."""
    start = {**anthropic_message(answer), "content": [], "stop_reason": None, "stop_sequence": None,
             "usage": {**anthropic_usage(answer), "output_tokens": 1}}
    events: list[tuple[str, JsonObject]] = [("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(anthropic_blocks(answer)):
        events.extend(_block_events(answer, index, block))
    events.append(("message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": _ANTHROPIC_STOP[answer.finish],
                                               "stop_sequence": "STOP" if answer.finish == "stop_sequence" else None},
                                     "usage": {"output_tokens": answer.output_tokens}}))
    events.append(("message_stop", {"type": "message_stop"}))
    if answer.ping_every:
        pinged: list[tuple[str, JsonObject]] = []
        for position, event in enumerate(events):
            pinged.append(event)
            if position % answer.ping_every == 0 and event[0] != "message_stop":
                pinged.append(("ping", {"type": "ping"}))
        events = pinged
    return events


def _block_events(answer: Answer, index: int, block: JsonObject) -> list[tuple[str, JsonObject]]:
    def delta(body: JsonObject) -> tuple[str, JsonObject]:
        return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": body}

    kind = block["type"]
    if kind == "thinking":
        opening: JsonObject = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [delta({"type": "thinking_delta", "thinking": p}) for p in answer.cut(block["thinking"])]
        deltas.append(delta({"type": "signature_delta", "signature": block["signature"]}))
    elif kind == "text":
        opening = {"type": "text", "text": ""}
        deltas = [delta({"type": "text_delta", "text": p}) for p in answer.cut(block["text"])]
    else:
        opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        deltas = [delta({"type": "input_json_delta", "partial_json": p})
                  for p in answer.cut(json.dumps(block["input"], ensure_ascii=False))]
    return [
        ("content_block_start", {"type": "content_block_start", "index": index, "content_block": opening}),
        *deltas,
        ("content_block_stop", {"type": "content_block_stop", "index": index}),
    ]


def anthropic_sse(answer: Answer) -> bytes:
    return b"".join(
        f"event: {name}\n".encode() + b"data: " + json.dumps(data).encode() + b"\n\n"
        for name, data in anthropic_events(answer)
    )


_RESPONSES_STATUS = {"stop": "completed", "stop_sequence": "completed", "tool_calls": "completed", "length": "incomplete"}


def responses_usage(answer: Answer) -> JsonObject:
    prompt = answer.input_tokens + answer.cached_tokens
    return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": answer.cached_tokens, "cache_write_tokens": 0},
            "output_tokens": answer.output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + answer.output_tokens}


def responses_output(answer: Answer) -> list[JsonObject]:
    """reasoning (the thinking as its summary, the signature as encrypted_content), a message,
    function calls: the order the Responses API answers in."""
    items: list[JsonObject] = []
    if answer.thinking:
        items.append({"type": "reasoning", "id": f"rs_{answer.id}", "encrypted_content": answer.signature,
                      "summary": [{"type": "summary_text", "text": answer.thinking}]})
    if answer.text:
        items.append({"type": "message", "id": f"msg_{answer.id}", "status": "completed", "role": "assistant",
                      "content": [{"type": "output_text", "text": answer.text, "annotations": []}]})
    items.extend({"type": "function_call", "id": f"fc_{call.id}", "status": "completed", "call_id": call.id,
                  "name": call.name, "arguments": _arguments(call)} for call in answer.calls)
    return items


def responses_object(answer: Answer) -> JsonObject:
    """The answer as a Responses API response object."""
    status = _RESPONSES_STATUS[answer.finish]
    return {
        "id": f"resp_{answer.id}", "object": "response", "created_at": 1_700_000_000, "model": answer.model,
        "status": status, "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "output": responses_output(answer), "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
        "usage": responses_usage(answer),
    }


def responses_events(answer: Answer) -> list[JsonObject]:
    """The same answer as Responses stream events, numbered: created, in_progress, each item
    opened, its deltas (cut as `answer.pieces` says), its done events, closed; then completed
    (or incomplete)."""
    final = responses_object(answer)
    started = {**final, "status": "in_progress", "incomplete_details": None, "output": [], "usage": None}
    events: list[JsonObject] = [{"type": "response.created", "response": started},
                                {"type": "response.in_progress", "response": started}]
    for index, item in enumerate(final["output"]):
        events.extend(_responses_item_events(answer, index, item))
    events.append({"type": f"response.{final['status']}", "response": final})
    return [{**event, "sequence_number": number} for number, event in enumerate(events)]


def _responses_item_events(answer: Answer, index: int, item: JsonObject) -> list[JsonObject]:
    at = {"item_id": item["id"], "output_index": index}
    kind = item["type"]
    if kind == "reasoning":
        opening: JsonObject = {**item, "summary": []}
        text = item["summary"][0]["text"]
        where = {**at, "summary_index": 0}
        middle = [{"type": "response.reasoning_summary_part.added", **where, "part": {"type": "summary_text", "text": ""}},
                  *({"type": "response.reasoning_summary_text.delta", **where, "delta": piece} for piece in answer.cut(text)),
                  {"type": "response.reasoning_summary_text.done", **where, "text": text},
                  {"type": "response.reasoning_summary_part.done", **where, "part": {"type": "summary_text", "text": text}}]
    elif kind == "message":
        opening = {**item, "status": "in_progress", "content": []}
        text = item["content"][0]["text"]
        where = {**at, "content_index": 0}
        middle = [{"type": "response.content_part.added", **where, "part": {"type": "output_text", "text": "", "annotations": []}},
                  *({"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
                    for piece in answer.cut(text)),
                  {"type": "response.output_text.done", **where, "text": text, "logprobs": []},
                  {"type": "response.content_part.done", **where, "part": item["content"][0]}]
    else:
        opening = {**item, "status": "in_progress", "arguments": ""}
        middle = [*({"type": "response.function_call_arguments.delta", **at, "delta": piece}
                    for piece in answer.cut(item["arguments"])),
                  {"type": "response.function_call_arguments.done", **at, "arguments": item["arguments"]}]
    return [{"type": "response.output_item.added", "output_index": index, "item": opening}, *middle,
            {"type": "response.output_item.done", "output_index": index, "item": item}]


def responses_sse(answer: Answer) -> bytes:
    return b"".join(f"event: {event['type']}\n".encode() + b"data: " + json.dumps(event).encode() + b"\n\n"
                    for event in responses_events(answer))


@st.composite
def split_points(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """`data` cut at random offsets (between bytes of a UTF-8 character too): upstream reads."""
    if not data:
        return [data]
    cuts = sorted(set(draw(st.lists(st.integers(0, len(data)), max_size=8))))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]
