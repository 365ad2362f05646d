"""OpenAI `chat.completion.chunk` stream → Anthropic Messages SSE events, one machine per request.

Anthropic's stream is a strict grammar:

    message_start
    (content_block_start  content_block_delta*  content_block_stop)*   indices 0, 1, 2 ...
    message_delta  message_stop                                        exactly once, at the end
    ping may appear anywhere; `error` ends the stream instead (never followed by message_stop)

OpenAI's deltas carry reasoning, text and tool-call fragments in any mix, so the machine keeps one
block open at a time and closes it when the kind changes. Reasoning is always its own `thinking`
block, closed with a `signature_delta` carrying `thinking_signature(ctx)` so clients send it back.

Tool calls. OpenAI numbers parallel calls by `index` and some providers interleave their fragments
(0, 1, 2, 0, 1, 2 ...), but Anthropic blocks cannot interleave. The first call streams live; a call
that appears while another is open is buffered. A buffered call takes over when the open call is
provably finished: its arguments so far are one complete JSON object (nothing valid can follow a
closing brace), or the stream moves on to text or ends. Sequential providers (OpenAI, DeepSeek) thus
stream every call live; interleaving ones get the first call live and the others as one delta each,
always with exact arguments. A fragment for a call whose block already closed (only possible if a
provider sends tool fragments after text, or more JSON after a complete object) cannot be placed in
Anthropic's grammar and is dropped.

Output is pre-encoded bytes so the relay writes one buffer per upstream read; the per-chunk deltas
use byte templates, rarer events go through one msgspec encode.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import msgspec

from router.config.target import TargetContext
from router.core.errors import UpstreamProtocolError, UpstreamStatusError
from router.core.sse import DataRun, encode_event
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
    message_start,
    take,
)
from router.spokes.common.hub_stream import HubEventWriter
from router.spokes.openai.upstream.answer import (
    cache_write_tokens,
    cached_tokens,
    thinking_signature,
    tool_use_id,
    usage_to_anthropic,
)
from router.spokes.openai.wire import (
    ChunkChoice,
    Delta,
    ErrorDetail,
    ToolCallDelta,
    Usage,
)


class _Chunk(msgspec.Struct, gc=False):
    """What the machine reads of a `chat.completion.chunk` (id, model and the rest are skipped,
    which is cheaper than decoding them), plus the `error` member some providers (OpenRouter,
    vLLM) put in a chunk when the generation fails mid-stream; without it such a stream would
    look like a clean end."""

    choices: list[ChunkChoice] = []
    usage: Usage | None = None
    error: ErrorDetail | str | None = None


_decode_chunk = msgspec.json.Decoder(_Chunk).decode
_decode_chunks = msgspec.json.Decoder(list[_Chunk]).decode
_encode = msgspec.json.Encoder().encode
_decode_json = msgspec.json.Decoder().decode

# TEXT_DELTA in two, around a string's characters (quotes included): for several deltas encoded at once.
_TEXT_DELTA_HEAD = TEXT_DELTA.partition(b"%s")[0] + b'"'
_TEXT_DELTA_TAIL = b'"' + TEXT_DELTA.partition(b"%s")[2]
_TEXT_START = BLOCK_START.replace(b"%s", TEXT_BLOCK)
_THINKING_START = BLOCK_START.replace(b"%s", THINKING_BLOCK)

_Kind = Literal["text", "thinking"]


@dataclass(slots=True)
class _ToolCall:
    """One OpenAI tool call (one `index`) as its fragments arrive."""

    id: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    sent: int = 0  # how many fragments of `arguments` have been emitted
    block: int | None = None  # its Anthropic block index, once the block has started
    closed: bool = False

    def merge(self, delta: ToolCallDelta) -> None:
        """First non-empty id and name win: providers repeat them, or send "" in later deltas."""
        if delta.id and self.id is None:
            self.id = delta.id
        function = delta.function
        if function is not None:
            if function.name and not self.name:
                self.name = function.name
            if function.arguments:
                self.arguments.append(function.arguments)

    def ready(self) -> bool:
        """Worth opening a block for: named, and with an id or arguments already flowing (a
        provider that sends no id gets a generated one; waiting longer would only delay it)."""
        return bool(self.name) and (self.id is not None or bool(self.arguments))

    def complete(self) -> bool:
        """The arguments so far are one whole JSON object, so no later fragment can belong to them."""
        if not self.arguments:
            return False
        text = "".join(self.arguments)
        if not text.rstrip().endswith("}"):
            return False  # cheap pre-check: parsing is only tried when it can succeed
        try:
            _decode_json(text)
        except msgspec.DecodeError:
            return False
        return True


class AnthropicStreamFromOpenAI(HubEventWriter):
    """The OpenAI spoke's upstream stream → hub events (a RunMachine: router.core.stream)."""

    reads: Literal["runs"] = "runs"

    __slots__ = (
        "_ctx", "_message_id", "_model", "_input_tokens", "_finish_values", "_signature",
        "_next_block", "_open", "_open_block", "_calls", "_live", "_waiting", "_finish_reason",
        "_usage", "_saw_done", "_refused",
    )

    def __init__(
        self,
        ctx: TargetContext,
        *,
        message_id: str,
        model: str,
        input_tokens: int | None,
        finish_values: Mapping[str, str],
    ) -> None:
        super().__init__()
        self._ctx = ctx
        self._message_id = message_id
        self._model = model
        self._input_tokens = input_tokens
        self._finish_values = finish_values
        self._signature = _encode(thinking_signature(ctx))
        self._next_block = 0  # the index the next content block gets
        self._open: _Kind | None = None  # the open text/thinking block, if any
        self._open_block = -1
        self._calls: dict[int, _ToolCall] = {}  # by OpenAI index, in order of first appearance
        self._live: _ToolCall | None = None  # the call that owns the open tool block (maybe not started)
        self._waiting: deque[_ToolCall] = deque()  # tool calls buffered behind `_live`
        self._finish_reason: str | None = None
        self._usage: Usage | None = None
        self._saw_done = False
        self._refused = False  # a refusal delta came: the answer ends in `refusal`, as unary

    # --- the StreamMachine interface ------------------------------------------------------------

    def start(self) -> bytes:
        return message_start(self._message_id, self._model, self._input_tokens or 0)

    def on_data(self, data: bytes) -> bytes:
        """One SSE data payload: a chunk, or `[DONE]`. Raises UpstreamError on a broken chunk."""
        if self._ended or not data or data.isspace():
            return b""
        if data[0] == 0x5B and data.strip() == b"[DONE]":  # 0x5B: "["
            self._saw_done = True
            self._end()
            return take(self._out)
        try:
            chunk = _decode_chunk(data)
        except msgspec.DecodeError as exc:
            raise UpstreamProtocolError(f"upstream {self._ctx.upstream!r} sent an invalid stream chunk: {exc}") from None
        if chunk.error is not None:
            # The upstream's own error, said in its stream: a 500 from it (as every other
            # protocol's error event is), not a stream the router could not read (502).
            raise UpstreamStatusError(500, f"upstream {self._ctx.upstream!r} failed mid-stream: {_error_message(chunk.error)}")
        self._on_chunks((chunk,))
        return take(self._out)

    def on_run(self, run: DataRun) -> bytes | None:
        """Several payloads at once, decoded in one call, with what `on_data` would make of them
        one by one. None, with nothing changed, when one of them needs `on_data`'s care (an
        empty or broken payload, an `error` chunk, `[DONE]` before the last): the relay then
        feeds them to `on_data`, which sends what came before the bad one and raises at it.

        A payload that is not valid JSON by itself could in theory join its neighbours into
        valid JSON with the right count of chunks; then this reads that JSON where `on_data`
        would have raised. Only a deliberately crafted stream does that, and it gains nothing an
        upstream cannot already say in valid chunks."""
        if self._ended:
            return None
        before_done = run.before_last(b"[DONE]")
        if before_done is not None:
            run = before_done
        try:
            chunks = _decode_chunks(run.json_array())
        except msgspec.DecodeError:
            return None
        if len(chunks) != run.count:
            return None
        for chunk in chunks:
            if chunk.error is not None:
                return None
        self._on_chunks(chunks)
        if before_done is not None:
            self._saw_done = True
            self._end()
        return take(self._out)

    def finish(self) -> bytes:
        """The upstream body ended. Without [DONE] or a finish_reason the upstream died mid-answer,
        and ending cleanly would pass a truncated answer off as complete."""
        if self._ended:
            return b""
        if not self._saw_done and self._finish_reason is None:
            raise UpstreamProtocolError("upstream stream ended before it finished")
        self._end()
        return take(self._out)

    def tokens(self) -> Tokens | None:
        """The upstream's usage chunk's counts (the prompt's with the cache's reads and writes,
        also apart); None when it sent none."""
        usage = self._usage
        if usage is None:
            return None
        return Tokens(usage.prompt_tokens or 0, usage.completion_tokens or 0,
                      cached_tokens(usage), cache_write_tokens(usage))

    # --- chunks ---------------------------------------------------------------------------------

    def _on_chunks(self, chunks: Iterable[_Chunk]) -> None:
        texts: list[str] = []  # consecutive deltas for the open text block, made into events at once
        for chunk in chunks:
            if chunk.usage is not None:
                self._usage = chunk.usage
            for choice in chunk.choices:
                if choice.index != 0:
                    continue  # n > 1 is not an Anthropic concept: the unary path keeps choice 0
                delta = choice.delta
                if delta is not None:
                    content = delta.content
                    if content and self._open == "text" and not (delta.reasoning_content or delta.reasoning):
                        # The common chunk, more text for the open text block: its event, nothing else.
                        texts.append(content)
                        if delta.refusal or delta.tool_calls:
                            self._add_texts(texts)
                            self._on_delta_rest(delta)
                    else:
                        if texts:
                            self._add_texts(texts)
                        self._on_delta(delta)
                if choice.finish_reason:
                    self._finish_reason = choice.finish_reason
        if texts:
            self._add_texts(texts)

    def _add_texts(self, texts: list[str]) -> None:
        """The text deltas as events for the open text block; `texts` is emptied. Several are
        encoded as one JSON array whose `","` separators become the bytes between one event's
        string and the next: inside an encoded string every quote is escaped, so a quote right
        after a comma starts an item."""
        if len(texts) == 1:  # the same bytes; one format is cheaper than the array and replace
            self._out.append(TEXT_DELTA % (self._open_block, _encode(texts[0])))
        else:
            head = _TEXT_DELTA_HEAD % self._open_block
            self._out.append(head + _encode(texts)[2:-2].replace(b'","', _TEXT_DELTA_TAIL + head) + _TEXT_DELTA_TAIL)
        texts.clear()

    def _on_delta(self, delta: Delta) -> None:
        # Some servers send the same text as both reasoning_content and reasoning: take one,
        # the same one the unary converter takes.
        reasoning = delta.reasoning_content or delta.reasoning
        if reasoning:
            self._on_thinking(reasoning)
        if delta.content:
            self._on_text(delta.content)
        self._on_delta_rest(delta)

    def _on_delta_rest(self, delta: Delta) -> None:
        """What follows the text in a delta: a refusal, tool-call fragments."""
        if delta.refusal:
            self._refused = True
            self._on_text(delta.refusal)
        for call in delta.tool_calls or ():
            self._on_tool_call(call)

    def _on_text(self, text: str) -> None:
        if self._open != "text":  # tested here: nearly every delta continues the open block
            self._enter("text")
        self._out.append(TEXT_DELTA % (self._open_block, _encode(text)))

    def _on_thinking(self, thinking: str) -> None:
        if self._open != "thinking":
            self._enter("thinking")
        self._out.append(THINKING_DELTA % (self._open_block, _encode(thinking)))

    def _on_tool_call(self, delta: ToolCallDelta) -> None:
        call = self._calls.get(delta.index)
        if call is None:
            call = self._new_call(delta.index)
        call.merge(delta)
        if call.closed:
            return  # see the module docstring: no place left for it in Anthropic's grammar
        if call is not self._live:
            self._advance_to(call)
        self._pump()

    # --- text and thinking blocks ---------------------------------------------------------------

    def _enter(self, kind: _Kind) -> None:
        """Make a `kind` block the open one, closing whatever else is open."""
        if self._open == kind:
            return
        self._close_open()
        self._open = kind
        self._open_block = self._new_block()
        self._out.append((_TEXT_START if kind == "text" else _THINKING_START) % self._open_block)

    def _close_open(self) -> None:
        if self._open == "thinking":
            self._out.append(SIGNATURE_DELTA % (self._open_block, self._signature))
        if self._open is not None:
            self._out.append(BLOCK_STOP % self._open_block)
            self._open = None
        while self._live is not None:
            self._close_live()

    def _new_block(self) -> int:
        index = self._next_block
        self._next_block += 1
        return index

    # --- tool-call blocks -----------------------------------------------------------------------

    def _new_call(self, index: int) -> _ToolCall:
        call = self._calls[index] = _ToolCall()
        if self._live is None:
            self._close_open()
            self._live = call
        else:
            self._waiting.append(call)
        return call

    def _advance_to(self, call: _ToolCall) -> None:
        """A buffered call moved: close live calls ahead of it that are provably finished."""
        while (live := self._live) is not None and live is not call and live.complete():
            self._close_live()

    def _pump(self) -> None:
        """Open the live call's block once it is ready, and send the arguments it has buffered."""
        live = self._live
        if live is None:
            return
        if live.block is None:
            if not live.ready():
                return
            self._start_tool(live)
        self._send_arguments(live)

    def _close_live(self) -> None:
        """Finish the live call's block (opening it now if it never got ready) and promote the
        next buffered call."""
        live = self._live
        assert live is not None
        if live.block is None:
            self._start_tool(live)
        self._send_arguments(live)
        self._out.append(BLOCK_STOP % live.block)
        live.closed = True
        self._live = self._waiting.popleft() if self._waiting else None
        self._pump()

    def _start_tool(self, call: _ToolCall) -> None:
        call.block = self._new_block()
        block = {"type": "tool_use", "id": tool_use_id(call.id), "name": call.name, "input": {}}
        payload = {"type": "content_block_start", "index": call.block, "content_block": block}
        self._out.append(encode_event("content_block_start", _encode(payload)))

    def _send_arguments(self, call: _ToolCall) -> None:
        if call.sent == len(call.arguments):
            return
        pending = "".join(call.arguments[call.sent :])
        call.sent = len(call.arguments)
        self._out.append(JSON_DELTA % (call.block, _encode(pending)))

    # --- the end --------------------------------------------------------------------------------

    def _end(self) -> None:
        self._close_open()
        usage = usage_to_anthropic(self._usage) if self._usage is not None else {"output_tokens": 0}
        self._end_message(self._stop_reason(), usage)

    def _stop_reason(self) -> str:
        """The value map, as the unary converter applies it (finish_reason_of); streamed tool
        calls mean `tool_use` whatever the upstream says (some say `stop`), a refusal `refusal`."""
        reason = "tool_calls" if self._calls else "content_filter" if self._refused else self._finish_reason
        values = self._finish_values
        fallback = values.get("*", reason or "end_turn")
        return values.get(reason, fallback) if reason is not None else fallback

def _error_message(error: ErrorDetail | str) -> str:
    if isinstance(error, str):
        return error
    return error.message or error.type or "unknown error"
