"""End to end, Amazon Bedrock: the official SDKs (`anthropic`, `openai` Chat and Responses,
google-genai) → `router serve` → a real mock Bedrock Runtime on loopback (tests/support/
bedrock_mock.py) that checks every request's SigV4 signature with botocore, as AWS does.

The router takes its AWS credentials from botocore's chain, here the environment only: temporary
credentials (access key, secret, session token) in the router process's env, the shared config
and credentials files pointed at paths that do not exist and the instance metadata service off,
so nothing of this machine's AWS set-up leaks in. One more router has a wrong secret.

- Converse / ConverseStream for every client: text, tools, images, cache points, thinking with
  signatures the mock issued (it refuses a history whose signature it did not issue).
- Claude through InvokeModel for Anthropic clients (`api = "auto"` on an Anthropic model id, or a
  model-less target whose patterns are all Anthropic ids): the body passes through (thinking
  signatures, cache_control, unknown fields) without `model` and `stream`, with Bedrock's
  `anthropic_version` and the client's betas as `anthropic_beta`.
- A Bedrock API key upstream: `Authorization: Bearer`, no signature.
- Errors (the mock scripts them by model id) for every client on both APIs: unary statuses in the
  client's own shape, exceptions inside the event stream as the client protocol's error event,
  never a clean end; the 502s name the upstream and hide our credentials.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anthropic
import openai
import pytest
from google import genai
from google.genai import types

from tests.conftest import RouterFactory
from tests.support.bedrock_e2e import (
    CLIENTS,
    StreamEnd,
    anthropic_sdk,
    failure,
    gemini_sdk,
    openai_sdk,
    stream_end,
)
from tests.support.bedrock_mock import (
    ACCESS_KEY,
    API_KEY,
    CACHE_READ_TOKENS,
    CACHE_WRITE_TOKENS,
    REDACTED_TRIGGER,
    REGION,
    SECRET_KEY,
    SESSION_TOKEN,
    bedrock_upstream,
    recorded,
)
from tests.support.sdk_checks import (
    check_anthropic_tool_round_trip,
    check_chat_text_and_stream,
)

Json = dict[str, Any]
KEY = "e2e-bedrock-client-key-0123456789"
CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "amazon.nova-pro-v1:0"
CITY: Json = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER: Any = {"name": "get_weather", "description": "Weather for a city", "input_schema": CITY}
THINKING: Any = {"type": "enabled", "budget_tokens": 1024}
BETAS = ("interleaved-thinking-2025-05-14", "context-1m-2025-08-07")
PIXEL = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()
IMAGE: Any = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}}

# The mock scripts a failure by the model id it is sent (tests/support/bedrock_mock.py).
UNARY_SCRIPTS = ("fail-429", "not-ready", "fail-400", "fail-403", "echo-key")
STREAM_SCRIPTS = ("stream-throttle", "stream-error", "cut-stream")
APIS = ("converse", "invoke")
# The failing targets live on upstreams of their own, so no failure can sour the others.
FAILING_UPSTREAM = {"converse": "faulty", "invoke": "faulty-invoke"}

ROUTES = """
[auth]
keys = ["env:CLIENT_KEY"]

# Signed with the credentials botocore finds (the environment here); api = "auto".
[upstreams.aws]
kind = "bedrock"
region = "{region}"
base-url = "{upstream}"

[upstreams.aws-converse]
kind = "bedrock"
region = "{region}"
base-url = "{upstream}"
api = "converse"

[upstreams.aws-key]
kind = "bedrock"
region = "{region}"
base-url = "{upstream}"
api-key = "env:BEDROCK_KEY"

[upstreams.faulty]
kind = "bedrock"
region = "{region}"
base-url = "{upstream}"

[upstreams.faulty-invoke]
kind = "bedrock"
region = "{region}"
base-url = "{upstream}"
api = "invoke"

[[routes]]
name = "nova"
models = ["nova"]
to = "aws/{nova}"

[[routes]]
name = "claude-invoke"
models = ["claude-bedrock"]
to = "aws/{claude}"

