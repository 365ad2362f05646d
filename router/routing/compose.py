"""A protocol pair: the client's spoke and the upstream's spoke composed through the hub, compiled
once per route target at load.

    request   client table [request]  (client → hub)    then  upstream table [request]  (hub → upstream)
    answer    upstream table [response] (upstream → hub) then  client table [response] (hub → client)
    stream    upstream machine (upstream → hub events)   then  client machine (hub events → client)

The hub's spoke has no tables and no machines, so a pair with the hub on one side is one stage
(every pair today) and costs what a direct converter would; a pair of two other spokes is two
stages, joined in memory. A route's `request` ops edit the upstream's body, so they compile into
the last request stage; its `response` ops into the last answer stage. The same protocol on both
sides is passthrough: the client's own body edited in place (unknown fields and block types still
reach the upstream), the answer relayed as it came.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

import msgspec

from router.config.schema import Op
from router.config.target import TargetContext
from router.core.stream import StreamMachine
from router.core.usage import Tokens
from router.hub.finish import finish_reasons
from router.hub.messages import AnthropicMessage, MessagesRequest
from router.hub.usage import answer_tokens, message_tokens
from router.mapping.compile import Compiled, compile_fields
from router.mapping.spec import PairSpec, parse_pair_spec
from router.spokes import passthrough
from router.spokes.chain import ChainedMachine
from router.spokes.passthrough import PassthroughStream
from router.spokes.registry import SPOKES
from router.spokes.spoke import FieldTable, Spoke
from router.spokes.tables import read_pair_text

_decode_hub_answer = msgspec.json.Decoder(AnthropicMessage).decode
_encode = msgspec.json.Encoder().encode
PASSTHROUGH_TABLE = FieldTable("passthrough", passthrough.FUNCTIONS, MappingProxyType({}), inputs={"request": dict})


@dataclass(frozen=True, slots=True)
class Converters:
    """One target's compiled pair. `response` is None on passthrough pairs: the upstream's answer
    goes back as it was sent (scrubbed), edited in place by `response_edit` when the route has
    response ops. `request` and `response` are each the whole conversion (one stage, or two
    joined); the answer path runs `answer_to_hub` and `answer_to_client` itself, to read the
    usage from the hub answer between them."""

    pair: str
    client: Spoke
    upstream: Spoke
    request: Compiled
    response: Compiled | None
    values: Mapping[str, Mapping[str, Any]]  # the [values.*] tables of the stage that makes the client's stream
    response_edit: Compiled | None = None
    answer_to_hub: Compiled | None = None  # None: the upstream answers in the hub's shape
    answer_to_client: Compiled | None = None  # None: the client reads the hub's shape
    # The upstream's unary answer → what the first answer stage takes.
    decode_answer: Callable[[bytes], Any] = _decode_hub_answer
    # The upstream stage's own [values.*] where there are two stages: each side's tables may
    # share a name (both map `finish_reason`, in opposite directions), so they are never merged.
    upstream_values: Mapping[str, Mapping[str, Any]] | None = None

    @property
    def passthrough(self) -> bool:
        return self.response is None

    def answer(self, decoded: Any, ctx: TargetContext, src: Any, model: str = "") -> tuple[dict[str, Any], Tokens | None]:
        """The client's answer from the upstream's (decoded by `decode_answer`), and its usage,
        read once from the hub answer on the way. `src`: the client's decoded request, for
        what only it knows (ClientSide.complete_answer); `model`: the model asked of the
        upstream, for an answer that does not name it (Bedrock's Converse)."""
        answer, tokens, _ = self.answer_read(decoded, ctx, src, model)
        return answer, tokens

    def answer_read(self, decoded: Any, ctx: TargetContext, src: Any, model: str = ""
                    ) -> tuple[dict[str, Any], Tokens | None, str | None]:
        """`answer`, with the hub answer's stop_reason (for traces: `finish_reasons`)."""
        if self.answer_to_hub is None:
            tokens, stop_reason = message_tokens(decoded), decoded.stop_reason
        else:
            hub = self.answer_to_hub.function(decoded, ctx)
            tokens, stop_reason = answer_tokens(hub), hub.get("stop_reason")
            if not hub.get("model"):
                hub["model"] = model
            if self.answer_to_client is None:
                return hub, tokens, stop_reason
            decoded = _decode_hub_answer(_encode(hub))
        assert self.answer_to_client is not None, "a converting pair has at least one answer stage"
        answer = self.answer_to_client.function(decoded, ctx)
        complete = self.client.client.complete_answer
        return (answer if complete is None else complete(answer, src)), tokens, stop_reason

    def finish_reasons(self, raw: bytes, stop_reason: str | None) -> tuple[str, ...]:
        """Why the model stopped (router.hub.finish), asked only for a traced unary answer: a
        converted one's from the hub answer's `stop_reason` (`answer_read`), a passthrough one's
        read from its bytes (the only decode made for it). Never raises: a field of an
        unexpected type only leaves the reasons out."""
        if not self.passthrough:
            return finish_reasons(stop_reason if isinstance(stop_reason, str) else None)
        try:
            return self.upstream.read_finish(raw)
        except (msgspec.DecodeError, RecursionError):
            return ()

    def stream(self, ctx: TargetContext, model: str, src: Any, upstream_name: str) -> StreamMachine:
        """A new machine for one streamed request: upstream events → (hub events →) client events."""
        if self.passthrough:
            return PassthroughStream(self.client, upstream_name)
        to_hub = self.upstream.upstream.stream_to_hub
        from_hub = self.client.client.stream_from_hub
        if from_hub is None:
            assert to_hub is not None, "two different spokes: at most one is the hub"
            return to_hub(ctx, model, self.values)
        to_client = from_hub(ctx, model, src, self.values)
        if to_hub is None:
            return to_client
        return ChainedMachine(to_hub(ctx, model, self.upstream_values or self.values), to_client)


def pair_name(client: str, upstream: str) -> str:
    return f"{client}__{upstream}"


def serves(pair: str) -> bool:
    """Clients speak the first spoke and an upstream kind the second."""
    client, _, upstream = pair.partition("__")
    return (client in SPOKES and SPOKES[client].client_side is not None
            and upstream in SPOKES and SPOKES[upstream].upstream_side is not None)


@cache
def table_spec(table: FieldTable) -> PairSpec:
    """A shipped field table, parsed once per process (it is package data, not config)."""
    functions = {*table.request_functions, *table.response_functions}
    return parse_pair_spec(table.name, read_pair_text(table.name), functions, set(table.variant_functions))


def build_converters(
    pair: str, ctx: TargetContext, ops: Sequence[Op] = (), response_ops: Sequence[Op] = ()
) -> Converters:
    client_name, _, upstream_name = pair.partition("__")
    return compose(SPOKES[client_name], SPOKES[upstream_name], ctx, ops, response_ops)


def compose(
    client: Spoke, upstream: Spoke, ctx: TargetContext, ops: Sequence[Op] = (), response_ops: Sequence[Op] = ()
) -> Converters:
    """The pair of two spokes for one route target: passthrough, one stage or two."""
    pair = pair_name(client.name, upstream.name)
    origin = f"route={ctx.route} target={ctx.upstream}/{ctx.model or '*'} {pair}"
    if client is upstream:
        return _passthrough(pair, client, origin, ops, response_ops)
    client_table, upstream_table = client.client.table, upstream.upstream.table
    if client_table is not None and upstream_table is not None:
        return _two_stages(pair, client, upstream, client_table, upstream_table, origin, ops, response_ops)
    table = client_table or upstream_table
    assert table is not None, "two different spokes: at most one is the hub"
    spec = table_spec(table)
    request = _compile("convert_request", f"{origin} request", spec, "request", table.request_functions, ops)
    response = _compile("convert_response", f"{origin} response", spec, "response", table.response_functions, response_ops)
    if upstream_table is None:  # the upstream speaks the hub: one stage, hub → client
        return Converters(pair, client, upstream, request, response, spec.values, answer_to_client=response)
    return Converters(pair, client, upstream, request, response, spec.values, answer_to_hub=response,
                      decode_answer=_answer_decoder(upstream))


def _two_stages(pair: str, client: Spoke, upstream: Spoke, client_table: FieldTable, upstream_table: FieldTable,
                origin: str, ops: Sequence[Op], response_ops: Sequence[Op]) -> Converters:
    """Neither side is the hub: the client's stage makes a hub request in memory and the
    upstream's stage takes it from there (answers the other way round). Route ops go on the
    stage that makes what leaves."""
    client_spec, upstream_spec = table_spec(client_table), table_spec(upstream_table)
    to_hub = _compile("to_hub", f"{origin} request (client → hub)", client_spec, "request",
                      client_table.request_functions, ())
    to_upstream = _compile("convert_request", f"{origin} request (hub → upstream)", upstream_spec, "request",
                           upstream_table.request_functions, ops)
    answer_to_hub = _compile("answer_to_hub", f"{origin} response (upstream → hub)", upstream_spec, "response",
                             upstream_table.response_functions, ())
    to_client = _compile("convert_response", f"{origin} response (hub → client)", client_spec, "response",
                         client_table.response_functions, response_ops)
    return Converters(
        pair, client, upstream, _joined(to_hub, to_upstream, MessagesRequest), _joined(answer_to_hub, to_client, AnthropicMessage),
        client_spec.values, answer_to_hub=answer_to_hub, answer_to_client=to_client,
        decode_answer=_answer_decoder(upstream), upstream_values=upstream_spec.values,
    )


def _joined(first: Compiled, second: Compiled, hub_type: type[Any]) -> Compiled:
    """`second(first(src))`, the hub dict in between made the Struct the second stage reads.
    Through JSON: the hub Structs hold raw JSON fields only the JSON decoder fills."""
    decode = msgspec.json.Decoder(hub_type).decode

    def composed(src: Any, ctx: Any) -> dict[str, Any]:
        return second.function(decode(_encode(first.function(src, ctx))), ctx)

    return Compiled(composed, first.source + "\n" + second.source, f"{first.filename} + {second.filename}")


def _answer_decoder(upstream: Spoke) -> Callable[[bytes], Any]:
    decoder = upstream.upstream.answer_decoder
    assert decoder is not None, f"{upstream.name}: a converting upstream side decodes its answers"
    return decoder


def _passthrough(pair: str, spoke: Spoke, origin: str, ops: Sequence[Op], response_ops: Sequence[Op]) -> Converters:
    spec = table_spec(PASSTHROUGH_TABLE)
    request = compile_fields(
        name="convert_request", origin=f"{origin} request", fields=spec.request, ops=ops,
        functions=PASSTHROUGH_TABLE.request_functions, values=spec.values, edit_in_place=True,
    )
    edit = compile_fields(
        name="edit_response", origin=f"{origin} response", fields=(), ops=response_ops,
        functions={}, values={}, edit_in_place=True,
    ) if response_ops else None
    return Converters(pair, spoke, spoke, request, None, spec.values, edit)


def _compile(name: str, origin: str, spec: PairSpec, section: str, functions: Mapping[str, Callable[..., Any]],
             ops: Sequence[Op]) -> Compiled:
    fields = spec.request if section == "request" else spec.response
    return compile_fields(name=name, origin=origin, fields=fields, ops=ops, functions=functions, values=spec.values)

