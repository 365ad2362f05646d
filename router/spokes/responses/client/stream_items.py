"""The output items of a Responses stream and the events each makes (stream.py says which hub
blocks make which item).

    item              opened                        per delta                            closed
    reasoning         output_item.added             reasoning_summary_part.added (first  reasoning_summary_text.done,
                                                    text), reasoning_summary_text.delta; reasoning_summary_part.done
                                                    signature → encrypted_content        (if a part was opened),
                                                                                         output_item.done
    reasoning         output_item.added             -                                    output_item.done (encrypted,
    (redacted)                                                                           marked: output.py)
    message           output_item.added,            output_text.delta                    output_text.done,
                      content_part.added                                                 content_part.done, output_item.done
    function_call     output_item.added             function_call_arguments.delta        function_call_arguments.done,
                                                                                         output_item.done
    custom_tool_call  output_item.added             custom_tool_call_input.delta (the    custom_tool_call_input.done,
                                                    decoded string, string_argument.py)  output_item.done
    message (refusal) output_item.added, content_part.added, refusal.delta, refusal.done, content_part.done,
                      output_item.done, all at the end

A reasoning item opens its summary part at its first thinking text, not before: a thinking block
whose text the upstream leaves out (only a signature) is a reasoning item with an empty summary,
as the unary answer makes it.

Every event is `event: <type>\\ndata: {"type": <type>, …, "sequence_number": n}`, built from
pre-encoded heads; `EventWriter` numbers them across the whole stream. The finished item is
encoded once, for its output_item.done and again (as bytes) in response.completed.
"""

from __future__ import annotations

from typing import Any

import msgspec

from router.hub.messages import StreamDelta
from router.spokes.common.tool_arguments import arguments_text
from router.spokes.responses.client import answer, output
from router.spokes.responses.client.string_argument import StringArgumentStream
from router.spokes.responses.names import ClientTool

_encode = msgspec.json.Encoder().encode


def event_head(kind: str) -> bytes:
    """An event's bytes up to its first field after `type`."""
    return b'event: %s\ndata: {"type":"%s",' % (kind.encode(), kind.encode())


_ITEM_ADDED = event_head("response.output_item.added")
_ITEM_DONE = event_head("response.output_item.done")
_SUMMARY_PART_ADDED = event_head("response.reasoning_summary_part.added")
_SUMMARY_DELTA = event_head("response.reasoning_summary_text.delta")
_SUMMARY_DONE = event_head("response.reasoning_summary_text.done")
_SUMMARY_PART_DONE = event_head("response.reasoning_summary_part.done")
_CONTENT_PART_ADDED = event_head("response.content_part.added")
_TEXT_DELTA = event_head("response.output_text.delta")
_TEXT_DONE = event_head("response.output_text.done")
_CONTENT_PART_DONE = event_head("response.content_part.done")
_REFUSAL_DELTA = event_head("response.refusal.delta")
_REFUSAL_DONE = event_head("response.refusal.done")
_ARGUMENTS_DELTA = event_head("response.function_call_arguments.delta")
_ARGUMENTS_DONE = event_head("response.function_call_arguments.done")
_INPUT_DELTA = event_head("response.custom_tool_call_input.delta")
_INPUT_DONE = event_head("response.custom_tool_call_input.done")


class EventWriter:
    """Numbers the events of one stream: `sequence_number` counts from 0 across all of them."""

    __slots__ = ("sequence",)

    def __init__(self) -> None:
        self.sequence = 0

    def event(self, head: bytes, fields: bytes) -> bytes:
        number = self.sequence
        self.sequence = number + 1
        return b"%s%s,\"sequence_number\":%d}\n\n" % (head, fields, number)

    def take(self) -> int:
        """The next number, for an event made elsewhere (errors.error_event_at)."""
        number = self.sequence
        self.sequence = number + 1
        return number


class ItemStream:
    """One output item while it streams. `done` is the finished item, encoded, once closed."""

    __slots__ = ("done", "index", "item_id", "ref")

    def __init__(self, index: int, item_id: str) -> None:
        self.index = index
        self.item_id = item_id
        self.ref = b'"item_id":%s,"output_index":%d' % (_encode(item_id), index)  # every item event's first fields
        self.done: bytes | None = None

    def open(self, out: EventWriter) -> bytes:
        raise NotImplementedError  # abstract: every item kind (reasoning, message, calls) says how it opens

    def feed(self, out: EventWriter, delta: StreamDelta) -> bytes:
        return b""

    def close(self, out: EventWriter) -> bytes:
        raise NotImplementedError  # abstract: every item kind says how it closes (its done events)

    def _added(self, out: EventWriter, item: dict[str, Any]) -> bytes:
        return out.event(_ITEM_ADDED, b'"output_index":%d,"item":%s' % (self.index, _encode(item)))

    def _finished(self, out: EventWriter, item: dict[str, Any]) -> bytes:
        self.done = _encode(item)
        return out.event(_ITEM_DONE, b'"output_index":%d,"item":%s' % (self.index, self.done))


