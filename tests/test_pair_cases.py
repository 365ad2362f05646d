"""Data-driven cases for every pair: tests/cases/<client>__<upstream>/*.json.

The pairs are the directory names; add a pair by adding a directory, a case by adding a file.
Each file is one conversation step: the request a client sends (`client_request`), the request the
upstream must receive (`upstream_request`), the upstream's answer (`upstream_response`), and the
answer the client must get back (`client_response`). `supports` overrides Capabilities defaults
(`thinking_budgets` as an object); `model` is the route's target model (null: the client's model
goes through). A case with `error` instead of the last three keys is a request the converter must
refuse with exactly that InvalidRequest message.

Volatile fields: a field the conversion takes from the clock (the OpenAI client's `created`: Anthropic
answers carry none) is written "<now>"; the test checks the actual value is an int taken during the
call, then compares the rest exactly. An id the conversion mints per answer (a Responses answer's
`resp_…` id, its items' `msg_…`, `rs_…`, `fc_…`, `ctc_…` ids) is written "<id:PREFIX>": the test
checks the actual value is that prefix and more, and that no two minted ids of one answer are equal.

What differs between pairs is only what each protocol's wire types are, in PROTOCOLS below.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest

from router.config.schema import ThinkingBudgets
from router.config.target import Capabilities, TargetContext
from router.core.errors import InvalidRequest
from router.hub.messages import AnthropicMessage, MessagesRequest, request_from_python
from router.routing.compose import build_converters
from router.spokes.bedrock.wire import ConverseResponse
from router.spokes.gemini.answer_wire import GenerateContentResponse
from router.spokes.gemini.request_wire import GenerateContentRequest
from router.spokes.openai.wire import ChatCompletion, ChatRequest
from router.spokes.responses.answer_wire import ResponseObject
from router.spokes.responses.request_wire import ResponsesRequest

CASES_DIR = Path(__file__).parent / "cases"
MIN_CASES_PER_PAIR = 50
# Pairs younger than the first wave, held to fewer cases (each still one rule).
MIN_CASES_FOR = {
    "responses__anthropic": 35, "responses__openai": 35,
    "gemini__anthropic": 35, "gemini__openai": 35, "gemini__responses": 35,
    "anthropic__gemini": 35, "openai__gemini": 35, "responses__gemini": 35,
    "anthropic__bedrock": 35, "openai__bedrock": 35, "responses__bedrock": 35, "gemini__bedrock": 35,
}
COMMON_KEYS = {"description", "supports", "model", "client_request"}
CONVERSION_KEYS = COMMON_KEYS | {"upstream_request", "upstream_response", "client_response"}
ERROR_KEYS = COMMON_KEYS | {"error"}
NOW = "<now>"
MINTED_ID = re.compile(r"<id:([A-Za-z][A-Za-z_-]*[_-])>")  # msg_bdrk_, chatcmpl-msg_bdrk_


@dataclass(frozen=True)
class Protocol:
    """A protocol's wire types, as a client speaks it and as an upstream answers in it."""

    request: type[Any]
    answer: type[Any]
    # The request struct holds raw JSON (msgspec.Raw), which only the JSON decoder fills: Python
    # objects go through request_from_python. Otherwise msgspec.convert builds it, and a test checks
    # the front door's byte decoding agrees.
    raw_json_in_request: bool
    # Fields of the client's answer taken from the clock during the conversion.
    clock_fields: tuple[str, ...] = ()

    def request_from_python(self, value: Any) -> Any:
        if self.raw_json_in_request:
            return request_from_python(value, self.request)
        return msgspec.convert(value, self.request)


PROTOCOLS = {
    "anthropic": Protocol(request=MessagesRequest, answer=AnthropicMessage, raw_json_in_request=True),
    "openai": Protocol(request=ChatRequest, answer=ChatCompletion, raw_json_in_request=False, clock_fields=("created",)),
    # text.format.schema is raw JSON.
    "responses": Protocol(
        request=ResponsesRequest, answer=ResponseObject, raw_json_in_request=True, clock_fields=("created_at",)
    ),
    # The model comes from the URL path: a case's client_request carries it as `model`, which
    # the request Struct has for the gateway to set.
    "gemini": Protocol(request=GenerateContentRequest, answer=GenerateContentResponse, raw_json_in_request=False),
    # An upstream only: no client sends a Converse request.
    "bedrock": Protocol(request=dict, answer=ConverseResponse, raw_json_in_request=False),
}


@dataclass(frozen=True)
class Case:
    pair: str
    path: Path
    body: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.pair}/{self.path.stem}"

    @property
    def client(self) -> Protocol:
        return PROTOCOLS[self.pair.split("__")[0]]

    @property
    def upstream(self) -> Protocol:
        return PROTOCOLS[self.pair.split("__")[1]]

    @property
    def refused(self) -> bool:
        return "error" in self.body


def pair_dirs() -> list[Path]:
    """Every `<client>__<upstream>` directory under tests/cases (the others hold other cases)."""
    return sorted(path for path in CASES_DIR.iterdir() if path.is_dir() and "__" in path.name)


def load_case(pair: str, path: Path) -> Case:
    body: dict[str, Any] = json.loads(path.read_text("utf-8"))
    assert set(body) in (CONVERSION_KEYS, ERROR_KEYS), f"{pair}/{path.name}: keys {sorted(body)}"
    return Case(pair, path, body)