[[routes]]
name = "claude-converse"
models = ["claude-converse"]
to = "aws-converse/{claude}"

# Model-less: the client's model id goes to Bedrock as it came.
[[routes]]
name = "claude-ids"
models = ["us.anthropic.claude-*"]
to = "aws"

[[routes]]
name = "nova-by-key"
models = ["nova-by-key"]
to = "aws-key/{nova}"

[[routes]]
name = "claude-by-key"
models = ["claude-by-key"]
to = "aws-key/{claude}"
"""

FAILING_ROUTE = """
[[routes]]
name = "{api}-{script}"
models = ["{api}-{script}"]
to = "{upstream}/{script}"
retry = {{ attempts = 1 }}
"""


def _routes(upstream: str) -> str:
    failing = "".join(FAILING_ROUTE.format(api=api, script=script, upstream=FAILING_UPSTREAM[api])
                      for api in APIS for script in (*UNARY_SCRIPTS, *STREAM_SCRIPTS))
    return ROUTES.format(upstream=upstream, region=REGION, nova=NOVA, claude=CLAUDE) + failing


def _aws_env(tmp: Path, secret: str = SECRET_KEY) -> dict[str, str]:
    """Credentials by environment, and nothing else of botocore's chain to find."""
    return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": SESSION_TOKEN,
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": str(tmp / "no-such-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-such-credentials"),
            "CLIENT_KEY": KEY, "BEDROCK_KEY": API_KEY}


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with bedrock_upstream() as url:
        yield url


