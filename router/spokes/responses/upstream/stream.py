"""OpenAI Responses stream → Anthropic Messages SSE events (the hub's), one machine per request.

Anthropic's stream is a strict grammar:

    message_start
    (content_block_start  content_block_delta*  content_block_stop)*   indices 0, 1, 2 ...
    message_delta  message_stop                                        exactly once, at the end
    ping may appear anywhere; `error` ends the stream instead (never followed by message_stop)

A Responses stream is a list of output items, each opened (`output_item.added`), filled by
deltas and closed (`output_item.done`); a message item's text comes in content parts, each
opened and closed the same way. Each becomes one hub block:

    reasoning item                 thinking (summary and reasoning text deltas; the signature,
                                   which carries the item back, at its `done`)
    message content part           text (output_text or refusal)
    function_call                  tool_use (arguments as input_json_delta)
    custom_tool_call               tool_use whose input is {"input": <the free text>}
    built-in tool calls            nothing: they ran at the upstream

Anthropic blocks cannot interleave, Responses items could (OpenAI sends them one after the
other). The first block streams live; a block that opens while another is live is buffered and
takes over, its buffered deltas first, when the live one closes. A `done` event fills in what
no delta said (servers that send whole parts), so a stream of only `done` events converts too.

The stream ends at `response.completed` (or `response.incomplete`: the answer is whole, cut by
a limit); `response.failed`, an `error` event or a body that ends before either is an upstream
error, never a clean end (the relay sends the client's error event). Output is pre-encoded
bytes; the per-delta events use byte templates.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import msgspec

from router.config.target import TargetContext
from router.core.errors import UpstreamProtocolError
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
from router.spokes.openai.upstream.answer import message_id, tool_use_id
from router.spokes.responses.answer_wire import (
    OutputItem,
    ResponseUsage,
    StreamEvent,
    StreamResponse,
)
from router.spokes.responses.names import CUSTOM_ARGUMENT
from router.spokes.responses.upstream.answer import (
    THINKING_SEPARATOR,
    arguments_text,
    failure,
    part_text,
    reasoning_text,
    stop_key,
    thinking_signature,
    tool_name,
    usage_to_hub,
)
from router.spokes.responses.upstream.signature import signature_for
from router.spokes.responses.usage import usage_tokens
from router.spokes.tables import mapped_value

_decode_event = msgspec.json.Decoder(StreamEvent).decode
_encode = msgspec.json.Encoder().encode

# A custom tool's free text streams as the one string of {"input": "..."}: the opening, then
# each delta's escaped characters, then the closing.
_CUSTOM_OPEN = '{"' + CUSTOM_ARGUMENT + '":"'
_CUSTOM_CLOSE = _encode('"}')

_ITEM = -1  # the content index of a block that is a whole item (reasoning, tool calls)

_Kind = Literal["text", "thinking", "tool"]


@dataclass(slots=True)
class _Block:
    """One hub content block as its events arrive. Until it is live (`index` >= 0) its deltas
    wait in `pending`, as (template, encoded payload)."""

    kind: _Kind
    content_block: bytes  # the encoded content_block of its start event
    item_id: str | None = None
    custom: bool = False  # a custom tool call: its text is the string of {"input": ...}
    index: int = -1
    pending: list[tuple[bytes, bytes]] = field(default_factory=list)
    said: bool = False  # a delta carried content (a `done` event fills in only what none said)
    segment: tuple[str, int] | None = None  # the reasoning part the last thinking delta belonged to
    done: bool = False  # closed by the upstream; the block stops once it has been live


class HubStreamFromResponses(HubEventWriter):
    """The Responses spoke's upstream stream → hub events (a StreamMachine: router.core.stream)."""

    reads: Literal["data"] = "data"

    __slots__ = (
        "_blocks",
        "_called",
        "_ctx",
        "_item_index",
        "_live",
        "_model",
        "_next_block",
        "_refused",
        "_started",
        "_stop_values",
        "_usage",
        "_waiting",
    )

    def __init__(self, ctx: TargetContext, *, model: str, stop_values: Mapping[str, str]) -> None:
        super().__init__()
        self._ctx = ctx
        self._model = model
        self._stop_values = stop_values
        self._started = False  # message_start sent
        self._next_block = 0  # the index the next block gets when it goes live
        self._live: _Block | None = None  # the one block whose events go out now
        self._waiting: deque[_Block] = deque()  # blocks opened while another was live
        self._blocks: dict[tuple[int, int], _Block] = {}  # by (output_index, content_index)
        self._item_index: dict[str, int] = {}  # item id → output_index, for events without one
        self._called = False  # a tool call was streamed: the stop reason is tool_use
        self._refused = False
        self._usage: ResponseUsage | None = None  # the final response's

    # --- the StreamMachine interface ------------------------------------------------------------

    def start(self) -> bytes:
        """Nothing yet: message_start carries the upstream's response id, so it waits for
        `response.created` (what Anthropic sends first, too)."""
        return b""

    def on_data(self, data: bytes) -> bytes:
        """One SSE data payload. Raises UpstreamError on a broken event, `response.failed` or `error`."""
        if self._ended or not data or data.isspace() or data.strip() == b"[DONE]":
            return b""
        try:
            event = _decode_event(data)
        except msgspec.DecodeError as exc:
            raise UpstreamProtocolError(f"upstream {self._ctx.upstream!r} sent an invalid stream event: {exc}") from None
        handler = _HANDLERS.get(event.type)
        if handler is not None:
            handler(self, event)
        return take(self._out)

    def tokens(self) -> Tokens | None:
        """The final response's counts; None before it (or without one). Input includes the
        cache's reads and writes, which the details also give apart."""
        return None if self._usage is None else usage_tokens(self._usage)

    # --- the response -----------------------------------------------------------------------------

    def _on_created(self, event: StreamEvent) -> None:
        if not self._started:
            self._begin_message(event.response.id if event.response is not None else None)

    def _begin_message(self, response_id: str | None) -> None:
        self._started = True
        self._start_message(message_id(response_id), self._model, 0)

    def _on_end(self, event: StreamEvent) -> None:
        """response.completed / response.incomplete: the answer is whole."""
        response = event.response or StreamResponse()
        if not self._started:
            self._begin_message(response.id)
        self._close_all()
        self._usage = response.usage
        status = response.status or event.type.removeprefix("response.")
        reason = response.incomplete_details.reason if response.incomplete_details is not None else None
        key = stop_key(status, reason, self._called, self._refused, response.error)
        self._end_message(mapped_value(self._stop_values, key), usage_to_hub(response.usage))

    def _on_failed(self, event: StreamEvent) -> None:
        response = event.response
        raise failure(response.error if response is not None else None, "response failed")

    def _on_error(self, event: StreamEvent) -> None:
        raise failure(event.error, "stream error", event.code, event.message)

    # --- items ----------------------------------------------------------------------------------

    def _on_item_added(self, event: StreamEvent) -> None:
        item = event.item
        if item is None:
            return
        index = self._index(event)
        if item.id is not None:
            self._item_index[item.id] = index
        if item.type in ("function_call", "custom_tool_call"):
            self._tool_block(index, item)
        # reasoning: its block opens with its first text (or at its end, if it has only
        # encrypted content); message: each content part opens its own.

    def _on_item_done(self, event: StreamEvent) -> None:
        item = event.item
        if item is None:
            return
        index = self._index(event)
        kind = item.type
        if kind == "reasoning":
            self._reasoning_done(index, item)
        elif kind == "message":
            for content_index, part in enumerate(item.content or ()):
                text = part_text(part)
                if text is not None:
                    self._part_done(index, content_index, text, part.type == "refusal")
        elif kind in ("function_call", "custom_tool_call"):
            block = self._tool_block(index, item)
            if not block.said:
                self._tool_whole(block, item.input if block.custom else arguments_text(item))
            self._close(block)

    def _reasoning_done(self, index: int, item: OutputItem) -> None:
        block = self._blocks.get((index, _ITEM))
        text = reasoning_text(item)
        if block is None:
            if not text and not item.encrypted_content:
                return  # nothing to show, nothing to keep (the answer converter leaves it out too)
            block = self._open((index, _ITEM), "thinking", THINKING_BLOCK, item.id)
        if not block.said and text:
            self._emit(block, THINKING_DELTA, _encode(text))
            block.said = True
        self._emit(block, SIGNATURE_DELTA, _encode(thinking_signature(item, self._ctx)))
        self._close(block)

    # --- text -----------------------------------------------------------------------------------

    def _on_part_added(self, event: StreamEvent) -> None:
        part = event.part
        if part is not None and part.type in ("output_text", "refusal"):
            self._text_block(self._index(event), event.content_index or 0)
            if part.type == "refusal":
                self._refused = True

    def _on_text_delta(self, event: StreamEvent) -> None:
        delta = event.delta
        block = self._blocks.get((self._index(event), event.content_index or 0))
        if block is None:
            block = self._text_block(self._index(event), event.content_index or 0)
        if delta:
            if block is self._live:  # the common event: more text for the live block
                self._out.append(TEXT_DELTA % (block.index, _encode(delta)))
            else:
                self._emit(block, TEXT_DELTA, _encode(delta))
            block.said = True

    def _on_refusal_delta(self, event: StreamEvent) -> None:
        self._refused = True
        self._on_text_delta(event)

    def _on_text_done(self, event: StreamEvent) -> None:
        """output_text.done / refusal.done: the whole text, said here if no delta said it."""
        text = event.text if event.type == "response.output_text.done" else event.refusal
        block = self._text_block(self._index(event), event.content_index or 0)
        if not block.said and text:
            self._emit(block, TEXT_DELTA, _encode(text))
            block.said = True

    def _on_part_done(self, event: StreamEvent) -> None:
        part = event.part
        text = part_text(part) if part is not None else None
        if text is not None:
            self._part_done(self._index(event), event.content_index or 0, text, part is not None and part.type == "refusal")

    def _part_done(self, index: int, content_index: int, text: str, refusal: bool) -> None:
        if refusal:
            self._refused = True
        block = self._text_block(index, content_index)
        if not block.said and text:
            self._emit(block, TEXT_DELTA, _encode(text))
            block.said = True
        self._close(block)

    def _text_block(self, index: int, content_index: int) -> _Block:
        block = self._blocks.get((index, content_index))
        return block if block is not None else self._open((index, content_index), "text", TEXT_BLOCK)

    # --- thinking -------------------------------------------------------------------------------

    def _on_summary_delta(self, event: StreamEvent) -> None:
        self._thinking(event, ("summary", event.summary_index or 0))

    def _on_reasoning_delta(self, event: StreamEvent) -> None:
        self._thinking(event, ("content", event.content_index or 0))

    def _thinking(self, event: StreamEvent, segment: tuple[str, int]) -> None:
        """Summary parts (and reasoning text) are paragraphs of one thinking block, as the
        answer converter joins them."""
        delta = event.delta
        if not delta:
            return
        index = self._index(event)
        block = self._blocks.get((index, _ITEM))
        if block is None:
            block = self._open((index, _ITEM), "thinking", THINKING_BLOCK, event.item_id)
        if block.segment != segment:
            if block.said:
                delta = THINKING_SEPARATOR + delta
            block.segment = segment
        self._emit(block, THINKING_DELTA, _encode(delta))
        block.said = True

    # --- tool calls -----------------------------------------------------------------------------

    def _tool_block(self, index: int, item: OutputItem) -> _Block:
        block = self._blocks.get((index, _ITEM))
        if block is not None:
            return block
        self._called = True
        content_block = {"type": "tool_use", "id": tool_use_id(item.call_id), "name": tool_name(item), "input": {}}
        block = self._open((index, _ITEM), "tool", _encode(content_block), item.id)
        block.custom = item.type == "custom_tool_call"
        return block

    def _on_arguments_delta(self, event: StreamEvent) -> None:
        """Arguments of a call whose item was announced; others wait for its `done`, which
        carries them whole (without the item there is no name to start a block with)."""
        block = self._blocks.get((self._index(event), _ITEM))
        delta = event.delta
        if block is None or not delta or block.kind != "tool":
            return
        if block.custom:
            # the opening, then the escaped characters: the JSON string's quotes are its own
            escaped = _encode(delta).decode()
            delta = _CUSTOM_OPEN + escaped[1:-1] if not block.said else escaped[1:-1]
        self._emit(block, JSON_DELTA, _encode(delta))
        block.said = True

    def _on_arguments_done(self, event: StreamEvent) -> None:
        block = self._blocks.get((self._index(event), _ITEM))
        if block is not None and block.kind == "tool" and not block.said:
            self._tool_whole(block, event.input if block.custom else event.arguments)

    def _tool_whole(self, block: _Block, text: str | None) -> None:
        """A call's whole arguments (or custom input), said at once."""
        if block.custom:
            self._emit(block, JSON_DELTA, _encode(_encode({CUSTOM_ARGUMENT: text or ""}).decode()))
            block.said = True
        elif text:
            self._emit(block, JSON_DELTA, _encode(text))
            block.said = True
        block.custom = False  # its JSON is whole: nothing to close when the block stops

    # --- blocks ---------------------------------------------------------------------------------

    def _index(self, event: StreamEvent) -> int:
        index = event.output_index
        if index is not None:
            return index
        return self._item_index.get(event.item_id or "", 0)

    def _open(self, key: tuple[int, int], kind: _Kind, content_block: bytes, item_id: str | None = None) -> _Block:
        if not self._started:
            self._begin_message(None)
        block = self._blocks[key] = _Block(kind, content_block, item_id)
        if self._live is None:
            self._go_live(block)
        else:
            self._waiting.append(block)
        return block

    def _go_live(self, block: _Block) -> None:
        block.index = self._next_block
        self._next_block += 1
        self._live = block
        self._out.append(BLOCK_START % (block.index, block.content_block))
        for template, payload in block.pending:
            self._out.append(template % (block.index, payload))
        block.pending.clear()
        if block.done:
            self._stop_live()

    def _emit(self, block: _Block, template: bytes, payload: bytes) -> None:
        if block.done:
            return  # after its end: a stray event has no place left in the grammar
        if block is self._live:
            self._out.append(template % (block.index, payload))
        else:
            block.pending.append((template, payload))

    def _close(self, block: _Block) -> None:
        """The upstream closed this block: stop it now if it is live, else once it has been."""
        if block.done:
            return
        if block.custom and block.said:
            self._emit(block, JSON_DELTA, _CUSTOM_CLOSE)
        block.done = True
        if block is self._live:
            self._stop_live()

    def _stop_live(self) -> None:
        """Stop the live block and let the next waiting one go live."""
        live = self._live
        assert live is not None
        self._out.append(BLOCK_STOP % live.index)
        self._live = None
        if self._waiting:
            self._go_live(self._waiting.popleft())

    def _close_all(self) -> None:
        """The response is over: every block still open stops, in order. A thinking block whose
        item never closed gets the signature of what is known of it."""
        while self._live is not None:
            live = self._live
            if live.kind == "thinking" and not live.done:
                self._emit(live, SIGNATURE_DELTA, _encode(signature_for(self._ctx.upstream, live.item_id, None)))
            self._close(live)  # stops it, and the next waiting block goes live

