"""Gemini stream (`:streamGenerateContent?alt=sse`) → Anthropic Messages SSE events (the hub's),
one machine per request.

Anthropic's stream is a strict grammar:

    message_start
    (content_block_start  content_block_delta*  content_block_stop)*   indices 0, 1, 2 ...
    message_delta  message_stop                                        exactly once, at the end
    ping may appear anywhere; `error` ends the stream instead (never followed by message_stop)

Gemini's is simpler: every `data:` event is a whole GenerateContentResponse whose first
candidate holds only the parts new in it; the last one carries `finishReason` (and the usage).
Parts become blocks by the rules the unary conversion follows (router.spokes.gemini.upstream.
answer), so a folded stream equals it:

    thought text          thinking deltas; the block stays open while thoughts follow
    text                  text deltas; the block stays open while text follows
    functionCall          a whole tool_use block: start, the args as one input_json_delta, stop
    thoughtSignature      a signature_delta ending the open thinking block, or an empty
                          thinking block of its own before the part's block

The stream ends at the chunk with a finishReason; a chunk with an `error`, a failed function
call (MALFORMED_FUNCTION_CALL ...) or a body that ends before a finishReason is an upstream
error, never a clean end (the relay sends the client's error event). Output is pre-encoded
bytes; the per-part events are byte templates filled once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from router.config.target import TargetContext
from router.core.errors import UpstreamProtocolError
from router.core.sse import DataRun
from router.core.stream import StreamMachine
from router.core.usage import Tokens
from router.hub.event_bytes import (
    BLOCK_START,
    BLOCK_STOP,
    JSON_DELTA,
    SIGNATURE_DELTA,
    TEXT_BLOCK,
    TEXT_DELTA,
    THINKING_BLOCK,
    THINKING_DELTA,
    take,
)
from router.spokes.common.hub_stream import HubEventWriter
from router.spokes.gemini.answer_wire import (
    FunctionCall,
    GenerateContentResponse,
    Part,
    UsageMetadata,
)
from router.spokes.gemini.upstream.answer import (
    PROMPT_BLOCKED,
    failure,
    stop_key,
    usage_to_hub,
)
from router.spokes.gemini.upstream.signature import signature_for
from router.spokes.openai.upstream.answer import message_id, tool_use_id
from router.spokes.tables import mapped_value

_decode_chunk = msgspec.json.Decoder(GenerateContentResponse).decode
_decode_chunks = msgspec.json.Decoder(list[GenerateContentResponse]).decode
_encode = msgspec.json.Encoder().encode

_Live = Literal["text", "thinking"] | None


class HubStreamFromGemini(HubEventWriter):
    """The Gemini spoke's upstream stream → hub events (a StreamMachine: router.core.stream)."""

    reads: Literal["runs"] = "runs"

    __slots__ = ("_called", "_ctx", "_index", "_live", "_model", "_started", "_stop_values", "_usage")

    def __init__(self, ctx: TargetContext, *, model: str, stop_values: Mapping[str, str]) -> None:
        super().__init__()
        self._ctx = ctx
        self._model = model
        self._stop_values = stop_values
        self._started = False  # message_start sent
        self._index = -1  # the index of the last block started
        self._live: _Live = None  # the kind of the open block that later parts may continue
        self._called = False  # a function call was streamed: the stop reason is tool_use
        self._usage: UsageMetadata | None = None  # the latest chunk's

    # --- the StreamMachine interface ------------------------------------------------------------

    def start(self) -> bytes:
        """Nothing yet: message_start carries the upstream's response id, in its first chunk."""
        return b""

    def on_data(self, data: bytes) -> bytes:
        """One chunk. Raises UpstreamError on a broken chunk, an `error` or a failed call."""
        if self._ended or not data or data.isspace():
            return b""
        try:
            chunk = _decode_chunk(data)
        except msgspec.DecodeError as exc:
            raise UpstreamProtocolError(f"upstream {self._ctx.upstream!r} sent an invalid stream chunk: {exc}") from None
        if chunk.error is not None:
            raise failure(chunk.error)
        self._chunk(chunk)
        return take(self._out)

    def on_run(self, run: DataRun) -> bytes | None:
        """Several chunks at once (the relay's fast path: router.core.sse.DataRun), decoded in
        one call, with what `on_data` would make of them one by one. None, with nothing
        changed, when one needs `on_data`'s care (a broken or empty payload, an `error`): the
        relay then feeds them one by one, and `on_data` raises at that one."""
        if self._ended:
            return None
        try:
            chunks = _decode_chunks(run.json_array())
        except msgspec.DecodeError:
            return None
        if len(chunks) != run.count or any(chunk.error is not None for chunk in chunks):
            return None
        for chunk in chunks:
            self._chunk(chunk)
            if self._ended:
                break  # the finishReason chunk ends the stream: later ones are ignored, as on_data does
        return take(self._out)

    def _chunk(self, chunk: GenerateContentResponse) -> None:
        if chunk.usage_metadata is not None:
            self._usage = chunk.usage_metadata
        if not self._started:
            self._begin(chunk.response_id)
        candidates = chunk.candidates
        if candidates:
            candidate = candidates[0]
            content = candidate.content
            if content is not None and content.parts:
                for part in content.parts:
                    self._part(part)
            if candidate.finish_reason is not None:
                self._end(stop_key(candidate.finish_reason, self._called, candidate.finish_message))
        elif chunk.prompt_feedback is not None and chunk.prompt_feedback.block_reason:
            self._end(PROMPT_BLOCKED)

    def tokens(self) -> Tokens | None:
        """The latest usage's counts: the prompt (cached tokens included, and apart as cache
        reads), and the answer with its thinking. Gemini reports no cache writes."""
        usage = self._usage
        if usage is None:
            return None
        return Tokens(usage.prompt_token_count or 0,
                      (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0),
                      usage.cached_content_token_count or 0)

    # --- the message ----------------------------------------------------------------------------

    def _begin(self, response_id: str | None) -> None:
        self._started = True
        self._start_message(message_id(response_id), self._model, usage_to_hub(self._usage)["input_tokens"])

    def _end(self, key: str | None) -> None:
        self._stop()
        self._end_message(mapped_value(self._stop_values, key), usage_to_hub(self._usage))

    # --- parts ----------------------------------------------------------------------------------

    def _part(self, part: Part) -> None:
        text = part.text
        signature = part.thought_signature
        if part.thought:
            if text:
                self._thinking(text)
            if signature is not None:
                self._sign(signature)
            return
        if signature is not None:
            self._sign(signature)
        call = part.function_call
        if call is not None:
            self._tool(call)
        elif text:
            if self._live != "text":
                self._start("text", TEXT_BLOCK)
            self._out.append(TEXT_DELTA % (self._index, _encode(text)))

    def _thinking(self, text: str) -> None:
        if self._live != "thinking":
            self._start("thinking", THINKING_BLOCK)
        self._out.append(THINKING_DELTA % (self._index, _encode(text)))

    def _sign(self, signature: str) -> None:
        """The signature ends the open thinking block, or one of its own (empty)."""
        if self._live != "thinking":
            self._start("thinking", THINKING_BLOCK)
        self._out.append(SIGNATURE_DELTA % (self._index, _encode(signature_for(self._ctx.upstream, signature))))
        self._stop()

    def _tool(self, call: FunctionCall) -> None:
        """A call comes whole: its block starts, says its arguments and stops at once."""
        self._called = True
        block = {"type": "tool_use", "id": tool_use_id(call.id), "name": call.name or "", "input": {}}
        self._start(None, _encode(block))
        index = self._index
        self._out.append(JSON_DELTA % (index, _encode(_encode(call.args or {}).decode())))
        self._out.append(BLOCK_STOP % index)

    # --- blocks ---------------------------------------------------------------------------------

    def _start(self, live: _Live, content_block: bytes) -> None:
        """Stop the open block and start the next one (`live`: the kind later parts may continue)."""
        self._stop()
        self._index += 1
        self._out.append(BLOCK_START % (self._index, content_block))
        self._live = live

    def _stop(self) -> None:
        """Stop the block still open, if any (a tool_use block never stays open: _tool stops it)."""
        if self._live is not None:
            self._out.append(BLOCK_STOP % self._index)
            self._live = None


def stream_to_hub(ctx: TargetContext, model: str, values: Mapping[str, Mapping[str, Any]]) -> StreamMachine:
    """The spoke's HubStreamFactory: one machine per streamed request."""
    return HubStreamFromGemini(ctx, model=model, stop_values=values["finish_reason"])
