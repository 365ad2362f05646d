"""Checks on a route's override ops (`request = [{ op = ..., field = ... }]`).

A misspelt field would make an op silently do nothing, so every field is checked against the
request fields of each protocol the route's targets speak. Op values are rendered with `repr()`
into generated code and sent as JSON, so they must be plain JSON data: no TOML dates, no inf/nan.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterator, Mapping
from typing import Any

from router.config.problems import Finding, SchemaPath, did_you_mean
from router.config.protocols import CLIENT_ANSWER_FIELDS, UPSTREAM_REQUEST_FIELDS
from router.config.rules import route_targets, split_target
from router.config.schema import (
    ALL_CLIENT_PROTOCOLS,
    ClampOp,
    DefaultOp,
    Op,
    RenameOp,
    Route,
    SetOp,
    Upstream,
)


def request_fields(upstream: Upstream) -> tuple[str, frozenset[str]] | None:
    """(protocol title, the fields its request has) for an upstream; None when unknown."""
    return UPSTREAM_REQUEST_FIELDS.get(str(type(upstream).__struct_config__.tag))


def check_ops(index: int, route: Route, upstreams: Mapping[str, Upstream]) -> Iterator[Finding]:
    yield from _ops_findings(index, route.request, "request", _target_protocols(route, upstreams))
    answers = dict(CLIENT_ANSWER_FIELDS[client] for client in route.clients)
    if set(route.clients) == set(ALL_CLIENT_PROTOCOLS):
        yield from _every_client_findings(index, route.response, answers)
    else:
        yield from _ops_findings(index, route.response, "response", answers)
    if route.response:
        yield _unary_only(index)


def _every_client_findings(index: int, ops: list[Op], answers: Mapping[str, frozenset[str]]) -> Iterator[Finding]:
    """A route that names no `clients` serves every protocol, including ones added after it
    was written: a field some protocols' answers have is a warning for the others (the op does
    nothing there), not an error that would break a working file when a protocol is added.
    A field no protocol's answer has is still an error."""
    for number, op in enumerate(ops):
        path: SchemaPath = ("routes", index, "response", number)
        names = (op.field, op.to) if isinstance(op, RenameOp) else (op.field,)
        for name in names:
            lacking = [protocol for protocol, fields in answers.items() if name not in fields]
            if len(lacking) == len(answers):
                yield from _field_findings(name, (*path, "field"), answers, "response")
            elif lacking:
                yield Finding((*path, "field"), f'the {" and ".join(lacking)} answer has no field "{name}": '
                              "this op does nothing for those clients",
                              'nothing to do if that is meant; or list the route\'s `clients`', severity="warning")
        yield from _value_findings(op, path)


def _unary_only(index: int) -> Finding:
    """An answer's fields are spread over a stream's events (the model in the first, the usage
    in the last), so a field op has no one place to apply there: the router says so here rather
    than leave a streaming client to find its answers unedited."""
    return Finding(
        ("routes", index, "response"),
        "response ops edit whole (non-streaming) answers only; streamed answers reach clients unedited",
        "nothing to do if this route's clients do not stream; otherwise do not rely on these ops for them",
        severity="warning",
    )


def _ops_findings(
    index: int, ops: list[Op], section: str, protocols: Mapping[str, frozenset[str]]
) -> Iterator[Finding]:
    for number, op in enumerate(ops):
        path: SchemaPath = ("routes", index, section, number)
        yield from _field_findings(op.field, (*path, "field"), protocols, section)
        if isinstance(op, RenameOp):
            yield from _field_findings(op.to, (*path, "to"), protocols, section)
        yield from _value_findings(op, path)


def _target_protocols(route: Route, upstreams: Mapping[str, Upstream]) -> dict[str, frozenset[str]]:
    protocols: dict[str, frozenset[str]] = {}
    for target in route_targets(route):
        upstream = upstreams.get(split_target(target)[0])
        known = request_fields(upstream) if upstream is not None else None
        if known is not None:
            protocols[known[0]] = known[1]
    return protocols


def _field_findings(
    name: str, path: SchemaPath, protocols: Mapping[str, frozenset[str]], section: str = "request"
) -> Iterator[Finding]:
    for protocol, fields in protocols.items():
        if name not in fields:
            message = f'the {protocol} {section} has no field "{name}"'
            guess = did_you_mean(name, fields)
            fix = f'did you mean "{guess}"?' if guess else "remove this op, or fix the field name"
            yield Finding(path, message, fix)
            return  # one message per field, even when several protocols lack it


def _value_findings(op: Op, path: SchemaPath) -> Iterator[Finding]:
    if isinstance(op, (SetOp, DefaultOp)):
        problem = _non_json(op.value)
        if problem is not None:
            message = f"value is {problem}, which is not JSON data"
            yield Finding((*path, "value"), message, _json_fix(problem))
    elif isinstance(op, ClampOp):
        yield from _clamp_findings(op, path)


def _clamp_findings(op: ClampOp, path: SchemaPath) -> Iterator[Finding]:
    for key, bound in (("min", op.min), ("max", op.max)):
        if isinstance(bound, float) and not math.isfinite(bound):
            fix = "use a finite number, or leave it out for no bound"
            yield Finding((*path, key), f"{key} is {bound}", fix)
    if op.min is None and op.max is None:
        message = "clamp without min or max does nothing"
        yield Finding(path, message, "add min = ..., max = ... or both")
    elif op.min is not None and op.max is not None and op.min > op.max:
        yield Finding(path, f"min {op.min} is greater than max {op.max}", "swap min and max")


def _non_json(value: Any) -> str | None:
    """What makes `value` not plain JSON data, or None. TOML gives only str, int, float, bool,
    dates/times, arrays and tables, so those are the cases to look at."""
    if isinstance(value, (datetime.date, datetime.time)):
        return "a TOML date/time"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if not isinstance(value, (dict, list)):
        return None
    children = value.values() if isinstance(value, dict) else value
    return next((problem for child in children if (problem := _non_json(child))), None)


def _json_fix(problem: str) -> str:
    if problem == "a TOML date/time":
        return 'write it as a quoted string, e.g. value = "2025-01-01"'
    return "use a finite number"
