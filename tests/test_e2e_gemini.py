"""End to end, the Gemini API: Google's official google-genai SDK → `router serve` → a real mock
upstream on loopback speaking the Gemini API itself (passthrough), Chat Completions or Anthropic
Messages (tests/support/gemini_mock.py, which is tests/support/mock_upstream.py plus Gemini and a
record of every request); and the other way round, the Anthropic and OpenAI SDKs on a route whose
target is the mock Gemini upstream. Every client has a timeout and no retries; all on loopback.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import errors, types

from tests.conftest import RouterFactory
from tests.support.gemini_mock import (
    DEFAULT_KEY,
    gemini_calls,
    gemini_upstream,
    recorded,
)
from tests.support.sdk_checks import (
    check_anthropic_tool_round_trip,
    check_chat_text_and_stream,
)

KEY = "e2e-gemini-client-key-0123456789"
UPSTREAM_KEY = "sk-up-0123456789"
TIMEOUT = 20.0

ROUTES = """
[auth]
keys = ["env:CLIENT_KEY"]

[upstreams.gem]
kind = "gemini"
base-url = "{upstream}/v1beta"
api-key = "env:GEMINI_UP_KEY"

[upstreams.oai]
kind = "openai"
base-url = "{upstream}/v1"
api-key = "env:UP_KEY"

[upstreams.anth]
kind = "anthropic"
base-url = "{upstream}"
api-key = "env:UP_KEY"

[[routes]]
name = "gemini-on-gemini"
clients = ["gemini"]
models = ["on-gemini"]
to = "gem/gemini-mock"

[[routes]]
name = "gemini-on-openai"
clients = ["gemini"]
models = ["on-openai"]
to = "oai/chat-mock"

[[routes]]
name = "gemini-on-anthropic"
clients = ["gemini"]
models = ["on-anthropic"]
to = "anth/claude-mock"

# The mocks script failures by the model name they are sent.
[[routes]]
name = "failing-gemini"
clients = ["gemini"]
models = ["gemini-fail-429"]
to = "gem/fail-429"
retry = {{ attempts = 1 }}

[[routes]]
name = "failing-openai"
clients = ["gemini"]
models = ["openai-fail-429"]
to = "oai/fail-429"
retry = {{ attempts = 1 }}

[[routes]]
name = "cut-gemini"
clients = ["gemini"]
models = ["gemini-cut-stream"]
to = "gem/cut-stream"
retry = {{ attempts = 1 }}

[[routes]]
name = "cut-openai"
clients = ["gemini"]
models = ["openai-cut-stream"]
to = "oai/cut-stream"
retry = {{ attempts = 1 }}

[[routes]]
name = "messages-on-gemini"
clients = ["anthropic"]
models = ["claude-on-gemini"]
to = "gem/gemini-mock"

