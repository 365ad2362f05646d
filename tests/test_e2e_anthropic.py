"""End to end: the official anthropic SDK → `router serve` → a real OpenAI-compatible mock upstream,
all on loopback, every process real."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import pytest

from tests.conftest import FIXTURES, RouterFactory
from tests.support.servers import REPO, free_port, running

CLIENT_KEY = "test-client-key-0123456789"
UPSTREAM_KEY = "sk-upstream-secret-ABCDEFGHIJKLMNOP"

ROUTES = """
[auth]
keys = ["env:ROUTER_TEST_KEY"]

[upstreams.up]
kind = "openai"
base-url = "{upstream}/v1"
api-key = "env:UP_KEY"
supports = {{ reasoning = "effort" }}

[upstreams.down]
kind = "openai"
base-url = "http://127.0.0.1:{dead_port}/v1"
api-key = "env:UP_KEY"
timeout = {{ connect = 2 }}

[[routes]]
name = "claude"
models = ["claude-*"]
to = "up/mock-model"

[[routes]]
name = "scripted"
models = ["fail-*", "echo-key", "cut-stream", "slow-*"]
to = "up"
ping-interval = 0.2
retry = {{ attempts = 1 }}

[[routes]]
name = "dead"
models = ["dead"]
to = "down/x"
retry = {{ attempts = 1 }}
"""

TOOLS = [{
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}]


@pytest.fixture(scope="module")
def base_url(start_router: RouterFactory, mock_upstream_url: str) -> str:
    routes = ROUTES.format(upstream=mock_upstream_url, dead_port=free_port())
    return start_router(routes, env={"ROUTER_TEST_KEY": CLIENT_KEY, "UP_KEY": UPSTREAM_KEY})


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=base_url, api_key=CLIENT_KEY, max_retries=0) as sdk:
        yield sdk


def test_unary_with_x_api_key(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model="claude-sonnet-test", max_tokens=100, messages=[{"role": "user", "content": "hello there"}]
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Echo: hello there"
    assert message.stop_reason == "end_turn"
    assert message.model == "mock-model"
    assert message.usage.output_tokens > 0


def test_unary_with_bearer_token(base_url: str) -> None:
    with anthropic.Anthropic(base_url=base_url, auth_token=CLIENT_KEY, api_key=None, max_retries=0) as sdk:
        message = sdk.messages.create(
            model="claude-haiku-test", max_tokens=50, messages=[{"role": "user", "content": "bearer"}]
        )
    assert message.content[0].text == "Echo: bearer"


def test_stream_text_thinking_and_final_message(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model="claude-opus-test", max_tokens=2000, thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "please think about streaming"}],
    ) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == "Echo: please think about streaming"
    assert [block.type for block in final.content] == ["thinking", "text"]
    assert final.content[0].thinking.startswith("The user wrote")
    assert final.content[0].signature
    assert final.content[1].text == "Echo: please think about streaming"
    assert final.stop_reason == "end_turn"


def test_stream_tool_call_round_trip(client: anthropic.Anthropic) -> None:
    messages: list[dict[str, object]] = [{"role": "user", "content": "use get_weather for Paris"}]
    with client.messages.stream(model="claude-sonnet-test", max_tokens=500, tools=TOOLS, messages=messages) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    tool_use = final.content[-1]
    assert tool_use.type == "tool_use" and tool_use.name == "get_weather"
    assert tool_use.input == {"city": "demo"}
    messages += [
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in final.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "sunny, 21 C"}]},
    ]
    answer = client.messages.create(model="claude-sonnet-test", max_tokens=500, tools=TOOLS, messages=messages)
    assert answer.content[0].text == "The tool returned: sunny, 21 C"


@pytest.mark.parametrize(
    ("model", "error", "status"),
    [
        ("fail-429", anthropic.RateLimitError, 429),
        ("fail-500", anthropic.InternalServerError, 500),
        ("fail-503", anthropic.APIStatusError, 529),
        ("fail-529", anthropic.APIStatusError, 529),
        ("fail-400", anthropic.BadRequestError, 400),
        ("dead", anthropic.APIStatusError, 502),
        ("no-such-model", anthropic.NotFoundError, 404),
    ],
)
def test_upstream_errors_in_anthropic_shape(client: anthropic.Anthropic, model: str, error: type, status: int) -> None:
    with pytest.raises(error) as caught:
        client.messages.create(model=model, max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == status
    body = caught.value.response.json()
    assert body["type"] == "error" and body["error"]["message"]
    if status == 429:
        assert caught.value.response.headers["retry-after"] == "7"


def test_streaming_request_gets_json_error_before_first_byte(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.RateLimitError):
        with client.messages.stream(model="fail-429", max_tokens=10, messages=[{"role": "user", "content": "x"}]) as s:
            s.get_final_message()


def test_stream_cut_mid_way_ends_in_error_event_not_success(base_url: str) -> None:
    body = {"model": "cut-stream", "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": "a b c d e"}]}
    response = httpx.post(f"{base_url}/v1/messages", json=body, headers={"x-api-key": CLIENT_KEY}, timeout=10)
    events = [line.removeprefix("event: ") for line in response.text.splitlines() if line.startswith("event: ")]
    assert events[0] == "message_start"
    assert events[-1] == "error"
    assert "message_stop" not in events


def test_bad_client_key_is_401(base_url: str) -> None:
    with anthropic.Anthropic(base_url=base_url, api_key="wrong", max_retries=0) as sdk:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            sdk.messages.create(model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert caught.value.response.json()["error"]["type"] == "authentication_error"


def test_upstream_echo_of_our_key_is_scrubbed(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(model="echo-key", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    text = caught.value.response.text
    assert "Incorrect API key" in text
    assert UPSTREAM_KEY not in text and UPSTREAM_KEY[:17] not in text and UPSTREAM_KEY[17:] not in text


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"max_tokens": 5, "messages": []}', "model"),
        (b'{"model": "claude-x", "max_tokens": 5, "messages": [{"role": "user"}]}', "content"),
    ],
)
def test_bad_input_is_400_naming_the_field(base_url: str, body: bytes, needle: str) -> None:
    response = httpx.post(f"{base_url}/v1/messages", content=body, headers={"x-api-key": CLIENT_KEY})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and needle in error["message"]


def test_models_list_in_both_shapes(base_url: str) -> None:
    anthropic_shape = httpx.get(f"{base_url}/v1/models", headers={"x-api-key": CLIENT_KEY, "anthropic-version": "2023-06-01"}).json()
    assert anthropic_shape["data"][0]["type"] == "model"
    assert {m["id"] for m in anthropic_shape["data"]} >= {"echo-key", "cut-stream", "dead"}
    openai_shape = httpx.get(f"{base_url}/v1/models", headers={"authorization": f"Bearer {CLIENT_KEY}"}).json()
    assert openai_shape["object"] == "list"


def _fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob("claude-code/*/*.json"))


@pytest.mark.parametrize("fixture", _fixture_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_claude_code_requests_stream_through(base_url: str, fixture: Path) -> None:
    """Real Claude Code requests, sent as Claude Code sent them (headers, ?beta=true, body)."""
    captured = json.loads(fixture.read_text())
    skip = {"host", "content-length", "x-api-key", "connection", "accept-encoding"}
    headers = {k: v for k, v in captured["headers"] if k.lower() not in skip}
    headers["x-api-key"] = CLIENT_KEY
    body = captured["body"]
    with httpx.stream("POST", f"{base_url}/v1/messages?beta=true", json=body, headers=headers, timeout=30) as response:
        assert response.status_code == 200, response.read()
        text = "".join(response.iter_text())
    events = [line.removeprefix("event: ") for line in text.splitlines() if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert "error" not in events


def test_shipped_routes_toml_serves_demo_offline() -> None:
    """The newcomer's first run: `router serve` on the shipped file, then a curl for `demo`."""
    port = free_port()
    with running(["router", "serve", "--config", str(REPO / "routes.toml"), "--port", str(port)], port,
                 env={"DEEPSEEK_API_KEY": "", "OPENROUTER_API_KEY": "", "OPENAI_API_KEY": "", "GROQ_API_KEY": ""}):
        response = httpx.post(
            f"http://127.0.0.1:{port}/v1/messages",
            json={"model": "demo", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]},
            headers={"anthropic-version": "2023-06-01"},
        )
    assert response.status_code == 200
    message = response.json()
    assert message["type"] == "message" and message["content"] == [{"type": "text", "text": "Echo: hi"}]


