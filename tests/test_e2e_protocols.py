"""End to end, every protocol pair: the official openai and anthropic SDKs → `router serve` → a
real mock upstream on loopback speaking OpenAI Chat Completions and Anthropic Messages."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from tests.conftest import RouterFactory

KEY = "e2e-protocols-client-key"
ANTHROPIC_UPSTREAM_KEY = "sk-ant-upstream-0123456789abcdef"

ROUTES = """
[auth]
keys = ["env:CLIENT_KEY"]

[upstreams.anth]
kind = "anthropic"
base-url = "{upstream}"
api-key = "env:ANTH_KEY"
beta = ["context-1m-2025-08-07"]

[upstreams.oai]
kind = "openai"
base-url = "{upstream}/v1"

[[routes]]
name = "claude-passthrough"
clients = ["anthropic"]
models = ["claude-*"]
to = "anth"

[[routes]]
name = "counted-locally"
clients = ["anthropic"]
models = ["counted"]
to = "oai/m"

[[routes]]
name = "gpt-on-claude"
clients = ["openai"]
models = ["gpt-claude"]
to = "anth/claude-mock"

[[routes]]
name = "openai-passthrough"
clients = ["openai"]
models = ["gpt-*", "fail-*"]
to = "oai"
retry = {{ attempts = 1 }}
"""

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


@pytest.fixture(scope="module")
def base_url(start_router: RouterFactory, mock_upstream_url: str) -> str:
    return start_router(ROUTES.format(upstream=mock_upstream_url),
                        env={"CLIENT_KEY": KEY, "ANTH_KEY": ANTHROPIC_UPSTREAM_KEY})


@pytest.fixture(scope="module")
def oai(base_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key=KEY, max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def ant(base_url: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=base_url, api_key=KEY, max_retries=0) as client:
        yield client


def test_openai_client_on_anthropic_upstream_unary(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(
        model="gpt-claude", messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]
    )
    choice = completion.choices[0]
    assert choice.message.content == "Echo: hello" and choice.finish_reason == "stop"
    assert completion.usage is not None and completion.usage.prompt_tokens == 14  # 11 + 3 cached


def test_openai_sdk_stream_final_completion_on_anthropic_upstream(oai: openai.OpenAI) -> None:
    with oai.chat.completions.stream(
        model="gpt-claude", messages=[{"role": "user", "content": "stream me please"}],
        stream_options={"include_usage": True},
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "Echo: stream me please"
    assert final.choices[0].finish_reason == "stop"
    assert final.usage is not None and final.usage.completion_tokens == 7


def test_openai_tool_call_round_trip_on_anthropic_upstream(oai: openai.OpenAI) -> None:
    messages: list[dict[str, object]] = [{"role": "user", "content": "use get_weather for Paris"}]
    with oai.chat.completions.stream(model="gpt-claude", messages=messages, tools=TOOLS) as stream:  # type: ignore[arg-type]
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert final.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "demo"}
    messages += [
        {"role": "assistant", "tool_calls": [{"id": call.id, "type": "function",
                                               "function": {"name": "get_weather", "arguments": call.function.arguments}}]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    answer = oai.chat.completions.create(model="gpt-claude", messages=messages, tools=TOOLS)  # type: ignore[arg-type]
    assert answer.choices[0].message.content == "The tool returned: sunny"


def test_openai_passthrough_unary_and_stream(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(model="gpt-any", messages=[{"role": "user", "content": "pass"}])
    assert completion.choices[0].message.content == "Echo: pass"
    chunks = list(oai.chat.completions.create(model="gpt-any", stream=True, stream_options={"include_usage": True},
                                              messages=[{"role": "user", "content": "pass it on"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: pass it on"
    assert chunks[-1].usage is not None


def test_openai_errors_in_openai_shape(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        oai.chat.completions.create(model="fail-429", messages=[{"role": "user", "content": "x"}])
    assert caught.value.response.headers["retry-after"] == "7"
    assert set(caught.value.response.json()["error"]) >= {"message", "type", "code"}
    with pytest.raises(openai.NotFoundError):
        oai.chat.completions.create(model="no-such", messages=[{"role": "user", "content": "x"}])


def test_anthropic_passthrough_keeps_unknown_fields_and_blocks(ant: anthropic.Anthropic) -> None:
    raw = ant.messages.with_raw_response.create(
        model="claude-future", max_tokens=50,
        messages=[{"role": "user", "content": [{"type": "text", "text": "hi"},
                                               {"type": "future_input", "data": "x"}]}],  # type: ignore[list-item]
        extra_body={"future_field": {"v": 2}},
        extra_headers={"anthropic-beta": "context-1m-2025-08-07,unlisted-beta-2026"},
    )
    body = raw.http_response.json()
    assert body["content"][0]["text"] == "Echo: hi | fields: future_field | blocks: future_input"
    assert body["future_field"] == {"kept": True}
    assert body["content"][-1] == {"type": "future_block", "payload": [1, 2, 3]}
    # the beta allow-list let one flag through; our key went upstream (never the client's), and
    # the upstream's echo of it was scrubbed on the way back
    assert body["seen"]["anthropic-beta"] == "context-1m-2025-08-07"
    assert body["seen"]["x-api-key"] == "[redacted]"
    assert ANTHROPIC_UPSTREAM_KEY not in raw.http_response.text
    assert raw.http_response.headers["x-router-route"] == "claude-passthrough"


def test_anthropic_passthrough_stream(ant: anthropic.Anthropic) -> None:
    with ant.messages.stream(model="claude-x", max_tokens=100, thinking={"type": "enabled", "budget_tokens": 1024},
                             messages=[{"role": "user", "content": "stream through"}]) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[1].text == "Echo: stream through"  # type: ignore[union-attr]


def test_count_tokens_native_and_local(ant: anthropic.Anthropic) -> None:
    native = ant.messages.count_tokens(model="claude-x", messages=[{"role": "user", "content": "count me"}])
    assert native.input_tokens == 42
    local = ant.messages.count_tokens(model="counted", messages=[{"role": "user", "content": "count me " * 100}])
    assert 150 < local.input_tokens < 600


def test_models_per_protocol(base_url: str) -> None:
    openai_models = httpx.get(f"{base_url}/v1/models", headers={"authorization": f"Bearer {KEY}"}).json()
    assert {m["id"] for m in openai_models["data"]} == {"gpt-claude"}
    anthropic_models = httpx.get(f"{base_url}/v1/models", headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"}).json()
    assert {m["id"] for m in anthropic_models["data"]} == {"counted"}
