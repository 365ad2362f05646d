"""ConverseStream → Anthropic Messages SSE events (the hub's), one machine per request.

The binary event stream arrives already reframed as SSE (router.spokes.bedrock.eventstream):
one event per frame, named by its `:event-type`, its payload as data. Converse's grammar:

    messageStart {role}
    (contentBlockStart? contentBlockDelta* contentBlockStop)*    contentBlockIndex 0, 1, 2 ...
    messageStop {stopReason, additionalModelResponseFields}
    metadata {usage, metrics, trace}                             after messageStop

Only a tool call's block has a contentBlockStart (its id and name); text and reasoning blocks
begin with their first delta. Hub blocks, in the order they come:

    delta.text                          text block, text_delta
    start.toolUse + delta.toolUse       tool_use block, input_json_delta (the input's JSON in pieces)
    delta.reasoningContent.text         thinking block, thinking_delta
    delta.reasoningContent.signature    signature_delta on the thinking block (one of its own if
                                        the signature comes alone)
    delta.reasoningContent.redactedContent   a whole redacted_thinking block, its data the
                                        base64 as sent (it goes back to Bedrock the same way)

Citation, tool-result and image deltas have no hub block and are left out. The hub's indices
count the blocks the hub sees; a block ends at its contentBlockStop, or when another begins.

The usage comes in metadata, after messageStop: message_delta (stop reason, stop sequence,
usage) and message_stop go out at metadata, or when the body ends after a messageStop without
one (the answer was whole; only its count is missing). A body that ends before messageStop is an
upstream error, never a clean end; so is a stop reason that says the model's output was broken.
Output is pre-encoded bytes; the per-delta events are one template fill each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from router.config.target import TargetContext
from router.core.errors import UpstreamProtocolError
from router.core.ids import new_id
from router.core.sse import SSEEvent, encode_event
from router.core.stream import StreamMachine
from router.core.usage import Tokens
from router.hub.event_bytes import (
    BLOCK_START,
    BLOCK_STOP,
    JSON_DELTA,
    MESSAGE_STOP,
    SIGNATURE_DELTA,
    TEXT_BLOCK,
    TEXT_DELTA,
    THINKING_BLOCK,
    THINKING_DELTA,
    take,
)
from router.spokes.bedrock.stream_wire import (
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
    MessageStop,
    Metadata,
    ReasoningDelta,
    TokenUsage,
)
from router.spokes.bedrock.usage import usage_tokens
from router.spokes.common.hub_stream import HubEventWriter
from router.spokes.tables import mapped_value

# The [values.*] table of schemas/bedrock.upstream.toml that maps Converse's stop reasons.
STOP_VALUES = "stop_reason"
# Stop reasons that say the answer is broken, not finished: an error, as the unary answer's.
FAILED_STOPS = frozenset({"malformed_model_output", "malformed_tool_use"})
MESSAGE_ID_PREFIX = "msg_bdrk_"

_decode_delta = msgspec.json.Decoder(ContentBlockDelta).decode
_decode_start = msgspec.json.Decoder(ContentBlockStart).decode
_decode_stop = msgspec.json.Decoder(ContentBlockStop).decode
_decode_message_stop = msgspec.json.Decoder(MessageStop).decode
_decode_metadata = msgspec.json.Decoder(Metadata).decode
_encode = msgspec.json.Encoder().encode

_Kind = Literal["text", "thinking", "tool"]


class HubStreamFromConverse(HubEventWriter):
    """The Bedrock spoke's ConverseStream → hub events (a StreamMachine: router.core.stream).
    Reads events whole: Converse names each one, and the name says how to decode it."""

    reads: Literal["events"] = "events"

    __slots__ = ("_block", "_ctx", "_index", "_kind", "_model", "_started", "_stop", "_stop_values", "_usage")

    def __init__(self, ctx: TargetContext, *, model: str, stop_values: Mapping[str, str]) -> None:
        super().__init__()
        self._ctx = ctx
        self._model = model
        self._stop_values = stop_values
        self._started = False  # message_start sent
        self._index = -1  # the hub index of the last block started
        self._block: int | None = None  # Converse's index of the open block, None when none is open
        self._kind: _Kind = "text"  # the open block's kind (meaningless while none is open)
        self._stop: tuple[str | None, str | None] | None = None  # messageStop's (stop reason, stop sequence)
        self._usage: TokenUsage | None = None

    # --- the StreamMachine interface ------------------------------------------------------------

    def start(self) -> bytes:
        """Nothing yet: message_start goes out at messageStart, so that a stream refused at
        once (an exception frame first) is only its error event."""
        return b""

    def on_event(self, event: SSEEvent) -> bytes:
        """One Converse event. Raises UpstreamError on a payload it cannot read."""
        if self._ended:
            return b""
        name = event.event
        try:
            if name == "contentBlockDelta":  # nearly every event: tested first
                self._delta(_decode_delta(event.data))
            elif name == "contentBlockStart":
                self._block_start(_decode_start(event.data))
            elif name == "contentBlockStop":
                self._block_stop(_decode_stop(event.data).index)
            elif name == "messageStart":
                self._begin()
            elif name == "messageStop":
                self._message_stop(_decode_message_stop(event.data))
            elif name == "metadata":
                self._metadata(_decode_metadata(event.data))
            # any other event is one newer than this code: nothing the hub has a place for
        except (msgspec.DecodeError, RecursionError) as exc:  # ValidationError is a DecodeError
            raise UpstreamProtocolError(
                f"upstream {self._ctx.upstream!r} sent an invalid {name} event: {exc}") from None
        return take(self._out) if self._out else b""

    def on_data(self, data: bytes) -> bytes:
        """An event without a name: Converse names every event, so it is none of Converse's."""
        return b""

    def finish(self) -> bytes:
        """The body ended. After messageStop the answer is whole: end it with the usage known
        (none, without metadata). Before it, the upstream died mid-answer: an error."""
        if not self._ended and self._stop is not None:
            self._end()
            return take(self._out)
        return super().finish()

    def tokens(self) -> Tokens | None:
        """Every prompt token, cached or not (the cache's reads and writes apart too), and the answer's."""
        usage = self._usage
        return None if usage is None else usage_tokens(usage)

    # --- the message ----------------------------------------------------------------------------

    def _begin(self) -> None:
        if not self._started:
            self._started = True
            # The usage comes last: message_start says 0 input tokens, message_delta the count.
            self._start_message(new_id(MESSAGE_ID_PREFIX), self._ctx.model or self._model, 0)

    def _message_stop(self, stop: MessageStop) -> None:
        reason = stop.stop_reason
        if reason in FAILED_STOPS:
            raise UpstreamProtocolError(f"upstream {self._ctx.upstream!r} finished with {reason}")
        self._begin()
        self._close()
        fields = stop.additional_model_response_fields
        sequence = fields.get("stop_sequence") if isinstance(fields, dict) else None
        self._stop = (mapped_value(self._stop_values, reason), sequence if isinstance(sequence, str) else None)

    def _metadata(self, metadata: Metadata) -> None:
        if metadata.usage is not None:
            self._usage = metadata.usage
        if self._stop is not None:
            self._end()

    def _end(self) -> None:
        """message_delta (with the stop sequence, which the shared writer has no place for) and
        message_stop: nothing may follow."""
        reason, sequence = self._stop or (None, None)
        payload = {"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": sequence},
                   "usage": usage_to_hub(self._usage)}
        self._out.append(encode_event("message_delta", _encode(payload)))
        self._out.append(MESSAGE_STOP)
        self._ended = True
        self._hub_stop = reason

    # --- blocks ---------------------------------------------------------------------------------

    def _block_start(self, event: ContentBlockStart) -> None:
        call = event.start.tool_use
        if call is None:
            return  # a tool result or an image: no hub block (their deltas are left out too)
        block = {"type": "tool_use", "id": call.tool_use_id, "name": call.name, "input": {}}
        self._open(event.index, "tool", _encode(block))

    def _delta(self, event: ContentBlockDelta) -> None:
        delta = event.delta
        text = delta.text
        if text is not None:
            if text:  # an empty piece would open an empty block
                if self._block != event.index or self._kind != "text":
                    self._open(event.index, "text", TEXT_BLOCK)
                self._out.append(TEXT_DELTA % (self._index, _encode(text)))
        elif delta.tool_use is not None:
            if self._block != event.index or self._kind != "tool":
                raise UpstreamProtocolError(
                    f"upstream {self._ctx.upstream!r} sent tool input for block {event.index}, "
                    "which no toolUse start opened")
            self._out.append(JSON_DELTA % (self._index, _encode(delta.tool_use.input)))
        elif delta.reasoning_content is not None:
            self._reasoning(event.index, delta.reasoning_content)

    def _reasoning(self, index: int, delta: ReasoningDelta) -> None:
        if delta.redacted_content is not None:
            self._open(index, "thinking", _encode({"type": "redacted_thinking", "data": delta.redacted_content}))
            self._close()  # whole at its start: later deltas of this index, if any, start blocks of their own
            return
        if self._block != index or self._kind != "thinking":
            self._open(index, "thinking", THINKING_BLOCK)
        if delta.text:
            self._out.append(THINKING_DELTA % (self._index, _encode(delta.text)))
        if delta.signature is not None:
            self._out.append(SIGNATURE_DELTA % (self._index, _encode(delta.signature)))

    def _block_stop(self, index: int) -> None:
        if self._block == index:
            self._close()

    def _open(self, index: int, kind: _Kind, content_block: bytes) -> None:
        """Close the open block and start the next hub block, for Converse's block `index`."""
        self._begin()
        self._close()
        self._index += 1
        self._out.append(BLOCK_START % (self._index, content_block))
        self._block = index
        self._kind = kind

    def _close(self) -> None:
        if self._block is not None:
            self._out.append(BLOCK_STOP % self._index)
            self._block = None


def usage_to_hub(usage: TokenUsage | None) -> dict[str, int]:
    """Converse counts input like Anthropic: `inputTokens` without the cache's reads and writes."""
    if usage is None:
        return {"input_tokens": 0, "output_tokens": 0}
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens or 0,
        "cache_creation_input_tokens": usage.cache_write_input_tokens or 0,
    }


def stream_to_hub(ctx: TargetContext, model: str, values: Mapping[str, Mapping[str, Any]]) -> StreamMachine:
    """The spoke's HubStreamFactory: one machine per streamed request."""
    return HubStreamFromConverse(ctx, model=model, stop_values=values[STOP_VALUES])
