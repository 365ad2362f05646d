"""When an OpenAI Chat stream has ended: once it said `[DONE]`, or once a chunk carried a
finish_reason (the answer is whole then; the OpenAI SDKs end a stream without [DONE] quietly),
or an error chunk (nothing follows one). The same rule the converting machine for Anthropic
clients follows, so one upstream's behaviour has one outcome whichever client reads it."""

from __future__ import annotations

DONE = b"[DONE]"


def ends(chunk: bytes) -> bool:
    return _finishes(chunk) or _is_error(chunk)


def _finishes(chunk: bytes) -> bool:
    """Does this (valid JSON) chunk carry a non-null finish_reason? A byte test: every other
    chunk says `"finish_reason":null` or nothing."""
    at = chunk.find(b'"finish_reason"')
    if at < 0:
        return False
    value = chunk[at + 15:at + 40].lstrip(b": \t\r\n")[:1]
    return value not in (b"n", b"")


def _is_error(chunk: bytes) -> bool:
    """`{"error": {...}}`, how OpenAI-compatible servers fail mid-stream."""
    return chunk.lstrip()[:8] == b'{"error"'
