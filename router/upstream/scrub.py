"""Keep our credentials out of anything an upstream says back.

An upstream's error body, header or stream event can echo our request, key included ("Incorrect
API key provided: sk-..."). Every upstream text that reaches a client or a log goes through the
route's `Scrubber` first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from router.core.errors import RouterError

REDACTED = "[redacted]"
# A key shorter than this is not worth scrubbing piecewise: its fragments would match ordinary text.
_MIN_FRAGMENT = 8


@dataclass(slots=True, eq=False)
class Scrubber:
    """Replaces our secrets, and the long-enough halves of them, in upstream text. Providers
    often echo a key half-masked ("sk-abc1****wxyz"): the visible half is still our secret.

    Every chunk a client gets passes here, so the common case (no secret in it) is made cheap:
    `probes` are the fewest patterns whose absence proves every pattern absent (a key holds both
    its halves), and only a chunk holding one of them pays for the replacing.

    `fixed` are the secrets it was made for; `rotating` the credentials that change while the
    upstream is in use (Vertex AI's access tokens), learnt through `remember`."""

    patterns: tuple[str, ...]
    byte_patterns: tuple[bytes, ...]
    probes: tuple[bytes, ...] = ()
    fixed: tuple[str, ...] = field(default=(), repr=False)
    rotating: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def for_secrets(cls, secrets: Iterable[str]) -> Scrubber:
        fixed = tuple(s for s in secrets if s)
        return cls(*_compiled(fixed), fixed=fixed)

    def remember(self, secret: str) -> None:
        """Scrub `secret` from now on, and the one remembered before it (a request sent with the
        previous token may still be answering), but no older: tokens expire. Called on the event
        loop, between awaits, so no reader sees half an update."""
        self.rotating = (secret, *self.rotating[:1])
        self.patterns, self.byte_patterns, self.probes = _compiled((*self.fixed, *self.rotating))

    def text(self, value: str) -> str:
        for pattern in self.patterns:
            if pattern in value:
                value = value.replace(pattern, REDACTED)
        return value

    def data(self, value: bytes) -> bytes:
        """Per stream chunk: a substring test per probe, and a copy only when one is found."""
        for probe in self.probes:
            if probe in value:
                return self._replace(value)
        return value

    def _replace(self, value: bytes) -> bytes:
        for pattern in self.byte_patterns:
            if pattern in value:
                value = value.replace(pattern, _REDACTED_BYTES)
        return value

    def error(self, error: RouterError) -> RouterError:
        """The same error, its message and header values scrubbed in place (it is about to be
        shown to a client and logged)."""
        if self.patterns:
            error.message = self.text(error.message)
            error.args = (error.message,)
            for name, value in error.headers.items():
                error.headers[name] = self.text(value)
        return error


_REDACTED_BYTES = REDACTED.encode()


def _compiled(secrets: Iterable[str]) -> tuple[tuple[str, ...], tuple[bytes, ...], tuple[bytes, ...]]:
    """(patterns, their bytes, probes) for these secrets."""
    whole = sorted({s for s in secrets if s}, key=len, reverse=True)  # a key containing another goes whole
    halves = [half for s in whole if len(s) >= 2 * _MIN_FRAGMENT for half in (s[: len(s) // 2], s[len(s) // 2 :])]
    patterns = tuple(dict.fromkeys([*whole, *halves]))
    unsplit = [s for s in whole if len(s) < 2 * _MIN_FRAGMENT]
    probes = tuple(p.encode() for p in dict.fromkeys([*unsplit, *halves]))
    return patterns, tuple(p.encode() for p in patterns), probes


def upstream_error_message(upstream: str, status: int, raw: bytes, scrubber: Scrubber,
                           detail: str | None = None, hint: str | None = None) -> str:
    """The upstream's own error message when its body has one (or the `detail` its protocol
    reads from it), scrubbed, prefixed with who said it; `hint` says what to fix."""
    said = detail or _extract_message(raw) or f"HTTP {status}"
    message = f"upstream {upstream!r} answered {status}: {said}"
    if hint:
        message = f"{message} ({hint})"
    return scrubber.text(message)[:2000]


def _extract_message(raw: bytes) -> str:
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return raw.decode("utf-8", "replace").strip()[:500]
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            # "Message": AWS services' spelling in some error bodies
            return str(error.get("message") or error.get("Message") or error.get("msg") or error.get("detail") or "")
        if isinstance(error, str):
            return error
    return ""
