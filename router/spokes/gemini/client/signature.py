"""The hub's thinking, carried in a Gemini part's `thoughtSignature`, and back.

A Gemini client sends back only the signature: it keeps `thoughtSignature` on the part it came
on, but drops thought parts from its history (Gemini CLI always; they are a summary, not the
thinking). Anthropic, on the other hand, takes a turn's thinking back only whole, text and
signature as it issued them (a tool loop with thinking must start the turn with it), and an
OpenAI-compatible target that reasons (`reasoning-content`) wants the text back too. So the
signature a Gemini client gets carries the hub's thinking blocks themselves:

    thoughtSignature = base64("router-thought:" + JSON [the thinking / redacted_thinking blocks])

- base64, because the google-genai SDKs type `thoughtSignature` as bytes: a hub signature
  (Anthropic's, `router:<upstream>`, `responses:…`, `gemini:…`) is no base64 and would fail
  their validation. The Python SDK writes the bytes back URL-safe; both alphabets are read.
- the blocks as the hub had them, so the signature inside comes back verbatim and every
  upstream spoke applies its own rule to it (only the issuer's signatures go back).
- "router-thought:" is 15 bytes: the base64 always starts with PREFIX, told apart by a string
  comparison before anything is decoded.

A signature without the prefix was not made here: Gemini CLI's placeholder for calls it made
itself (`skip_thought_signature_validator`), or Google's own from a conversation a Gemini
upstream served through passthrough. No converting target can read either (an Anthropic
upstream refuses the whole request over a signature it did not issue), so they are left out,
as the Responses client leaves out OpenAI's encrypted reasoning.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec

Block = dict[str, Any]

MAGIC = b"router-thought:"
PREFIX = base64.b64encode(MAGIC).decode()  # "cm91dGVyLXRob3VnaHQ6": the same in both alphabets
_URL_SAFE = str.maketrans("-_", "+/")

_encode = msgspec.json.Encoder().encode
_decode_blocks = msgspec.json.Decoder(list[dict[str, Any]]).decode


def carried(block: Block) -> Block | None:
    """What of a hub thinking or redacted_thinking block a signature carries (its type and
    content; None for a block with nothing to send back)."""
    kind = block.get("type")
    if kind == "thinking":
        signature = block.get("signature")
        if type(signature) is not str or not signature:
            return None  # unsigned thinking: no upstream takes it back
        thinking = block.get("thinking")
        return {"type": "thinking", "thinking": thinking if type(thinking) is str else "", "signature": signature}
    if kind == "redacted_thinking":
        data = block.get("data")
        return {"type": "redacted_thinking", "data": data} if type(data) is str and data else None
    return None


def thought_signature(blocks: list[Block]) -> str:
    """The `thoughtSignature` for the part after these thinking blocks (each made by `carried`)."""
    return base64.b64encode(MAGIC + _encode(blocks)).decode()


def thinking_blocks(signature: object) -> list[Block] | None:
    """The hub blocks a `thoughtSignature` made here carries; None for one made elsewhere (or
    damaged: then it is as good as foreign)."""
    if type(signature) is not str or not signature.startswith(PREFIX):
        return None
    text = signature.translate(_URL_SAFE)
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        blocks = _decode_blocks(raw[len(MAGIC):]) if raw.startswith(MAGIC) else None
    except (binascii.Error, ValueError, msgspec.DecodeError):
        return None
    if not blocks:
        return None
    checked = []
    for block in blocks:
        kept = carried(block)
        if kept is None:
            return None
        checked.append(kept)
    return checked
