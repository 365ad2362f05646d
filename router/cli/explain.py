"""`router explain MODEL`: which route a request would take and why, offline.

    router explain MODEL [--client anthropic|openai] [--body FILE] [--config PATH]
                         [--header K:V ...] [--key NAME]

Loads the table with the server's own loader and builds the server's own lookup table, so the
answer is the server's: the route comes from `Table.lookup` with the request's facts. Around that
answer it prints what an operator needs to trust it: every route considered in file order with
why it matched or was skipped (model pattern, client protocol, each condition with the value the
request has), the targets in order, the body the first target would receive (the route's compiled
request converter run on the request), and that target's generated converter code.

Exit codes: 0 a route matches, 1 none does (or the table is invalid), 2 usage (bad flags, no such
file, a body that is not a request).
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import msgspec

from router.config.load import config_from_seed_env, find_config_path, load_config_file
from router.config.problems import Problem
from router.config.schema import ALL_CLIENT_PROTOCOLS, ClientProtocol, Route, Upstream
from router.core.errors import ConfigError, RouterError
from router.gateway.context import apply_call
from router.routing.facts import RequestFacts
from router.routing.lookup import Plan, Table, Target, build_table, is_glob, target_side
from router.spokes.registry import HUB, spoke_named
from router.spokes.spoke import PathCall

EXIT_MATCH = 0
EXIT_NO_MATCH = 1
EXIT_USAGE = 2

_NOTHING_TO_EXPLAIN = (
    "router explain: no table: pass --config, set ROUTER_CONFIG, create ./routes.toml, "
    "or set UPSTREAM_BASE_URL, UPSTREAM_API_KEY and UPSTREAM_MODEL\n"
)


class _UsageError(Exception):
    """argparse wants to exit; a library function must return a code instead."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)


@dataclass(frozen=True, slots=True)
class ExplainedRequest:
    """The request being explained: what routing sees of it."""

    protocol: ClientProtocol
    model: str
    body: dict[str, Any]  # the client's JSON, with `model` set to MODEL
    src: Any  # the same, decoded as the front door decodes it
    headers: Mapping[str, str]
    key_name: str | None
    body_origin: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """One route as the lookup saw it: matched or not, and the lines that say why."""

    route: str
    matched: bool
    summary: str
    details: tuple[str, ...] = ()