[[routes]]
name = "chat-on-gemini"
clients = ["openai"]
models = ["chat-on-gemini"]
to = "gem/gemini-mock"
"""

KINDS = ("gemini", "openai", "anthropic")
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER = types.FunctionDeclaration(name="get_weather", description="Weather for a city", parameters_json_schema=CITY)
# The same function in Gemini's OpenAPI subset (`parameters`, upper-case type names).
WEATHER_OPENAPI = types.FunctionDeclaration(
    name="get_weather", description="Weather for a city",
    parameters=types.Schema(type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)},
                            required=["city"]))
NO_AUTOMATIC_CALLS = types.AutomaticFunctionCallingConfig(disable=True)
FORECAST = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city", "days"]}


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with gemini_upstream(DEFAULT_KEY) as url:
        yield url


@pytest.fixture(scope="module")
def base_url(start_router: RouterFactory, upstream: str) -> str:
    env = {"CLIENT_KEY": KEY, "UP_KEY": UPSTREAM_KEY, "GEMINI_UP_KEY": DEFAULT_KEY}
    return start_router(ROUTES.format(upstream=upstream), env=env)


def _sdk(base_url: str, key: str = KEY) -> genai.Client:
    options = types.HttpOptions(base_url=base_url, api_version="v1beta", timeout=int(TIMEOUT * 1000))
    return genai.Client(api_key=key, http_options=options)


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[genai.Client]:
    sdk = _sdk(base_url)
    yield sdk
    sdk.close()


@pytest.fixture(params=KINDS)
def model(request: pytest.FixtureRequest) -> str:
    """The model name that routes the Gemini client to each upstream kind."""
    return f"on-{request.param}"


def _parts(response: types.GenerateContentResponse) -> list[types.Part]:
    assert response.candidates and response.candidates[0].content, response
    return list(response.candidates[0].content.parts or [])


def _tool_config(*declarations: types.FunctionDeclaration) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(tools=[types.Tool(function_declarations=list(declarations))],
                                       automatic_function_calling=NO_AUTOMATIC_CALLS)


# --- generate_content ---------------------------------------------------------------------------

def test_text(client: genai.Client, model: str) -> None:
    response = client.models.generate_content(
        model=model, contents="hello there", config=types.GenerateContentConfig(system_instruction="be brief"))
    assert response.text == "Echo: hello there"
    assert response.candidates and response.candidates[0].finish_reason == types.FinishReason.STOP
    usage = response.usage_metadata
    assert usage is not None and usage.prompt_token_count and usage.candidates_token_count
    assert usage.total_token_count and usage.total_token_count >= usage.prompt_token_count + usage.candidates_token_count


def test_passthrough_sends_the_upstream_key_and_the_request_as_given(client: genai.Client, upstream: str) -> None:
    """On a Gemini upstream the router calls …/models/<target model>:generateContent with its own
    key in x-goog-api-key (the client's never goes upstream, nor any key in the URL)."""
    since = len(recorded(upstream))
    config = types.GenerateContentConfig(system_instruction="be brief", temperature=0.25, max_output_tokens=99)
    client.models.generate_content(model="on-gemini", contents="pass me through", config=config)
    [call] = gemini_calls(upstream, since)
    assert call["path"] == "/v1beta/models/gemini-mock:generateContent", call
    assert call["headers"]["x-goog-api-key"] == DEFAULT_KEY and "key=" not in call["query"], call
    assert KEY not in json.dumps(call), "the client's key went upstream"
    body = call["body"]
    assert body["contents"] == [{"role": "user", "parts": [{"text": "pass me through"}]}], body
    assert body["systemInstruction"]["parts"] == [{"text": "be brief"}], body
    assert body["generationConfig"]["temperature"] == 0.25 and body["generationConfig"]["maxOutputTokens"] == 99, body


def test_thoughts_when_asked_for(client: genai.Client, model: str) -> None:
    """includeThoughts gives a thought part before the answer (the Chat mock thinks when the text
    says "think", as router.upstream.mock does)."""
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=1024))
    response = client.models.generate_content(model=model, contents="think about the sky", config=config)
    parts = _parts(response)
    assert parts[0].thought is True and parts[0].text, parts
    assert response.text == "Echo: think about the sky", parts
    assert all(not part.thought for part in parts[1:]), parts


def test_structured_output_with_a_json_schema(client: genai.Client, model: str) -> None:
    config = types.GenerateContentConfig(response_mime_type="application/json", response_json_schema=FORECAST)
    response = client.models.generate_content(model=model, contents="weather for Paris", config=config)
    assert response.text is not None and json.loads(response.text) == {"city": "demo", "days": 1}, response.text


def test_structured_output_with_a_response_schema(client: genai.Client, model: str) -> None:
    """responseSchema is Gemini's OpenAPI subset (upper-case type names); the SDK parses the answer."""
    schema = types.Schema(type=types.Type.OBJECT, required=["city", "days"],
                          properties={"city": types.Schema(type=types.Type.STRING),
                                      "days": types.Schema(type=types.Type.INTEGER)})
    config = types.GenerateContentConfig(response_mime_type="application/json", response_schema=schema)
    response = client.models.generate_content(model=model, contents="weather for Paris", config=config)
    assert response.parsed == {"city": "demo", "days": 1}, response.text


