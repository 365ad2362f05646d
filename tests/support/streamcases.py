"""Shared helpers for the stream tests: the recorded cases, a synchronous driver, and the two folds.

A case is `tests/cases/streams/<pair>/<name>.sse` (the upstream's bytes, exactly as sent) next to
`<name>.json` (description, the machine's parameters and the expected client events, one per line).

The folds are the oracle that does not trust the machine: the client's events are folded into one
message the way an SDK accumulates them, the upstream's chunks into one unary answer; converting that
answer with the unary converter must give the same message.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from router.config.target import Capabilities, TargetContext
from router.core.sse import SSEParser
from router.core.stream import StreamMachine
from router.spokes.openai.upstream.stream import AnthropicStreamFromOpenAI
from router.spokes.openai.wire import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatMessage,
    Choice,
    FunctionCall,
    ToolCall,
    Usage,
)
from router.spokes.tables import read_pair_text
from router.upstream.relay import SSETranslator

CASES = Path(__file__).parents[1] / "cases" / "streams"
CTX = TargetContext(route="t", upstream="up", model="m", caps=Capabilities())
# The shipped [values.finish_reason] table, read without compiling the pair's converters.
FINISH_VALUES: dict[str, str] = tomllib.loads(read_pair_text("openai.upstream"))["values"]["finish_reason"]

Event = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class StreamCase:
    name: str
    description: str
    upstream_sse: bytes
    message_id: str
    model: str
    input_tokens: int | None
    expected_events: list[Event]

    @property
    def fails(self) -> bool:
        return self.expected_events[-1][0] == "error"


def load_cases(pair: str) -> list[StreamCase]:
    cases = []
    for sse in sorted((CASES / pair).glob("*.sse")):
        spec = json.loads(sse.with_suffix(".json").read_text(encoding="utf-8"))
        cases.append(
            StreamCase(
                name=sse.stem,
                description=spec["description"],
                upstream_sse=sse.read_bytes(),
                message_id=spec["message_id"],
                model=spec["model"],
                input_tokens=spec["input_tokens"],
                expected_events=[(name, data) for name, data in spec["expected_events"]],
            )
        )
    return cases


def openai_machine(case: StreamCase, ctx: TargetContext = CTX) -> AnthropicStreamFromOpenAI:
    return AnthropicStreamFromOpenAI(
        ctx,
        message_id=case.message_id,
        model=case.model,
        input_tokens=case.input_tokens,
        finish_values=FINISH_VALUES,
    )


def translate(machine: StreamMachine, pieces: Iterable[bytes]) -> bytes:
    """What `relay` writes for these upstream reads, minus the clock: start, every piece, the end."""
    translator = SSETranslator(machine)
    out = [machine.start()]
    out.extend(translator.feed(piece) for piece in pieces)
    out.append(translator.end())
    return b"".join(out)


def two_piece_splits(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    for offset in range(len(data) + 1):
        yield data[:offset], data[offset:]


def one_byte_pieces(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def parse_events(sse: bytes) -> list[Event]:
    """Client-side view of our output: every event must be named and carry one JSON object."""
    parser = SSEParser()
    events = parser.feed(sse) + parser.flush()
    parsed = []
    for event in events:
        assert event.event is not None, event
        assert b"\n" not in event.data, "one data line per event"
        parsed.append((event.event, json.loads(event.data)))
    return parsed


# --- fold: Anthropic events → one message, checking the grammar on the way -----------------------


def fold_anthropic(events: Iterable[Event]) -> dict[str, Any]:
    """Accumulate like the Anthropic SDK does, and assert the event grammar: one message_start
    first, blocks opened in index order and one at a time, deltas matching their block's type,
    message_delta then message_stop exactly once at the end."""
    message: dict[str, Any] | None = None
    open_index: int | None = None
    partial_json: dict[int, str] = {}
    stopped = False
    for name, data in events:
        assert not stopped, f"{name} after message_stop"
        assert data.get("type") == name, (name, data)
        if name == "ping":
            continue
        if name == "message_start":
            assert message is None, "second message_start"
            message = json.loads(json.dumps(data["message"]))
            continue
        assert message is not None, f"{name} before message_start"
        if name == "content_block_start":
            assert open_index is None, "a block opened while another is open"
            assert data["index"] == len(message["content"]), "block indices must be contiguous"
            open_index = data["index"]
            message["content"].append(dict(data["content_block"]))
        elif name == "content_block_delta":
            assert open_index is not None and data["index"] == open_index, "delta for a block that is not open"
            _apply_delta(message["content"][open_index], data["delta"], partial_json, open_index)
        elif name == "content_block_stop":
            assert open_index is not None and data["index"] == open_index, "stop for a block that is not open"
            block = message["content"][open_index]
            if block["type"] == "tool_use":
                text = partial_json.get(open_index, "")
                block["input"] = json.loads(text) if text else {}
            open_index = None
        elif name == "message_delta":
            assert open_index is None, "message_delta with a block still open"
            message.update(data["delta"])
            message["usage"].update(data["usage"])
        elif name == "message_stop":
            assert message["stop_reason"] is not None, "message_stop without a message_delta"
            stopped = True
        else:
            raise AssertionError(f"unexpected event {name}: {data}")
    assert message is not None and stopped, "stream did not end with message_stop"
    return message


def _apply_delta(block: dict[str, Any], delta: dict[str, Any], partial: dict[int, str], index: int) -> None:
    kind = delta["type"]
    expected_block = {
        "text_delta": "text",
        "thinking_delta": "thinking",
        "signature_delta": "thinking",
        "input_json_delta": "tool_use",
    }[kind]
    assert block["type"] == expected_block, (block, delta)
    if kind == "text_delta":
        block["text"] += delta["text"]
    elif kind == "thinking_delta":
        block["thinking"] += delta["thinking"]
    elif kind == "signature_delta":
        block["signature"] += delta["signature"]
    else:
        partial[index] = partial.get(index, "") + delta["partial_json"]


# --- fold: OpenAI chunks → one chat.completion ---------------------------------------------------


def fold_openai(sse: bytes) -> ChatCompletion:
    """Accumulate an OpenAI stream the way the openai SDK's stream helper does (choice 0)."""
    decode = msgspec.json.Decoder(ChatCompletionChunk).decode
    parser = SSEParser()
    fields: dict[str, str] = {"content": "", "reasoning_content": "", "reasoning": "", "refusal": ""}
    calls: dict[int, dict[str, str]] = {}
    completion_id = model = finish_reason = None
    usage: Usage | None = None
    for event in parser.feed(sse) + parser.flush():
        if event.data.strip() == b"[DONE]":
            break
        chunk = decode(event.data)
        completion_id = completion_id or chunk.id
        model = model or chunk.model
        usage = chunk.usage or usage
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            finish_reason = choice.finish_reason or finish_reason
            delta = choice.delta
            if delta is None:
                continue
            for key in fields:
                fields[key] += getattr(delta, key) or ""
            for call in delta.tool_calls or ():
                entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] = entry["id"] or call.id or ""
                if call.function is not None:
                    entry["name"] = entry["name"] or call.function.name or ""
                    entry["arguments"] += call.function.arguments or ""
    message = ChatMessage(
        content=fields["content"] or None,
        reasoning_content=fields["reasoning_content"] or None,
        reasoning=fields["reasoning"] or None,
        refusal=fields["refusal"] or None,
        tool_calls=[
            ToolCall(id=c["id"] or None, function=FunctionCall(name=c["name"], arguments=c["arguments"]))
            for _, c in sorted(calls.items())
        ]
        or None,
    )
    return ChatCompletion(
        choices=[Choice(message=message, finish_reason=finish_reason)],
        id=completion_id,
        model=model,
        usage=usage,
    )
