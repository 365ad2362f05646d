"""A Gemini request (`POST /v1beta/models/{model}:generateContent`, `:streamGenerateContent`,
`:countTokens`), as clients send it: Gemini CLI and the google-genai SDKs.

The wire is camelCase. The API also takes snake_case (protobuf JSON), and clients use it: the
google-genai SDK sends `thinkingConfig: {"include_thoughts": true, "thinking_budget": 1024}`.
So every field a converter reads is accepted under both names: the top-level objects through
a second field and an accessor, the settings inside them through a `<name>_snake` field whose
value moves to `<name>` after decoding when the camelCase one was not sent (`_EitherCase`; an
absent field costs the decoder nothing). Lenient like every client
request: unknown fields are ignored, never a 400. Contents, parts and tools stay plain dicts
(Google adds part and tool kinds often); the converters read the fields they use (either
spelling) and name the path when one is wrong.

The model and the method are not in the body but in the URL path: the gateway sets `model`,
`stream` and `sse` after decoding (a body that happens to carry `model` is overwritten).
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from router.core.errors import InvalidRequest
from router.hub.messages import RoutingFields

Item = dict[str, Any]

# What a checked routing decode's `contents` is replaced with: the raw view of the body is let
# go at once (as router.gateway.bodycheck does for `messages`).
CHECKED = msgspec.Raw(b"[]")
_MISSING = msgspec.Raw(b"")
_JSON_KINDS = {ord("{"): "object", ord('"'): "str", ord("n"): "null", ord("t"): "bool", ord("f"): "bool"}


class _EitherCase(msgspec.Struct, rename="camel"):
    """Settings read under either spelling: `SNAKE` names the fields that have a `<name>_snake`
    twin (its wire name the snake_case one); the camelCase value wins when both are sent."""

    SNAKE: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for name in self.SNAKE:
            if getattr(self, name) is None:
                setattr(self, name, getattr(self, name + "_snake"))


def _snake(name: str) -> Any:
    """The snake_case twin of field `name`."""
    return msgspec.field(default=None, name=name)


class ThinkingConfig(_EitherCase):
    SNAKE: ClassVar[tuple[str, ...]] = ("include_thoughts", "thinking_budget", "thinking_level")
    include_thoughts: bool | None = None  # thought summaries in the answer (`thought: true` parts)
    thinking_budget: int | None = None  # 0: off, -1: dynamic, n: tokens
    thinking_level: str | None = None  # Gemini 3: MINIMAL | LOW | MEDIUM | HIGH
    include_thoughts_snake: bool | None = _snake("include_thoughts")
    thinking_budget_snake: int | None = _snake("thinking_budget")
    thinking_level_snake: str | None = _snake("thinking_level")


class GenerationConfig(_EitherCase):
    SNAKE: ClassVar[tuple[str, ...]] = (
        "top_p", "top_k", "candidate_count", "max_output_tokens", "stop_sequences", "response_mime_type",
        "response_schema", "response_json_schema", "thinking_config")
    temperature: float | None = None
    top_p: float | None = None
    top_k: float | None = None  # an integer on the wire; the Python SDK types it float
    candidate_count: int | None = None
    max_output_tokens: int | None = None
    stop_sequences: list[str] | None = None
    response_mime_type: str | None = None  # application/json: structured output
    response_schema: dict[str, Any] | None = None  # OpenAPI subset (upper-case type names)
    response_json_schema: dict[str, Any] | None = None  # JSON Schema
    thinking_config: ThinkingConfig | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: int | None = None
    response_logprobs: bool | None = None
    logprobs: int | None = None
    response_modalities: list[str] | None = None
    media_resolution: str | None = None
    speech_config: dict[str, Any] | None = None
    top_p_snake: float | None = _snake("top_p")
    top_k_snake: float | None = _snake("top_k")
    candidate_count_snake: int | None = _snake("candidate_count")
    max_output_tokens_snake: int | None = _snake("max_output_tokens")
    stop_sequences_snake: list[str] | None = _snake("stop_sequences")
    response_mime_type_snake: str | None = _snake("response_mime_type")
    response_schema_snake: dict[str, Any] | None = _snake("response_schema")
    response_json_schema_snake: dict[str, Any] | None = _snake("response_json_schema")
    thinking_config_snake: ThinkingConfig | None = _snake("thinking_config")


class FunctionCallingConfig(_EitherCase):
    SNAKE: ClassVar[tuple[str, ...]] = ("allowed_function_names",)
    mode: str | None = None  # AUTO | ANY | NONE | VALIDATED
    allowed_function_names: list[str] | None = None
    allowed_function_names_snake: list[str] | None = _snake("allowed_function_names")


class ToolConfig(_EitherCase):
    SNAKE: ClassVar[tuple[str, ...]] = ("function_calling_config",)
    function_calling_config: FunctionCallingConfig | None = None
    retrieval_config: dict[str, Any] | None = None  # latitude/longitude for Maps grounding
    function_calling_config_snake: FunctionCallingConfig | None = _snake("function_calling_config")


class GenerateContentRequest(msgspec.Struct, kw_only=True):
    contents: list[Item] = []
    system_instruction: Item | str | None = msgspec.field(default=None, name="systemInstruction")
    tools: list[Item] | None = None
    tool_config: ToolConfig | None = msgspec.field(default=None, name="toolConfig")
    generation_config: GenerationConfig | None = msgspec.field(default=None, name="generationConfig")
    safety_settings: list[Item] | None = msgspec.field(default=None, name="safetySettings")
    cached_content: str | None = msgspec.field(default=None, name="cachedContent")
    labels: dict[str, Any] | None = None
    # The same objects under their snake_case names (the API accepts both).
    system_instruction_snake: Item | str | None = msgspec.field(default=None, name="system_instruction")
    tool_config_snake: ToolConfig | None = msgspec.field(default=None, name="tool_config")
    generation_config_snake: GenerationConfig | None = msgspec.field(default=None, name="generation_config")
    cached_content_snake: str | None = msgspec.field(default=None, name="cached_content")
    # Not on the wire: the gateway sets them from the URL path after decoding.
    model: str = ""
    stream: bool = False
    sse: bool = True  # `?alt=sse`; False: the stream is one JSON array (array_stream.py)


def generation_config(src: GenerateContentRequest) -> GenerationConfig | None:
    return src.generation_config if src.generation_config is not None else src.generation_config_snake


def tool_config(src: GenerateContentRequest) -> ToolConfig | None:
    return src.tool_config if src.tool_config is not None else src.tool_config_snake


def system_instruction(src: GenerateContentRequest) -> Item | str | None:
    return src.system_instruction if src.system_instruction is not None else src.system_instruction_snake


class GeminiRouting(RoutingFields, kw_only=True):
    """The first decode: `model` and `stream` come from the URL path (the gateway sets them
    afterwards); `contents` stays raw, checked to be a non-empty array."""

    model: str = ""
    contents: msgspec.Raw = _MISSING


_decode_routing = msgspec.json.Decoder(GeminiRouting).decode


def decode_routing(body: bytes) -> GeminiRouting:
    """The routing fields, and `contents` checked as the API checks it (a 400 naming it)."""
    routing = _decode_routing(body)
    require_contents(routing.contents)
    routing.contents = CHECKED
    return routing


def require_contents(contents: msgspec.Raw) -> None:
    view = memoryview(contents)
    if not len(view):
        raise InvalidRequest("invalid request: contents: required, the conversation to answer - at `$.contents`",
                             param="contents")
    first = view[0]
    if first != ord("["):
        kind = _JSON_KINDS.get(first, "number")
        raise InvalidRequest(f"invalid request: contents: Expected `array`, got `{kind}` - at `$.contents`",
                             param="contents")
    rest = bytes(view[1:65]).lstrip() or bytes(view[1:]).lstrip()
    if rest.startswith(b"]"):
        raise InvalidRequest("invalid request: contents: required, at least one content - at `$.contents`",
                             param="contents")


class CountTokensRequest(msgspec.Struct, kw_only=True):
    """`:countTokens` takes `contents` alone, or a whole `generateContentRequest` (whose tools and
    system instruction count too)."""

    contents: list[Item] | None = None
    generate_content_request: GenerateContentRequest | None = msgspec.field(
        default=None, name="generateContentRequest")


_decode_count = msgspec.json.Decoder(CountTokensRequest).decode


def count_tokens_request(body: bytes) -> GenerateContentRequest:
    """The request whose input `:countTokens` counts."""
    count = _decode_count(body)
    if count.generate_content_request is not None:
        return count.generate_content_request
    if not count.contents:
        raise InvalidRequest("invalid request: contents: required, the conversation to count - at `$.contents`",
                             param="contents")
    return GenerateContentRequest(contents=count.contents)