# --- function calling ---------------------------------------------------------------------------

@pytest.mark.parametrize("declaration", [WEATHER, WEATHER_OPENAPI], ids=["parametersJsonSchema", "parameters"])
def test_a_function_call_and_its_response(client: genai.Client, model: str, declaration: types.FunctionDeclaration) -> None:
    """A call (args an object), then the history sent back as the SDK keeps it (the model's
    content as it came, thought signature included) with the function's response: the answer
    quotes it. The Gemini mock refuses a history whose call lost its signature."""
    config = _tool_config(declaration)
    question = types.Content(role="user", parts=[types.Part(text="use get_weather for Paris")])
    first = client.models.generate_content(model=model, contents=[question], config=config)
    calls = first.function_calls or []
    assert len(calls) == 1 and calls[0].name == "get_weather" and calls[0].args == {"city": "demo"}, first
    assert first.candidates and first.candidates[0].finish_reason == types.FinishReason.STOP
    model_turn = first.candidates[0].content
    assert model_turn is not None
    result = types.Part.from_function_response(name="get_weather", response={"output": "sunny"})
    assert result.function_response is not None
    result.function_response.id = calls[0].id
    second = client.models.generate_content(
        model=model, config=config, contents=[question, model_turn, types.Content(role="user", parts=[result])])
    assert second.text == "The tool returned: sunny"


def test_a_function_call_without_an_id_is_answered_by_name(client: genai.Client, model: str) -> None:
    """Gemini's calls and responses may carry no id (AI Studio sends none): the router pairs a
    functionResponse with its functionCall by order and name, whatever the upstream needs."""
    config = _tool_config(WEATHER)
    question = types.Content(role="user", parts=[types.Part(text="use get_weather for Rome")])
    first = client.models.generate_content(model=model, contents=[question], config=config)
    model_turn = first.candidates[0].content if first.candidates else None
    assert model_turn is not None and model_turn.parts
    for part in model_turn.parts:
        if part.function_call is not None:
            part.function_call.id = None
    result = types.Part.from_function_response(name="get_weather", response={"output": "windy"})
    second = client.models.generate_content(
        model=model, config=config, contents=[question, model_turn, types.Content(role="user", parts=[result])])
    assert second.text == "The tool returned: windy"


def test_a_forced_function_call(client: genai.Client, model: str) -> None:
    config = _tool_config(WEATHER)
    config.tool_config = types.ToolConfig(function_calling_config=types.FunctionCallingConfig(
        mode=types.FunctionCallingConfigMode.ANY, allowed_function_names=["get_weather"]))
    response = client.models.generate_content(model=model, contents="what should I wear", config=config)
    assert [call.name for call in response.function_calls or []] == ["get_weather"], response


