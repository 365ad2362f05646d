"""End to end, Azure: the official `openai` and `anthropic` SDKs → `router serve` → a real mock
Azure upstream on loopback (tests/support/azure_mock.py): Azure OpenAI deployments (api-version)
and its v1 API with `api-key`, Claude on Azure AI Foundry under /anthropic, and both with
Microsoft Entra ID tokens made by the real azure-identity DefaultAzureCredential from a fake `az`
CLI on the router's PATH (AZURE_TOKEN_CREDENTIALS picks the Azure CLI credential alone, so
nothing else is probed). Every client has a timeout and no retries; all on loopback.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.conftest import RouterFactory
from tests.support.azure_mock import DEFAULT_KEY, azure_upstream, recorded
from tests.support.sdk_checks import check_anthropic_tool_round_trip

KEY = "e2e-azure-client-key-0123456789"
TIMEOUT = 20.0
# What the fake `az` answers for each resource: "entra-<resource host>".
OPENAI_TOKEN = "entra-cognitiveservices.azure.com"
FOUNDRY_TOKEN = "entra-ai.azure.com"
CITY: dict[str, object] = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
PIXEL = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()

ROUTES = """
[auth]
keys = ["env:CLIENT_KEY"]

[upstreams.deployments]
kind = "azure"
base-url = "{upstream}"
api-version = "2024-10-21"
api-key = "env:AZ_KEY"

[upstreams.v1]
kind = "azure"
base-url = "{upstream}/openai/v1"
api-key = "env:AZ_KEY"

[upstreams.entra]
kind = "azure"
base-url = "{upstream}"
api-version = "2024-10-21"
entra = {{}}

[upstreams.foundry]
kind = "anthropic"
base-url = "{upstream}/anthropic"
api-key = "env:AZ_KEY"

[upstreams.foundry-entra]
kind = "anthropic"
base-url = "{upstream}/anthropic"
entra = {{}}

[[routes]]
name = "azure-deployment"
models = ["gpt-4o", "content-filter", "throttled", "filtered-answer"]
to = "deployments"
retry = {{ attempts = 1 }}

[[routes]]
name = "azure-v1"
models = ["v1-gpt"]
to = "v1/gpt-4o-mini"

[[routes]]
name = "azure-entra"
models = ["entra-gpt"]
to = "entra/gpt-4o"

[[routes]]
name = "foundry"
models = ["claude-foundry"]
to = "foundry/claude-sonnet-4-5"