def run_explain(argv: list[str], environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    parser = explain_parser()
    try:
        args = parser.parse_args(argv)
        if args.help:
            out.write(parser.format_help())
            return EXIT_MATCH
        if args.model is None:
            raise _UsageError("the following arguments are required: MODEL")
        request = request_from_args(args)
    except _UsageError as exc:
        err.write(f"{parser.format_usage()}router explain: error: {exc}\n")
        return EXIT_USAGE
    return _explain(request, args.config, environ, out, err)


def explain_parser() -> _Parser:
    parser = _Parser(
        prog="router explain",
        description="Which route and target a request for MODEL would take, and why (offline).",
        add_help=False,
    )
    parser.add_argument("model", nargs="?", metavar="MODEL", help="the model name the client asks for")
    parser.add_argument("--client", choices=ALL_CLIENT_PROTOCOLS, default=HUB.name,
                        help="the front door: anthropic (/v1/messages, default), openai (/v1/chat/completions), "
                             "responses (/v1/responses) or gemini (/v1beta/models/MODEL:generateContent)")
    parser.add_argument("--body", metavar="FILE",
                        help="the client's JSON request body (its model is replaced by MODEL); default: a minimal request")
    parser.add_argument("--config", metavar="PATH", help="default: $ROUTER_CONFIG, else ./routes.toml")
    parser.add_argument("--header", action="append", default=[], metavar="K:V", help="a request header (repeatable)")
    parser.add_argument("--key", metavar="NAME", help="the authenticated client key's name")
    parser.add_argument("-h", "--help", action="store_true", help="show this help")
    return parser


# --- the request -----------------------------------------------------------------------------------


def request_from_args(args: argparse.Namespace) -> ExplainedRequest:
    protocol: ClientProtocol = args.client
    body = _body(args.body, protocol, args.model)
    client = spoke_named(protocol).client
    try:
        src = client.request_decoder(msgspec.json.encode(body))
    except msgspec.ValidationError as exc:
        raise _UsageError(f"--body is not a valid {protocol} request: {exc}") from None
    if client.model_paths is not None:  # the model is in the URL (Gemini): set as the front door does
        apply_call(src, PathCall(args.model, "generate"))
    origin = args.body or "a minimal request"
    return ExplainedRequest(protocol, args.model, body, src, _headers(args.header), args.key, origin)


def _body(path: str | None, protocol: ClientProtocol, model: str) -> dict[str, Any]:
    if path is None:
        return minimal_body(protocol, model)
    try:
        data = msgspec.json.decode(Path(path).read_bytes())
    except OSError as exc:
        raise _UsageError(f"--body {path}: {exc.strerror}") from None
    except msgspec.DecodeError as exc:
        raise _UsageError(f"--body {path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _UsageError(f"--body {path} must hold a JSON object")
    if spoke_named(protocol).client.model_paths is not None:
        return data  # its URL names the model, never its body
    return {**data, "model": model}


def minimal_body(protocol: ClientProtocol, model: str) -> dict[str, Any]:
    """The smallest request each front door accepts: one user message."""
    return spoke_named(protocol).client.example(model)


def _headers(pairs: Sequence[str]) -> dict[str, str]:
    headers = {}
    for pair in pairs:
        name, colon, value = pair.partition(":")
        if not colon or not name.strip():
            raise _UsageError(f"--header {pair!r}: write NAME:VALUE")
        headers[name.strip().lower()] = value.strip()
    return headers


def facts_for(request: ExplainedRequest) -> RequestFacts:
    return RequestFacts.given(request.protocol, request.src, request.headers, request.key_name)


# --- the table -------------------------------------------------------------------------------------


def _explain(request: ExplainedRequest, config: str | None, environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    path = find_config_path(config, environ)
    if path is not None and not path.is_file():
        err.write(f"router explain: {path}: no such file\n")
        return EXIT_USAGE
    try:
        loaded = load_config_file(path, environ) if path is not None else config_from_seed_env(environ)
    except ConfigError as exc:
        _write_problems(exc, err)
        return EXIT_NO_MATCH
    if loaded is None:
        err.write(_NOTHING_TO_EXPLAIN)
        return EXIT_USAGE
    table = build_table(loaded)
    facts = facts_for(request)
    plan = table.lookup(request.protocol, request.model, facts)
    out.write("\n".join(report(request, table, facts, plan, loaded.filename)) + "\n")
    return EXIT_MATCH if plan is not None else EXIT_NO_MATCH


def _write_problems(exc: ConfigError, err: TextIO) -> None:
    problems: Sequence[Problem] = getattr(exc, "problems", ())
    if not problems:
        err.write(f"router explain: {exc}\n")
    err.writelines(problem.render() + "\n" for problem in problems)
    err.write("router explain: the table is invalid (router check lists every problem)\n")


def report(request: ExplainedRequest, table: Table, facts: RequestFacts, plan: Plan | None, filename: str | None) -> Iterator[str]:
    """The whole explanation, line by line."""
    yield from _request_lines(request, filename)
    yield ""
    yield "routes, in order (first match wins):"
    for verdict in considered(request, table, facts, plan):
        yield f"  {verdict.route}: {verdict.summary}"
        yield from (f"      {line}" for line in verdict.details)
    yield ""
    if plan is None:
        yield f'no route serves model "{request.model}" to {request.protocol} clients: the client gets 404 not_found_error'
        return
    yield from _target_lines(plan)
    yield ""
    yield from _body_lines(request, plan.targets[0], table.loaded.config.upstreams)
    yield ""
    yield from _source_lines(plan.targets[0])


def _request_lines(request: ExplainedRequest, filename: str | None) -> Iterator[str]:
    yield f'request: model "{request.model}" from a client of {spoke_named(request.protocol).title} ({request.body_origin})'
    yield f"  table: {filename or 'the UPSTREAM_* environment'}"
    yield f"  key: {request.key_name or 'none'}"
    if request.headers:
        yield "  headers: " + ", ".join(f"{k}: {v}" for k, v in request.headers.items())


def considered(request: ExplainedRequest, table: Table, facts: RequestFacts, plan: Plan | None) -> Iterator[Verdict]:
    """Every route up to the one the lookup chose (all of them when none matched)."""
    for route in table.loaded.config.routes:
        verdict = _verdict(route, request, table, facts)
        yield verdict
        if plan is not None and route.name == plan.route:
            return


def _verdict(route: Route, request: ExplainedRequest, table: Table, facts: RequestFacts) -> Verdict:
    protocol, model = request.protocol, request.model
    if route.name in table.loaded.disabled_routes:
        return Verdict(route.name, False, "skipped: off (no API key in the environment for its upstreams)")
    if protocol not in route.clients:
        return Verdict(route.name, False, f"skipped: serves {', '.join(route.clients)} clients, not {protocol}")
    pattern = next((p for p in route.models if _model_matches(p, model)), None)
    if pattern is None:
        listed = ", ".join(f'"{p}"' for p in route.models)
        return Verdict(route.name, False, f'skipped: model "{model}" matches none of {listed}')
    if (route.name, protocol) not in table.plans:
        return Verdict(route.name, False, f"skipped: none of its targets can serve {protocol} clients")
    return _conditions_verdict(route.name, f'model "{model}" matches "{pattern}"', table, facts)


def _model_matches(pattern: str, model: str) -> bool:
    """As the table matches: globs case-sensitively (fnmatch.translate), names exactly."""
    return fnmatch.fnmatchcase(model, pattern) if is_glob(pattern) else pattern == model


def _conditions_verdict(name: str, model_line: str, table: Table, facts: RequestFacts) -> Verdict:
    condition = table.conditions.get(name)
    if condition is None:
        return Verdict(name, True, "matched", (model_line,))
    lines, failed = [model_line], 0
    for check in condition.checks:
        holds = check.holds(facts)
        failed += not holds
        lines.append(f"{'✓' if holds else '✗'} {check.label} (request: {check.observed(facts)})")
    if failed:
        noun = "condition" if failed == 1 else "conditions"
        return Verdict(name, False, f"skipped: {failed} {noun} not met", tuple(lines))
    return Verdict(name, True, "matched (all conditions hold)", tuple(lines))


# --- the plan --------------------------------------------------------------------------------------


def _target_lines(plan: Plan) -> Iterator[str]:
    count = len(plan.targets)
    yield f'route "{plan.route}": {count} target{"" if count == 1 else "s"}, balance {plan.balance}, up to {plan.retry.attempts} attempts'
    for number, target in enumerate(plan.targets, 1):
        pair = target.converters.pair + (" (passthrough)" if target.converters.passthrough else " (converted)")
        model = f'"{target.ctx.model}"' if target.ctx.model else "the client's, unchanged"
        weight = f", weight {target.weight:g}" if plan.balance == "weighted" else ""
        yield f"  {number}. {target.key}: upstream {target.upstream} (kind {target.kind}), model {model}, pair {pair}{weight}"
        yield f"     capabilities: {capabilities_text(target)}"


def capabilities_text(target: Target) -> str:
    parts = []
    for field in dataclasses.fields(target.ctx.caps):
        value = getattr(target.ctx.caps, field.name)
        parts.append(f"{field.name.replace('_', '-')}={_value_text(value)}")
    return ", ".join(parts)


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "unset"
    if isinstance(value, msgspec.Struct):
        return "{" + " ".join(f"{k}={getattr(value, k)}" for k in value.__struct_fields__) + "}"
    return str(value)


def _body_lines(request: ExplainedRequest, target: Target, upstreams: Mapping[str, Upstream]) -> Iterator[str]:
    yield f"upstream request body for the first target ({target.key}):"
    try:
        body = upstream_body(request, target, upstreams.get(target.upstream))
    except RouterError as exc:
        yield f"  not built: {exc} (the client would get a 400 invalid_request_error)"
        return
    yield msgspec.json.format(msgspec.json.encode(body), indent=2).decode()


def upstream_body(request: ExplainedRequest, target: Target, upstream: Upstream | None = None) -> dict[str, Any]:
    """What the dispatcher sends: passthrough pairs edit a fresh copy of the client's JSON in
    place; converting pairs run the compiled converter on the decoded request; then the
    upstream's dialect edits it (`upstream`'s settings: Vertex AI, Bedrock's InvokeModel)."""
    converters = target.converters
    src: Any = msgspec.json.decode(msgspec.json.encode(request.body)) if converters.passthrough else request.src
    body = converters.request.function(src, target.ctx)
    edit = None if upstream is None else target_side(upstream, converters.upstream).body_edit
    return body if edit is None else edit(body, target.upstream_headers({}))


def _source_lines(target: Target) -> Iterator[str]:
    converters = target.converters
    yield f"generated request converter for {target.key} ({converters.request.filename}):"
    yield converters.request.source.rstrip("\n")
    if converters.response is None:
        yield f"response converter for {target.key}: none (passthrough: the answer goes back as the upstream sent it)"
        return
    yield ""
    yield f"generated response converter for {target.key} ({converters.response.filename}):"
    yield converters.response.source.rstrip("\n")