def test_a_dotted_function_name_round_trips_through_anthropic(client: genai.Client, upstream: str) -> None:
    """An MCP client's `math.add` (Gemini allows `.` and `:`, Anthropic's tool names do not): the
    upstream is sent `math_add` in the declaration, the forced choice and the history, and the
    client sees its own name in the call."""
    add = types.FunctionDeclaration(name="math.add", description="Add two numbers", parameters_json_schema={
        "type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]})
    config = _tool_config(add)
    config.tool_config = types.ToolConfig(function_calling_config=types.FunctionCallingConfig(
        mode=types.FunctionCallingConfigMode.ANY, allowed_function_names=["math.add"]))
    question = types.Content(role="user", parts=[types.Part(text="add 1 and 2")])
    since = len(recorded(upstream))
    first = client.models.generate_content(model="on-anthropic", contents=[question], config=config)
    calls = first.function_calls or []
    assert [call.name for call in calls] == ["math.add"], first
    [sent] = recorded(upstream, since)
    assert [tool["name"] for tool in sent["body"]["tools"]] == ["math_add"], sent["body"]
    assert sent["body"]["tool_choice"] == {"type": "tool", "name": "math_add"}, sent["body"]
    model_turn = first.candidates[0].content if first.candidates else None
    assert model_turn is not None
    result = types.Part.from_function_response(name="math.add", response={"output": "3"})
    assert result.function_response is not None
    result.function_response.id = calls[0].id
    since = len(recorded(upstream))
    second = client.models.generate_content(
        model="on-anthropic", contents=[question, model_turn, types.Content(role="user", parts=[result])],
        config=_tool_config(add))
    assert second.text == "The tool returned: 3"
    [sent] = recorded(upstream, since)
    assert sent["body"]["messages"][1]["content"][0]["name"] == "math_add", sent["body"]


def test_the_signature_reaches_the_gemini_upstream_again(client: genai.Client, upstream: str) -> None:
    """Passthrough: the thoughtSignature the upstream gave the call comes back to it on the same part."""
    config = _tool_config(WEATHER)
    question = types.Content(role="user", parts=[types.Part(text="use get_weather for Oslo")])
    first = client.models.generate_content(model="on-gemini", contents=[question], config=config)
    model_turn = first.candidates[0].content if first.candidates else None
    assert model_turn is not None and model_turn.parts
    signature = model_turn.parts[0].thought_signature
    assert signature, model_turn
    since = len(recorded(upstream))
    result = types.Part.from_function_response(name="get_weather", response={"output": "cold"})
    client.models.generate_content(model="on-gemini", config=config,
                                   contents=[question, model_turn, types.Content(role="user", parts=[result])])
    [call] = gemini_calls(upstream, since)
    sent = call["body"]["contents"][1]["parts"][0]
    assert sent["functionCall"]["name"] == "get_weather", sent
    assert base64.b64decode(sent["thoughtSignature"]) == signature, sent


# --- generate_content_stream --------------------------------------------------------------------

def test_stream_text(client: genai.Client, model: str) -> None:
    chunks = list(client.models.generate_content_stream(model=model, contents="stream me a few words"))
    texts = [chunk.text or "" for chunk in chunks]
    assert len([text for text in texts if text]) > 1, texts
    assert "".join(texts) == "Echo: stream me a few words"
    last = chunks[-1]
    assert last.candidates and last.candidates[0].finish_reason == types.FinishReason.STOP
    assert all(not (chunk.candidates and chunk.candidates[0].finish_reason) for chunk in chunks[:-1])
    assert last.usage_metadata is not None and last.usage_metadata.candidates_token_count


def test_stream_thoughts_then_text(client: genai.Client, model: str) -> None:
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=1024))
    chunks = list(client.models.generate_content_stream(model=model, contents="think then stream", config=config))
    parts = [part for chunk in chunks if chunk.candidates and chunk.candidates[0].content
             for part in chunk.candidates[0].content.parts or []]
    thoughts = [part for part in parts if part.thought]
    assert thoughts and parts.index(thoughts[-1]) < min(i for i, p in enumerate(parts) if p.text and not p.thought)
    assert "".join(part.text or "" for part in parts if not part.thought) == "Echo: think then stream"


def test_stream_a_function_call_arrives_whole(client: genai.Client, model: str) -> None:
    config = _tool_config(WEATHER)
    question = types.Content(role="user", parts=[types.Part(text="use get_weather please")])
    chunks = list(client.models.generate_content_stream(model=model, contents=[question], config=config))
    call_parts = [part for chunk in chunks if chunk.candidates and chunk.candidates[0].content
                  for part in chunk.candidates[0].content.parts or [] if part.function_call]
    assert len(call_parts) == 1, chunks
    call = call_parts[0].function_call
    assert call is not None and call.name == "get_weather" and call.args == {"city": "demo"}
    assert chunks[-1].candidates and chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    # the streamed call goes back as the CLI sends it: the part as it came, then the response
    result = types.Part.from_function_response(name="get_weather", response={"output": "foggy"})
    assert result.function_response is not None
    result.function_response.id = call.id
    follow = list(client.models.generate_content_stream(
        model=model, config=config,
        contents=[question, types.Content(role="model", parts=call_parts), types.Content(role="user", parts=[result])]))
    assert "".join(chunk.text or "" for chunk in follow) == "The tool returned: foggy"


