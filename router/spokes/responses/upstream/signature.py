"""The signature of a thinking block made from a Responses reasoning item, and back.

A reasoning model's reasoning must go back to it on the next turn to keep its chain of thought
(and OpenAI asks for it after tool calls), but with `store: false` the upstream keeps nothing:
the item goes back whole, its `encrypted_content` included. Anthropic clients send a thinking
block back only with its `signature`, verbatim, so the signature is where the item rides:

    responses:<upstream tag>:<item id>:<encrypted_content>

- `responses:` says a Responses upstream issued it. Thinking signed by Anthropic, by the Chat
  spoke (`router:<upstream>`) or by anyone else is never sent to a Responses upstream, which
  would answer 400 to content it cannot decrypt.
- the upstream tag is a digest of the routes.toml upstream name: encrypted reasoning can only
  be read by the organisation that made it, so after a failover to another upstream the
  reasoning is left out rather than sent where it fails the request. A digest, not the name:
  names may hold any character, and a signature is no place to show configuration.
- the item id and encrypted content are as the upstream sent them (ids are `rs_…`, encrypted
  content is base64: neither holds a colon). An item the upstream sent without encrypted
  content cannot go back (with `store: false` its id alone is unknown to the upstream), so its
  signature says so by an empty last field.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

PREFIX = "responses:"


@dataclass(frozen=True, slots=True)
class ReasoningRef:
    """What a signature carries back: enough to rebuild the reasoning input item."""

    item_id: str
    encrypted_content: str


def upstream_tag(upstream: str) -> str:
    """Eight hex digits naming the upstream; the same name always gives the same tag."""
    return hashlib.blake2b(upstream.encode(), digest_size=4).hexdigest()


def signature_for(upstream: str, item_id: str | None, encrypted_content: str | None) -> str:
    return f"{PREFIX}{upstream_tag(upstream)}:{item_id or ''}:{encrypted_content or ''}"


def reasoning_ref(signature: object, upstream: str) -> ReasoningRef | None:
    """The reasoning item a thinking block's signature carries, when this upstream issued it
    and it can go back; None otherwise (someone else's signature, another upstream's, none)."""
    if type(signature) is not str or not signature.startswith(PREFIX):
        return None
    tag, _, rest = signature[len(PREFIX):].partition(":")
    item_id, _, encrypted = rest.partition(":")
    if tag != upstream_tag(upstream) or not item_id or not encrypted:
        return None
    return ReasoningRef(item_id, encrypted)
