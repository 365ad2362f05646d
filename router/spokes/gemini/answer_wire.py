"""What a Gemini upstream answers (`generateContent`, and each `data:` event of
`streamGenerateContent?alt=sse`): a GenerateContentResponse with its candidates, their parts,
the usage and the prompt's feedback.

Read leniently, like the other spokes' answer Structs: Google adds part kinds and fields often
(safetyRatings, citationMetadata, groundingMetadata, logprobs... are not read, so they are not
declared and are skipped), and compatible servers leave fields out. Nothing is required. The
wire is camelCase (`rename="camel"`); `omit_defaults` lets the same Structs be encoded as an
answer without writing nulls.
"""

from __future__ import annotations

from typing import Any

import msgspec


class FunctionCall(msgspec.Struct, rename="camel", omit_defaults=True):
    """A whole call (never split across stream chunks): `args` is a JSON object, not text."""

    name: str | None = None
    args: dict[str, Any] | None = None
    id: str | None = None


class Blob(msgspec.Struct, rename="camel", omit_defaults=True, gc=False):
    """`inlineData`: base64 bytes (an image a model drew, for instance)."""

    mime_type: str | None = None
    data: str | None = None


class Part(msgspec.Struct, rename="camel", omit_defaults=True):
    """One part of a candidate's content; which member is set says its kind:

        text                 text (a thought summary when `thought` is true)
        functionCall         a tool call
        inlineData           bytes the model produced
        executableCode, codeExecutionResult   Gemini's built-in code execution (not read)

    `thoughtSignature` (opaque base64) may ride on any part; the client must send it back on
    the same part of the turn."""

    text: str | None = None
    thought: bool | None = None
    thought_signature: str | None = None
    function_call: FunctionCall | None = None
    inline_data: Blob | None = None
    executable_code: Any = None
    code_execution_result: Any = None


class Content(msgspec.Struct, rename="camel", omit_defaults=True):
    role: str | None = None  # "model" in answers
    parts: list[Part] | None = None


class Candidate(msgspec.Struct, rename="camel", omit_defaults=True):
    """One answer. In a stream chunk `content.parts` holds only the parts new in that chunk;
    `finishReason` comes on the last one (STOP, MAX_TOKENS, SAFETY, RECITATION,
    MALFORMED_FUNCTION_CALL, ...)."""

    content: Content | None = None
    finish_reason: str | None = None
    finish_message: str | None = None
    index: int | None = None


class UsageMetadata(msgspec.Struct, rename="camel", omit_defaults=True, gc=False):
    """`promptTokenCount` includes the cached tokens (`cachedContentTokenCount`);
    `candidatesTokenCount` excludes the thinking tokens (`thoughtsTokenCount`)."""

    prompt_token_count: int | None = None
    candidates_token_count: int | None = None
    thoughts_token_count: int | None = None
    cached_content_token_count: int | None = None
    tool_use_prompt_token_count: int | None = None
    total_token_count: int | None = None


class PromptFeedback(msgspec.Struct, rename="camel", omit_defaults=True, gc=False):
    """Set when the prompt itself was blocked (no candidates then): blockReason SAFETY,
    BLOCKLIST, PROHIBITED_CONTENT, IMAGE_SAFETY, OTHER."""

    block_reason: str | None = None
    block_reason_message: str | None = None


class ErrorStatus(msgspec.Struct, rename="camel", omit_defaults=True, gc=False):
    """Google's error body, `{"error": {"code", "message", "status"}}`; a stream may end with
    one as its last `data:` event."""

    code: int | None = None
    message: str | None = None
    status: str | None = None


class GenerateContentResponse(msgspec.Struct, rename="camel", omit_defaults=True):
    """A unary answer, or one chunk of a stream."""

    candidates: list[Candidate] | None = None
    usage_metadata: UsageMetadata | None = None
    model_version: str | None = None
    response_id: str | None = None
    prompt_feedback: PromptFeedback | None = None
    error: ErrorStatus | None = None
