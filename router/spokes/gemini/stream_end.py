"""When a Gemini stream has ended, for same-protocol passthrough (PassthroughRules: no done
marker, no event names): at a chunk whose candidate carries a `finishReason`, or at an error
chunk. Gemini streams have no closing event; the chunk with the finish reason is the last."""

from __future__ import annotations

import msgspec


class _Candidate(msgspec.Struct, rename="camel", gc=False):
    finish_reason: str | None = None


class _Chunk(msgspec.Struct, rename="camel", gc=False):
    candidates: list[_Candidate] | None = None
    error: msgspec.Raw = msgspec.Raw(b"")  # skipped whole; a Raw cannot sit in a union


_decode_chunk = msgspec.json.Decoder(_Chunk).decode
_FINISH = b'"finishReason"'
_ERROR = b'"error"'


def ends(data: bytes) -> bool:
    """Does this chunk (valid JSON) end the stream? Most chunks are deltas with neither key,
    told apart by a substring search before anything is decoded."""
    if _FINISH not in data and _ERROR not in data:
        return False
    try:
        chunk = _decode_chunk(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return False  # not a chunk: the passthrough machine reports that itself
    if len(chunk.error) and bytes(chunk.error) != b"null":
        return True
    return any(candidate.finish_reason for candidate in chunk.candidates or ())