def _long_prompt(words: int) -> str:
    return " ".join(f"w{i}" for i in range(words))


def test_client_disconnect_closes_the_upstream_at_once(base_url: str, mock_upstream_url: str) -> None:
    """The client hangs up after the first delta; the upstream must see its connection closed
    while it is still producing (about 10 s of tokens left), not when it finishes."""
    before = httpx.get(f"{mock_upstream_url}/stats").json()
    body = {"model": "slow-100", "max_tokens": 10, "stream": True,
            "messages": [{"role": "user", "content": _long_prompt(100)}]}
    with httpx.stream("POST", f"{base_url}/v1/messages", json=body, headers={"x-api-key": CLIENT_KEY}) as response:
        for line in response.iter_lines():
            if "content_block_delta" in line:
                break
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        stats = httpx.get(f"{mock_upstream_url}/stats").json()
        if stats["aborted"] > before["aborted"]:
            break
        time.sleep(0.05)
    assert stats["aborted"] == before["aborted"] + 1
    assert stats["completed"] == before["completed"]


def test_pings_flow_while_the_upstream_is_silent(base_url: str) -> None:
    """A 500 ms gap between upstream chunks and a 0.2 s ping interval: pings reach the client
    between the deltas, unbuffered, and the stream still ends cleanly."""
    body = {"model": "slow-500", "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": "a b"}]}
    response = httpx.post(f"{base_url}/v1/messages", json=body, headers={"x-api-key": CLIENT_KEY}, timeout=30)
    events = [line.removeprefix("event: ") for line in response.text.splitlines() if line.startswith("event: ")]
    assert events.count("ping") >= 4
    assert events[-1] == "message_stop"
    text = "".join(json.loads(line[6:])["delta"].get("text", "") for line in response.text.splitlines()
                   if line.startswith("data: ") and "text_delta" in line)
    assert text == "Echo: a b"


def test_open_server_beyond_loopback_generates_a_key(tmp_path: Path) -> None:
    """No keys configured and bound to all interfaces: a key is made once (0600), required from
    then on, and handed out by /auth-token only to a loopback peer that did not come via a proxy."""
    config = tmp_path / "routes.toml"
    config.write_text('[upstreams.m]\nkind = "mock"\n\n[[routes]]\nname = "demo"\nmodels = ["demo"]\nto = "m"\n')
    port = free_port()
    with running(["router", "serve", "--config", str(config), "--host", "0.0.0.0", "--port", str(port)], port):
        key_file = tmp_path / ".router-key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        key = key_file.read_text().strip()
        url = f"http://127.0.0.1:{port}"
        body = {"model": "demo", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
        assert httpx.post(f"{url}/v1/messages", json=body).status_code == 401
        assert httpx.post(f"{url}/v1/messages", json=body, headers={"authorization": f"Bearer {key}"}).status_code == 200
        assert httpx.get(f"{url}/auth-token").json() == {"token": key}
        assert httpx.get(f"{url}/auth-token", headers={"x-forwarded-for": "203.0.113.9"}).status_code == 404
