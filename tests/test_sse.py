"""SSEParser / encode_event: the event-stream rules, line endings, and chunk boundaries anywhere."""

from __future__ import annotations

import pytest

from router.core.sse import DataRun, SSEEvent, SSEParser, encode_event


def parse(*chunks: bytes) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events + parser.flush()


def parse_by_runs(*chunks: bytes) -> list[SSEEvent]:
    """Parse as the stream relay reads: `data_run` first, `feed` when the run does not apply."""
    parser = SSEParser()
    events: list[SSEEvent] = []
    for chunk in chunks:
        run = parser.data_run(chunk)
        if run is None:
            events.extend(parser.feed(chunk))
        else:
            payloads = run.payloads()
            assert len(payloads) == run.count
            events.extend(SSEEvent(None, data) for data in payloads)
    return events + parser.flush()


def parse_at_every_split(stream: bytes) -> list[SSEEvent]:
    """Parse whole, at every two-piece split and byte by byte, with and without data runs; all
    must agree."""
    whole = parse(stream)
    assert parse_by_runs(stream) == whole
    for offset in range(len(stream) + 1):
        assert parse(stream[:offset], stream[offset:]) == whole, f"split at {offset}"
        assert parse_by_runs(stream[:offset], stream[offset:]) == whole, f"runs, split at {offset}"
    assert parse(*(stream[i : i + 1] for i in range(len(stream)))) == whole
    assert parse_by_runs(*(stream[i : i + 1] for i in range(len(stream)))) == whole
    return whole


def test_data_lines_and_blank_line_dispatch() -> None:
    assert parse_at_every_split(b'data: {"a":1}\n\ndata: {"b":2}\n\n') == [
        SSEEvent(None, b'{"a":1}'),
        SSEEvent(None, b'{"b":2}'),
    ]


def test_event_names_apply_to_one_event_only() -> None:
    stream = b"event: message_start\ndata: {}\n\ndata: plain\n\n"
    assert parse_at_every_split(stream) == [SSEEvent("message_start", b"{}"), SSEEvent(None, b"plain")]


def test_comments_are_ignored() -> None:
    stream = b": OPENROUTER PROCESSING\n\n:keep-alive\ndata: x\n: between\n\n"
    assert parse_at_every_split(stream) == [SSEEvent(None, b"x")]


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert parse_at_every_split(b"data: a\ndata: b\ndata:c\n\n") == [SSEEvent(None, b"a\nb\nc")]


def test_only_one_space_after_the_colon_is_removed() -> None:
    assert parse_at_every_split(b"data:  two spaces\ndata:none\n\n") == [SSEEvent(None, b" two spaces\nnone")]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_every_line_ending(newline: bytes) -> None:
    stream = newline.join([b"event: e", b"data: 1", b"", b"data: 2", b"data: 3", b"", b""])
    assert parse_at_every_split(stream) == [SSEEvent("e", b"1"), SSEEvent(None, b"2\n3")]


def test_mixed_line_endings() -> None:
    assert parse_at_every_split(b"data: 1\r\n\ndata: 2\r\rdata: 3\n\r\n") == [
        SSEEvent(None, b"1"),
        SSEEvent(None, b"2"),
        SSEEvent(None, b"3"),
    ]


def test_cr_at_the_end_of_a_chunk_and_lf_at_the_start_of_the_next_is_one_break() -> None:
    # Counted as two breaks, the "\n" would be a blank line and dispatch "1" on its own.
    assert parse(b"data: 1\r", b"\ndata: 2\r\n\r\n") == [SSEEvent(None, b"1\n2")]
    assert parse(b"data: 1\r", b"\n", b"\r", b"\n") == [SSEEvent(None, b"1")]


def test_a_final_event_without_a_blank_line_comes_from_flush() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: [DONE]") == []
    assert parser.flush() == [SSEEvent(None, b"[DONE]")]
    parser = SSEParser()
    assert parser.feed(b"data: last\n") == []
    assert parser.flush() == [SSEEvent(None, b"last")]
    assert parser.flush() == []


def test_u2028_and_u2029_inside_json_stay_intact() -> None:
    payload = '{"text":"a\u2028b\u2029c\x85d"}'.encode()
    assert parse_at_every_split(b"data: " + payload + b"\n\n") == [SSEEvent(None, payload)]


def test_empty_data_lines_are_data() -> None:
    # An empty `data:` still makes an event (with empty data); blank lines alone make none.
    assert parse_at_every_split(b"data:\n\ndata\n\n\n\n") == [SSEEvent(None, b""), SSEEvent(None, b"")]
    assert parse_at_every_split(b"data: a\ndata:\ndata: b\n\n") == [SSEEvent(None, b"a\n\nb")]


