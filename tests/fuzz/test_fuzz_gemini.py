"""The Gemini front door (`POST /v1beta/models/{model}:generateContent`, `:streamGenerateContent
?alt=sse`), fuzzed: every valid request, converted to Chat, Anthropic and Responses upstreams or
passed through to a Gemini one, is a 200 that google-genai reads (a stream: `data:` lines only,
the upstream's stream cut at random read boundaries, `finishReason` on the last chunk); every
invalid body (a node of another JSON type anywhere, cut short, nested past any limit, no
contents) is a 4xx in Google's shape, `{"error": {"code", "message", "status"}}` with the status's
google.rpc name, and a 400 INVALID_ARGUMENT names the field; never a 5xx. Gemini CLI's recorded
requests (../shared/fixtures/gemini-cli/) are seeds of every property.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import strategies as s
from tests.fuzz.app import FakeUpstream, Reply, running_app
from tests.fuzz.gemini import (
    GEMINI_MODELS,
    gemini_answer,
    gemini_error,
    gemini_path,
    gemini_requests,
)
from tests.fuzz.mutations import Mutation, nested, wrong_types
from tests.fuzz.profiles import share
from tests.fuzz.shapes import encode, names_a_field

App = tuple[Any, FakeUpstream]
GEMINI_CLI = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "gemini-cli"
CUTS = st.lists(st.integers(0, 20_000), max_size=6)
DEEP = "__deep__"
FIXED_ANSWER = s.Answer(id="a1", model="m", thinking="", signature="c2ln", text="ok", calls=(), finish="stop",
                        input_tokens=1, output_tokens=1, cached_tokens=0)


def recorded_requests() -> list[dict[str, Any]]:
    """Gemini CLI's own generateContent / streamGenerateContent bodies (its classifier call, its
    main turns, its tool turn with a thoughtSignature and a functionResponse)."""
    return [json.loads(path.read_text("utf-8"))["body"] for path in sorted(GEMINI_CLI.glob("*/*.json"))]


BODIES = st.one_of(gemini_requests(), st.sampled_from(recorded_requests()))
MODELS = st.sampled_from(GEMINI_MODELS)


@pytest.fixture(scope="module")
def app() -> Iterator[App]:
    with running_app() as running:
        yield running


def answered(app: App, model: str, stream: bool, body: bytes, answer: s.Answer, cuts: list[int] | None = None) -> Reply:
    client, upstream = app
    upstream.answer, upstream.reads = answer, cuts or []
    response = client.post(gemini_path(model, stream), content=body, headers={"content-type": "application/json"})
    return Reply(response.status_code, response.headers.get("content-type", ""), response.content)


def assert_client_error(reply: Reply, *names: str) -> str:
    """A 4xx in Google's shape; a 400 is INVALID_ARGUMENT and its message names a field."""
    assert 400 <= reply.status < 500, (reply.status, reply.body[:2000])
    message = gemini_error(reply)
    if reply.status == 400 and names:
        assert names_a_field(message, *names), message
    return message


def test_the_recorded_requests_are_seeds() -> None:
    assert len(recorded_requests()) >= 6


# 60% of the profile's examples for the two wide properties: the fuzz suite's time is shared.
@share(0.6)
@given(body=BODIES, model=MODELS, stream=st.booleans(), answer=s.answers(), cuts=CUTS)
def test_a_valid_gemini_request_is_answered_in_gemini_shape(
    app: App, body: dict[str, Any], model: str, stream: bool, answer: s.Answer, cuts: list[int]
) -> None:
    reply = answered(app, model, stream, encode(body), answer, cuts)
    assert reply.status == 200, reply.body[:2000]
    gemini_answer(reply, stream)


@share(0.2)
@given(body=BODIES, model=MODELS, answer=s.answers(), cuts=CUTS)
def test_a_gemini_stream_folds_to_the_unary_answer(
    app: App, body: dict[str, Any], model: str, answer: s.Answer, cuts: list[int]
) -> None:
    """The same request and upstream answer, streamed and not: the same parts once the stream's
    consecutive texts are joined (the stream sends them in pieces), the same finishReason."""
    unary = gemini_answer(answered(app, model, False, encode(body), answer), stream=False)
    streamed = gemini_answer(answered(app, model, True, encode(body), answer, cuts), stream=True)
    assert joined(streamed) == joined(unary)
    assert streamed["candidates"][0]["finishReason"] == unary["candidates"][0]["finishReason"]