@pytest.fixture(scope="module")
def base_url(start_router: RouterFactory, upstream: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    return start_router(_routes(upstream), env=_aws_env(tmp_path_factory.mktemp("aws")))


@pytest.fixture(scope="module")
def wrong_secret_url(start_router: RouterFactory, upstream: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    env = _aws_env(tmp_path_factory.mktemp("aws-wrong"), secret="routerTestSecretKey-but-not-the-right-one00")
    return start_router(_routes(upstream), env=env)


@pytest.fixture(scope="module")
def messages(base_url: str) -> Iterator[anthropic.Anthropic]:
    with anthropic_sdk(base_url, KEY) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def chat(base_url: str) -> Iterator[openai.OpenAI]:
    with openai_sdk(base_url, KEY) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def gemini(base_url: str) -> Iterator[genai.Client]:
    sdk = gemini_sdk(base_url, KEY)
    yield sdk
    sdk.close()


def _calls(upstream: str, since: int) -> list[Json]:
    calls = recorded(upstream, since)
    assert calls, "Bedrock was not called"
    return calls


def _path(model: str, action: str) -> str:
    """The path as boto3 sends it: the model id percent-encoded whole."""
    return f"/model/{quote(model, safe='')}/{action}"


def _assert_signed(call: Json) -> None:
    """SigV4 with the environment's temporary credentials: the session token sent and signed; the
    client's key nowhere. (The mock refused any request whose signature it could not recompute.)"""
    headers = call["headers"]
    authorization = headers.get("authorization", "")
    assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/"), headers
    assert f"/{REGION}/bedrock/aws4_request" in authorization, authorization
    signed = re.search(r"SignedHeaders=([^,\s]+)", authorization)
    assert signed and "x-amz-security-token" in signed.group(1).split(";"), authorization
    assert headers.get("x-amz-security-token") == SESSION_TOKEN and "x-amz-date" in headers, headers
    assert "x-api-key" not in headers and KEY not in json.dumps(call), "the client's key went upstream"


def _text(message: anthropic.types.Message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


# --- Converse -----------------------------------------------------------------------------------

def test_an_anthropic_client_on_converse(messages: anthropic.Anthropic, upstream: str) -> None:
    since = len(recorded(upstream))
    answer = messages.messages.create(model="nova", max_tokens=100, system="be brief", stop_sequences=["STOP"],
                                      messages=[{"role": "user", "content": "hello bedrock"}])
    assert _text(answer) == "Echo: hello bedrock" and answer.stop_reason == "end_turn"
    assert answer.usage.input_tokens == 11 and answer.usage.output_tokens == 7
    [call] = _calls(upstream, since)
    assert call["path"] == _path(NOVA, "converse") and call["model"] == NOVA
    _assert_signed(call)
    body = call["body"]
    assert "model" not in body and "stream" not in body, body
    assert body["system"] == [{"text": "be brief"}], body
    assert body["messages"] == [{"role": "user", "content": [{"text": "hello bedrock"}]}], body
    assert body["inferenceConfig"]["maxTokens"] == 100 and body["inferenceConfig"]["stopSequences"] == ["STOP"], body


def test_an_anthropic_client_streams_from_converse(messages: anthropic.Anthropic, upstream: str) -> None:
    since = len(recorded(upstream))
    with messages.messages.stream(model="nova", max_tokens=100,
                                  messages=[{"role": "user", "content": "stream a few words"}]) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(texts) > 1 and "".join(texts) == "Echo: stream a few words", texts
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 7
    [call] = _calls(upstream, since)
    assert call["path"] == _path(NOVA, "converse-stream")
    _assert_signed(call)


def test_a_stop_at_max_tokens(messages: anthropic.Anthropic, chat: openai.OpenAI) -> None:
    answer = messages.messages.create(model="nova", max_tokens=2, messages=[{"role": "user", "content": "one two three"}])
    assert answer.stop_reason == "max_tokens" and _text(answer) == "Echo: one"
    completion = chat.chat.completions.create(model="nova", max_tokens=2,
                                              messages=[{"role": "user", "content": "one two three"}])
    assert completion.choices[0].finish_reason == "length"


def test_cache_control_becomes_cache_points(messages: anthropic.Anthropic, upstream: str) -> None:
    since = len(recorded(upstream))
    system: Any = [{"type": "text", "text": "a long system prompt", "cache_control": {"type": "ephemeral"}}]
    answer = messages.messages.create(model="nova", max_tokens=100, system=system,
                                      messages=[{"role": "user", "content": "cache me"}])
    assert answer.usage.cache_read_input_tokens == CACHE_READ_TOKENS
    assert answer.usage.cache_creation_input_tokens == CACHE_WRITE_TOKENS
    [call] = _calls(upstream, since)
    assert call["body"]["system"] == [{"text": "a long system prompt"}, {"cachePoint": {"type": "default"}}], call["body"]


def test_an_anthropic_client_calls_tools_on_converse(base_url: str, upstream: str) -> None:
    since = len(recorded(upstream))
    check_anthropic_tool_round_trip(base_url, KEY, "nova", CITY)
    first, second = _calls(upstream, since)
    assert first["path"] == _path(NOVA, "converse-stream") and second["path"] == _path(NOVA, "converse")
    [tool] = second["body"]["toolConfig"]["tools"]
    assert tool["toolSpec"]["name"] == "get_weather" and tool["toolSpec"]["inputSchema"] == {"json": CITY}, tool
    [use] = [block["toolUse"] for block in second["body"]["messages"][1]["content"] if "toolUse" in block]
    [result] = [block["toolResult"] for block in second["body"]["messages"][2]["content"] if "toolResult" in block]
    assert result["toolUseId"] == use["toolUseId"] and use["input"] == {"city": "demo"}, second["body"]


def test_an_anthropic_client_sends_an_image_to_converse(messages: anthropic.Anthropic, upstream: str) -> None:
    since = len(recorded(upstream))
    answer = messages.messages.create(model="nova", max_tokens=100, messages=[
        {"role": "user", "content": [IMAGE, {"type": "text", "text": "what is this"}]}])
    assert _text(answer) == "Echo: what is this"
    [call] = _calls(upstream, since)
    image, text = call["body"]["messages"][0]["content"]
    assert image == {"image": {"format": "png", "source": {"bytes": PIXEL}}} and text == {"text": "what is this"}


def test_thinking_on_converse_and_its_signature_back(messages: anthropic.Anthropic, upstream: str) -> None:
    """Claude's reasoning through Converse: a thinking block with the signature Bedrock gave, sent
    back in the history and accepted (the mock refuses a signature it did not issue)."""
    since = len(recorded(upstream))
    question: Any = {"role": "user", "content": "think about the sky"}
    first = messages.messages.create(model="claude-converse", max_tokens=2000, thinking=THINKING, messages=[question])
    assert [block.type for block in first.content] == ["thinking", "text"], first.content
    thinking = first.content[0]
    assert thinking.type == "thinking" and thinking.thinking and thinking.signature, thinking
    second = messages.messages.create(model="claude-converse", max_tokens=2000, thinking=THINKING, messages=[
        question, {"role": "assistant", "content": first.content}, {"role": "user", "content": "and the sea?"}])
    assert _text(second) == "Echo: and the sea?"
    first_call, second_call = _calls(upstream, since)
    assert first_call["path"] == _path(CLAUDE, "converse"), "api = converse: Converse even for Claude"
    assert first_call["body"]["additionalModelRequestFields"]["thinking"] == THINKING, first_call["body"]
    reasoning = second_call["body"]["messages"][1]["content"][0]["reasoningContent"]["reasoningText"]
    assert reasoning == {"text": thinking.thinking, "signature": thinking.signature}, reasoning


def test_streamed_thinking_on_converse_and_redacted_thinking_back(messages: anthropic.Anthropic) -> None:
    """A streamed thinking block gets its signature (signature_delta), redacted thinking its
    data; both go back in the history and the mock accepts them."""
    question: Any = {"role": "user", "content": f"think {REDACTED_TRIGGER}"}
    with messages.messages.stream(model="claude-converse", max_tokens=2000, thinking=THINKING,
                                  messages=[question]) as stream:
        first = stream.get_final_message()
    assert [block.type for block in first.content] == ["thinking", "redacted_thinking", "text"], first.content
    assert first.content[0].type == "thinking" and first.content[0].signature
    assert first.content[1].type == "redacted_thinking" and first.content[1].data
    with messages.messages.stream(model="claude-converse", max_tokens=2000, thinking=THINKING, messages=[
            question, {"role": "assistant", "content": first.content},
            {"role": "user", "content": "go on"}]) as stream:
        second = stream.get_final_message()
    assert _text(second) == "Echo: go on"


def test_an_openai_client_on_converse(chat: openai.OpenAI, upstream: str) -> None:
    since = len(recorded(upstream))
    check_chat_text_and_stream(chat, "nova")
    unary, streamed = _calls(upstream, since)
    assert unary["path"] == _path(NOVA, "converse") and streamed["path"] == _path(NOVA, "converse-stream")
    _assert_signed(unary)
    _assert_signed(streamed)


def test_an_openai_client_on_a_claude_target_gets_converse(chat: openai.OpenAI, upstream: str) -> None:
    """api = auto: InvokeModel only for Anthropic clients; an OpenAI client's request is converted
    to Converse, which serves every model."""
    since = len(recorded(upstream))
    completion = chat.chat.completions.create(model="claude-bedrock", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "Echo: hi"
    [call] = _calls(upstream, since)
    assert call["path"] == _path(CLAUDE, "converse")


def test_an_openai_client_calls_tools_on_converse(chat: openai.OpenAI) -> None:
    tool: Any = {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": CITY}}
    question: Any = {"role": "user", "content": "use get_weather"}
    first = chat.chat.completions.create(model="nova", tools=[tool], messages=[question])
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls" and message.tool_calls, first
    call: Any = message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "demo"}
    second = chat.chat.completions.create(model="nova", tools=[tool], messages=[
        question, message.model_dump(exclude_none=True),  # type: ignore[list-item]
        {"role": "tool", "tool_call_id": call.id, "content": "snowy"}])
    assert second.choices[0].message.content == "The tool returned: snowy"


def test_an_openai_client_sends_an_image_to_converse(chat: openai.OpenAI, upstream: str) -> None:
    since = len(recorded(upstream))
    chat.chat.completions.create(model="nova", messages=[{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
        {"type": "text", "text": "describe"}]}])
    [call] = _calls(upstream, since)
    assert call["body"]["messages"][0]["content"][0] == {"image": {"format": "png", "source": {"bytes": PIXEL}}}


def test_a_responses_client_on_converse(chat: openai.OpenAI, upstream: str) -> None:
    since = len(recorded(upstream))
    response = chat.responses.create(model="nova", input="hello responses", instructions="be brief")
    assert response.status == "completed" and response.output_text == "Echo: hello responses"
    events = list(chat.responses.create(model="nova", input="stream responses", stream=True))
    kinds = [event.type for event in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed", kinds
    text = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert text == "Echo: stream responses"
    unary, streamed = _calls(upstream, since)
    assert unary["body"]["system"] == [{"text": "be brief"}], unary["body"]
    assert streamed["path"] == _path(NOVA, "converse-stream")


def test_a_responses_client_calls_a_function_on_converse(chat: openai.OpenAI) -> None:
    tool: Any = {"type": "function", "name": "get_weather", "description": "Weather", "parameters": CITY}
    first = chat.responses.create(model="nova", input="use get_weather for Paris", tools=[tool])
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and json.loads(calls[0].arguments) == {"city": "demo"}, first.output
    history: Any = [{"role": "user", "content": "use get_weather for Paris"},
                    *(item.model_dump(exclude_none=True) for item in first.output),
                    {"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny"}]
    second = chat.responses.create(model="nova", tools=[tool], input=history)
    assert second.output_text == "The tool returned: sunny"


def test_a_gemini_client_on_converse(gemini: genai.Client, upstream: str) -> None:
    since = len(recorded(upstream))
    response = gemini.models.generate_content(model="nova", contents="hello gemini")
    assert response.text == "Echo: hello gemini"
    assert response.candidates and response.candidates[0].finish_reason == types.FinishReason.STOP
    chunks = list(gemini.models.generate_content_stream(model="nova", contents="stream gemini"))
    assert "".join(chunk.text or "" for chunk in chunks) == "Echo: stream gemini"
    unary, streamed = _calls(upstream, since)
    assert unary["path"] == _path(NOVA, "converse") and streamed["path"] == _path(NOVA, "converse-stream")
    _assert_signed(streamed)


def test_a_gemini_client_calls_a_function_on_converse(gemini: genai.Client) -> None:
    declaration = types.FunctionDeclaration(name="get_weather", description="Weather", parameters_json_schema=CITY)
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[declaration])],
                                         automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    question = types.Content(role="user", parts=[types.Part(text="use get_weather for Oslo")])
    first = gemini.models.generate_content(model="nova", contents=[question], config=config)
    calls = first.function_calls or []
    assert len(calls) == 1 and calls[0].args == {"city": "demo"}, first
    model_turn = first.candidates[0].content if first.candidates else None
    assert model_turn is not None
    result = types.Part.from_function_response(name="get_weather", response={"output": "cold"})
    assert result.function_response is not None
    result.function_response.id = calls[0].id
    second = gemini.models.generate_content(
        model="nova", config=config, contents=[question, model_turn, types.Content(role="user", parts=[result])])
    assert second.text == "The tool returned: cold"


# --- Claude through InvokeModel -----------------------------------------------------------------

def test_an_anthropic_client_on_invoke_model(messages: anthropic.Anthropic, upstream: str) -> None:
    """The Messages body as sent, less `model` and `stream` (in the URL), plus Bedrock's
    anthropic_version and the client's betas as anthropic_beta."""
    since = len(recorded(upstream))
    answer = messages.messages.create(model="claude-bedrock", max_tokens=100, system="be brief",
                                      messages=[{"role": "user", "content": "hello claude"}],
                                      extra_headers={"anthropic-beta": ",".join(BETAS)})
    assert _text(answer) == "Echo: hello claude" and answer.stop_reason == "end_turn"
    [call] = _calls(upstream, since)
    assert call["path"] == _path(CLAUDE, "invoke") and call["model"] == CLAUDE
    _assert_signed(call)
    body = call["body"]
    assert "model" not in body and "stream" not in body, body
    assert body["anthropic_version"] == "bedrock-2023-05-31" and body["anthropic_beta"] == list(BETAS), body
    assert body["system"] == "be brief" and body["max_tokens"] == 100, body
    assert body["messages"] == [{"role": "user", "content": "hello claude"}], body


def test_an_anthropic_client_streams_from_invoke_model(messages: anthropic.Anthropic, upstream: str) -> None:
    since = len(recorded(upstream))
    with messages.messages.stream(model="claude-bedrock", max_tokens=100,
                                  messages=[{"role": "user", "content": "stream from claude"}]) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(texts) > 1 and "".join(texts) == "Echo: stream from claude"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 7
    [call] = _calls(upstream, since)
    assert call["path"] == _path(CLAUDE, "invoke-with-response-stream")
    _assert_signed(call)
    assert "stream" not in call["body"] and "model" not in call["body"], call["body"]
    assert call["body"]["anthropic_version"] == "bedrock-2023-05-31" and "anthropic_beta" not in call["body"]


def test_invoke_model_passes_thinking_signatures_and_cache_control_through(messages: anthropic.Anthropic,
                                                                           upstream: str) -> None:
    since = len(recorded(upstream))
    system: Any = [{"type": "text", "text": "a long system prompt", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    question: Any = {"role": "user", "content": [{"type": "text", "text": "think first",
                                                  "cache_control": {"type": "ephemeral"}}]}
    first = messages.messages.create(model="claude-bedrock", max_tokens=2000, thinking=THINKING, system=system,
                                     messages=[question])
    assert [block.type for block in first.content] == ["thinking", "text"], first.content
    thinking = first.content[0]
    assert thinking.type == "thinking" and thinking.signature
    history: Any = [question, {"role": "assistant", "content": [block.model_dump(exclude_none=True)
                                                                for block in first.content]},
                    {"role": "user", "content": "and then?"}]
    with messages.messages.stream(model="claude-bedrock", max_tokens=2000, thinking=THINKING, system=system,
                                  messages=history) as stream:
        second = stream.get_final_message()
    assert _text(second) == "Echo: and then?"
    _, call = _calls(upstream, since)
    body = call["body"]
    assert body["system"] == system and body["thinking"] == THINKING, body
    assert body["messages"] == history, "the history went to Bedrock changed"
    assert body["messages"][1]["content"][0] == {"type": "thinking", "thinking": thinking.thinking,
                                                 "signature": thinking.signature}


def test_invoke_model_passes_unknown_fields_through(messages: anthropic.Anthropic, upstream: str) -> None:
    """A field newer than the router reaches Claude (the mock lists unknown fields back)."""
    since = len(recorded(upstream))
    answer = messages.messages.create(model="claude-bedrock", max_tokens=100, extra_body={"future_field": {"x": 1}},
                                      messages=[{"role": "user", "content": "new things"}])
    assert _text(answer).startswith("Echo: new things | fields: future_field"), answer.content
    [call] = _calls(upstream, since)
    assert call["body"]["future_field"] == {"x": 1}


def test_an_anthropic_client_calls_tools_on_invoke_model(base_url: str, upstream: str) -> None:
    since = len(recorded(upstream))
    check_anthropic_tool_round_trip(base_url, KEY, "claude-bedrock", CITY)
    first, second = _calls(upstream, since)
    assert first["path"] == _path(CLAUDE, "invoke-with-response-stream") and second["path"] == _path(CLAUDE, "invoke")
    assert second["body"]["tools"][0]["input_schema"] == CITY


def test_an_anthropic_client_sends_an_image_to_invoke_model(messages: anthropic.Anthropic, upstream: str) -> None:
    since = len(recorded(upstream))
    content: Any = [IMAGE, {"type": "text", "text": "what is this"}]
    answer = messages.messages.create(model="claude-bedrock", max_tokens=100, messages=[{"role": "user", "content": content}])
    assert _text(answer) == "Echo: what is this"
    [call] = _calls(upstream, since)
    assert call["body"]["messages"][0]["content"] == content


def test_a_model_less_target_of_claude_ids_takes_invoke_model(messages: anthropic.Anthropic, chat: openai.OpenAI,
                                                              upstream: str) -> None:
    """The route's patterns are all Anthropic ids: InvokeModel for an Anthropic client, with the
    client's model id in the path; Converse for an OpenAI client."""
    since = len(recorded(upstream))
    answer = messages.messages.create(model=HAIKU, max_tokens=100, messages=[{"role": "user", "content": "haiku"}])
    assert _text(answer) == "Echo: haiku"
    completion = chat.chat.completions.create(model=HAIKU, messages=[{"role": "user", "content": "haiku too"}])
    assert completion.choices[0].message.content == "Echo: haiku too"
    invoke, converse = _calls(upstream, since)
    assert invoke["path"] == _path(HAIKU, "invoke") and invoke["model"] == HAIKU
    assert converse["path"] == _path(HAIKU, "converse")


# --- a Bedrock API key --------------------------------------------------------------------------

def test_an_api_key_upstream_sends_a_bearer_token(messages: anthropic.Anthropic, chat: openai.OpenAI,
                                                   upstream: str) -> None:
    since = len(recorded(upstream))
    answer = messages.messages.create(model="claude-by-key", max_tokens=100, messages=[{"role": "user", "content": "key"}])
    assert _text(answer) == "Echo: key"
    with messages.messages.stream(model="nova-by-key", max_tokens=100,
                                  messages=[{"role": "user", "content": "by key"}]) as stream:
        assert _text(stream.get_final_message()) == "Echo: by key"
    completion = chat.chat.completions.create(model="nova-by-key", messages=[{"role": "user", "content": "by key"}])
    assert completion.choices[0].message.content == "Echo: by key"
    calls = _calls(upstream, since)
    assert [call["path"] for call in calls] == [
        _path(CLAUDE, "invoke"), _path(NOVA, "converse-stream"), _path(NOVA, "converse")]
    for call in calls:
        headers = call["headers"]
        assert headers["authorization"] == f"Bearer {API_KEY}", headers
        assert "x-amz-security-token" not in headers and KEY not in json.dumps(call), headers


# --- errors -------------------------------------------------------------------------------------

# What each client is told, by script: the status, and the error's type in its own vocabulary.
EXPECTED_STATUS: dict[str, dict[str, int]] = {
    "fail-429": {"anthropic": 429, "chat": 429, "responses": 429, "gemini": 429},
    "not-ready": {"anthropic": 529, "chat": 503, "responses": 503, "gemini": 503},
    "fail-400": {"anthropic": 400, "chat": 400, "responses": 400, "gemini": 400},
    "fail-403": {"anthropic": 502, "chat": 502, "responses": 502, "gemini": 502},
    "echo-key": {"anthropic": 502, "chat": 502, "responses": 502, "gemini": 502},
}
EXPECTED_TYPE: dict[str, dict[str, str]] = {
    "fail-429": {"anthropic": "rate_limit_error", "chat": "rate_limit_exceeded", "responses": "rate_limit_exceeded",
                 "gemini": "RESOURCE_EXHAUSTED"},
    "not-ready": {"anthropic": "overloaded_error", "chat": "server_error", "responses": "server_error",
                  "gemini": "UNAVAILABLE"},
    "fail-400": {"anthropic": "invalid_request_error", "chat": "invalid_request_error",
                 "responses": "invalid_request_error", "gemini": "INVALID_ARGUMENT"},
    "fail-403": {"anthropic": "api_error", "chat": "server_error", "responses": "server_error", "gemini": "UNAVAILABLE"},
    "echo-key": {"anthropic": "api_error", "chat": "server_error", "responses": "server_error", "gemini": "UNAVAILABLE"},
}
# The error a stream's error event carries: Anthropic's type, OpenAI's Chat type, the Responses
# code of response.failed, Google's HTTP code.
EXPECTED_STREAM_ERROR: dict[str, dict[str, str]] = {
    "stream-throttle": {"anthropic": "rate_limit_error", "chat": "rate_limit_exceeded",
                        "responses": "rate_limit_exceeded", "gemini": "429"},
    "stream-error": {"anthropic": "api_error", "chat": "server_error", "responses": "server_error", "gemini": "502"},
    "cut-stream": {"anthropic": "api_error", "chat": "server_error", "responses": "server_error", "gemini": "502"},
}


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("script", UNARY_SCRIPTS)
def test_a_bedrock_error_in_the_clients_shape(base_url: str, upstream: str, client: str, api: str, script: str) -> None:
    since = len(recorded(upstream))
    failed = failure(client, base_url, KEY, f"{api}-{script}")
    assert (failed.status, failed.error_type) == (EXPECTED_STATUS[script][client], EXPECTED_TYPE[script][client]), failed
    assert failed.message, failed
    [call] = _calls(upstream, since)
    assert call["model"] == script and call["path"].endswith("/converse" if api == "converse" else "/invoke"), call
    if script == "fail-429":
        assert failed.headers.get("retry-after", "").isdigit(), failed.headers
    elif script == "fail-400":
        assert "scripted 400: The provided request is not valid" in failed.message, failed
    elif script == "fail-403":
        assert f"'{FAILING_UPSTREAM[api]}'" in failed.message and "bedrock:InvokeModel" in failed.message, failed
    elif script == "echo-key":
        _assert_scrubbed(failed.text, call)


def _assert_scrubbed(text: str, call: Json) -> None:
    """The mock quoted our Authorization and X-Amz-Security-Token back: none of it reaches the
    client, not the session token, not the signature, not half of either."""
    assert "not authorized" in text, text
    _assert_hidden(text, SESSION_TOKEN)
    _assert_hidden(text, call["headers"]["authorization"].rpartition("Signature=")[2])


def _assert_hidden(text: str, secret: str) -> None:
    """Neither the secret nor either half of it is in the text."""
    assert len(secret) > 16
    for piece in (secret, secret[: len(secret) // 2], secret[len(secret) // 2:]):
        assert piece not in text, f"{piece!r} reached the client: {text}"


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("script", STREAM_SCRIPTS)
def test_a_failure_inside_the_event_stream_ends_in_the_clients_error_event(base_url: str, client: str, api: str,
                                                                           script: str) -> None:
    """Bedrock sends a few events, then an exception frame (or drops the connection): the client's
    stream has begun (a 200; events came, unless the first ones had nothing this client shows, as
    InvokeModel's message_start and an empty text block for Gemini) and ends in its protocol's
    error event, never as a whole answer."""
    end = stream_end(client, base_url, KEY, f"{api}-{script}")
    assert end.status is None, f"no stream began: {end}"
    assert end.events or (client, api, script) == ("gemini", "invoke", "cut-stream"), end
    assert not end.clean, f"the stream ended cleanly: {end}"
    assert end.error_type == EXPECTED_STREAM_ERROR[script][client], end
    _assert_not_finished(client, end)


# The event that tells each client its answer is whole (StreamEnd names a finish reason's chunk
# "finish:<reason>").
FINISHED = {"anthropic": "message_stop", "chat": "finish:", "responses": "response.completed", "gemini": "finish:"}


def _assert_not_finished(client: str, end: StreamEnd) -> None:
    assert not any(kind.startswith(FINISHED[client]) for kind in end.events), end
    if client == "responses":
        assert end.events[-2:] == ["error", "response.failed"], end


def test_a_wrong_secret_is_a_502_naming_the_upstream_and_the_credentials(wrong_secret_url: str, upstream: str) -> None:
    """AWS refuses the signature (InvalidSignatureException, 403): not the client's fault, a 502
    that says which upstream and what to check. AWS's message quotes the canonical request it
    expected, session token included: that never reaches the client."""
    since = len(recorded(upstream))
    for model in ("nova", "claude-bedrock"):
        failed = failure("anthropic", wrong_secret_url, KEY, model)
        assert failed.status == 502 and failed.error_type == "api_error", failed
        assert "'aws'" in failed.message and re.search(r"secret key|credentials", failed.message), failed
        _assert_hidden(failed.text, SESSION_TOKEN)
    calls = _calls(upstream, since)
    assert [call["path"] for call in calls] == [_path(NOVA, "converse"), _path(CLAUDE, "invoke")]
    assert all(call["headers"]["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")
               for call in calls), "not signed with the environment's access key"