_Handler = Callable[[HubStreamFromResponses, StreamEvent], None]

# Event type → what the machine does with it; every other type is skipped.
_HANDLERS: Mapping[str, _Handler] = MappingProxyType({
    "response.created": HubStreamFromResponses._on_created,
    "response.in_progress": HubStreamFromResponses._on_created,
    "response.output_item.added": HubStreamFromResponses._on_item_added,
    "response.output_item.done": HubStreamFromResponses._on_item_done,
    "response.content_part.added": HubStreamFromResponses._on_part_added,
    "response.content_part.done": HubStreamFromResponses._on_part_done,
    "response.output_text.delta": HubStreamFromResponses._on_text_delta,
    "response.output_text.done": HubStreamFromResponses._on_text_done,
    "response.refusal.delta": HubStreamFromResponses._on_refusal_delta,
    "response.refusal.done": HubStreamFromResponses._on_text_done,
    "response.reasoning_summary_text.delta": HubStreamFromResponses._on_summary_delta,
    "response.reasoning_text.delta": HubStreamFromResponses._on_reasoning_delta,
    "response.function_call_arguments.delta": HubStreamFromResponses._on_arguments_delta,
    "response.function_call_arguments.done": HubStreamFromResponses._on_arguments_done,
    "response.custom_tool_call_input.delta": HubStreamFromResponses._on_arguments_delta,
    "response.custom_tool_call_input.done": HubStreamFromResponses._on_arguments_done,
    "response.completed": HubStreamFromResponses._on_end,
    "response.incomplete": HubStreamFromResponses._on_end,
    "response.failed": HubStreamFromResponses._on_failed,
    "error": HubStreamFromResponses._on_error,
})


def stream_to_hub(ctx: TargetContext, model: str, values: Mapping[str, Mapping[str, Any]]) -> StreamMachine:
    """The spoke's HubStreamFactory: one machine per streamed request."""
    return HubStreamFromResponses(ctx, model=model, stop_values=values["response_status"])