_IN_PROGRESS = "in_progress"


class ReasoningStream(ItemStream):
    """A thinking block: its text is the summary, its signature the encrypted_content."""

    __slots__ = ("_signature", "_texts")
    _PART = b',"summary_index":0'

    def __init__(self, index: int) -> None:
        super().__init__(index, output.item_id(output.REASONING_PREFIX))
        self._texts: list[str] | None = None  # None until the summary part is opened
        self._signature: str | None = None

    def open(self, out: EventWriter) -> bytes:
        return self._added(out, output.reasoning_item(self.item_id, "", None))

    def feed(self, out: EventWriter, delta: StreamDelta) -> bytes:
        if delta.signature:
            self._signature = (self._signature or "") + delta.signature
        text = delta.thinking
        if not text:
            return b""
        opened = b""
        if self._texts is None:
            self._texts = []
            opened = out.event(_SUMMARY_PART_ADDED, self.ref + self._PART + b',"part":' + _encode(output.summary_part("")))
        self._texts.append(text)
        return opened + out.event(_SUMMARY_DELTA, self.ref + self._PART + b',"delta":' + _encode(text))

    def close(self, out: EventWriter) -> bytes:
        summary = "" if self._texts is None else "".join(self._texts)
        events = b""
        if self._texts is not None:
            events = out.event(_SUMMARY_DONE, self.ref + self._PART + b',"text":' + _encode(summary)) + out.event(
                _SUMMARY_PART_DONE, self.ref + self._PART + b',"part":' + _encode(output.summary_part(summary))
            )
        encrypted = output.encrypted_content_of({"type": "thinking", "signature": self._signature})
        return events + self._finished(out, output.reasoning_item(self.item_id, summary, encrypted))


class RedactedReasoningStream(ItemStream):
    """A redacted_thinking block: nothing to read, its data kept (marked) as the encrypted_content."""

    __slots__ = ("_block",)

    def __init__(self, index: int, block: dict[str, Any]) -> None:
        super().__init__(index, output.item_id(output.REASONING_PREFIX))
        self._block = block

    def open(self, out: EventWriter) -> bytes:
        return self._added(out, output.reasoning_item(self.item_id, "", None))

    def close(self, out: EventWriter) -> bytes:
        encrypted = output.encrypted_content_of(self._block)
        return self._finished(out, output.reasoning_item(self.item_id, "", encrypted))


class MessageStream(ItemStream):
    """An assistant message of one output_text part: the text of the hub's text blocks (and of
    the forced json_response call, structured output's answer) since the last other item, as
    the unary answer joins them. Opened at the first text, so empty blocks make no message; fed
    by the machine (stream.py), which knows which blocks are text."""

    __slots__ = ("_texts",)
    _PART = b',"content_index":0'

    def __init__(self, index: int) -> None:
        super().__init__(index, output.item_id(output.MESSAGE_PREFIX))
        self._texts: list[str] = []

    def open(self, out: EventWriter) -> bytes:
        added = output.message_item(self.item_id, [])
        added["status"] = _IN_PROGRESS
        part = self.ref + self._PART + b',"part":' + _encode(output.output_text_part(""))
        return self._added(out, added) + out.event(_CONTENT_PART_ADDED, part)

    def add_text(self, out: EventWriter, text: str) -> bytes:
        self._texts.append(text)
        return out.event(_TEXT_DELTA, self.ref + self._PART + b',"delta":%s,"logprobs":[]' % _encode(text))

    def close(self, out: EventWriter) -> bytes:
        text = "".join(self._texts)
        part = output.output_text_part(text)
        done = out.event(_TEXT_DONE, self.ref + self._PART + b',"text":%s,"logprobs":[]' % _encode(text))
        done += out.event(_CONTENT_PART_DONE, self.ref + self._PART + b',"part":' + _encode(part))
        return done + self._finished(out, output.message_item(self.item_id, [part]))

    def close_refused(self, out: EventWriter) -> bytes:
        """The model refused (stop_reason `refusal`) after this text: the part it ends as is a
        refusal, as in the unary answer."""
        part = output.refusal_part("".join(self._texts) or answer.REFUSAL_TEXT)
        done = out.event(_CONTENT_PART_DONE, self.ref + self._PART + b',"part":' + _encode(part))
        return done + self._finished(out, output.message_item(self.item_id, [part]))


