"""Finish reasons (traces' `gen_ai.response.finish_reasons`, router.hub.finish) of a Responses
response object, or of a stream's final event (its `response`), read only for a traced
passthrough. A response has one: its status as the GenAI conventions name it (completed: stop,
or tool_call when it ends in a call; incomplete: its reason; failed: error)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import msgspec

INCOMPLETE: Mapping[str, str] = MappingProxyType({"max_output_tokens": "length", "content_filter": "content_filter"})
CALLS = frozenset({"function_call", "custom_tool_call"})


class _Details(msgspec.Struct, gc=False):
    reason: str | None = None


class _Item(msgspec.Struct, gc=False):
    type: str = ""


class _Response(msgspec.Struct, gc=False):
    status: str | None = None
    incomplete_details: _Details | None = None
    output: list[_Item] | None = None


class _Carrier(_Response, gc=False):
    """A response object, or an event carrying one under `response`."""

    response: _Response | None = None


_decode_carrier = msgspec.json.Decoder(_Carrier).decode


def read_finish(doc: bytes) -> tuple[str, ...]:
    """Raises msgspec.DecodeError (or RecursionError) when `doc` is not one JSON object."""
    carrier = _decode_carrier(doc)
    response: _Response = carrier.response if carrier.response is not None else carrier
    status = response.status
    if status is None or status in ("in_progress", "queued"):
        return ()
    if status == "completed":
        calls = any(item.type in CALLS for item in response.output or ())
        return ("tool_call" if calls else "stop",)
    if status == "incomplete":
        reason = response.incomplete_details.reason if response.incomplete_details is not None else None
        return (INCOMPLETE.get(reason or "", reason or "incomplete"),)
    return ("error",) if status == "failed" else (status,)
