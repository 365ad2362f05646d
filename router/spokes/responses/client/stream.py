"""Hub events (an Anthropic Messages stream) → an OpenAI Responses stream, one machine per request.

    message_start        response.created, response.in_progress (id from the hub message's, as the
                         unary answer's; usage remembered)
    content_block_start  a new output item (stream_items.py): thinking and redacted_thinking →
                         reasoning, tool_use → function_call or custom_tool_call (by the tool the
                         client declared); other blocks (server tools) are skipped and take no
                         output_index
    content_block_delta  the item's delta events
    content_block_stop   the item's done events, ending with response.output_item.done
    message_delta        stop_reason and usage remembered
    message_stop         response.completed, or response.incomplete when a limit cut the answer
                         (the status is the table's [values.status], as for the unary answer)
    ping, unknown types  nothing (the relay pings on its own clock, as an SSE comment)
    error                raised, so the relay fails the stream: response.failed

Text is gathered as the unary answer gathers it (answer.output_items): the text blocks since the
last other item make one message, opened at the first text (empty blocks make none) and closed
when another item starts or the answer ends; the forced `json_response` call (structured output)
streams its JSON as that message's text; a `refusal` stop makes the message's part a refusal.

A failed stream ends with an `error` event (errors.py) and `response.failed` (status "failed",
error {code, message}, the items finished so far), and nothing after them. Codex acts on the
second: it reads the code to decide whether to retry (rate_limit_exceeded with the delay in the
message, "try again in N s"), and never takes a stream without response.completed for a
finished answer; clients that stop at the first `error` get the same code and message.

Every event carries a `sequence_number` counted from 0 (stream_items.EventWriter). The response
object is written whole three times (created, in_progress, the end): the request settings it
repeats (echo.echoed) are encoded once, and the finished items are their output_item.done bytes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import msgspec

from router.config.target import TargetContext
from router.core.errors import RouterError
from router.core.ids import new_id
from router.core.stream import StreamMachine
from router.hub.events import HubEventReader, merge_usage
from router.hub.messages import Block, StreamDelta, StreamEvent
from router.spokes.common.tool_arguments import arguments_text
from router.spokes.responses.client import answer, output
from router.spokes.responses.client.echo import echoed, tool_names
from router.spokes.responses.client.stream_items import (
    CustomCallStream,
    EventWriter,
    FunctionCallStream,
    ItemStream,
    MessageStream,
    ReasoningStream,
    RedactedReasoningStream,
    RefusalStream,
    event_head,
)
from router.spokes.responses.client.tools import JSON_RESPONSE_TOOL
from router.spokes.responses.errors import error_event_at, failure_object
from router.spokes.responses.names import ToolNames
from router.spokes.responses.request_wire import ResponsesRequest
from router.spokes.spoke import Values

_encode = msgspec.json.Encoder().encode

_PING = b": ping\n\n"  # an SSE comment: Responses has no ping event, every client skips comments
_CREATED = event_head("response.created")
_IN_PROGRESS = event_head("response.in_progress")
_COMPLETED = event_head("response.completed")
_INCOMPLETE = event_head("response.incomplete")
_FAILED = event_head("response.failed")

# A hub `error` event's type → the upstream status it stands for.
_ERROR_STATUS: Mapping[str, int] = MappingProxyType({"overloaded_error": 529, "rate_limit_error": 429})

_INCOMPLETE_STATUS = "incomplete"


@dataclass(slots=True)
class _JsonAnswer:
    """An open `json_response` block: its JSON is the message's text."""

    start_input: Any  # the block's input at its start ({} when it streams)
    streamed: bool = False


