"""Hub request → Gemini request: what the pair cases do not pin down one rule at a time (the
recorded Claude Code request, signatures across turns, the endpoint and headers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from router.config.schema import GeminiUpstream, OpenAIUpstream, Vertex
from router.config.target import Capabilities
from router.core.errors import InvalidRequest
from router.spokes.gemini.upstream.endpoint import (
    count_tokens_url,
    gemini_url,
    headers,
    no_forwarding,
)
from router.spokes.gemini.upstream.request import SKIP_SIGNATURE
from router.spokes.gemini.upstream.signature import signature_for, thought_signature
from tests.spokes.gemini.upstream.upstream_table import (
    ctx_for,
    hub_request,
    to_upstream,
    user,
)

CLAUDE_CODE = Path(__file__).resolve().parents[4].parent / "shared" / "fixtures" / "claude-code"
CLAUDE_CODE_REQUESTS = sorted(CLAUDE_CODE.glob("*/*.json")) if CLAUDE_CODE.is_dir() else []


def _call_turn(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": list(blocks)}


CALL = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}
RESULT = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]}


# --- the endpoint ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "stream", "url"), [
    ("gemini-2.5-pro", False, "https://g/v1beta/models/gemini-2.5-pro:generateContent"),
    ("models/gemini-2.5-pro", True, "https://g/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"),
    ("a/b:c?key=x#y", False, "https://g/v1beta/models/a%2Fb%3Ac%3Fkey%3Dx%23y:generateContent"),
])
def test_gemini_url(model: str, stream: bool, url: str) -> None:
    assert gemini_url("https://g/v1beta/", model, stream) == url


def test_the_key_goes_in_a_header_never_the_url() -> None:
    upstream = GeminiUpstream(api_key="env:K", headers={"x-extra": "1"})
    assert headers(upstream, "secret") == {"content-type": "application/json",
                                           "accept": "application/json, text/event-stream",
                                           "x-extra": "1", "x-goog-api-key": "secret"}
    assert "secret" not in gemini_url("https://g/v1beta", "m", True)


def test_vertex_gets_no_api_key_header() -> None:
    upstream = GeminiUpstream(vertex=Vertex(project="p"))
    assert "x-goog-api-key" not in headers(upstream, "secret")


def test_no_key_no_header_and_other_kinds_are_read_defensively() -> None:
    assert "x-goog-api-key" not in headers(GeminiUpstream(), None)
    assert headers(OpenAIUpstream(base_url="http://x"), "k")["x-goog-api-key"] == "k"
    no_forwarding(GeminiUpstream())  # typed to return None: no client header is forwarded
    count_tokens_url("https://g")  # no native counter (yet): the router's estimator answers


# --- signatures -----------------------------------------------------------------------------------


def test_signature_round_trip_only_for_its_own_upstream() -> None:
    signature = signature_for("up", "QUJD")
    assert thought_signature(signature, "up") == "QUJD"
    assert thought_signature(signature, "other") is None
    assert thought_signature(signature_for("up", None), "up") is None
    assert thought_signature("EqQBCkgIAhAB", "up") is None
    assert thought_signature(None, "up") is None


def test_a_signature_goes_to_the_next_part_even_past_text() -> None:
    body = hub_request(user("hi"), _call_turn(
        {"type": "thinking", "thinking": "t", "signature": signature_for("up", "UzE=")},
        {"type": "text", "text": "Let me look."}, CALL), RESULT)
    parts = to_upstream(body)["contents"][1]["parts"]
    assert parts == [{"text": "Let me look.", "thoughtSignature": "UzE="},
                     {"functionCall": {"id": "toolu_1", "name": "f", "args": {"a": 1}}}]


def test_gemini_3_skip_signature_only_on_the_first_unsigned_call() -> None:
    second = {**CALL, "id": "toolu_2"}
    body = hub_request(user("hi"), _call_turn(CALL, second), {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a"},
        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "b"}]})
    parts = to_upstream(body, ctx_for(model="gemini-3-pro-preview"))["contents"][1]["parts"]
    assert parts[0]["thoughtSignature"] == SKIP_SIGNATURE and "thoughtSignature" not in parts[1]
    assert all("thoughtSignature" not in part for part in to_upstream(body)["contents"][1]["parts"])  # 2.5


def test_function_responses_come_first_and_together() -> None:
    second = {**CALL, "id": "toolu_2", "name": "g"}
    body = hub_request(user("hi"), _call_turn(CALL, second), {"role": "user", "content": [
        {"type": "text", "text": "both done"},
        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "b"},
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "a"}]}]})
    parts = to_upstream(body)["contents"][2]["parts"]
    assert [next(iter(part)) for part in parts] == ["functionResponse", "functionResponse", "text"]
    assert [part["functionResponse"]["name"] for part in parts[:2]] == ["g", "f"]


def test_a_turn_with_nothing_to_send_is_left_out() -> None:
    body = hub_request(user("hi"), _call_turn({"type": "redacted_thinking", "data": "x"}), user("again"))
    assert [content["role"] for content in to_upstream(body)["contents"]] == ["user", "user"]


def test_tool_schemas_clean_go_through_the_openapi_subset() -> None:
    pytest.importorskip("router.spokes.gemini.schema")
    tool = {"name": "f", "input_schema": {"type": "object", "properties": {"a": {"type": ["string", "null"]}}}}
    declaration = to_upstream(hub_request(user("hi"), tools=[tool]), ctx_for(Capabilities(tool_schema="clean"))
                              )["tools"][0]["functionDeclarations"][0]
    assert "parametersJsonSchema" not in declaration and declaration["parameters"]["type"] == "OBJECT"


def test_a_tool_result_for_an_unknown_call_is_refused_naming_it() -> None:
    with pytest.raises(InvalidRequest, match=r"toolu_1.*\$\.messages\[1\]\.content\[0\]\.tool_use_id"):
        to_upstream(hub_request(user("hi"), RESULT))


@pytest.mark.parametrize("path", CLAUDE_CODE_REQUESTS, ids=[f"{p.parent.name}/{p.stem}" for p in CLAUDE_CODE_REQUESTS])
def test_claude_code_requests_convert(path: Path) -> None:
    recorded = json.loads(path.read_text("utf-8"))
    body = recorded.get("body")
    if not isinstance(body, dict) or "messages" not in body:
        pytest.skip("not a Messages request")
    out = to_upstream(body)
    assert out["contents"] and all(content["parts"] for content in out["contents"])
    assert all(content["role"] in ("user", "model") for content in out["contents"])
    if body.get("tools"):
        names = [d["name"] for d in out["tools"][0]["functionDeclarations"]]
        assert len(names) == len(set(names))
