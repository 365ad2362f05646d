"""What a client's body must be before anything else reads it, beyond what the first decode's
struct says: `messages` a non-empty array, and JSON no deeper than the decoder can follow.

Both answer 400 in the client's shape with a message naming the field, like the real APIs do.
"""

from __future__ import annotations

import re

import msgspec

from router.core.errors import InvalidRequest

# The names msgspec uses in its own messages ("Expected `array`, got `object`"), by first byte.
_JSON_KINDS = {ord("{"): "object", ord('"'): "str", ord("n"): "null", ord("t"): "bool", ord("f"): "bool"}

# Tokens of a JSON text, for finding where a too-deep body nests: strings whole (escapes
# included), and the structural characters.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}:,]', re.DOTALL)
# The scan only runs on a body the decoder already refused; it stops after this many tokens, so
# a huge flat body in front of the deep part cannot make the error path slow.
_MAX_SCANNED_TOKENS = 200_000
_DEPTH_NAMED = 64  # past this depth the body is "too deep" for the message; the decoder's own limit is higher


# What a checked request's `messages` is replaced with: the raw view of the body is let go at
# once. Held for the whole request it cost ~5 % more instructions on a 65 KB agent request
# (callgrind: the allocator moved the encoder's large reallocs instead of growing them in place).
CHECKED = msgspec.Raw(b"[]")


def require_messages(messages: msgspec.Raw) -> None:
    """`messages` must be an array with at least one item (both Anthropic and OpenAI refuse `[]`)."""
    view = memoryview(messages)
    first = view[0] if len(view) else 0
    if first != ord("["):
        kind = _JSON_KINDS.get(first, "number")
        raise InvalidRequest(f"invalid request: Expected `array`, got `{kind}` - at `$.messages`")
    rest = bytes(view[1:65]).lstrip() or bytes(view[1:]).lstrip()
    if rest.startswith(b"]"):
        raise InvalidRequest("invalid request: `$.messages` is empty; at least one message is required")


def too_deep(body: bytes) -> InvalidRequest:
    """The 400 for a body that nests deeper than the decoder (and the converters' recursion)
    can follow: msgspec raises RecursionError there, which must not become a 500."""
    field = _deep_field(body)
    where = f" - at `$.{field}`" if field else ""
    return InvalidRequest(f"invalid request: JSON nested too deeply{where}")


def _deep_field(body: bytes) -> str | None:
    """The top-level key under which the body first nests deeper than _DEPTH_NAMED, if the scan
    finds it within its token budget."""
    depth = 0
    key: str | None = None
    expect_key = False
    for count, match in enumerate(_TOKENS.finditer(body)):
        if count >= _MAX_SCANNED_TOKENS:
            return None
        token = match.group()
        if token in (b"{", b"["):
            depth += 1
            expect_key = token == b"{" and depth == 1
            if depth > _DEPTH_NAMED:
                return key
        elif token in (b"}", b"]"):
            depth -= 1
        elif token == b",":
            expect_key = depth == 1
        elif expect_key and token.startswith(b'"'):
            key = token[1:-1].decode("utf-8", "replace")
            expect_key = False
    return None