PAIRS = [path.name for path in pair_dirs()]
CASES = [load_case(pair, path) for pair in PAIRS for path in sorted((CASES_DIR / pair).glob("*.json"))]
CONVERSIONS = [case for case in CASES if not case.refused]
ERRORS = [case for case in CASES if case.refused]


def context_for(case: Case) -> TargetContext:
    supports = dict(case.body["supports"])
    if "thinking_budgets" in supports:
        supports["thinking_budgets"] = ThinkingBudgets(**supports["thinking_budgets"])
    return TargetContext(route="case", upstream="test", model=case.body["model"], caps=Capabilities(**supports))


def convert_request(case: Case) -> Any:
    ctx = context_for(case)
    src = case.client.request_from_python(case.body["client_request"])
    return build_converters(case.pair, ctx).request.function(src, ctx)


def holds_raw_json(value: Any) -> bool:
    if isinstance(value, msgspec.Raw):
        return True
    if isinstance(value, dict):
        return any(holds_raw_json(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(holds_raw_json(item) for item in value)
    return False


def with_minted_ids(expected: Any, got: Any, minted: list[str]) -> Any:
    """`got` with every id the expected answer writes "<id:PREFIX>" replaced by that placeholder,
    when the actual id has the prefix and more (each collected in `minted`); the rest as it is."""
    if isinstance(expected, str) and isinstance(got, str):
        match = MINTED_ID.fullmatch(expected)
        if match is not None and got.startswith(match[1]) and len(got) > len(match[1]):
            minted.append(got)
            return expected
        return got
    if isinstance(expected, dict) and isinstance(got, dict):
        return {key: with_minted_ids(expected.get(key), value, minted) for key, value in got.items()}
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        return [with_minted_ids(want, value, minted) for want, value in zip(expected, got)]
    return got


def cases(selected: list[Case]) -> Any:
    return pytest.mark.parametrize("case", selected, ids=[case.id for case in selected])


def test_pairs_are_known() -> None:
    assert PAIRS, "no pair directories under tests/cases"
    for pair in PAIRS:
        client, _, upstream = pair.partition("__")
        assert client in PROTOCOLS and upstream in PROTOCOLS, f"{pair}: unknown protocol"


@pytest.mark.parametrize("pair", PAIRS)
def test_cases_exist(pair: str) -> None:
    assert sum(case.pair == pair for case in CASES) >= MIN_CASES_FOR.get(pair, MIN_CASES_PER_PAIR)


def test_some_request_is_refused() -> None:
    assert ERRORS, "at least one refused request"


@cases(CONVERSIONS)
def test_request(case: Case) -> None:
    upstream = convert_request(case)
    # Compared as what goes on the wire: it must be JSON the upstream reads back identically.
    assert msgspec.json.decode(msgspec.json.encode(upstream)) == case.body["upstream_request"]
    # And as built, except where raw JSON from the client (tool schemas) passes through as is.
    if not holds_raw_json(upstream):
        assert upstream == case.body["upstream_request"]


@cases(CONVERSIONS)
def test_response(case: Case) -> None:
    ctx = context_for(case)
    answer = msgspec.convert(case.body["upstream_response"], case.upstream.answer)
    converters = build_converters(case.pair, ctx)
    assert not converters.passthrough
    src = case.client.request_from_python(case.body["client_request"])
    before = int(time.time())
    # The whole answer path: what only the request knows too, and the model asked of the upstream
    # (the route's, else the client's), as router.gateway.dispatch passes it.
    model = case.body["model"] or case.body["client_request"].get("model") or ""
    got, _ = converters.answer(answer, ctx, src, model)
    after = int(time.time())
    expected = case.body["client_response"]
    for field in case.client.clock_fields:
        assert isinstance(got[field], int) and before <= got[field] <= after
        assert expected[field] == NOW
        got = {**got, field: NOW}
    if holds_raw_json(got):  # settings echoed as the client wrote them (text.format.schema)
        got = msgspec.json.decode(msgspec.json.encode(got))
    minted: list[str] = []
    got = with_minted_ids(expected, got, minted)
    assert len(set(minted)) == len(minted), f"ids minted twice: {minted}"
    assert got == expected


@cases(ERRORS)
def test_refused_request(case: Case) -> None:
    with pytest.raises(InvalidRequest) as caught:
        convert_request(case)
    assert caught.value.message == case.body["error"]
    assert caught.value.status == 400


@cases(CONVERSIONS)
def test_request_does_not_mutate_input(case: Case) -> None:
    """Converters build new dicts; the decoded client request is left as it came."""
    ctx = context_for(case)
    src = case.client.request_from_python(case.body["client_request"])
    before = msgspec.json.encode(src)
    # msgspec.to_builtins cannot hold raw JSON; the encoded bytes above cover those structs.
    before_builtins = None if case.client.raw_json_in_request else msgspec.to_builtins(src)
    build_converters(case.pair, ctx).request.function(src, ctx)
    assert msgspec.json.encode(src) == before
    if before_builtins is not None:
        assert msgspec.to_builtins(src) == before_builtins


_DECODED_BY_CONVERT = [case for case in CONVERSIONS if not case.client.raw_json_in_request]


@cases(_DECODED_BY_CONVERT)
def test_client_request_decodes_from_raw_json(case: Case) -> None:
    """The front door decodes bytes, not dicts: every case body must decode that way too (a request
    struct holding raw JSON is only ever decoded from bytes, so it needs no such check)."""
    request = case.body["client_request"]
    raw = json.dumps(request).encode()
    assert msgspec.json.decode(raw, type=case.client.request) == msgspec.convert(request, case.client.request)
