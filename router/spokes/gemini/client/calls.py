"""Ids for Gemini's function calls and responses, which may have none.

A hub tool_use needs an id and its tool_result the same one. Gemini's `functionCall` and
`functionResponse` carry an `id` only sometimes (Gemini CLI invents and echoes one; AI Studio
sends none, and pairs a response with its call by name, in order). One pass over the contents
keeps them consistent:

- a call without an id gets one made from its place in the request (`toolu_gemini_<content>_
  <part>`): the same conversation converts to the same ids every time, so a later request's
  history still matches (Anthropic's tool ids allow only letters, digits, `_` and `-`, which a
  function name may not be);
- a response without an id takes the oldest call of its name that no response answered yet (a
  response with an id answers that call); one that answers nothing gets an id of its own place.

A call's name on the hub is its rewrite when the client's name is one the hub refuses
(names.py); pairing by name reads the client's names.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

INVENTED_PREFIX = "toolu_gemini_"


class CallIds:
    """The calls seen so far and not yet answered, by name; one per conversion. `renamed`:
    the request's rewritten function names (names.FunctionNames.to_hub), None when there are none."""

    __slots__ = ("_open", "_renamed")

    def __init__(self, renamed: Mapping[str, str] | None = None) -> None:
        self._open: dict[str, deque[str]] = {}
        self._renamed = renamed

    def hub_name(self, name: str) -> str:
        """The name a call goes to the hub under."""
        return name if self._renamed is None else self._renamed.get(name, name)

    def call_id(self, given: object, name: str, path: str) -> str:
        call_id = given if type(given) is str and given else invented_id(path)
        self._open.setdefault(name, deque()).append(call_id)
        return call_id

    def response_id(self, given: object, name: str, path: str) -> str:
        waiting = self._open.get(name)
        if type(given) is str and given:
            if waiting and given in waiting:
                waiting.remove(given)
            return given
        if waiting:
            return waiting.popleft()
        return invented_id(path)


def invented_id(path: str) -> str:
    """`$.contents[3].parts[1]` → `toolu_gemini_3_1`."""
    digits = "_".join(piece.split("]")[0] for piece in path.split("[")[1:])
    return INVENTED_PREFIX + digits