def test_an_event_without_data_is_not_dispatched() -> None:
    assert parse_at_every_split(b"event: lonely\n\ndata: x\n\n") == [SSEEvent(None, b"x")]


def test_id_and_retry_are_consumed_and_unknown_fields_ignored() -> None:
    parser = SSEParser()
    events = parser.feed(b"id: 42\nretry: 1000\nfoo: bar\ndata: x\n\n")
    assert events == [SSEEvent(None, b"x")]
    assert parser.last_event_id == "42"


def test_a_leading_bom_is_dropped_even_when_split() -> None:
    assert parse_at_every_split(b"\xef\xbb\xbfdata: x\n\n") == [SSEEvent(None, b"x")]
    assert parse(b"\xef", b"\xbb", b"\xbfdata: y\n\n") == [SSEEvent(None, b"y")]


def test_empty_chunks_are_harmless() -> None:
    assert parse(b"", b"data: x", b"", b"\n", b"", b"\n") == [SSEEvent(None, b"x")]


def test_encode_event_round_trips() -> None:
    encoded = encode_event("content_block_stop", b'{"type":"content_block_stop","index":0}')
    assert encoded == b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
    assert parse(encoded) == [SSEEvent("content_block_stop", b'{"type":"content_block_stop","index":0}')]


# --- data runs: the relay's fast path -------------------------------------------------------------


def test_a_data_run_is_the_plain_events_and_keeps_the_unfinished_line() -> None:
    parser = SSEParser()
    run = parser.data_run(b'data: {"a":1}\n\ndata: [DONE]\n\ndata: {"b"')
    assert run == DataRun(b'data: {"a":1}\n\ndata: [DONE]', b'{"a":1},[DONE]', 2)
    assert run.payloads() == [b'{"a":1}', b"[DONE]"]
    assert run.json_array() == b'[{"a":1},[DONE]]'
    assert run.before_last(b"[DONE]") == DataRun(b'data: {"a":1}', b'{"a":1}', 1)
    assert run.before_last(b"other") is None
    assert parser.feed(b":2}\n\n") == [SSEEvent(None, b'{"b":2}')]


@pytest.mark.parametrize(
    "stream",
    [
        b"event: e\ndata: 1\n\n",  # a named event
        b"data: 1\ndata: 2\n\n",  # two data lines in one event
        b"data:1\n\n",  # no space after the colon
        b": keep-alive\n\ndata: 1\n\n",  # a comment
        b"data: 1\r\rdata: 2\r\r",  # lone CRs as line breaks
        b"data: 1\r\n\r",  # a CR whose LF may come in the next chunk
        b"\xef\xbb\xbfdata: 1\n\n",  # a byte order mark
        b"data: 1",  # no event complete
        b"data: 1\n\ndata: 2\n",  # a complete line after the last event
        b"data: 1\n\n\ndata: 2\n\n",  # an extra blank line
        b"id: 7\ndata: 1\n\n",  # an id
    ],
    ids=["named", "multi-line", "no-space", "comment", "lone-cr", "cr-at-end", "bom", "incomplete", "line-after", "extra-blank", "id"],
)
def test_what_is_not_a_plain_data_run_is_left_to_feed_untouched(stream: bytes) -> None:
    parser = SSEParser()
    assert parser.data_run(stream) is None
    assert parser.feed(stream) + parser.flush() == parse(stream)


def test_a_crlf_stream_is_a_data_run_too() -> None:
    """Google's streams end each event with CRLF CRLF: the run is the same as with LFs, and what
    feed would have made of the same bytes, the unfinished line kept (CRLF inside it too)."""
    stream = b'data: {"a":1}\r\n\r\ndata: {"b":2}\r\n\r\ndata: {"c"'
    parser = SSEParser()
    run = parser.data_run(stream)
    assert run == DataRun(b'data: {"a":1}\n\ndata: {"b":2}', b'{"a":1},{"b":2}', 2)
    assert parser.feed(b":3}\r\n\r\n") == [SSEEvent(None, b'{"c":3}')]
    assert [SSEEvent(None, payload) for payload in run.payloads()] + [SSEEvent(None, b'{"c":3}')] == parse(
        stream + b":3}\r\n\r\n")


def test_no_data_run_while_an_event_is_half_read() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: 1\n") == []
    assert parser.data_run(b"\ndata: 2\n\n") is None
    assert parser.feed(b"\ndata: 2\n\n") == [SSEEvent(None, b"1"), SSEEvent(None, b"2")]


def test_a_run_counts_empty_payloads_too() -> None:
    run = SSEParser().data_run(b"data: a\n\ndata: \n\ndata: b\n\n")
    assert run is not None
    assert (run.count, run.payloads(), run.joined) == (3, [b"a", b"", b"b"], b"a,,b")
