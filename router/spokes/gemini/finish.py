"""Finish reasons (traces' `gen_ai.response.finish_reasons`, router.hub.finish) of a Gemini answer
or stream chunk, read only for a traced passthrough: each candidate's `finishReason` as the GenAI
conventions name it; one they have no value for goes as Gemini said it."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import msgspec

FINISH_REASONS: Mapping[str, str] = MappingProxyType({
    "STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter", "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter", "MALFORMED_FUNCTION_CALL": "error",
})


class _Candidate(msgspec.Struct, rename="camel", gc=False):
    finish_reason: str | None = None


class _Carrier(msgspec.Struct, gc=False):
    candidates: list[_Candidate] | None = None


_decode_carrier = msgspec.json.Decoder(_Carrier).decode


def read_finish(raw: bytes) -> tuple[str, ...]:
    """Raises msgspec.DecodeError (or RecursionError) when `raw` is not one JSON object."""
    candidates = _decode_carrier(raw).candidates or ()
    return tuple(FINISH_REASONS.get(candidate.finish_reason, candidate.finish_reason)
                 for candidate in candidates if candidate.finish_reason is not None)
