"""AWS event streams → events (router.spokes.bedrock.eventstream): the test encoder proved against
botocore's parser, then the reframer at every split of multi-frame streams (text, tool use,
reasoning, exceptions, corrupt frames), InvokeModel's chunks, the relay's ReframedTranslator, and
what Bedrock's exception names mean (router.spokes.bedrock.errors).

The reframer's events are compared as SSE text (`as_sse`: each event's name and data, one
`event:` and one `data:` line), the readable way to see both at once."""

from __future__ import annotations

import base64
import json
import struct
import subprocess
import sys
from binascii import crc32
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest
from botocore.eventstream import EventStreamBuffer

from router.core.errors import (
    RouterError,
    UpstreamProtocolError,
    UpstreamStatusError,
    status_to_error,
)
from router.core.sse import SSEEvent, encode_event
from router.spokes.bedrock import eventstream
from router.spokes.bedrock.errors import (
    ERROR_STATUS,
    canonical,
    error_status,
    exception_type,
)
from router.spokes.bedrock.eventstream import (
    EventStreamReframer,
    converse_event,
    converse_reframer,
    invoke_event,
    invoke_reframer,
)
from router.upstream.relay import ReframedTranslator
from tests.spokes.bedrock.frames import chunk_frame, event_frame, exception_frame, frame

# A ConverseStream answer with every kind of block: reasoning (text, signature), text, a tool call.
CONVERSE_EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("messageStart", {"role": "assistant"}),
    ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "Let me think."}},
                           "p": "abcdefgh"}),
    ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "c2lnbmF0dXJl"}}}),
    ("contentBlockStop", {"contentBlockIndex": 0}),
    ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "Héllo \u2028 \"wörld\" 🎉"}}),
    ("contentBlockStop", {"contentBlockIndex": 1}),
    ("contentBlockStart", {"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "ls"}}}),
    ("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": "{\"path\": "}}}),
    ("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": "\"/tmp\"}"}}}),
    ("contentBlockStop", {"contentBlockIndex": 2}),
    ("messageStop", {"stopReason": "tool_use"}),
    ("metadata", {"usage": {"inputTokens": 10, "outputTokens": 20, "totalTokens": 30}, "metrics": {"latencyMs": 9}}),
]
CONVERSE = b"".join(event_frame(name, payload) for name, payload in CONVERSE_EVENTS)
CONVERSE_SSE = b"".join(b"event: %s\ndata: %s\n\n" % (name.encode(), _payload)
                        for name, _payload in ((n, json.dumps(p, separators=(",", ":"), ensure_ascii=False).encode())
                                               for n, p in CONVERSE_EVENTS))

ANTHROPIC_EVENTS: list[dict[str, Any]] = [
    {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
                                          "content": [], "stop_reason": None, "usage": {"input_tokens": 5}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi \n there"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}},
    {"type": "message_stop", "amazon-bedrock-invocationMetrics": {"inputTokenCount": 5, "outputTokenCount": 3}},
]
INVOKE = b"".join(chunk_frame(event) for event in ANTHROPIC_EVENTS)
INVOKE_SSE = b"".join(b"event: %s\ndata: %s\n\n" % (event["type"].encode(),
                                                     json.dumps(event, separators=(",", ":")).encode())
                      for event in ANTHROPIC_EVENTS)


def as_sse(events: list[SSEEvent]) -> bytes:
    return b"".join(encode_event(event.event or "", event.data) for event in events)


class AsSSE:
    """A reframer whose `feed` answers its events as SSE text (see the module docstring)."""

    def __init__(self, reframer: EventStreamReframer) -> None:
        self.reframer = reframer

    @property
    def failure(self) -> RouterError | None:
        return self.reframer.failure

    def feed(self, chunk: bytes) -> bytes:
        return as_sse(self.reframer.feed(chunk))

    def end(self) -> None:
        self.reframer.end()


def converse() -> AsSSE:
    return AsSSE(EventStreamReframer(converse_event, "up"))


def invoke() -> AsSSE:
    return AsSSE(EventStreamReframer(invoke_event, "up"))


def feed_all(reframer: AsSSE, pieces: list[bytes]) -> bytes:
    """What the pieces make, up to a failure (left in `reframer.failure`)."""
    out = b""
    for piece in pieces:
        out += reframer.feed(piece)
        if reframer.failure is not None:
            break
    return out


def splits(data: bytes) -> list[list[bytes]]:
    return [[data[:offset], data[offset:]] for offset in range(len(data) + 1)]


# --- the encoder, proved by botocore's parser ------------------------------------------------------


def _decoded(data: bytes) -> list[tuple[dict[str, Any], bytes]]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(message.headers, message.payload) for message in buffer]


