"""Tokens for token budgets: an estimate before the call, the real count from the answer.

The estimate is the input only (the output is unknown until it is written): Anthropic bodies
through the same offline counter `/v1/messages/count_tokens` uses, others at a cheap four bytes
per token. The real count is read from the answer *as the client gets it*, with the usage reader
metrics use (router.core.usage, both protocols' shapes), so one reader serves every protocol
pair: a unary body, or a stream scanned chunk by chunk, where only lines that carry a usage
object are decoded at all.
"""

from __future__ import annotations

import msgspec

from router.core.usage import Tokens, carries_usage, merge, tokens_in
from router.hub.tokens import count_input_tokens
from router.hub.messages import CountTokensRequest

_decode_count = msgspec.json.Decoder(CountTokensRequest).decode


def estimate_tokens(protocol: str, body: bytes) -> int:
    if protocol == "anthropic":
        try:
            return count_input_tokens(_decode_count(body))
        except (msgspec.DecodeError, RecursionError):
            pass  # the request path answers 400 with msgspec's message; the estimate need not
    return len(body) // 4


class UsageReader:
    """The input and output tokens an answer reports, fed a whole body or SSE chunks (each chunk
    the relay yields holds whole events)."""

    __slots__ = ("_tokens",)

    def __init__(self) -> None:
        self._tokens: Tokens | None = None

    def total(self, estimated_input: int) -> int | None:
        """Input + output as reported. An input of 0 (a converted stream whose upstream reports
        input only at its end, if ever) keeps the estimate. None: no usage seen at all."""
        if self._tokens is None:
            return None
        return (self._tokens[0] or estimated_input) + self._tokens[1]

    def body(self, data: bytes) -> None:
        self._tokens = merge(self._tokens, tokens_in(data))

    def chunk(self, data: bytes) -> None:
        if b'"usage"' not in data:
            return
        for line in data.split(b"\n"):
            if line.startswith(b"data:") and carries_usage(line):
                self._tokens = merge(self._tokens, tokens_in(line[5:]))