class ResponsesStreamFromHub(HubEventReader):
    """The Responses spoke's hub events → client stream (a StreamMachine: router.core.stream)."""

    __slots__ = (
        "_created_at",
        "_items",
        "_message",
        "_model",
        "_open",
        "_out",
        "_response_id",
        "_settings",
        "_src",
        "_statuses",
        "_text_blocks",
        "_tools",
    )

    error_statuses = _ERROR_STATUS

    def __init__(
        self,
        ctx: TargetContext,
        *,
        model: str,
        src: ResponsesRequest,
        statuses: Mapping[str, str],
        created_at: int | None = None,
    ) -> None:
        super().__init__(ctx)
        self._model = model
        self._src = src
        self._statuses = statuses  # stop_reason → response status ([values.status])
        self._created_at = int(time.time()) if created_at is None else created_at
        self._out = EventWriter()
        self._response_id: str | None = None  # set (and the response created) at message_start
        self._settings: bytes | None = None  # the echoed request settings, encoded once when first needed
        self._items: list[ItemStream] = []  # every item, by output_index
        self._open: dict[int, ItemStream] = {}  # items still streaming, by hub block index
        self._message: MessageStream | None = None  # the message the text blocks go to, until another item
        self._text_blocks: dict[int, _JsonAnswer | None] = {}  # open text (None) and json_response blocks
        self._tools: ToolNames | None = None  # read from the request at the first tool call

    # --- the StreamMachine interface ------------------------------------------------------------

    def start(self) -> bytes:
        """Nothing yet: the response is created at message_start, with the hub message's id."""
        return b""

    def fail(self, error: RouterError) -> bytes:
        """response.failed, and nothing after it. Open items are not closed: a done event would
        make a cut item look finished."""
        if self._ended:
            return b""
        self._ended = True
        out = self._create() if self._response_id is None else b""
        out += error_event_at(error, self._out.take())
        failure = b'"failed","error":%s,"incomplete_details":null' % _encode(failure_object(error))
        return out + self._lifecycle(_FAILED, failure, self._finished_output(), self._usage_json())

    def ping(self) -> bytes:
        return _PING

    # --- events ---------------------------------------------------------------------------------

    def _on_message_start(self, event: StreamEvent) -> bytes:
        message = event.message
        if message is not None and message.usage is not None:
            merge_usage(self._usage, message.usage)
        if self._response_id is not None:
            return b""  # a second message_start: the response exists already
        return self._create()

    def _on_block_start(self, event: StreamEvent) -> bytes:
        block = event.content_block or {}
        index = event.index
        if index is None or self._response_id is None:
            return b""  # nothing could refer to it / not a hub stream: finish() reports it
        kind = block.get("type")
        if kind == "text":
            self._text_blocks[index] = None
            return self._text(block.get("text"))
        if kind == "tool_use" and block.get("name") == JSON_RESPONSE_TOOL:
            self._text_blocks[index] = _JsonAnswer(block.get("input"))
            return b""
        item = self._new_item(block)
        if item is None:
            return b""  # server tools and other blocks Responses has no item for
        out = self._close_message()
        self._items.append(item)
        self._open[index] = item
        out += item.open(self._out)
        if block.get("thinking") or block.get("signature"):
            # Content given at the block's start (the hub's own streams start blocks empty).
            out += item.feed(self._out, StreamDelta(thinking=block.get("thinking"), signature=block.get("signature")))
        return out

    def _on_block_delta(self, event: StreamEvent) -> bytes:
        index, delta = event.index, event.delta
        if index is None or delta is None:
            return b""
        item = self._open.get(index)
        if item is not None:
            return item.feed(self._out, delta)
        if index not in self._text_blocks:
            return b""
        json_answer = self._text_blocks[index]
        if json_answer is None:
            return self._text(delta.text)
        if delta.partial_json:
            json_answer.streamed = True
        return self._text(delta.partial_json)

    def _on_block_stop(self, event: StreamEvent) -> bytes:
        index = event.index
        if index is None:
            return b""
        item = self._open.pop(index, None)
        if item is not None:
            return item.close(self._out)
        json_answer = self._text_blocks.pop(index, None)
        if json_answer is not None and not json_answer.streamed:
            return self._text(arguments_text(json_answer.start_input))  # came whole, or empty
        return b""

    def _on_message_stop(self, event: StreamEvent) -> bytes:
        if self._response_id is None:
            return b""  # no message_start: finish() reports the broken stream
        self._ended = True
        # Blocks the upstream left open end with the message.
        out = b"".join(item.close(self._out) for item in self._open.values())
        self._open.clear()
        stop_reason = self._stop_reason
        out += self._close_message(refused=stop_reason == answer.REFUSAL)
        status = self._statuses.get(stop_reason or "", self._statuses.get("*", output.COMPLETED))
        fields = b'%s,"error":null,"incomplete_details":%s' % (
            _encode(status), _encode(answer.incomplete_details_for(stop_reason)),
        )
        head = _INCOMPLETE if status == _INCOMPLETE_STATUS else _COMPLETED
        return out + self._lifecycle(head, fields, self._finished_output(), self._usage_json())

    # --- items ----------------------------------------------------------------------------------

    def _text(self, text: str | None) -> bytes:
        """Text for the current message, opened by its first text."""
        if not text:
            return b""
        message = self._message
        out = b""
        if message is None:
            message = self._message = MessageStream(len(self._items))
            self._items.append(message)
            out = message.open(self._out)
        return out + message.add_text(self._out, text)

    def _close_message(self, refused: bool = False) -> bytes:
        """The current message is done (another item starts, or the answer ends). A refusal
        always ends the answer with a refusal message, made of the text before it if any."""
        message, self._message = self._message, None
        if message is not None:
            return message.close_refused(self._out) if refused else message.close(self._out)
        if not refused:
            return b""
        refusal = RefusalStream(len(self._items))
        self._items.append(refusal)
        return refusal.open(self._out) + refusal.close(self._out)

    def _new_item(self, block: Block) -> ItemStream | None:
        kind = block.get("type")
        index = len(self._items)
        if kind == "thinking":
            return ReasoningStream(index)
        if kind == "redacted_thinking":
            return RedactedReasoningStream(index, block)
        if kind == "tool_use":
            name = block.get("name")
            call_id = block.get("id")
            tool = self._tool_names().client_tool(name if isinstance(name, str) else "")
            call = call_id if isinstance(call_id, str) and call_id else new_id("call_")
            start_input = block.get("input")
            if tool.custom:
                return CustomCallStream(index, call, tool, start_input)
            return FunctionCallStream(index, call, tool, start_input)
        return None

    def _tool_names(self) -> ToolNames:
        if self._tools is None:
            self._tools = tool_names(self._src)
        return self._tools

    # --- the response object --------------------------------------------------------------------

    def _create(self) -> bytes:
        """response.created and response.in_progress: the response, empty, in progress."""
        self._response_id = output.response_id()
        status = b'"in_progress","error":null,"incomplete_details":null'
        return self._lifecycle(_CREATED, status, b"[]", b"null") + self._lifecycle(_IN_PROGRESS, status, b"[]", b"null")

    def _lifecycle(self, head: bytes, status: bytes, items: bytes, usage: bytes) -> bytes:
        """An event carrying the whole response object; `status` is its status, error and
        incomplete_details fields, already encoded."""
        if self._settings is None:
            self._settings = b"," + _encode(echoed(self._src))[1:-1]  # echoed() is never empty
        response = b'"response":{"id":%s,"object":"response","created_at":%d,"status":%s,"model":%s,"output":%s,"usage":%s%s}' % (
            _encode(self._response_id), self._created_at, status, _encode(self._model), items, usage,
            self._settings,
        )
        return self._out.event(head, response)

    def _finished_output(self) -> bytes:
        """Every finished item as its output_item.done had it, in output_index order."""
        return b"[" + b",".join(item.done for item in self._items if item.done is not None) + b"]"

    def _usage_json(self) -> bytes:
        return _encode(output.usage_dict(self._usage))


ResponsesStreamFromHub.handlers = MappingProxyType(
    {
        "message_start": ResponsesStreamFromHub._on_message_start,
        "content_block_start": ResponsesStreamFromHub._on_block_start,
        "content_block_delta": ResponsesStreamFromHub._on_block_delta,
        "content_block_stop": ResponsesStreamFromHub._on_block_stop,
        "message_delta": ResponsesStreamFromHub._on_message_delta,
        "message_stop": ResponsesStreamFromHub._on_message_stop,
        "error": ResponsesStreamFromHub._on_error,
    }
)


def stream_from_hub(ctx: TargetContext, model: str, src: ResponsesRequest, values: Values) -> StreamMachine:
    """The spoke's ClientStreamFactory."""
    return ResponsesStreamFromHub(ctx, model=model, src=src, statuses=values["status"])