def joined(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The parts with consecutive texts of one kind (thought or not) merged, signatures kept."""
    out: list[dict[str, Any]] = []
    for part in response["candidates"][0]["content"]["parts"]:
        previous = out[-1] if out else None
        if (previous is not None and "text" in part and "text" in previous and "thoughtSignature" not in part
                and bool(part.get("thought")) == bool(previous.get("thought"))):
            previous["text"] += part["text"]
        else:
            out.append(dict(part))
    return out


@share(0.6)
@given(data=st.data(), model=MODELS, stream=st.booleans(), answer=s.answers())
def test_a_wrong_type_anywhere_is_a_client_error_or_harmless(
    app: App, data: st.DataObject, model: str, stream: bool, answer: s.Answer
) -> None:
    mutation: Mutation = data.draw(wrong_types(BODIES), label="mutation")
    reply = answered(app, model, stream, encode(mutation.body), answer)
    if reply.status == 200:
        gemini_answer(reply, stream)
    else:
        assert_client_error(reply, *mutation.field_names)


@share(0.3)
@given(data=st.data(), model=MODELS, stream=st.booleans())
def test_a_body_cut_short_is_a_400(app: App, data: st.DataObject, model: str, stream: bool) -> None:
    body = encode(data.draw(BODIES, label="body"))
    cut = data.draw(st.integers(0, len(body) - 1), label="cut")
    reply = answered(app, model, stream, body[:cut], FIXED_ANSWER)
    assert reply.status == 400, (reply.status, reply.body[:2000])
    assert_client_error(reply)


@share(0.2)
@given(data=st.data(), model=MODELS, stream=st.booleans(), contents=st.sampled_from([None, [], {}, "", 0]))
def test_no_contents_is_a_400_naming_it(app: App, data: st.DataObject, model: str, stream: bool, contents: Any) -> None:
    body = {key: value for key, value in data.draw(BODIES, label="body").items() if key != "contents"}
    if contents is not None:
        body["contents"] = contents
    reply = answered(app, model, stream, encode(body), FIXED_ANSWER)
    assert reply.status == 400, (reply.status, reply.body[:2000])
    assert_client_error(reply, "contents")


DEEP_BASE = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
_SCHEMA = {"type": "object", "properties": {"x": {"default": DEEP}}}
DEEP_PLACES: list[tuple[str, dict[str, Any]]] = [
    ("extra", {**DEEP_BASE, "extra": DEEP}),
    ("contents", {"contents": [{"role": "user", "parts": [{"text": "hi", "extra": DEEP}]}]}),
    ("contents", {"contents": [{"role": "user", "parts": [{"text": "hi"}]},
                               {"role": "model", "parts": [{"functionCall": {"name": "t", "args": {"x": DEEP}}}]},
                               {"role": "user", "parts": [{"functionResponse": {"name": "t", "response": {"x": DEEP}}}]}]}),
    ("tools", {**DEEP_BASE, "tools": [{"functionDeclarations": [{"name": "t", "parametersJsonSchema": _SCHEMA}]}]}),
    ("tools", {**DEEP_BASE, "tools": [{"functionDeclarations": [{"name": "t", "parameters": {
        "type": "OBJECT", "properties": {"x": {"type": "ARRAY", "items": DEEP}}}}]}]}),
    ("generationConfig", {**DEEP_BASE, "generationConfig": {"responseMimeType": "application/json",
                                                            "responseJsonSchema": _SCHEMA}}),
    ("systemInstruction", {**DEEP_BASE, "systemInstruction": {"parts": [{"text": "x", "extra": DEEP}]}}),
]


# From 5,000 levels up, as the other doors' property (hypothesis raises the recursion limit while
# a test runs); each example parses up to 100,000 levels, so a small share.
@share(0.3)
@given(place=st.sampled_from(DEEP_PLACES), model=MODELS, stream=st.booleans(), depth=st.integers(5_000, 100_000))
def test_deep_nesting_is_a_400_naming_the_field(
    app: App, place: tuple[str, dict[str, Any]], model: str, stream: bool, depth: int
) -> None:
    field, deep = place
    raw = encode(deep).replace(f'"{DEEP}"'.encode(), nested(depth).encode(), 1)
    reply = answered(app, model, stream, raw, FIXED_ANSWER)
    assert reply.status == 400, (field, depth, reply.status, reply.body[:500])
    assert_client_error(reply, field)