def test_a_stream_without_alt_sse_is_one_json_array(base_url: str, model: str) -> None:
    """Without ?alt=sse the API streams a JSON array of the same chunks."""
    body = {"contents": [{"role": "user", "parts": [{"text": "array please"}]}]}
    response = httpx.post(f"{base_url}/v1beta/models/{model}:streamGenerateContent", json=body,
                          headers={"x-goog-api-key": KEY}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    chunks = response.json()
    assert isinstance(chunks, list) and len(chunks) > 1, chunks
    # a chunk may be only the finishReason and usage, with no content
    text = "".join(part.get("text", "") for chunk in chunks
                   for part in chunk["candidates"][0].get("content", {}).get("parts", []))
    assert text == "Echo: array please"
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"


def test_the_sse_stream_has_only_data_lines(base_url: str, model: str) -> None:
    """Google's parsers (the SDKs', the CLI's) break on `event:` lines."""
    body = {"contents": [{"role": "user", "parts": [{"text": "frames please"}]}]}
    with httpx.stream("POST", f"{base_url}/v1beta/models/{model}:streamGenerateContent?alt=sse", json=body,
                      headers={"x-goog-api-key": KEY}, timeout=TIMEOUT) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()
    events = [event for event in raw.replace("\r\n", "\n").split("\n\n") if event.strip()]
    assert events and all(event.startswith("data: ") and "\n" not in event for event in events), raw
    assert all("candidates" in json.loads(event.removeprefix("data: ")) for event in events), raw


# --- count_tokens, models -----------------------------------------------------------------------

def test_count_tokens(client: genai.Client, model: str) -> None:
    counted = client.models.count_tokens(model=model, contents="one two three four five six")
    assert counted.total_tokens is not None and counted.total_tokens > 0


def test_models_list_and_get(client: genai.Client) -> None:
    names = {m.name for m in client.models.list()}
    assert {"models/on-gemini", "models/on-openai", "models/on-anthropic"} <= names, names
    assert not any(name and "claude-on-gemini" in name for name in names), "another protocol's route is listed"
    one = client.models.get(model="on-gemini")
    assert one.name == "models/on-gemini"
    with pytest.raises(errors.ClientError) as caught:
        client.models.get(model="no-such-model")
    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"


# --- keys ---------------------------------------------------------------------------------------

def test_a_wrong_key_is_refused_in_googles_shape(base_url: str) -> None:
    stranger = _sdk(base_url, "not-a-key")  # kept: a collected Client closes its connections
    with pytest.raises(errors.ClientError) as caught:
        stranger.models.generate_content(model="on-gemini", contents="x")
    assert caught.value.code in (400, 401, 403), caught.value
    assert caught.value.status in ("INVALID_ARGUMENT", "UNAUTHENTICATED", "PERMISSION_DENIED"), caught.value


@pytest.mark.parametrize("how", ["query", "bearer"])
def test_the_key_may_come_in_the_url_or_as_a_bearer_token(base_url: str, how: str) -> None:
    url = f"{base_url}/v1beta/models/on-gemini:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": f"key by {how}"}]}]}
    if how == "query":
        response = httpx.post(url, params={"key": KEY}, json=body, timeout=TIMEOUT)
    else:
        response = httpx.post(url, headers={"authorization": f"Bearer {KEY}"}, json=body, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.json()["candidates"][0]["content"]["parts"][0]["text"] == f"Echo: key by {how}"


# --- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize("upstream_kind", ["gemini", "openai"])
def test_a_429_is_resource_exhausted(client: genai.Client, upstream_kind: str) -> None:
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=f"{upstream_kind}-fail-429", contents="x")
    assert caught.value.code == 429 and caught.value.status == "RESOURCE_EXHAUSTED", caught.value.details
    assert caught.value.message


