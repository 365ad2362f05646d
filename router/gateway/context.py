"""One model request on its way through the gateway. Made once by the front door and passed to
everything that handles the request (dispatch, each attempt, the stream's relay as its
observer), so nothing looks the request up again from the ASGI scope.

It holds what is learnt once: the client's spoke, the routing fields of the first decode, the
full decode (made at most once, and only for converting pairs or conditions that read the body),
the exchange record (metrics and the access log), and the rate-limit ticket. Usage arrives once, from the hub
answer or the stream's end, and `settle` hands it to the record and the ticket.
"""

from __future__ import annotations

from typing import Any

import msgspec

from router.core.errors import InvalidRequest, RouterError
from router.core.stream import StreamMachine
from router.core.usage import Tokens
from router.gateway.bodycheck import too_deep
from router.gateway.incoming import Incoming
from router.gateway.state import RouterState
from router.observe.exchange import Exchange, exchange_of
from router.ratelimit.limiter import Ticket
from router.routing.lookup import Target
from router.spokes.spoke import PathCall, Spoke

_decode_object = msgspec.json.Decoder(dict[str, Any]).decode


class RequestContext:
    """Also the relay's StreamObserver (router.core.stream): a stream's end settles its usage."""

    __slots__ = ("call", "exchange", "incoming", "query_key", "request_id", "spoke", "state", "ticket",
                 "_resolved_pointer", "_struct")

    def __init__(self, state: RouterState, incoming: Incoming, spoke: Spoke, request_id: str) -> None:
        self.state, self.incoming, self.spoke, self.request_id = state, incoming, spoke, request_id
        self.exchange: Exchange = exchange_of(incoming.scope)
        self.ticket: Ticket | None = None
        self._struct: Any = None
        self._resolved_pointer: str | None = None
        # Where the URL names the model and the method (router.gateway.model_paths): set on the
        # decoded request, whose body does not carry them. And the key the URL carried, if any.
        self.call: PathCall | None = None
        self.query_key: str | None = None

    @property
    def body(self) -> bytes:
        return self.incoming.body

    def struct(self) -> Any:
        """The client's body as its spoke's request Struct, decoded on first use only."""
        if self._struct is None:
            self._struct = decode_client(self.spoke.client.request_decoder, self.incoming.body)
            if self.call is not None:
                apply_call(self._struct, self.call)
        return self._struct

    def replace_body(self, body: bytes, pointer: str) -> None:
        """The request becomes `body` (a conversation continued from a kept answer, rebuilt in
        full): what was decoded of the old one is forgotten. `pointer`, the field naming the
        kept answer, is the router's own business from now on: passthrough targets never get it."""
        self.incoming.body = body
        self._struct = None
        self._resolved_pointer = pointer

    def for_target(self, target: Target) -> Any:
        """What the target's request conversion takes. Passthrough attempts get a fresh dict
        each time: they edit it in place."""
        if target.converters.passthrough:
            body = decode_client(_decode_object, self.incoming.body)
            if self._resolved_pointer is not None:
                body.pop(self._resolved_pointer, None)
            return body
        return self.struct()

    def settle(self, tokens: Tokens | None) -> None:
        """The answer's usage, known once: to the record (metrics, log) and the token budgets."""
        self.exchange.tokens = tokens
        if self.ticket is not None:
            self.ticket.settle_tokens(tokens)

    # --- router.core.stream.StreamObserver ---------------------------------------------------------

    def first_output(self) -> None:
        self.exchange.first_output()

    def ended(self, error: RouterError | None, completed: bool, tokens: Tokens | None,
              machine: StreamMachine | None = None) -> None:
        if self.ticket is not None:
            self.ticket.settle_tokens(tokens)
        self.exchange.ended(error, completed, tokens, machine)


def apply_call(decoded: Any, call: PathCall) -> None:
    """The model and streaming the URL named, on a decoded request (routing fields or the whole
    request Struct, which has these attributes for protocols with a `ModelPaths` front door)."""
    decoded.model = call.model
    decoded.stream = call.method == "stream"
    if hasattr(decoded, "sse"):
        decoded.sse = call.sse


def decode_client(decode: Any, body: bytes) -> Any:
    """msgspec's message names the field and its path: "Expected `str`, got `int` - at `$.model`".
    A body nested deeper than the decoder follows is a 400 too (RecursionError, not a 500)."""
    try:
        return decode(body)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"invalid request: {exc}") from None
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise too_deep(body) from None
