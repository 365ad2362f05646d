"""Route conditions (`when = { ... }`): what a request must be like for a route to take it.

Two halves, both immutable once made:

- `RequestFacts` is what one request is: its headers, its client key's name, and facts read from
  the decoded body (thinking, images, tools, estimated input tokens). Each body fact is computed
  on first use and kept, and the body itself is decoded only when a fact needs it, so a request
  that meets no conditional route pays nothing, and one that does pays each fact at most once,
  however many routes ask. The token estimate is the expensive fact: only a route with a token
  bound whose model, protocol and cheaper conditions already matched ever computes it.
- `Condition` is a route's `when`, compiled at load into a tuple of checks ordered cheap first
  (key, headers, then body facts, the token estimate last), so a failing cheap check spares the
  rest. Header globs are compiled here too, never per request.

A lookup without facts (`Table.lookup(protocol, model)`) cannot evaluate a condition, so
conditional routes are skipped there: it answers what an unconditioned request would get.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from operator import attrgetter, eq
from typing import Any, Literal, Protocol

import msgspec

from router.spokes.openai.client.request import messages_to_anthropic, system_for
from router.spokes.openai.client.tools import tools_to_anthropic
from router.core.errors import InvalidRequest
from router.config.schema import ClientProtocol
from router.hub.tokens import count_input_tokens, estimate_text_tokens
from router.hub.messages import (
    CountTokensRequest,
    MessagesRequest,
    request_from_python,
)
from router.spokes.openai.wire import ChatRequest

ClientRequest = MessagesRequest | ChatRequest

# Anthropic `thinking.type` values that ask for thinking ("disabled" does not).
THINKING_ON = frozenset({"enabled", "adaptive"})
# Content parts that carry an image in an OpenAI chat message.
OPENAI_IMAGE_PARTS = frozenset({"image_url", "input_image"})
# Content nested deeper than this is not a conversation but an attack on the stack (as in tokens.py).
_MAX_DEPTH = 64

_encode_json = msgspec.json.Encoder().encode


# --- facts ---------------------------------------------------------------------------------------


class RequestFacts:
    """What the conditions of a route can ask about one request, each computed at most once.

    protocol: the client's protocol; it decides how the body is read.
    load: returns the client's decoded body (MessagesRequest or ChatRequest). Called at most
      once, and only when a body fact is asked for, so the dispatcher can pass the same cached
      decode it later hands to the converters: the body is never decoded twice.
    headers: the request headers; a case-insensitive mapping (Litestar's `Headers`) is best, a
      plain dict works too (names are then compared case-insensitively by a scan).
    key_name: the authenticated client key's name, None on an open server.
    """

    __slots__ = (
        "_headers",
        "_images",
        "_input_tokens",
        "_load",
        "_request",
        "_thinking",
        "_tools",
        "key_name",
        "protocol",
    )

    def __init__(
        self,
        protocol: ClientProtocol,
        load: Callable[[], ClientRequest],
        headers: Mapping[str, str] | None = None,
        key_name: str | None = None,
    ) -> None:
        self.protocol: ClientProtocol = protocol
        self.key_name = key_name
        self._headers: Mapping[str, str] = headers if headers is not None else {}
        self._load = load
        self._request: ClientRequest | None = None
        self._thinking: bool | None = None
        self._images: bool | None = None
        self._tools: bool | None = None
        self._input_tokens: int | None = None

    @classmethod
    def from_anthropic(
        cls, src: MessagesRequest, headers: Mapping[str, str] | None = None, key_name: str | None = None
    ) -> RequestFacts:
        """Facts of an already decoded Anthropic Messages request."""
        return cls("anthropic", _given(src), headers, key_name)

    @classmethod
    def from_openai(
        cls, src: ChatRequest, headers: Mapping[str, str] | None = None, key_name: str | None = None
    ) -> RequestFacts:
        """Facts of an already decoded OpenAI Chat Completions request."""
        return cls("openai", _given(src), headers, key_name)

    @property
    def request(self) -> ClientRequest:
        """The decoded body (decoded now if no fact needed it before)."""
        if self._request is None:
            self._request = self._load()
        return self._request

    @property
    def decoded(self) -> bool:
        """Whether the body has been decoded (tests and `explain` use it to show laziness)."""
        return self._request is not None

    @property
    def token_estimate_computed(self) -> bool:
        return self._input_tokens is not None

    def header(self, name: str) -> str | None:
        """The value of header `name` (lower case), or None when the request has none."""
        value = self._headers.get(name)
        if value is None:
            value = next((v for k, v in self._headers.items() if k.lower() == name), None)
        return value

    @property
    def thinking(self) -> bool:
        if self._thinking is None:
            self._thinking = _thinking(self.request)
        return self._thinking

    @property
    def images(self) -> bool:
        if self._images is None:
            self._images = _images(self.request)
        return self._images

    @property
    def tools(self) -> bool:
        if self._tools is None:
            self._tools = bool(self.request.tools)
        return self._tools

    @property
    def input_tokens(self) -> int:
        """The estimate `/v1/messages/count_tokens` gives (router.hub.tokens); the costly fact."""
        if self._input_tokens is None:
            self._input_tokens = estimate_input_tokens(self.request)
        return self._input_tokens


def _given(src: ClientRequest) -> Callable[[], ClientRequest]:
    return lambda: src


def _thinking(src: ClientRequest) -> bool:
    """Anthropic: `thinking` enabled or adaptive. OpenAI: `reasoning_effort` set to anything but
    "none" (which newer OpenAI models take as an explicit "do not reason")."""
    if isinstance(src, MessagesRequest):
        return src.thinking is not None and src.thinking.type in THINKING_ON
    return src.reasoning_effort is not None and src.reasoning_effort != "none"


def _images(src: ClientRequest) -> bool:
    if isinstance(src, MessagesRequest):
        return any(_blocks_have_image(message.content, 0) for message in src.messages)
    return any(_parts_have_image(message.content) for message in src.messages)


def _blocks_have_image(content: Any, depth: int) -> bool:
    """Anthropic blocks, looking inside anything that nests blocks: tool_result `content` (Claude
    Code sends screenshots there) and content documents' `source.content`."""
    if depth > _MAX_DEPTH or not isinstance(content, list):
        return False
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "image":
            return True
        source = block.get("source")
        nested = source.get("content") if isinstance(source, dict) else None
        if _blocks_have_image(block.get("content"), depth + 1) or _blocks_have_image(nested, depth + 1):
            return True
    return False


def _parts_have_image(content: Any) -> bool:
    if not isinstance(content, list):
        return False
    return any(isinstance(part, dict) and part.get("type") in OPENAI_IMAGE_PARTS for part in content)


def estimate_input_tokens(src: ClientRequest) -> int:
    """Anthropic requests are counted as they are. OpenAI requests are counted as the Anthropic
    request they convert to (system hoisted, tool calls as tool_use, tools as input schemas), so
    one limit means the same thing for both front doors."""
    if isinstance(src, MessagesRequest):
        return count_input_tokens(src)
    try:
        return count_input_tokens(_as_anthropic(src))
    except (InvalidRequest, msgspec.ValidationError):
        # Malformed messages the converter refuses: still route, on a cruder count of the JSON.
        return estimate_text_tokens(_encode_json(src.messages))


def _as_anthropic(src: ChatRequest) -> CountTokensRequest:
    shaped = {
        "model": src.model,
        "system": system_for(src),
        "messages": messages_to_anthropic(src),
        "tools": tools_to_anthropic(src),
    }
    return request_from_python(shaped, CountTokensRequest)