def test_a_429_tells_when_to_retry(client: genai.Client) -> None:
    """The Chat upstream's retry-after reaches the Gemini client."""
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model="openai-fail-429", contents="x")
    response: Any = caught.value.response
    assert response is not None and response.headers.get("retry-after") == "7"


@pytest.mark.parametrize("upstream_kind", ["gemini", "openai"])
def test_an_upstream_dying_mid_stream_raises(client: genai.Client, upstream_kind: str) -> None:
    """The upstream drops the connection after two chunks: the SDK raises (an `{"error": …}` event
    as the stream's last), it never ends as if the answer were complete."""
    texts: list[str] = []
    with pytest.raises(errors.APIError) as caught:
        for chunk in client.models.generate_content_stream(model=f"{upstream_kind}-cut-stream",
                                                           contents="a few words to cut short"):
            texts.append(chunk.text or "")
    assert caught.value.code is not None and caught.value.code >= 500, caught.value
    assert "".join(texts) != "Echo: a few words to cut short"


# --- other clients on a Gemini upstream ---------------------------------------------------------

def test_anthropic_sdk_on_a_gemini_upstream(base_url: str, upstream: str) -> None:
    since = len(recorded(upstream))
    with anthropic.Anthropic(base_url=base_url, api_key=KEY, max_retries=0, timeout=TIMEOUT) as sdk:
        message = sdk.messages.create(model="claude-on-gemini", max_tokens=200, system="be brief",
                                      messages=[{"role": "user", "content": "hello gemini"}])
        assert message.content[0].text == "Echo: hello gemini" and message.stop_reason == "end_turn"  # type: ignore[union-attr]
        assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
        with sdk.messages.stream(model="claude-on-gemini", max_tokens=2000,
                                 thinking={"type": "enabled", "budget_tokens": 1024},
                                 messages=[{"role": "user", "content": "stream from gemini"}]) as stream:
            final = stream.get_final_message()
    assert [block.type for block in final.content] == ["thinking", "text"], final.content
    assert final.content[1].text == "Echo: stream from gemini"  # type: ignore[union-attr]
    calls = gemini_calls(upstream, since)
    assert [c["path"] for c in calls] == ["/v1beta/models/gemini-mock:generateContent",
                                          "/v1beta/models/gemini-mock:streamGenerateContent"], calls
    assert calls[1]["query"] == "alt=sse" and calls[0]["headers"]["x-goog-api-key"] == DEFAULT_KEY
    assert calls[0]["body"]["systemInstruction"]["parts"][0]["text"] == "be brief"


def test_anthropic_sdk_tool_use_on_a_gemini_upstream(base_url: str) -> None:
    check_anthropic_tool_round_trip(base_url, KEY, "claude-on-gemini", CITY)


def test_openai_sdk_on_a_gemini_upstream(base_url: str) -> None:
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key=KEY, max_retries=0, timeout=TIMEOUT) as sdk:
        check_chat_text_and_stream(sdk, "chat-on-gemini")


def test_openai_sdk_tool_call_on_a_gemini_upstream(base_url: str) -> None:
    tool: Any = {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": CITY}}
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key=KEY, max_retries=0, timeout=TIMEOUT) as sdk:
        first = sdk.chat.completions.create(model="chat-on-gemini", tools=[tool],
                                            messages=[{"role": "user", "content": "use get_weather"}])
        message = first.choices[0].message
        assert first.choices[0].finish_reason == "tool_calls" and message.tool_calls, first
        call: Any = message.tool_calls[0]
        assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "demo"}
        second = sdk.chat.completions.create(
            model="chat-on-gemini", tools=[tool],
            messages=[{"role": "user", "content": "use get_weather"}, message.model_dump(exclude_none=True),  # type: ignore[list-item]
                      {"role": "tool", "tool_call_id": call.id, "content": "snowy"}])
    assert second.choices[0].message.content == "The tool returned: snowy"
