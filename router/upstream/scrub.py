"""Keep our credentials out of anything an upstream says back.

An upstream's error body, header or stream event can echo our request, key included ("Incorrect
API key provided: sk-..."). Every upstream text that reaches a client or a log goes through the
route's `Scrubber` first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import msgspec

REDACTED = "[redacted]"
# A key shorter than this is not worth scrubbing piecewise: its fragments would match ordinary text.
_MIN_FRAGMENT = 8


@dataclass(frozen=True, slots=True)
class Scrubber:
    secrets: tuple[str, ...]

    @classmethod
    def for_secrets(cls, secrets: Iterable[str]) -> Scrubber:
        # Longest first so a key that contains another is replaced whole.
        return cls(tuple(sorted({s for s in secrets if s}, key=len, reverse=True)))

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
            value = _scrub_fragments(value, secret)
        return value

    def data(self, value: bytes) -> bytes:
        if not self.secrets:
            return value
        return self.text(value.decode("utf-8", "replace")).encode()


def _scrub_fragments(value: str, secret: str) -> str:
    """Providers often echo a key half-masked ("sk-abc1****wxyz"): its visible head or tail alone
    is still part of our secret, so long-enough leading and trailing pieces go too."""
    if len(secret) < 2 * _MIN_FRAGMENT:
        return value
    head, tail = secret[: len(secret) // 2], secret[len(secret) // 2 :]
    for piece in (head, tail):
        if piece in value:
            value = value.replace(piece, REDACTED)
    return value


def upstream_error_message(upstream: str, status: int, raw: bytes, scrubber: Scrubber) -> str:
    """The upstream's own error message when its body has one, scrubbed, prefixed with who said it."""
    detail = _extract_message(raw) or f"HTTP {status}"
    return scrubber.text(f"upstream {upstream!r} answered {status}: {detail}")[:2000]


def _extract_message(raw: bytes) -> str:
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return raw.decode("utf-8", "replace").strip()[:500]
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return str(error.get("message") or error.get("msg") or error.get("detail") or "")
        if isinstance(error, str):
            return error
    return ""
