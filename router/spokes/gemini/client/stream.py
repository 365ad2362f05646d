"""Hub events (an Anthropic Messages stream) → a Gemini `streamGenerateContent?alt=sse` stream, one
machine per request.

Every chunk is `data: <GenerateContentResponse>\\r\\n\\r\\n`, no `event:` line (Google's parsers,
the SDKs' and Gemini CLI's, take only `data: ` lines). A chunk holds only the parts new in it:

    message_start        the response id and usage remembered
    content_block_start  text: its text, if any; thinking: its text starts collecting;
                         tool_use: the call starts collecting (it goes out whole)
    content_block_delta  text_delta       a chunk with one text part
                         thinking_delta   a chunk with one thought part (includeThoughts only)
                         signature_delta  the thinking block's signature, kept
                         input_json_delta the call's arguments, collected (json_response: text)
    content_block_stop   thinking: the block waits for the next part's thoughtSignature;
                         tool_use: one chunk with the whole functionCall (args an object),
                         under the client's name when the request's was rewritten (names.py)
    message_delta        stop reason and usage remembered
    message_stop         the last chunk: finishReason ([values.finish_reason]), usageMetadata
    error                raised, so the relay fails the stream with errors.error_event

The parts and the thoughtSignatures are the unary answer's (answer.py), so a stream folds to
the unary answer of the same hub answer. The last chunk carries no content unless thinking is
left for a signature (an empty text part, as in the unary answer). A failed stream ends with
`data: {"error": {...}}`, on which the google-genai SDK raises; a stream that ends before
message_stop is an UpstreamError (HubEventReader.finish), never a clean end.

Output is pre-encoded bytes: the chunk's head and tail (model, response id) are encoded once per
stream, each delta one template fill around an encoded string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import msgspec

from router.config.target import TargetContext
from router.core.errors import RouterError
from router.core.ids import new_id
from router.core.stream import StreamMachine
from router.hub.events import HubEventReader, merge_usage
from router.hub.messages import Block, StreamEvent
from router.spokes.common.tool_arguments import arguments_text
from router.spokes.gemini.client.answer import (
    RESPONSE_ID_PREFIX,
    finish_reason,
    function_call_part,
    includes_thoughts,
    usage_metadata_of,
)
from router.spokes.gemini.client.names import function_names
from router.spokes.gemini.client.signature import carried, thought_signature
from router.spokes.gemini.client.tools import JSON_RESPONSE_TOOL
from router.spokes.gemini.errors import STREAM_EVENT_END, error_event
from router.spokes.gemini.request_wire import GenerateContentRequest
from router.spokes.spoke import Values

_encode = msgspec.json.Encoder().encode
_decode_arguments = msgspec.json.Decoder().decode

_CHUNK_HEAD = b'data: {"candidates":[{"content":{"role":"model","parts":['
_PARTS_END = b']},"index":0}]'
_FINAL_HEAD = b'data: {"candidates":[{'

# A hub `error` event's type → the upstream status it stands for.
_ERROR_STATUS: Mapping[str, int] = MappingProxyType({"overloaded_error": 529, "rate_limit_error": 429})

_Kind = Literal["text", "thinking", "tool", "json", "other"]


@dataclass(slots=True)
class _Block:
    """An open hub block: what its deltas become, and what it collects until it stops."""

    kind: _Kind
    start: Block = field(default_factory=dict)  # the content_block of content_block_start
    pieces: list[str] = field(default_factory=list)  # thinking text, or the call's arguments
    signature: str | None = None


class GeminiStreamFromHub(HubEventReader):
    """The Gemini spoke's hub events → client stream (a StreamMachine: router.core.stream)."""

    __slots__ = ("_blocks", "_client_names", "_model", "_reasons", "_show_thoughts", "_tail", "_thinking")

    error_statuses = _ERROR_STATUS

    def __init__(self, ctx: TargetContext, *, model: str, show_thoughts: bool, reasons: Mapping[str, str],
                 client_names: Mapping[str, str] | None = None) -> None:
        super().__init__(ctx)
        # hub name → the client's, for the names the request rewrote (names.py); None: none was
        self._client_names = client_names
        self._model = model
        self._show_thoughts = show_thoughts
        self._reasons = reasons  # stop_reason → finishReason ([values.finish_reason])
        self._tail = b""  # `,"modelVersion":…,"responseId":…}` + the event end, set at message_start
        self._blocks: dict[int, _Block] = {}  # open blocks by hub index
        self._thinking: list[Block] = []  # finished thinking waiting for the next part's signature

    # --- the StreamMachine interface ------------------------------------------------------------

    def start(self) -> bytes:
        """Nothing: Gemini streams open with their first part."""
        return b""

    def fail(self, error: RouterError) -> bytes:
        """The error chunk, and nothing after it (no finishReason: a cut answer must not look whole)."""
        if self._ended:
            return b""
        self._ended = True
        return error_event(error)

    def ping(self) -> bytes:
        """Nothing: Gemini streams have no keep-alive, and a comment line is not something
        Google's parsers are known to skip."""
        return b""

    # --- events ---------------------------------------------------------------------------------

    def _on_message_start(self, event: StreamEvent) -> bytes:
        message = event.message
        if message is not None and message.usage is not None:
            merge_usage(self._usage, message.usage)
        if not self._tail:
            response_id = (message.id if message is not None else None) or new_id(RESPONSE_ID_PREFIX)
            self._tail = b',"modelVersion":%s,"responseId":%s}%s' % (
                _encode(self._model), _encode(response_id), STREAM_EVENT_END)
        return b""

    def _on_block_start(self, event: StreamEvent) -> bytes:
        block = event.content_block or {}
        index = event.index
        if index is None:
            return b""  # nothing could refer to it
        kind = block.get("type")
        if kind == "text":
            self._blocks[index] = _Block("text")
            return self._text(block.get("text"))
        if kind == "thinking":
            opened = self._blocks[index] = _Block("thinking", block, signature=block.get("signature") or None)
            return self._thought(opened, block.get("thinking"))
        if kind == "redacted_thinking":
            kept = carried(block)
            if kept is not None:
                self._thinking.append(kept)
            self._blocks[index] = _Block("other")
            return b""
        if kind == "tool_use":
            self._blocks[index] = _Block("json" if block.get("name") == JSON_RESPONSE_TOOL else "tool", block)
            return b""
        self._blocks[index] = _Block("other")  # server tools: no Gemini form
        return b""

    def _on_block_delta(self, event: StreamEvent) -> bytes:
        delta = event.delta
        block = self._blocks.get(event.index) if event.index is not None else None
        if delta is None or block is None:
            return b""
        kind = block.kind
        if kind == "text":
            return self._text(delta.text)
        if kind == "thinking":
            if delta.signature:
                block.signature = delta.signature
            return self._thought(block, delta.thinking)
        if kind == "json":
            if delta.partial_json:
                block.pieces.append(delta.partial_json)
            return self._text(delta.partial_json)
        if kind == "tool" and delta.partial_json:
            block.pieces.append(delta.partial_json)
        return b""

    def _on_block_stop(self, event: StreamEvent) -> bytes:
        block = self._blocks.pop(event.index, None) if event.index is not None else None
        if block is None:
            return b""
        if block.kind == "thinking":
            kept = carried({"type": "thinking", "thinking": "".join(block.pieces), "signature": block.signature})
            if kept is not None:
                self._thinking.append(kept)
        elif block.kind == "tool":
            return self._chunk(self._signed(function_call_part(self._called(block))))
        elif block.kind == "json" and not block.pieces:
            return self._text(arguments_text(block.start.get("input")))  # came whole, or empty
        return b""

    def _on_message_stop(self, event: StreamEvent) -> bytes:
        if not self._tail:
            return b""  # no message_start: finish() reports the broken stream
        self._ended = True
        reason = finish_reason(self._stop_reason, self._reasons)
        candidate = b'"finishReason":%s,"index":0}]' % _encode(reason)
        if self._thinking:  # thinking after the last part: its signature on an empty text part
            part = {"text": "", "thoughtSignature": self._take_signature()}
            candidate = b'"content":{"role":"model","parts":[%s]},%s' % (_encode(part), candidate)
        usage = b',"usageMetadata":' + _encode(usage_metadata_of(self._usage))
        return _FINAL_HEAD + candidate + usage + self._tail

    # --- chunks ---------------------------------------------------------------------------------

    def _text(self, text: str | None) -> bytes:
        if not text:
            return b""
        if self._thinking:
            return self._chunk(self._signed({"text": text}))
        return _CHUNK_HEAD + b'{"text":' + _encode(text) + b"}" + _PARTS_END + self._tail

    def _thought(self, block: _Block, text: str | None) -> bytes:
        if not text:
            return b""
        block.pieces.append(text)
        if not self._show_thoughts:
            return b""
        return _CHUNK_HEAD + b'{"text":' + _encode(text) + b',"thought":true}' + _PARTS_END + self._tail

    def _chunk(self, part: dict[str, Any]) -> bytes:
        return _CHUNK_HEAD + _encode(part) + _PARTS_END + self._tail

    def _signed(self, part: dict[str, Any]) -> dict[str, Any]:
        if self._thinking:
            part["thoughtSignature"] = self._take_signature()
        return part

    def _take_signature(self) -> str:
        signature = thought_signature(self._thinking)
        self._thinking = []
        return signature

    def _called(self, block: _Block) -> Block:
        """The tool_use block whole: its start with the input its fragments make."""
        call = dict(block.start)
        if self._client_names is not None:
            name = call.get("name") or ""
            call["name"] = self._client_names.get(name, name)
        if block.pieces:
            try:
                call["input"] = _decode_arguments("".join(block.pieces))
            except msgspec.DecodeError:
                call["input"] = {}  # arguments cut or broken: Gemini's args must be an object
        return call


GeminiStreamFromHub.handlers = MappingProxyType(
    {
        "message_start": GeminiStreamFromHub._on_message_start,
        "content_block_start": GeminiStreamFromHub._on_block_start,
        "content_block_delta": GeminiStreamFromHub._on_block_delta,
        "content_block_stop": GeminiStreamFromHub._on_block_stop,
        "message_delta": GeminiStreamFromHub._on_message_delta,
        "message_stop": GeminiStreamFromHub._on_message_stop,
        "error": GeminiStreamFromHub._on_error,
    }
)


def stream_from_hub(ctx: TargetContext, model: str, src: GenerateContentRequest, values: Values) -> StreamMachine:
    """The spoke's ClientStreamFactory."""
    names = function_names(src)
    return GeminiStreamFromHub(ctx, model=model, show_thoughts=includes_thoughts(src), reasons=values["finish_reason"],
                               client_names=names.to_client if names is not None else None)