[[routes]]
name = "foundry-entra"
models = ["claude-foundry-entra"]
to = "foundry-entra/claude-sonnet-4-5"
"""

FAKE_AZ = """#!/bin/sh
# `az account get-access-token --output json --resource R`, as azure-identity runs it
echo "$@" >> "$FAKE_AZ_LOG"
resource=""
while [ $# -gt 0 ]; do
  if [ "$1" = "--resource" ]; then resource="$2"; fi
  shift
done
host=$(echo "$resource" | sed -e 's#^https://##' -e 's#/.*##')
printf '{"accessToken": "entra-%s", "expires_on": %s, "tokenType": "Bearer"}\\n' "$host" $(( $(date +%s) + 3600 ))
"""


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with azure_upstream(DEFAULT_KEY, tokens=(OPENAI_TOKEN, FOUNDRY_TOKEN)) as url:
        yield url


@pytest.fixture(scope="module")
def az_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("az") / "az.log"


@pytest.fixture(scope="module")
def base_url(start_router: RouterFactory, upstream: str, az_log: Path) -> str:
    bin_dir = az_log.parent / "bin"
    bin_dir.mkdir()
    az = bin_dir / "az"
    az.write_text(FAKE_AZ)
    az.chmod(0o755)
    env = {"CLIENT_KEY": KEY, "AZ_KEY": DEFAULT_KEY, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential", "FAKE_AZ_LOG": str(az_log)}
    return start_router(ROUTES.format(upstream=upstream), env=env)


@pytest.fixture(scope="module")
def chat(base_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key=KEY, max_retries=0, timeout=TIMEOUT) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def messages(base_url: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=base_url, api_key=KEY, max_retries=0, timeout=TIMEOUT) as sdk:
        yield sdk


def _last(upstream: str, since: int) -> dict[str, Any]:
    calls = recorded(upstream, since)
    assert calls, "the upstream was not called"
    return calls[-1]


# --- Azure OpenAI with api-key ------------------------------------------------------------------

def test_an_openai_client_on_a_deployment(chat: openai.OpenAI, upstream: str) -> None:
    since = len(recorded(upstream))
    completion = chat.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hello azure"}])
    assert completion.choices[0].message.content == "Echo: hello azure"
    assert completion.choices[0].finish_reason == "stop"
    call = _last(upstream, since)
    assert call["path"] == "/openai/deployments/gpt-4o/chat/completions" and call["query"] == "api-version=2024-10-21"
    assert call["headers"]["api-key"] == DEFAULT_KEY and "authorization" not in call["headers"]
    assert KEY not in json.dumps(call), "the client's key went upstream"


def test_an_openai_client_streams_from_a_deployment(chat: openai.OpenAI) -> None:
    """Azure's first chunk has no choices and no model (its prompt_filter_results): the SDK
    copes, as it does on Azure itself."""
    stream = chat.chat.completions.create(model="gpt-4o", stream=True, stream_options={"include_usage": True},
                                          messages=[{"role": "user", "content": "stream from azure"}])
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: stream from azure"
    assert chunks[-1].usage is not None
    assert any(c.model_extra and "prompt_filter_results" in c.model_extra for c in chunks)


def test_an_openai_client_on_the_v1_api(chat: openai.OpenAI, upstream: str) -> None:
    since = len(recorded(upstream))
    completion = chat.chat.completions.create(model="v1-gpt", messages=[{"role": "user", "content": "hi v1"}])
    assert completion.choices[0].message.content == "Echo: hi v1"
    call = _last(upstream, since)
    assert call["path"] == "/openai/v1/chat/completions" and call["query"] == ""
    assert call["body"]["model"] == "gpt-4o-mini" and call["headers"]["api-key"] == DEFAULT_KEY


def test_an_anthropic_client_on_a_deployment(messages: anthropic.Anthropic) -> None:
    answer = messages.messages.create(model="gpt-4o", max_tokens=100, messages=[{"role": "user", "content": "hello claude"}])
    assert answer.content[0].text == "Echo: hello claude"  # type: ignore[union-attr]
    assert answer.stop_reason == "end_turn" and answer.usage.output_tokens > 0


def test_an_anthropic_client_streams_from_a_deployment(messages: anthropic.Anthropic) -> None:
    with messages.messages.stream(model="gpt-4o", max_tokens=100,
                                  messages=[{"role": "user", "content": "stream it"}]) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == "Echo: stream it" and final.stop_reason == "end_turn"  # type: ignore[union-attr]


def test_an_anthropic_client_calls_tools_on_a_deployment(base_url: str) -> None:
    check_anthropic_tool_round_trip(base_url, KEY, "gpt-4o", CITY)


def test_an_image_goes_to_azure_as_a_data_url(messages: anthropic.Anthropic, upstream: str) -> None:
    since = len(recorded(upstream))
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}}
    content: Any = [image, {"type": "text", "text": "what is this"}]
    answer = messages.messages.create(model="gpt-4o", max_tokens=100, messages=[{"role": "user", "content": content}])
    assert answer.content[0].text == "Echo: what is this"  # type: ignore[union-attr]
    [part, _text] = _last(upstream, since)["body"]["messages"][-1]["content"]
    assert part == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}}


def test_an_openai_client_sends_an_image(chat: openai.OpenAI, upstream: str) -> None:
    since = len(recorded(upstream))
    url = f"data:image/png;base64,{PIXEL}"
    chat.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": "describe"}]}])
    assert _last(upstream, since)["body"]["messages"][-1]["content"][0]["image_url"]["url"] == url


# --- what Azure's content filter and limits say -------------------------------------------------

def test_a_filtered_prompt_is_an_anthropic_clients_400_naming_the_categories(messages: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as raised:
        messages.messages.create(model="content-filter", max_tokens=100, messages=[{"role": "user", "content": "bad"}])
    error = raised.value
    assert error.status_code == 400 and isinstance(error.body, dict)
    assert error.body["type"] == "error" and error.body["error"]["type"] == "invalid_request_error"
    message = error.body["error"]["message"]
    assert "content management policy" in message and "(filtered: hate (high), jailbreak)" in message


def test_a_filtered_prompt_is_an_openai_clients_400_naming_the_categories(chat: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        chat.chat.completions.create(model="content-filter", messages=[{"role": "user", "content": "bad"}])
    assert raised.value.status_code == 400
    assert "(filtered: hate (high), jailbreak)" in raised.value.message


def test_a_filtered_answer_is_a_refusal(messages: anthropic.Anthropic) -> None:
    answer = messages.messages.create(model="filtered-answer", max_tokens=100, messages=[{"role": "user", "content": "x"}])
    assert answer.stop_reason == "refusal"
    with messages.messages.stream(model="filtered-answer", max_tokens=100,
                                  messages=[{"role": "user", "content": "x"}]) as stream:
        assert stream.get_final_message().stop_reason == "refusal"


def test_an_openai_client_streams_a_filtered_answer(chat: openai.OpenAI) -> None:
    chunks = list(chat.chat.completions.create(model="filtered-answer", stream=True,
                                               messages=[{"role": "user", "content": "x"}]))
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["content_filter"]


def test_a_429_with_retry_after_ms_tells_the_client_when(base_url: str) -> None:
    response = httpx.post(f"{base_url}/v1/chat/completions", headers={"authorization": f"Bearer {KEY}"},
                          json={"model": "throttled", "messages": [{"role": "user", "content": "x"}]}, timeout=TIMEOUT)
    assert response.status_code == 429 and response.headers["retry-after"] == "2"


# --- Claude on Azure AI Foundry -----------------------------------------------------------------

def test_an_anthropic_client_on_foundry(messages: anthropic.Anthropic, upstream: str) -> None:
    since = len(recorded(upstream))
    answer = messages.messages.create(model="claude-foundry", max_tokens=100, messages=[{"role": "user", "content": "hi"}])
    assert answer.content[0].text and answer.stop_reason == "end_turn"  # type: ignore[union-attr]
    call = _last(upstream, since)
    assert call["path"] == "/anthropic/v1/messages" and call["body"]["model"] == "claude-sonnet-4-5"
    assert call["headers"]["x-api-key"] == DEFAULT_KEY and "authorization" not in call["headers"]


def test_an_anthropic_client_streams_from_foundry(messages: anthropic.Anthropic) -> None:
    with messages.messages.stream(model="claude-foundry", max_tokens=100,
                                  messages=[{"role": "user", "content": "stream"}]) as stream:
        final = stream.get_final_message()
    assert final.content and final.stop_reason == "end_turn"


def test_an_openai_client_on_foundry(chat: openai.OpenAI) -> None:
    completion = chat.chat.completions.create(model="claude-foundry", messages=[{"role": "user", "content": "hello"}])
    assert completion.choices[0].message.content and completion.choices[0].finish_reason == "stop"


# --- Microsoft Entra ID -------------------------------------------------------------------------

def test_entra_tokens_for_azure_openai(chat: openai.OpenAI, upstream: str, az_log: Path) -> None:
    since = len(recorded(upstream))
    completion = chat.chat.completions.create(model="entra-gpt", messages=[{"role": "user", "content": "with entra"}])
    assert completion.choices[0].message.content == "Echo: with entra"
    stream = chat.chat.completions.create(model="entra-gpt", stream=True, messages=[{"role": "user", "content": "again"}])
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Echo: again"
    for call in recorded(upstream, since):
        assert call["headers"]["authorization"] == f"Bearer {OPENAI_TOKEN}" and "api-key" not in call["headers"]
    asked = az_log.read_text().splitlines()
    assert asked.count("account get-access-token --output json --resource https://cognitiveservices.azure.com") == 1


def test_entra_tokens_for_claude_on_foundry(messages: anthropic.Anthropic, upstream: str, az_log: Path) -> None:
    since = len(recorded(upstream))
    answer = messages.messages.create(model="claude-foundry-entra", max_tokens=100,
                                      messages=[{"role": "user", "content": "hi"}])
    assert answer.stop_reason == "end_turn"
    call = _last(upstream, since)
    assert call["headers"]["authorization"] == f"Bearer {FOUNDRY_TOKEN}"
    assert "x-api-key" not in call["headers"] and "api-key" not in call["headers"]
    assert "--resource https://ai.azure.com" in az_log.read_text()


# --- the Responses and Gemini front doors on Azure OpenAI ----------------------------------------

def test_a_responses_client_on_a_deployment(chat: openai.OpenAI, upstream: str) -> None:
    """Codex's protocol on an Azure deployment: converted to Chat Completions through the hub,
    unary and streamed."""
    since = len(recorded(upstream))
    response = chat.responses.create(model="gpt-4o", input="hello responses")
    assert response.output_text == "Echo: hello responses" and response.status == "completed"
    assert _last(upstream, since)["path"] == "/openai/deployments/gpt-4o/chat/completions"
    events = list(chat.responses.create(model="gpt-4o", input="stream responses", stream=True))
    assert events[-1].type == "response.completed"
    assert "".join(getattr(event, "delta", "") for event in events
                   if event.type == "response.output_text.delta") == "Echo: stream responses"


def test_a_gemini_client_on_a_deployment(base_url: str) -> None:
    """Gemini CLI's protocol on an Azure deployment (the model in the URL names the route)."""
    url = f"{base_url}/v1beta/models/gpt-4o:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "hello gemini"}]}]}
    answer = httpx.post(url, json=body, headers={"x-goog-api-key": KEY}, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    candidate = answer.json()["candidates"][0]
    assert candidate["content"]["parts"][0]["text"] == "Echo: hello gemini" and candidate["finishReason"] == "STOP"
    with httpx.stream("POST", f"{base_url}/v1beta/models/gpt-4o:streamGenerateContent?alt=sse", json=body,
                      headers={"x-goog-api-key": KEY}, timeout=TIMEOUT) as stream:
        chunks = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
    parts = [part for chunk in chunks for part in chunk["candidates"][0].get("content", {}).get("parts", [])]
    text = "".join(part.get("text", "") for part in parts)
    assert text == "Echo: hello gemini" and chunks[-1]["candidates"][0]["finishReason"] == "STOP"
