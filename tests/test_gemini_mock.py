"""The mock Gemini upstream (tests/support/gemini_mock.py) answers as Google's API does, checked
with Google's own SDK and against the recordings of a real session (../shared/fixtures/gemini-cli):
the end-to-end tests can then blame the router, not the mock, for what goes wrong."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types

from tests.support import gemini_mock
from tests.support.gemini_mock import DEFAULT_KEY, gemini_upstream, recorded

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "gemini-cli"
WEATHER = types.FunctionDeclaration(name="get_weather", parameters_json_schema={
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
TOOLS = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[WEATHER])],
                                    automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with gemini_upstream() as url:
        yield url


@pytest.fixture(scope="module")
def sdk(upstream: str) -> genai.Client:
    return genai.Client(api_key=DEFAULT_KEY, http_options=types.HttpOptions(base_url=upstream, api_version="v1beta",
                                                                            timeout=20_000))


def _recorded(case: str, name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / case / name).read_text()))


def test_the_answers_have_the_recorded_shape() -> None:
    """Member for member as the recorded server answered the real CLI: the classifier's JSON
    answer and the tool turn's two chunks (a thought, then the signed call with finishReason)."""
    classifier = _recorded("plain", "0001-gemini_generateContent.json")
    ours = gemini_mock.answer(classifier["body"], "gemini-3.5-flash-lite")
    theirs = classifier["response"]["body"]
    assert set(ours) == set(theirs) and set(ours["candidates"][0]) == set(theirs["candidates"][0])
    assert [set(p) for p in ours["candidates"][0]["content"]["parts"]] == [{"text", "thought"}, {"text", "thoughtSignature"}]
    assert json.loads(ours["candidates"][0]["content"]["parts"][1]["text"]).keys() == {"complexity_reasoning", "complexity_score"}
    tool = _recorded("tool", "0002-gemini_streamGenerateContent.json")
    tool["body"]["contents"][-1]["parts"][-1]["text"] = "Run run_shell_command with `echo hi`"
    chunks = gemini_mock.chunks(tool["body"], "gemini-3.8-flash")
    theirs_chunks = [json.loads(event.removeprefix("data: ")) for event in tool["response"]["sse"].split("\r\n\r\n") if event]
    assert [set(c["candidates"][0]) for c in chunks] == [set(c["candidates"][0]) for c in theirs_chunks]
    assert [set(p) for c in chunks for p in c["candidates"][0]["content"]["parts"]] == [
        set(p) for c in theirs_chunks for p in c["candidates"][0]["content"]["parts"]]
    assert chunks[1]["candidates"][0]["content"]["parts"][0]["functionCall"]["args"]["command"] == "echo hi"
    # the real history that followed (the CLI sent the recorded server's signature back) is one
    # the mock refuses only for the signature it never gave
    follow = _recorded("tool", "0003-gemini_streamGenerateContent.json")["body"]
    assert gemini_mock.history_error(follow) == "Corrupted thought signature at contents[1]."


def test_text_thoughts_and_stream(sdk: genai.Client) -> None:
    assert sdk.models.generate_content(model="m", contents="hello there").text == "Echo: hello there"
    thinking = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True))
    chunks = list(sdk.models.generate_content_stream(model="m", contents="one two three", config=thinking))
    parts = [part for chunk in chunks for part in chunk.candidates[0].content.parts]  # type: ignore[index, union-attr]
    assert parts[0].thought and parts[1].thought_signature and not parts[1].thought
    assert "".join(part.text or "" for part in parts[1:]) == "Echo: one two three"
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]
    assert chunks[-1].usage_metadata is not None and chunks[-1].usage_metadata.thoughts_token_count == 2


def test_a_call_its_signature_and_the_answer(sdk: genai.Client) -> None:
    question = types.Content(role="user", parts=[types.Part(text="use get_weather")])
    first = sdk.models.generate_content(model="m", contents=[question], config=TOOLS)
    turn = first.candidates[0].content  # type: ignore[index]
    assert turn is not None and turn.parts and turn.parts[0].thought_signature
    assert first.function_calls and first.function_calls[0].args == {"city": "demo"} and first.function_calls[0].id is None
    result = types.Content(role="user", parts=[types.Part.from_function_response(name="get_weather", response={"output": "ok"})])
    assert sdk.models.generate_content(model="m", contents=[question, turn, result], config=TOOLS).text == "The tool returned: ok"
    unsigned = types.Content(role="model", parts=[types.Part(function_call=first.function_calls[0])])
    with pytest.raises(errors.ClientError) as caught:
        sdk.models.generate_content(model="m", contents=[question, unsigned, result], config=TOOLS)
    assert caught.value.code == 400 and "thought_signature" in str(caught.value.message)
    # Google's placeholder for a history written by another model is accepted
    placeholder = {"contents": [{"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {}},
                                                             "thoughtSignature": "skip_thought_signature_validator"}]}]}
    assert gemini_mock.history_error(placeholder) is None


def test_scripted_failures_keys_and_the_array_stream(sdk: genai.Client, upstream: str) -> None:
    with pytest.raises(errors.ClientError) as caught:
        sdk.models.generate_content(model="fail-429", contents="x")
    assert caught.value.code == 429 and caught.value.status == "RESOURCE_EXHAUSTED"
    with pytest.raises(errors.ServerError):
        sdk.models.generate_content(model="fail-500", contents="x")
    with pytest.raises(Exception) as cut:  # a transport error of the HTTP client the SDK uses
        list(sdk.models.generate_content_stream(model="cut-stream", contents="a few words to cut"))
    assert "closed" in str(cut.value) or "incomplete" in str(cut.value), cut.value
    url = f"{upstream}/v1beta/models/m:generateContent"
    body = {"contents": [{"parts": [{"text": "k"}]}]}
    assert httpx.post(url, json=body, timeout=5).json()["error"]["status"] == "PERMISSION_DENIED"
    assert httpx.post(url, json=body, headers={"x-goog-api-key": "wrong"}, timeout=5).json()["error"]["code"] == 400
    assert httpx.post(url, json=body, params={"key": DEFAULT_KEY}, timeout=5).status_code == 200
    array = httpx.post(f"{upstream}/v1beta/models/m:streamGenerateContent", json=body,
                       headers={"x-goog-api-key": DEFAULT_KEY}, timeout=5)
    assert array.headers["content-type"].startswith("application/json")
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in array.json()) == "Echo: k"
    last = recorded(upstream)[-1]
    assert last["path"] == "/v1beta/models/m:streamGenerateContent" and last["body"] == body
