"""Every valid request at each front door, answered validly by the mocked upstream, comes back
200 in the client's protocol: converted pairs (several capability sets) and passthrough, unary
and streamed (the upstream's stream cut at random read boundaries). At the Responses door, the
same request streamed and unary, against the same upstream answer, give the same output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import strategies as s
from tests.fuzz.app import FakeUpstream, post, running_app
from tests.fuzz.profiles import share
from tests.fuzz.shapes import anthropic_answer, encode, openai_answer, responses_answer

App = tuple[Any, FakeUpstream]
CUTS = st.lists(st.integers(0, 20_000), max_size=6)


@pytest.fixture(scope="module")
def app() -> Iterator[App]:
    with running_app() as running:
        yield running


@given(body=s.anthropic_requests(), answer=s.answers(), cuts=CUTS)
def test_valid_anthropic_request_is_answered_in_anthropic_shape(
    app: App, body: dict[str, Any], answer: s.Answer, cuts: list[int]
) -> None:
    client, upstream = app
    upstream.answer, upstream.reads = answer, cuts
    reply = post(client, "/v1/messages", encode(body))
    assert reply.status == 200, reply.body[:2000]
    anthropic_answer(reply, stream=body.get("stream") is True)


@given(body=s.openai_requests(), answer=s.answers(), cuts=CUTS)
def test_valid_openai_request_is_answered_in_openai_shape(
    app: App, body: dict[str, Any], answer: s.Answer, cuts: list[int]
) -> None:
    client, upstream = app
    upstream.answer, upstream.reads = answer, cuts
    reply = post(client, "/v1/chat/completions", encode(body))
    assert reply.status == 200, reply.body[:2000]
    openai_answer(reply, stream=body.get("stream") is True)


@given(body=s.responses_requests(), answer=s.answers(), cuts=CUTS)
def test_valid_responses_request_is_answered_in_responses_shape(
    app: App, body: dict[str, Any], answer: s.Answer, cuts: list[int]
) -> None:
    client, upstream = app
    upstream.answer, upstream.reads = answer, cuts
    reply = post(client, "/v1/responses", encode(body))
    assert reply.status == 200, reply.body[:2000]
    responses_answer(reply, stream=body.get("stream") is True)


@share(0.3)
@given(body=s.responses_requests(), answer=s.answers(), cuts=CUTS)
def test_a_responses_stream_folds_to_the_unary_answer(
    app: App, body: dict[str, Any], answer: s.Answer, cuts: list[int]
) -> None:
    """The stream's final response has the unary answer's output, item for item, and its status
    and usage. Not compared, as in the Chat stream tests: ids (the router mints new ones per
    answer) and how arguments JSON is spelled (the stream relays the upstream's text, the unary
    answer re-encodes the parsed input); usage when the upstream's stream carried none (a Chat
    stream without its usage chunk)."""
    client, upstream = app
    upstream.answer, upstream.reads = answer, cuts
    unary = responses_answer(post(client, "/v1/responses", encode({**body, "stream": False})), stream=False)
    streamed = responses_answer(post(client, "/v1/responses", encode({**body, "stream": True})), stream=True)
    assert comparable(streamed["output"]) == comparable(unary["output"])
    assert streamed["status"] == unary["status"]
    if answer.usage_chunk or body["model"] != "conv-plain":
        assert streamed["usage"] == unary["usage"]


def comparable(output: list[dict[str, Any]]) -> list[dict[str, Any]]:
    items = [{key: value for key, value in item.items() if key != "id"} for item in output]
    for item in items:
        if item["type"] == "function_call":
            item["arguments"] = json.loads(item["arguments"])
    return items


@share(0.5)
@given(body=s.anthropic_requests(models=s.CONVERTED_ANTHROPIC_MODELS), answer=s.answers())
def test_count_tokens_counts_every_valid_request(app: App, body: dict[str, Any], answer: s.Answer) -> None:
    """count_tokens of an OpenAI-routed model is counted offline (router.hub.tokens): a number, never a 5xx."""
    client, upstream = app
    upstream.answer = answer
    body = {key: value for key, value in body.items() if key not in ("max_tokens", "stream")}
    reply = post(client, "/v1/messages/count_tokens", encode(body))
    assert reply.status == 200, reply.body[:2000]
    counted = reply.json()["input_tokens"]
    assert isinstance(counted, int) and counted >= 0