def test_frames_decode_back_with_botocore() -> None:
    decoded = _decoded(CONVERSE)
    assert len(decoded) == len(CONVERSE_EVENTS)
    for (headers, payload), (name, expected) in zip(decoded, CONVERSE_EVENTS, strict=True):
        assert headers == {":event-type": name, ":content-type": "application/json", ":message-type": "event"}
        assert json.loads(payload) == expected


def test_an_exception_frame_decodes_back_with_botocore() -> None:
    ((headers, payload),) = _decoded(exception_frame("throttlingException", "Too many requests"))
    assert headers[":message-type"] == "exception" and headers[":exception-type"] == "throttlingException"
    assert json.loads(payload) == {"message": "Too many requests"}


def test_a_chunk_frame_carries_one_anthropic_event_in_base64() -> None:
    ((headers, payload),) = _decoded(chunk_frame({"type": "ping"}))
    assert headers[":event-type"] == "chunk"
    assert json.loads(base64.b64decode(json.loads(payload)["bytes"])) == {"type": "ping"}


def test_a_frame_with_any_headers_and_an_empty_payload() -> None:
    data = frame({"a": "1", "ünï": "ç" * 300}, b"")
    assert _decoded(data) == [({"a": "1", "ünï": "ç" * 300}, b"")]
    assert struct.unpack("!I", data[:4])[0] == len(data)


# --- ConverseStream -----------------------------------------------------------------------------------


def test_converse_frames_become_named_events_with_the_payload_as_sent() -> None:
    assert converse().feed(CONVERSE) == CONVERSE_SSE


def test_every_two_piece_split_gives_the_same_events() -> None:
    for pieces in splits(CONVERSE):
        reframer = converse()
        assert feed_all(reframer, pieces) == CONVERSE_SSE, f"split at {len(pieces[0])}"
        reframer.end()


def test_one_byte_at_a_time_gives_the_same_events() -> None:
    reframer = converse()
    assert feed_all(reframer, [CONVERSE[i:i + 1] for i in range(len(CONVERSE))]) == CONVERSE_SSE
    reframer.end()


def test_an_event_is_out_as_soon_as_its_frame_is_whole() -> None:
    first = event_frame(*CONVERSE_EVENTS[0])
    reframer = converse()
    assert reframer.feed(first[:-1]) == b""
    assert reframer.feed(first[-1:]) == b'event: messageStart\ndata: {"role":"assistant"}\n\n'


def test_the_events_are_objects_named_by_their_type() -> None:
    events = EventStreamReframer(converse_event, "up").feed(event_frame(*CONVERSE_EVENTS[0]))
    assert events == [SSEEvent("messageStart", b'{"role":"assistant"}')]


def test_a_converse_payload_reaches_the_machine_as_sent() -> None:
    """Line breaks and all: no SSE text is made of it (the machine decodes the JSON itself)."""
    payload = b'{\n  "contentBlockIndex": 0,\r\n  "delta": {"text": "a\\nb"}\n}'
    events = EventStreamReframer(converse_event, "up").feed(
        frame({":message-type": "event", ":event-type": "contentBlockDelta"}, payload))
    assert events == [SSEEvent("contentBlockDelta", payload)]


def test_line_breaks_in_an_invoke_event_become_spaces() -> None:
    """An Anthropic client gets the event re-framed as SSE: a bare carriage return in its data
    line would end the line early."""
    spaced = b'{"type":"ping",\r\n "x": 1\r}'
    events = EventStreamReframer(invoke_event, "up").feed(
        event_frame("chunk", {"bytes": base64.b64encode(spaced).decode()}))
    assert events == [SSEEvent("ping", b'{"type":"ping",  "x": 1 }')]
    assert json.loads(events[0].data) == json.loads(spaced)


def test_an_unknown_converse_event_type_passes_to_the_machine() -> None:
    """The Converse machine ignores names it does not know; none is ever written out."""
    reframer = converse()
    assert reframer.feed(event_frame("citationDelta", {"x": 1})) == b'event: citationDelta\ndata: {"x":1}\n\n'
    assert reframer.feed(frame({":message-type": "event"}, b"{}")) == b""  # no event type: nothing to name


def test_other_message_types_are_ignored() -> None:
    reframer = converse()
    assert reframer.feed(frame({":message-type": "initial-response"}, b"{}") + frame({}, b"x")) == b""
    assert reframer.failure is None


# --- exceptions in the stream -----------------------------------------------------------------------

