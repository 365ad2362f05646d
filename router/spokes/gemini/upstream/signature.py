"""The signature of a thinking block made from a Gemini `thoughtSignature`, and back.

Gemini returns an opaque `thoughtSignature` on a part of its answer (a functionCall, a text, a
thought) and wants it back on the same part of that turn in the history: Gemini 3 models
answer 400 to a function call sent back without its signature. Anthropic clients send thinking
blocks back verbatim, signature and all, so the signature rides in a thinking block placed just
before the block made from the part (router.spokes.gemini.upstream.answer), as

    gemini:<upstream tag>:<thoughtSignature>

- `gemini:` says a Gemini upstream issued it: thinking signed by Anthropic, by another spoke or
  by a Gemini client (which sends its signatures raw) is never sent to a Gemini upstream.
- the upstream tag is a digest of the routes.toml upstream name, as the Responses spoke's
  (router.spokes.responses.upstream.signature): a signature is valid only where it was made
  (AI Studio's are not Vertex AI's), so after a failover to another upstream it is left out.
- the thoughtSignature as Gemini sent it (base64: it holds no colon). Empty when the thought
  had none: such a block carries nothing back.
"""

from __future__ import annotations

from router.spokes.responses.upstream.signature import upstream_tag

PREFIX = "gemini:"

__all__ = ["PREFIX", "signature_for", "thought_signature", "upstream_tag"]


def signature_for(upstream: str, thought_signature: str | None) -> str:
    return f"{PREFIX}{upstream_tag(upstream)}:{thought_signature or ''}"


def thought_signature(signature: object, upstream: str) -> str | None:
    """The thoughtSignature a thinking block's signature carries, when this upstream issued it;
    None otherwise (someone else's signature, another upstream's, an empty one)."""
    if type(signature) is not str or not signature.startswith(PREFIX):
        return None
    tag, _, value = signature[len(PREFIX):].partition(":")
    if tag != upstream_tag(upstream) or not value:
        return None
    return value
