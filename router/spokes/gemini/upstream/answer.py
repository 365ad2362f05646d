"""Gemini GenerateContentResponse → Anthropic message: the structural parts the field table
(schemas/gemini.upstream.toml, [response]) calls.

The first candidate's parts become blocks in their order (Gemini splits an answer into many
parts; consecutive ones of a kind make one block, as the stream machine makes one):

    {"text", "thought": true}       thinking (its thoughtSignature, if any, signs it and ends it)
    {"text"}                        text
    {"functionCall"}                tool_use (the call's id, or one made up)
    a thoughtSignature on a part    signs the open thinking block (one without a signature), or
    that is not a thought           else a thinking block of its own, empty, placed before the
                                    part's block: so it goes back on that part next turn
                                    (router.spokes.gemini.upstream.request)
    inlineData, executableCode ...  nothing: pictures the model drew and Gemini's built-in code
                                    execution (never asked for) have no hub form

The stream machine (stream.py) follows the same rules, so a folded stream and the unary
conversion of the same answer agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from router.config.target import TargetContext
from router.core.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError
from router.spokes.gemini.answer_wire import (
    Candidate,
    ErrorStatus,
    FunctionCall,
    GenerateContentResponse,
    Part,
    UsageMetadata,
)
from router.spokes.gemini.upstream.signature import signature_for
from router.spokes.openai.upstream.answer import message_id, tool_use_id

Block = dict[str, Any]

# The finish reasons that say the model produced a call it should not have: the answer is not
# whole (Gemini sends no content with them), and an empty end_turn would pass it off as
# finished. An upstream error instead: retried by failover and by clients (Gemini CLI itself
# retries these).
FAILED_CALLS = frozenset({"MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL"})
TOOL_USE = "TOOL_USE"  # the key of [values.finish_reason] for an answer that called functions
PROMPT_BLOCKED = "PROMPT_BLOCKED"  # no candidates: the prompt itself was blocked


def response_model(src: GenerateContentResponse, ctx: TargetContext) -> str:
    """The model the target was asked for (what the client sees in the stream, too)."""
    return ctx.model or src.model_version or ""


def response_id(src: GenerateContentResponse) -> str:
    return message_id(src.response_id)


def first_candidate(src: GenerateContentResponse) -> Candidate | None:
    return src.candidates[0] if src.candidates else None


def candidate_parts(candidate: Candidate | None) -> list[Part]:
    if candidate is None or candidate.content is None:
        return []
    return candidate.content.parts or []


def content_from_gemini(src: GenerateContentResponse, ctx: TargetContext) -> list[Block]:
    blocks: list[Block] = []
    for part in candidate_parts(first_candidate(src)):
        add_part(blocks, part, ctx)
    return blocks


def add_part(blocks: list[Block], part: Part, ctx: TargetContext) -> None:
    """One part's blocks, merged into the last block when it continues it."""
    last = blocks[-1] if blocks else None
    signature = part.thought_signature
    if part.thought:
        if part.text:
            if _open_thinking(last):
                assert last is not None
                last["thinking"] += part.text
            else:
                blocks.append(thinking_block(part.text))
            last = blocks[-1]
        if signature is not None:
            _sign(blocks, last, signature, ctx)
        return
    if signature is not None:
        _sign(blocks, last, signature, ctx)
        last = blocks[-1]
    call = part.function_call
    if call is not None:
        blocks.append(tool_use_block(call))
    elif part.text:
        if last is not None and last["type"] == "text":
            last["text"] += part.text
        else:
            blocks.append({"type": "text", "text": part.text})


def _sign(blocks: list[Block], last: Block | None, signature: str, ctx: TargetContext) -> None:
    """The signature ends the open thinking block (`last`), or one of its own (empty)."""
    if _open_thinking(last):
        assert last is not None
        last["signature"] = signature_for(ctx.upstream, signature)
    else:
        blocks.append(thinking_block("", signature_for(ctx.upstream, signature)))


def _open_thinking(block: Block | None) -> bool:
    """A thinking block that has no signature yet: more thought, or a signature, may join it."""
    return block is not None and block["type"] == "thinking" and not block["signature"]


def thinking_block(text: str, signature: str = "") -> Block:
    return {"type": "thinking", "thinking": text, "signature": signature}


def tool_use_block(call: FunctionCall) -> Block:
    return {"type": "tool_use", "id": tool_use_id(call.id), "name": call.name or "", "input": call.args or {}}


def stop_reason_of(src: GenerateContentResponse) -> str | None:
    """The key of `[values.finish_reason]`; a failed call raises."""
    candidate = first_candidate(src)
    if candidate is None:
        feedback = src.prompt_feedback
        return PROMPT_BLOCKED if feedback is not None and feedback.block_reason else None
    called = any(part.function_call is not None for part in candidate_parts(candidate))
    return stop_key(candidate.finish_reason, called, candidate.finish_message)


def stop_key(finish_reason: str | None, called: bool, message: str | None) -> str | None:
    """Function calls mean `tool_use` when the model stopped by itself (Gemini says STOP)."""
    if finish_reason in FAILED_CALLS:
        raise UpstreamProtocolError(f"upstream finished with {finish_reason}: {message or 'no reason given'}")
    if called and finish_reason in (None, "STOP"):
        return TOOL_USE
    return finish_reason


def usage_to_hub(usage: UsageMetadata | None) -> dict[str, int]:
    """Gemini's prompt count includes the cached tokens, Anthropic's input_tokens does not;
    the thinking tokens are output, as Anthropic counts them."""
    if usage is None:
        return {"input_tokens": 0, "output_tokens": 0}
    cached = usage.cached_content_token_count or 0
    return {
        "input_tokens": max((usage.prompt_token_count or 0) - cached, 0),
        "output_tokens": (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0),
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": 0,
    }


def failure(error: ErrorStatus) -> UpstreamError:
    """An error a stream ends with (Google's `{"error": {code, message, status}}`): a rate limit
    or an overload keeps its status, so clients back off; everything else is the upstream's
    failure."""
    text = f"upstream stream error: {error.message or error.status or 'no reason given'}"
    code = error.code if error.code in _KEPT_STATUSES else _STATUS_BY_NAME.get(error.status or "")
    return UpstreamStatusError(code, text) if code is not None else UpstreamProtocolError(text)


_KEPT_STATUSES = frozenset({429, 500, 503, 504})
_STATUS_BY_NAME: Mapping[str, int] = MappingProxyType(
    {"RESOURCE_EXHAUSTED": 429, "INTERNAL": 500, "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504}
)


FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "response_id": response_id,
        "response_model": response_model,
        "content_from_gemini": content_from_gemini,
        "stop_reason_of": stop_reason_of,
        "usage_to_hub": usage_to_hub,
    }
)