class RefusalStream(ItemStream):
    """A refusal with no text before it: a message of one refusal part, made whole at the end."""

    __slots__ = ()
    _PART = b',"content_index":0'

    def __init__(self, index: int) -> None:
        super().__init__(index, output.item_id(output.MESSAGE_PREFIX))

    def open(self, out: EventWriter) -> bytes:
        added = output.message_item(self.item_id, [])
        added["status"] = _IN_PROGRESS
        part = self.ref + self._PART + b',"part":' + _encode(output.refusal_part(""))
        return self._added(out, added) + out.event(_CONTENT_PART_ADDED, part)

    def close(self, out: EventWriter) -> bytes:
        text = answer.REFUSAL_TEXT
        part = output.refusal_part(text)
        events = out.event(_REFUSAL_DELTA, self.ref + self._PART + b',"delta":' + _encode(text))
        events += out.event(_REFUSAL_DONE, self.ref + self._PART + b',"refusal":' + _encode(text))
        events += out.event(_CONTENT_PART_DONE, self.ref + self._PART + b',"part":' + _encode(part))
        return events + self._finished(out, output.message_item(self.item_id, [part]))


class FunctionCallStream(ItemStream):
    """A tool_use block of a function tool: its input JSON streams as the call's arguments."""

    __slots__ = ("_call_id", "_fragments", "_start_input", "_tool")

    def __init__(self, index: int, call_id: str, tool: ClientTool, start_input: Any) -> None:
        super().__init__(index, output.item_id(output.FUNCTION_CALL_PREFIX))
        self._call_id = call_id
        self._tool = tool
        self._start_input = start_input  # the block's `input` at its start: {} when it streams
        self._fragments: list[str] = []

    def open(self, out: EventWriter) -> bytes:
        return self._added(out, self._item("", _IN_PROGRESS))

    def feed(self, out: EventWriter, delta: StreamDelta) -> bytes:
        fragment = delta.partial_json
        if not fragment:
            return b""  # Anthropic opens every tool input with an empty fragment
        self._fragments.append(fragment)
        return out.event(_ARGUMENTS_DELTA, self.ref + b',"delta":' + _encode(fragment))

    def close(self, out: EventWriter) -> bytes:
        events = b""
        if self._fragments:
            arguments = "".join(self._fragments)
        else:
            # No fragment: the input came whole at the start, or is empty ("{}": "" is not JSON).
            arguments = arguments_text(self._start_input or {})
            events = out.event(_ARGUMENTS_DELTA, self.ref + b',"delta":' + _encode(arguments))
        done = b',"name":%s,"arguments":%s' % (_encode(self._tool.name), _encode(arguments))
        events += out.event(_ARGUMENTS_DONE, self.ref + done)
        return events + self._finished(out, self._item(arguments, output.COMPLETED))

    def _item(self, arguments: str, status: str) -> dict[str, Any]:
        tool = self._tool
        return output.function_call_item(self.item_id, self._call_id, tool.name, arguments, tool.namespace, status)


class CustomCallStream(ItemStream):
    """A tool_use block of a custom tool: its one string argument streams decoded, as the input."""

    __slots__ = ("_call_id", "_fragments", "_input", "_tool")

    def __init__(self, index: int, call_id: str, tool: ClientTool, start_input: Any) -> None:
        super().__init__(index, output.item_id(output.CUSTOM_CALL_PREFIX))
        self._call_id = call_id
        self._tool = tool
        self._input = StringArgumentStream()
        self._fragments: list[str] = []
        if start_input:  # the input came whole at the start
            self._fragments.append(arguments_text(start_input))
            self._input.feed(self._fragments[0])

    def open(self, out: EventWriter) -> bytes:
        return self._added(out, self._item("", _IN_PROGRESS)) + self._delta(out, self._input.sent)

    def feed(self, out: EventWriter, delta: StreamDelta) -> bytes:
        fragment = delta.partial_json
        if not fragment:
            return b""
        self._fragments.append(fragment)
        return self._delta(out, self._input.feed(fragment))

    def close(self, out: EventWriter) -> bytes:
        # The whole arguments, read as the unary answer reads them: the authority on the input.
        text = output.custom_input("".join(self._fragments) or arguments_text({}))
        sent = self._input.sent
        events = self._delta(out, text[len(sent):]) if text.startswith(sent) else b""
        events += out.event(_INPUT_DONE, self.ref + b',"input":' + _encode(text))
        return events + self._finished(out, self._item(text, output.COMPLETED))

    def _delta(self, out: EventWriter, text: str) -> bytes:
        return out.event(_INPUT_DELTA, self.ref + b',"delta":' + _encode(text)) if text else b""

    def _item(self, text: str, status: str) -> dict[str, Any]:
        tool = self._tool
        return output.custom_tool_call_item(self.item_id, self._call_id, tool.name, text, tool.namespace, status)