BEFORE = CONVERSE_EVENTS[:5]
BEFORE_SSE = b"".join(encode_event(name, json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
                     for name, payload in BEFORE)


def _with_exception(exception: bytes) -> bytes:
    return b"".join(event_frame(name, payload) for name, payload in BEFORE) + exception + event_frame(
        *CONVERSE_EVENTS[5])


@pytest.mark.parametrize(("kind", "status", "client_status", "error_type"), [
    ("throttlingException", 429, 429, "rate_limit_error"),
    ("serviceUnavailableException", 503, 529, "overloaded_error"),
    ("modelNotReadyException", 503, 529, "overloaded_error"),
    ("validationException", 400, 400, "invalid_request_error"),
    ("internalServerException", 500, 500, "api_error"),
    ("modelStreamErrorException", 502, 502, "api_error"),
    ("modelTimeoutException", 504, 504, "timeout_error"),
    ("somethingNewException", 502, 502, "api_error"),
])
def test_an_exception_mid_stream_is_its_status_after_the_events_before_it(
        kind: str, status: int, client_status: int, error_type: str) -> None:
    data = _with_exception(exception_frame(kind, "it broke"))
    for pieces in splits(data):
        reframer = converse()
        assert feed_all(reframer, pieces) == BEFORE_SSE, f"split at {len(pieces[0])}"
        error = reframer.failure
        assert isinstance(error, UpstreamStatusError)
        assert (error.upstream_status, error.status, error.error_type) == (status, client_status, error_type)
        assert error.message == f"upstream 'up' failed mid-stream: {kind}: it broke"
        assert reframer.feed(b"more") == b""
        with pytest.raises(UpstreamStatusError):
            reframer.end()


def test_a_throttled_stream_says_when_to_retry() -> None:
    reframer = converse()
    reframer.feed(exception_frame("throttlingException", "slow down"))
    assert reframer.failure is not None and reframer.failure.headers == {"retry-after": "5"}


def test_a_model_stream_error_says_what_the_model_said() -> None:
    payload = json.dumps({"message": "Model failed", "originalStatusCode": 500, "originalMessage": "boom"}).encode()
    reframer = converse()
    reframer.feed(frame({":message-type": "exception", ":exception-type": "modelStreamErrorException"}, payload))
    assert reframer.failure is not None
    assert reframer.failure.message.endswith("modelStreamErrorException: Model failed (the model said 500 boom)")


def test_an_exception_without_a_readable_payload_still_names_its_type() -> None:
    reframer = converse()
    reframer.feed(frame({":message-type": "exception", ":exception-type": "internalServerException"}, b"<html>"))
    assert reframer.failure is not None
    assert reframer.failure.message == "upstream 'up' failed mid-stream: internalServerException: no message"


def test_an_error_message_names_its_code() -> None:
    reframer = converse()
    reframer.feed(frame({":message-type": "error", ":error-code": "InternalFailure", ":error-message": "oops"}, b""))
    assert isinstance(reframer.failure, UpstreamStatusError) and reframer.failure.upstream_status == 502
    assert reframer.failure.message == "upstream 'up' failed mid-stream: InternalFailure: oops"


# --- broken frames ----------------------------------------------------------------------------------


def _corrupt(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


@pytest.mark.parametrize("where", ["payload", "message crc", "prelude crc", "length"])
def test_a_corrupt_frame_is_a_protocol_error_after_the_events_before_it(where: str) -> None:
    bad = event_frame(*CONVERSE_EVENTS[5])
    at = {"payload": len(bad) - 6, "message crc": len(bad) - 1, "prelude crc": 9, "length": 3}[where]
    data = b"".join(event_frame(name, payload) for name, payload in BEFORE) + _corrupt(bad, at)
    for pieces in splits(data):
        reframer = converse()
        assert feed_all(reframer, pieces) == BEFORE_SSE, f"split at {len(pieces[0])}"
        assert isinstance(reframer.failure, UpstreamProtocolError), f"split at {len(pieces[0])}"
        assert "unreadable event stream" in reframer.failure.message


def test_a_checksum_mismatch_says_so() -> None:
    reframer = converse()
    reframer.feed(_corrupt(CONVERSE, 30))
    assert reframer.failure is not None and "ChecksumMismatch" in reframer.failure.message


def test_a_body_that_ends_mid_frame_is_a_protocol_error() -> None:
    reframer = converse()
    assert reframer.feed(CONVERSE[:-3]) == CONVERSE_SSE[: CONVERSE_SSE.rindex(b"event: metadata")]
    with pytest.raises(UpstreamProtocolError, match="a frame cut short"):
        reframer.end()


def test_a_frame_over_the_bound_is_refused_before_it_is_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eventstream, "MAX_FRAME_BYTES", 100)
    big = event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x" * 200}})
    reframer = converse()
    assert reframer.feed(big[:90]) == b"" and reframer.failure is None
    reframer.feed(big[90:150])
    assert isinstance(reframer.failure, UpstreamProtocolError) and "over 100 bytes" in reframer.failure.message
    whole = converse()
    whole.feed(big)
    assert whole.failure is not None and f"a frame of {len(big)} bytes" in whole.failure.message


def test_a_length_past_botocores_bound_is_refused_at_once() -> None:
    lengths = struct.pack("!II", 30 * 1024 * 1024, 0)
    reframer = converse()
    reframer.feed(lengths + struct.pack("!I", crc32(lengths)))
    assert isinstance(reframer.failure, UpstreamProtocolError) and "InvalidPayloadLength" in reframer.failure.message


def test_the_default_bound_is_16_mib() -> None:
    assert eventstream.MAX_FRAME_BYTES == 16 * 1024 * 1024


# --- InvokeModel ----------------------------------------------------------------------------------


def test_invoke_chunks_become_the_anthropic_events_they_carry() -> None:
    assert invoke().feed(INVOKE) == INVOKE_SSE


def test_invoke_at_every_split() -> None:
    for pieces in splits(INVOKE):
        assert feed_all(invoke(), pieces) == INVOKE_SSE, f"split at {len(pieces[0])}"


def test_an_invoke_event_spaced_differently_is_named_by_its_type() -> None:
    spaced = b'{ "index": 0, "type": "content_block_stop" }'
    data = event_frame("chunk", {"bytes": base64.b64encode(spaced).decode()})
    assert invoke().feed(data) == b"event: content_block_stop\ndata: " + spaced + b"\n\n"


def test_an_invoke_event_of_a_new_type_passes_and_a_forged_name_is_dropped() -> None:
    reframer = invoke()
    assert reframer.feed(chunk_frame({"type": "future_event", "x": 1})) == \
        b'event: future_event\ndata: {"type":"future_event","x":1}\n\n'
    assert reframer.feed(chunk_frame({"type": "a\nb"})) == b""


def test_invoke_ignores_frames_that_are_not_chunks() -> None:
    assert invoke().feed(event_frame("messageStart", {"role": "assistant"})) == b""


@pytest.mark.parametrize("payload", [{"bytes": "!!not base64!!"}, {"bytes": base64.b64encode(b"[1, 2]").decode()},
                                     {"bytes": base64.b64encode(b"not json").decode()}])
def test_an_unreadable_chunk_is_a_protocol_error(payload: dict[str, Any]) -> None:
    reframer = invoke()
    out = reframer.feed(chunk_frame({"type": "ping"}) + event_frame("chunk", payload))
    assert out == b'event: ping\ndata: {"type":"ping"}\n\n'
    assert isinstance(reframer.failure, UpstreamProtocolError) and "'up'" in reframer.failure.message


def test_an_exception_in_an_invoke_stream() -> None:
    reframer = invoke()
    first = chunk_frame(ANTHROPIC_EVENTS[0])
    out = reframer.feed(first + exception_frame("validationException", "Input is too long"))
    assert out.startswith(b"event: message_start\n")
    assert isinstance(reframer.failure, UpstreamStatusError) and reframer.failure.status == 400
    assert "validationException: Input is too long" in reframer.failure.message


# --- as the relay reads it (router.upstream.relay.ReframedTranslator) -------------------------------


class EchoMachine:
    """A StreamMachine that writes each event back as SSE text, and its error as `error: ...`."""

    reads: Literal["events"] = "events"

    def start(self) -> bytes:
        return b""

    def on_event(self, event: SSEEvent) -> bytes:
        return encode_event(event.event or "", event.data)

    def on_data(self, data: bytes) -> bytes:
        raise AssertionError("a reframed stream's events go to on_event")

    def finish(self) -> bytes:
        return b"end"

    def fail(self, error: RouterError) -> bytes:
        return b"error: " + error.message.encode()

    def ping(self) -> bytes:
        return b""

    def tokens(self) -> None:
        return None


def translated(reframer: Callable[[str], EventStreamReframer], *pieces: bytes) -> tuple[bytes, RouterError | None]:
    """What the relay writes for these reads, and the error the stream ended with."""
    translator = ReframedTranslator(EchoMachine(), reframer("up"), upstream="up")
    out = b"".join(translator.feed(piece) for piece in pieces) + translator.end()
    return out, translator.error


def test_converse_events_reach_the_machine() -> None:
    half = len(CONVERSE) // 2
    assert translated(converse_reframer, CONVERSE[:half], CONVERSE[half:]) == (CONVERSE_SSE + b"end", None)


def test_invoke_events_reach_the_machine() -> None:
    assert translated(invoke_reframer, INVOKE) == (INVOKE_SSE + b"end", None)


def test_the_events_before_an_exception_go_out_then_the_error() -> None:
    out, error = translated(converse_reframer, _with_exception(exception_frame("throttlingException", "no")))
    assert out == BEFORE_SSE + b"error: upstream 'up' failed mid-stream: throttlingException: no"
    assert isinstance(error, UpstreamStatusError) and error.status == 429


def test_nothing_is_fed_after_the_failure() -> None:
    data = _with_exception(exception_frame("throttlingException", "no"))
    translator = ReframedTranslator(EchoMachine(), converse_reframer("up"), upstream="up")
    translator.feed(data)
    assert translator.failed
    assert translator.feed(CONVERSE) == b"" and translator.end() == b""


def test_a_body_cut_mid_frame_ends_in_an_error() -> None:
    out, error = translated(converse_reframer, CONVERSE[:-1])
    assert out.startswith(CONVERSE_SSE[: CONVERSE_SSE.rindex(b"event: metadata")] + b"error: ")
    assert isinstance(error, UpstreamProtocolError)


# --- what exception names mean ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "status"), [
    ("ThrottlingException", 429), ("ModelNotReadyException", 503), ("ServiceUnavailableException", 503),
    ("ValidationException", 400), ("AccessDeniedException", 403), ("UnrecognizedClientException", 403),
    ("ResourceNotFoundException", 404), ("ModelTimeoutException", 504), ("ModelErrorException", 502),
    ("ModelStreamErrorException", 502), ("InternalServerException", 500), ("ServiceQuotaExceededException", 429),
    ("throttlingException", 429), ("modelStreamErrorException", 502),
])
def test_error_status(name: str, status: int) -> None:
    assert error_status(name) == status


