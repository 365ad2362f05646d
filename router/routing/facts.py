"""What one request is, for the route conditions (`when`) that ask (router.config.conditions):
its headers, its client key's name, and facts read from the decoded body (thinking, images,
tools, estimated input tokens), each read by the client's spoke (`ClientSide.view`).

Each body fact is computed on first use and kept, and the body itself is decoded only when a
fact needs it, so a request that meets no conditional route pays nothing, and one that does pays
each fact at most once, however many routes ask. The token estimate is the expensive fact: only a
route with a token bound whose model, protocol and cheaper conditions already matched ever
computes it, and the rate limiter takes the same number rather than estimating again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from router.config.schema import ClientProtocol
from router.spokes.registry import spoke_named
from router.spokes.spoke import RequestView


class RequestFacts:
    """What the conditions of a route can ask about one request, each computed at most once.

    protocol: the client's protocol; its spoke reads the body.
    load: returns the client's decoded body. Called at most once, and only when a body fact is
      asked for, so the dispatcher can pass the same cached decode it later hands to the
      converters: the body is never decoded twice.
    headers: the request headers; a case-insensitive mapping (Litestar's `Headers`) is best, a
      plain dict works too (names are then compared case-insensitively by a scan).
    key_name: the authenticated client key's name, None on an open server.
    """

    __slots__ = ("_headers", "_images", "_input_tokens", "_load", "_request", "_thinking", "_tools",
                 "key_name", "protocol")

    def __init__(
        self,
        protocol: ClientProtocol,
        load: Callable[[], Any],
        headers: Mapping[str, str] | None = None,
        key_name: str | None = None,
    ) -> None:
        self.protocol: ClientProtocol = protocol
        self.key_name = key_name
        self._headers: Mapping[str, str] = headers if headers is not None else {}
        self._load = load
        self._request: Any = None
        self._thinking: bool | None = None
        self._images: bool | None = None
        self._tools: bool | None = None
        self._input_tokens: int | None = None

    @classmethod
    def given(
        cls, protocol: ClientProtocol, src: Any, headers: Mapping[str, str] | None = None, key_name: str | None = None
    ) -> RequestFacts:
        """Facts of an already decoded request."""
        return cls(protocol, lambda: src, headers, key_name)

    @property
    def request(self) -> Any:
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
    def _view(self) -> RequestView:
        """The client spoke's reader, looked up only by a request that meets a body condition."""
        return spoke_named(self.protocol).client.view

    @property
    def thinking(self) -> bool:
        if self._thinking is None:
            self._thinking = self._view.thinking(self.request)
        return self._thinking

    @property
    def images(self) -> bool:
        if self._images is None:
            self._images = self._view.images(self.request)
        return self._images

    @property
    def tools(self) -> bool:
        if self._tools is None:
            self._tools = self._view.tools(self.request)
        return self._tools

    @property
    def input_tokens(self) -> int:
        """The estimate `/v1/messages/count_tokens` gives (router.hub.tokens); the costly fact."""
        if self._input_tokens is None:
            self._input_tokens = self._view.input_tokens(self.request)
        return self._input_tokens
