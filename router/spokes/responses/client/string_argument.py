"""A custom tool's input, decoded while its JSON streams in.

Towards upstreams a custom tool is a function tool taking one string argument, `input`
(router.spokes.responses.names), so the hub streams its call as fragments of `{"input": "…"}`,
split anywhere: inside an escape (`\\n`, `\\"`, `\\u00e9`) or between the two halves of a
surrogate pair. A Responses client wants the string itself as it grows
(`response.custom_tool_call_input.delta`): this decodes the longest complete prefix of each
fragment and keeps the unfinished escape for the next.

Streaming is best effort: arguments of another shape (another key first, a value that is not a
string, broken JSON) stop it. The item's closing reads the whole arguments once, as the unary
answer does (output.custom_input): that is the authority on the input, and what was not streamed
yet is sent then.
"""

from __future__ import annotations

import json
import re

import msgspec

from router.spokes.responses.names import CUSTOM_ARGUMENT

_decode_json = msgspec.json.decode

# What precedes the string's first character. Compared without whitespace while it is incomplete.
_OPENING = re.compile(r'\s*\{\s*"' + CUSTOM_ARGUMENT + r'"\s*:\s*"')
_COMPACT_OPENING = '{"' + CUSTOM_ARGUMENT + '":"'
# Characters and complete escapes: the part of a string's JSON that decodes on its own.
_COMPLETE_RUN = re.compile(r'(?:[^"\\]+|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*')
# A UTF-16 high surrogate escape ends the run: its low half may be in the next fragment, and
# neither half decodes alone.
_HIGH_SURROGATE_END = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}\Z")
_HEX = frozenset("0123456789abcdefABCDEF")

_OPENING_STATE, _IN_STRING, _CLOSED, _STOPPED = range(4)


class StringArgumentStream:
    """Feeds on the fragments of `{"input": "…"}`, returns the decoded text each one completes."""

    __slots__ = ("_pending", "_state", "sent")

    def __init__(self) -> None:
        self._pending = ""  # the opening while incomplete, or an unfinished escape
        self._state = _OPENING_STATE
        self.sent = ""  # the decoded text returned so far

    def feed(self, fragment: str) -> str:
        if self._state == _OPENING_STATE:
            fragment = self._past_opening(fragment)
        if self._state != _IN_STRING or not fragment:
            return ""
        text = self._decoded_run(self._pending + fragment)
        self.sent += text
        return text

    def _past_opening(self, fragment: str) -> str:
        """The fragment's part after the string's opening quote, once that has come."""
        head = self._pending + fragment
        match = _OPENING.match(head)
        if match is not None:
            self._state, self._pending = _IN_STRING, ""
            return head[match.end():]
        if _COMPACT_OPENING.startswith("".join(head.split())):
            self._pending = head  # still a possible opening
        else:
            self._state, self._pending = _STOPPED, ""
        return ""

    def _decoded_run(self, text: str) -> str:
        end = _COMPLETE_RUN.match(text).end()  # type: ignore[union-attr]  # `*` always matches
        rest = text[end:]
        if rest.startswith('"'):
            self._state, self._pending = _CLOSED, ""
        elif not rest or _unfinished_escape(rest):
            self._pending = rest
            held = _HIGH_SURROGATE_END.search(text, 0, end)
            if held is not None and _is_escape(text, held.start()):
                end = held.start()
                self._pending = text[end:]
        else:
            self._state, self._pending = _STOPPED, ""  # not JSON: the rest comes at the end
        return _decode_string(text[:end]) if end else ""


def _unfinished_escape(rest: str) -> bool:
    """`\\` or `\\u` with fewer than four hex digits: the start of an escape the next fragment ends."""
    if rest == "\\":
        return True
    return rest.startswith("\\u") and len(rest) < 6 and all(char in _HEX for char in rest[2:])


def _is_escape(text: str, at: int) -> bool:
    """Is the backslash at `at` an escape's start (an odd one in its run of backslashes)?"""
    start = at
    while start > 0 and text[start - 1] == "\\":
        start -= 1
    return (at - start) % 2 == 0


def _decode_string(body: str) -> str:
    quoted = '"' + body + '"'
    try:
        return _decode_json(quoted, type=str)
    except msgspec.DecodeError:
        # Raw control characters (a newline the model did not escape) are not JSON; the
        # lenient parser reads them as themselves.
        return str(json.loads(quoted, strict=False))