def test_an_unknown_exception_is_the_default_status() -> None:
    assert error_status("BrandNewException") == 502
    assert error_status("BrandNewException", default=418) == 418


def test_what_clients_see() -> None:
    """The statuses the table picks, through the router's one status mapping."""
    seen = {name: status_to_error(status) for name, status in ERROR_STATUS.items()}
    assert seen["ModelNotReadyException"] == (529, "overloaded_error")
    assert seen["AccessDeniedException"] == (502, "api_error")
    assert seen["ModelTimeoutException"] == (504, "timeout_error")
    assert seen["ValidationException"] == (400, "invalid_request_error")


@pytest.mark.parametrize(("spelled", "name"), [
    ("ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/", "ThrottlingException"),
    ("com.amazon.coral.service#ValidationException", "ValidationException"),
    ("throttlingException", "ThrottlingException"),
    ("  AccessDeniedException ", "AccessDeniedException"),
])
def test_canonical(spelled: str, name: str) -> None:
    assert canonical(spelled) == name


def test_exception_type_from_the_header_first() -> None:
    assert exception_type("ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
                          b'{"__type": "ValidationException"}') == "ThrottlingException"


@pytest.mark.parametrize(("body", "name"), [
    (b'{"__type": "com.amazon.coral.service#ValidationException", "message": "bad"}', "ValidationException"),
    (b'{"code": "AccessDeniedException"}', "AccessDeniedException"),
    (b'{"message": "bad"}', None),
    (b"<html>502 Bad Gateway</html>", None),
    (b"", None),
    (b'{"__type": ""}', None),
])
def test_exception_type_from_the_body(body: bytes, name: str | None) -> None:
    assert exception_type(None, body) == name
    assert exception_type("", body) == name


# --- botocore, only when a stream is read ---------------------------------------------------------


def test_importing_the_modules_needs_no_botocore() -> None:
    code = ("import sys; import router.spokes.bedrock.eventstream, router.spokes.bedrock.stream, "
            "router.spokes.bedrock.errors; assert 'botocore' not in sys.modules, 'botocore imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[3])


def test_botocores_header_parser_is_the_cached_one() -> None:
    """A botocore that renames the attribute would make every frame ~2x dearer: noticed here."""
    assert isinstance(eventstream._buffer()._header_parser, eventstream._CachedHeaderParser)


def test_cached_headers_are_read_only() -> None:
    parsed = eventstream._parsed_headers(CONVERSE[12:12 + struct.unpack("!I", CONVERSE[4:8])[0]])
    assert parsed[":event-type"] == "messageStart"
    with pytest.raises(TypeError):
        parsed[":event-type"] = "x"  # type: ignore[index]
