"""The exact-match response cache (a route's `cache`, router.gateway.cache), through the real app:
for each client protocol on a converting and a passthrough pair, a miss then a hit (the upstream
asked once), unary and streamed (the replay folded equals the live stream folded, with the
official SDKs' own accumulation where the e2e tests use them), TTL expiry, the bypass headers,
key and global scope, errors and cut streams never kept, max_tokens kept only when the route
says so, Redis shared by two replicas, and the memory bounds under a flood of distinct requests.

The upstreams are the loopback mocks' answer functions behind an httpx MockTransport that counts
what it is sent: no socket to an upstream, nothing reaches the internet."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anthropic
import httpx
import msgspec
import openai
import pytest

from router.config.load import load_config_text
from router.gateway.cache import cache_key, directive
from router.gateway.state import RouterState, open_state
from router.hub.fold import HubFolder
from router.hub.replay import replay_events, replay_stream
from router.routing.lookup import build_table
from router.server.app import create_app
from router.store.memory import MemoryStore
from router.upstream import mock as chat_mock
from tests.support import anthropic_mock, gemini_mock, responses_mock
from tests.support.redis_server import redis_server
from tests.support.servers import serving_in_process
from tests.support.streamcases import fold_anthropic, fold_openai, parse_events

_encode = msgspec.json.encode
_decode = msgspec.json.decode

ALICE, BOB = "sk-alice-0123456789abcdef", "sk-bob-0123456789abcdef"


def routes(extra: str = "", cache_section: str = "") -> str:
    return f"""
[auth]
keys = [{{ name = "alice", sha256 = "{hashlib.sha256(ALICE.encode()).hexdigest()}" }},
        {{ name = "bob", sha256 = "{hashlib.sha256(BOB.encode()).hexdigest()}" }}]
{extra}
{cache_section}

[upstreams.anth]
kind = "anthropic"
base-url = "https://anth.example"
api-key = "env:ANTH_KEY"

[upstreams.chat]
kind = "openai"
base-url = "https://chat.example/v1"

[upstreams.resp]
kind = "responses"
base-url = "https://resp.example/v1"

[upstreams.gem]
kind = "gemini"
base-url = "https://gem.example/v1beta"
api-key = "env:GEM_KEY"

[[routes]]
name = "anth"
models = ["m-anth"]
to = "anth/claude-up"
retry = {{ attempts = 1 }}
cache = {{ ttl = 600 }}

[[routes]]
name = "chat"
models = ["m-chat"]
to = "chat/gpt-up"
retry = {{ attempts = 1 }}
cache = {{ ttl = 600 }}

[[routes]]
name = "resp"
models = ["m-resp"]
to = "resp/resp-up"
retry = {{ attempts = 1 }}
cache = {{ ttl = 600 }}

[[routes]]
name = "gem"
models = ["m-gem"]
to = "gem/gem-up"
retry = {{ attempts = 1 }}
cache = {{ ttl = 600 }}

[[routes]]
name = "global"
models = ["m-global"]
to = "anth/claude-up"
retry = {{ attempts = 1 }}
cache = {{ scope = "global" }}

[[routes]]
name = "short"
models = ["m-short"]
to = "anth/claude-up"
retry = {{ attempts = 1 }}
cache = {{ ttl = 1 }}

[[routes]]
name = "truncated"
models = ["m-truncated"]
to = "anth/claude-up"
retry = {{ attempts = 1 }}
cache = {{ keep-truncated = true }}

[[routes]]
name = "uncached"
models = ["m-uncached"]
to = "anth/claude-up"
retry = {{ attempts = 1 }}
"""


# --- the upstream ----------------------------------------------------------------------------------


class Upstream:
    """Every upstream protocol's mock answers, counted. The user's text scripts trouble: `fail`
    answers 500, `cut` ends a stream early, `long` stops at max_tokens (Anthropic upstream)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def count(self, path_part: str = "") -> int:
        return sum(1 for path, _ in self.calls if path_part in path)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        body = _decode(await request.aread())
        path = request.url.path
        self.calls.append((path, body))
        text = _encode(body).decode()
        if "fail" in text:
            return httpx.Response(500, json={"error": {"type": "api_error", "message": "boom"}})
        if path.endswith("/v1/messages"):
            return self._anthropic(body, "long" in text)
        if path.endswith("/chat/completions"):
            if body.get("stream"):
                return _sse([(None, chunk) for chunk in chat_mock.chunks(body)], done=True, cut="cut" in text)
            return httpx.Response(200, json=chat_mock.completion(body))
        if path.endswith("/responses"):
            if body.get("stream"):
                return _sse(list(responses_mock.events(body)), cut="cut" in text)
            return httpx.Response(200, json=responses_mock.response(body))
        model, _, method = path.rpartition("/")[2].partition(":")
        if method == "streamGenerateContent":
            return _sse([(None, chunk) for chunk in gemini_mock.chunks(body, model)], cut="cut" in text)
        return httpx.Response(200, json=gemini_mock.answer(body, model))

    @staticmethod
    def _anthropic(body: dict[str, Any], truncated: bool) -> httpx.Response:
        if not body.get("stream"):
            answer = anthropic_mock.message(body)
            if truncated:
                answer["stop_reason"] = "max_tokens"
            return httpx.Response(200, json=answer)
        events = list(anthropic_mock.events(body))
        if truncated:
            for name, data in events:
                if name == "message_delta":
                    data["delta"]["stop_reason"] = "max_tokens"
        return _sse(events, cut="cut" in _encode(body).decode())


def _sse(events: list[tuple[str | None, Any]], done: bool = False, cut: bool = False) -> httpx.Response:
    frames = [(b"" if name is None else b"event: " + name.encode() + b"\n") + b"data: " + _encode(data) + b"\n\n"
              for name, data in events]
    if cut:
        frames = frames[:2]
    elif done:
        frames.append(b"data: [DONE]\n\n")
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=b"".join(frames))


# --- the router ------------------------------------------------------------------------------------


def make_state(upstream: Upstream, text: str | None = None, environ: dict[str, str] | None = None) -> RouterState:
    environ = {"ANTH_KEY": "sk-ant-upstream-0123456789", "GEM_KEY": "gem-upstream-0123456789", **(environ or {})}
    loaded = load_config_text(text or routes(), filename="routes.toml", environ=environ)
    return open_state(build_table(loaded), transport=lambda name, spec: httpx.MockTransport(upstream))


@pytest.fixture
def upstream() -> Upstream:
    return Upstream()


@pytest.fixture
async def router(upstream: Upstream) -> AsyncIterator[tuple[str, RouterState]]:
    state = make_state(upstream)
    async with serving_in_process(create_app(state)) as port:
        yield f"http://127.0.0.1:{port}", state
    await state.aclose()


def unique() -> str:
    return f"hello {uuid.uuid4().hex[:8]}"


# Each client protocol's request for `model` (its path, body, extra headers); stream or not.
def anthropic_request(model: str, text: str, stream: bool) -> tuple[str, dict[str, Any]]:
    return "/v1/messages", {"model": model, "max_tokens": 100, "stream": stream,
                            "messages": [{"role": "user", "content": text}]}


def chat_request(model: str, text: str, stream: bool) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {"model": model, "stream": stream, "messages": [{"role": "user", "content": text}]}
    if stream:
        body["stream_options"] = {"include_usage": True}
    return "/v1/chat/completions", body


def responses_request(model: str, text: str, stream: bool) -> tuple[str, dict[str, Any]]:
    return "/v1/responses", {"model": model, "stream": stream, "store": False, "input": text}


def gemini_request(model: str, text: str, stream: bool) -> tuple[str, dict[str, Any]]:
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    return f"/v1beta/models/{model}:{method}", {"contents": [{"role": "user", "parts": [{"text": text}]}]}


REQUESTS: dict[str, Callable[[str, str, bool], tuple[str, dict[str, Any]]]] = {
    "anthropic": anthropic_request, "openai": chat_request, "responses": responses_request, "gemini": gemini_request}
# (client protocol, route): a passthrough pair and a converting one for each client protocol.
PAIRS = [
    ("anthropic", "m-anth"), ("anthropic", "m-chat"),
    ("openai", "m-chat"), ("openai", "m-anth"),
    ("responses", "m-resp"), ("responses", "m-anth"),
    ("gemini", "m-gem"), ("gemini", "m-chat"),
]

PASSTHROUGH = {("openai", "m-chat"), ("responses", "m-resp"), ("gemini", "m-gem")}  # not the hub's protocol


async def ask(base: str, protocol: str, model: str, text: str, stream: bool = False, key: str = ALICE,
              headers: dict[str, str] | None = None) -> httpx.Response:
    path, body = REQUESTS[protocol](model, text, stream)
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        return await client.post(path, json=body, headers={"authorization": f"Bearer {key}", "x-goog-api-key": key,
                                                           **(headers or {})})


IDS = {"id", "created", "created_at", "responseId", "system_fingerprint", "sequence_number"}


def without_ids(value: Any) -> Any:
    """An answer without what differs between two answers to the same request: ids, times."""
    if isinstance(value, dict):
        return {name: without_ids(item) for name, item in value.items() if name not in IDS}
    if isinstance(value, list):
        return [without_ids(item) for item in value]
    return value


def folded(protocol: str, body: bytes) -> Any:
    """A client's stream folded the way its SDK accumulates it."""
    if protocol == "anthropic":
        return without_ids(fold_anthropic(parse_events(body)))
    if protocol == "openai":
        completion = fold_openai(body)
        return without_ids(msgspec.to_builtins(completion))
    if protocol == "responses":
        finals = [data for name, data in parse_events(body) if name == "response.completed"]
        assert len(finals) == 1, body
        return without_ids(finals[0]["response"])
    chunks = [_decode(line[6:]) for line in body.replace(b"\r\n", b"\n").split(b"\n\n") if line.startswith(b"data: ")]
    text = "".join(part.get("text", "") for chunk in chunks for candidate in chunk.get("candidates", [])
                   for part in candidate.get("content", {}).get("parts", []))
    finish = [candidate.get("finishReason") for chunk in chunks for candidate in chunk.get("candidates", [])
              if candidate.get("finishReason")]
    return text, finish


# --- the hub replay and fold ------------------------------------------------------------------------

ANSWER = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
          "content": [{"type": "thinking", "thinking": "let me see", "signature": "c2ln"},
                      {"type": "redacted_thinking", "data": "ZW5j"},
                      {"type": "text", "text": "Calling.", "citations": [{"type": "char_location", "cited_text": "x"}]},
                      {"type": "tool_use", "id": "toolu_1", "name": "shell", "input": {"cmd": ["ls", "-l"]}}],
          "stop_reason": "tool_use", "stop_sequence": None,
          "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 3}}


def test_a_replayed_answer_folds_back_to_itself_as_the_anthropic_sdk_folds_it() -> None:
    stream = replay_stream(ANSWER)
    folder = HubFolder()
    folder.feed_sse(stream)
    assert folder.answer == ANSWER
    # The streamcases fold (the SDK's accumulation, with its grammar checks) knows no citations.
    plain = {**ANSWER, "content": [{"type": "text", "text": "Calling."} if block["type"] == "text" else block
                                   for block in ANSWER["content"]]}
    assert fold_anthropic(parse_events(replay_stream(plain))) == plain
    names = [name for name, _ in replay_events(ANSWER)]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert _decode(replay_events(ANSWER)[0][1])["message"]["usage"] == {
        "input_tokens": 10, "output_tokens": 0, "cache_read_input_tokens": 3}


def test_the_folder_keeps_only_streams_that_completed() -> None:
    events = [data for _, data in replay_events(ANSWER)]
    cut = HubFolder()
    for data in events[:-2]:
        cut.feed(data)
    assert cut.answer is None and not cut.complete
    failed = HubFolder()
    for data in events[:3]:
        failed.feed(data)
    failed.feed(b'{"type":"error","error":{"type":"overloaded_error","message":"x"}}')
    for data in events[3:]:
        failed.feed(data)
    assert failed.answer is None
    garbage = HubFolder()
    garbage.feed(b"{not json")
    assert garbage.failed and garbage.answer is None


def test_the_key_leaves_out_stream_and_per_request_fields_and_refuses_stored_conversations() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    key = cache_key("r", "up/m", "alice", "m", body)
    assert key is not None and len(key) == 64
    noisy = {**body, "stream": True, "stream_options": {"include_usage": True}, "metadata": {"user_id": "u1"},
             "user": "u", "store": True, "prompt_cache_key": "p", "safety_identifier": "s"}
    assert cache_key("r", "up/m", "alice", "m", dict(reversed(list(noisy.items())))) == key
    assert cache_key("r", "up/m", "bob", "m", body) != key
    assert cache_key("r2", "up/m", "alice", "m", body) != key
    assert cache_key("r", "up/n", "alice", "m", body) != key
    assert cache_key("r", "up/m", "alice", "other", body) != key  # the model may be in the URL only
    assert cache_key("r", "up/m", "alice", "m", {**body, "max_tokens": 6}) != key
    assert cache_key("r", "up/m", "alice", "m", {**body, "previous_response_id": "resp_1"}) is None
    assert cache_key("r", "up/m", "alice", "m", {**body, "n": 2}) is None


def test_cache_control_directives() -> None:
    assert directive({}) is None and directive({"cache-control": "max-age=0"}) is None
    assert directive({"cache-control": "No-Cache"}) == "no-cache"
    assert directive({"cache-control": "no-cache, no-store"}) == "no-store"


# --- through the app -----------------------------------------------------------------------------


@pytest.mark.parametrize(("protocol", "model"), PAIRS)
async def test_unary_miss_then_hit_asks_the_upstream_once(
        router: tuple[str, RouterState], upstream: Upstream, protocol: str, model: str) -> None:
    base, state = router
    text = unique()
    first = await ask(base, protocol, model, text)
    assert first.status_code == 200, first.text
    assert first.headers["x-router-cache"] == "miss"
    second = await ask(base, protocol, model, text)
    assert second.status_code == 200, second.text
    assert second.headers["x-router-cache"] == "hit"
    assert len(upstream.calls) == 1
    live, hit = first.json(), second.json()
    if (protocol, model) not in PASSTHROUGH:
        # Converted (or the hub's own protocol): the hit is what the pair makes of the hub answer,
        # as the live answer was.
        assert without_ids(hit) == without_ids(live)
    else:
        # Passthrough: the hit is the hub answer converted to the client's protocol; what the
        # client reads (text, stop) is the same.
        assert text_of(protocol, hit) == text_of(protocol, live)
    assert hit.get("id") != live.get("id") or protocol == "gemini"
    metrics = state.metrics.registry
    route = {"m-anth": "anth", "m-chat": "chat", "m-resp": "resp", "m-gem": "gem"}[model]
    assert metrics.get_sample_value("router_cache_hits_total", {"route": route}) == 1
    assert metrics.get_sample_value("router_cache_misses_total", {"route": route}) == 1
    assert (metrics.get_sample_value("router_cache_bytes") or 0) > 0


def text_of(protocol: str, answer: dict[str, Any]) -> Any:
    if protocol == "openai":
        choice = answer["choices"][0]
        return choice["message"]["content"], choice["finish_reason"]
    if protocol == "responses":
        return [part.get("text") for item in answer["output"] if item["type"] == "message" for part in item["content"]]
    if protocol == "gemini":
        candidate = answer["candidates"][0]
        return [part.get("text") for part in candidate["content"]["parts"]], candidate.get("finishReason")
    return answer["content"], answer["stop_reason"]


@pytest.mark.parametrize(("protocol", "model"), PAIRS)
async def test_streamed_miss_then_replayed_hit_folds_to_the_live_stream(
        router: tuple[str, RouterState], upstream: Upstream, protocol: str, model: str) -> None:
    base, _ = router
    text = unique()
    live = await ask(base, protocol, model, text, stream=True)
    assert live.status_code == 200, live.text
    assert live.headers["x-router-cache"] == "miss"
    replayed = await ask(base, protocol, model, text, stream=True)
    assert replayed.status_code == 200 and replayed.headers["x-router-cache"] == "hit", replayed.text
    assert len(upstream.calls) == 1
    if (protocol, model) not in PASSTHROUGH:
        assert folded(protocol, replayed.content) == folded(protocol, live.content)
    else:  # the hit is the hub answer in the client's protocol: what the client reads is the same
        assert text_of(protocol, folded_whole(protocol, replayed.content)) == text_of(
            protocol, folded_whole(protocol, live.content))
    # A streamed answer serves a unary request too (and the other way round): one entry per request.
    unary = await ask(base, protocol, model, text)
    assert unary.headers["x-router-cache"] == "hit" and len(upstream.calls) == 1


def folded_whole(protocol: str, body: bytes) -> dict[str, Any]:
    if protocol == "responses":
        return next(data["response"] for name, data in parse_events(body) if name == "response.completed")
    if protocol == "openai":
        return msgspec.to_builtins(fold_openai(body))  # type: ignore[no-any-return]
    text, finish = folded(protocol, body)
    return {"candidates": [{"content": {"parts": [{"text": text}]}, "finishReason": finish[-1]}]}


async def test_the_official_sdks_read_a_replayed_stream_as_the_live_one(
        router: tuple[str, RouterState], upstream: Upstream) -> None:
    base, _ = router
    ant = anthropic.AsyncAnthropic(base_url=base, api_key=ALICE, max_retries=0)
    oai = openai.AsyncOpenAI(base_url=f"{base}/v1", api_key=ALICE, max_retries=0)
    messages: list[Any] = [{"role": "user", "content": "think about the weather, use get_weather"}]
    tools: list[Any] = [{"name": "get_weather", "description": "w", "input_schema": {
        "type": "object", "properties": {"city": {"type": "string"}}}}]
    finals = []
    for _ in range(2):
        async with ant.messages.stream(model="m-anth", max_tokens=200, messages=messages, tools=tools) as stream:
            finals.append(await stream.get_final_message())
    assert len(upstream.calls) == 1
    live, hit = (without_ids(message.model_dump()) for message in finals)
    assert hit == live and any(block["type"] == "tool_use" for block in live["content"])
    chat_tools: list[Any] = [{"type": "function", "function": {
        "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    completions = []
    for _ in range(2):
        async with oai.chat.completions.stream(model="m-anth", messages=messages, tools=chat_tools) as chat:
            completions.append(await chat.get_final_completion())
    assert len(upstream.calls) == 2
    live_choice, hit_choice = (without_ids(completion.choices[0].model_dump()) for completion in completions)
    assert hit_choice == live_choice
    await ant.close()
    await oai.close()


async def test_the_same_upstream_request_from_two_protocols_shares_an_entry(
        router: tuple[str, RouterState], upstream: Upstream) -> None:
    """Anthropic passthrough and OpenAI Chat converted to Anthropic make one upstream request
    when they ask the same: the second protocol is answered from the first one's entry."""
    base, _ = router
    anthropic_first = await ask(base, "anthropic", "m-anth", "same question", stream=False)
    path, body = chat_request("m-anth", "same question", False)
    body["max_tokens"] = 100
    async with httpx.AsyncClient(base_url=base) as client:
        chat = await client.post(path, json=body, headers={"authorization": f"Bearer {ALICE}"})
    assert anthropic_first.headers["x-router-cache"] == "miss"
    sent = [request for _, request in upstream.calls]
    if chat.headers["x-router-cache"] == "hit":
        assert len(sent) == 1
    else:  # the converter adds what the client did not send: say so if this ever differs
        pytest.fail(f"converted request differs from the passthrough one: {sent}")


async def test_bypass_headers(router: tuple[str, RouterState], upstream: Upstream) -> None:
    base, _ = router
    text = unique()
    refreshed = await ask(base, "anthropic", "m-anth", text, headers={"cache-control": "no-cache"})
    assert refreshed.headers["x-router-cache"] == "bypass"
    assert (await ask(base, "anthropic", "m-anth", text)).headers["x-router-cache"] == "hit"  # no-cache stored it
    assert (await ask(base, "anthropic", "m-anth", text, headers={"cache-control": "no-cache"})
            ).headers["x-router-cache"] == "bypass"
    assert len(upstream.calls) == 2
    other = unique()
    assert (await ask(base, "anthropic", "m-anth", other, headers={"cache-control": "no-store"})
            ).headers["x-router-cache"] == "bypass"
    assert (await ask(base, "anthropic", "m-anth", other)).headers["x-router-cache"] == "miss"  # nothing stored
    assert len(upstream.calls) == 4
    assert "x-router-cache" not in (await ask(base, "anthropic", "m-uncached", other)).headers


async def test_scope_key_keeps_keys_apart_and_global_shares(router: tuple[str, RouterState], upstream: Upstream) -> None:
    base, _ = router
    text = unique()
    assert (await ask(base, "anthropic", "m-anth", text, key=ALICE)).headers["x-router-cache"] == "miss"
    assert (await ask(base, "anthropic", "m-anth", text, key=BOB)).headers["x-router-cache"] == "miss"
    assert (await ask(base, "anthropic", "m-anth", text, key=BOB)).headers["x-router-cache"] == "hit"
    assert (await ask(base, "anthropic", "m-global", text, key=ALICE)).headers["x-router-cache"] == "miss"
    assert (await ask(base, "anthropic", "m-global", text, key=BOB)).headers["x-router-cache"] == "hit"
    assert len(upstream.calls) == 3


async def test_ttl_expiry(router: tuple[str, RouterState], upstream: Upstream) -> None:
    base, _ = router
    text = unique()
    await ask(base, "anthropic", "m-short", text)
    assert (await ask(base, "anthropic", "m-short", text)).headers["x-router-cache"] == "hit"
    await asyncio.sleep(1.1)
    assert (await ask(base, "anthropic", "m-short", text)).headers["x-router-cache"] == "miss"
    assert len(upstream.calls) == 2


@pytest.mark.parametrize("stream", [False, True])
async def test_errors_and_cut_streams_are_never_cached(
        router: tuple[str, RouterState], upstream: Upstream, stream: bool) -> None:
    base, _ = router
    for _ in range(2):
        failed = await ask(base, "anthropic", "m-anth", "please fail", stream=stream)
        assert failed.status_code >= 500 and failed.headers.get("x-router-cache") != "hit"
    assert len(upstream.calls) == 2
    if stream:
        for protocol, model in (("anthropic", "m-anth"), ("openai", "m-chat"), ("openai", "m-anth"),
                                ("responses", "m-resp"), ("gemini", "m-gem")):
            before = len(upstream.calls)
            for _ in range(2):
                cut = await ask(base, protocol, model, "cut it", stream=True)
                assert cut.headers.get("x-router-cache") == "miss", (protocol, model)
            assert len(upstream.calls) == before + 2, (protocol, model)


@pytest.mark.parametrize("stream", [False, True])
async def test_max_tokens_stops_are_cached_only_with_keep_truncated(
        router: tuple[str, RouterState], upstream: Upstream, stream: bool) -> None:
    base, _ = router
    for _ in range(2):
        answer = await ask(base, "anthropic", "m-anth", "a long one", stream=stream)
        assert answer.headers["x-router-cache"] == "miss"
    assert len(upstream.calls) == 2
    await ask(base, "anthropic", "m-truncated", "a long one", stream=stream)
    kept = await ask(base, "anthropic", "m-truncated", "a long one", stream=stream)
    assert kept.headers["x-router-cache"] == "hit" and len(upstream.calls) == 3
    assert b"max_tokens" in kept.content


async def test_a_hit_costs_nothing_in_the_ledger(router: tuple[str, RouterState], upstream: Upstream) -> None:
    base, state = router
    entries: list[Any] = []
    state.usage.sinks = (*state.usage.sinks, entries.append)
    text = unique()
    await ask(base, "anthropic", "m-anth", text)
    await ask(base, "anthropic", "m-anth", text)
    await ask(base, "anthropic", "m-anth", text, stream=True)
    for _ in range(50):
        state.settle_usage()
        if len(entries) == 3:
            break
        await asyncio.sleep(0.02)
    assert [entry.input_tokens + entry.output_tokens > 0 for entry in entries] == [True, False, False]
    assert all(entry.cost_usd == 0 for entry in entries[1:])
    # counted as hits: on the entries, in the ledger's totals and the usage counter
    assert [entry.cache_hit for entry in entries] == [False, True, True]
    totals = (await state.ledger.totals("route", 0))["anth"]
    state.metrics.flush()
    assert (totals.requests, totals.cache_hits, totals.input_tokens, totals.cost_usd) == (
        3, 2, entries[0].input_tokens, entries[0].cost_usd)
    hits = state.metrics.registry.get_sample_value(
        "router_usage_cache_hits_total", {"key": "alice", "route": "anth", "target": "anth/claude-up"})
    assert hits == 2


async def test_the_memory_bounds_hold_under_a_flood_of_distinct_requests(upstream: Upstream) -> None:
    state = make_state(upstream, routes(cache_section="[cache]\nmax-entries = 50\nmax-bytes = 40000"))
    assert state.cache is not None
    store = state.cache.store
    assert isinstance(store, MemoryStore)
    headers = {"authorization": f"Bearer {ALICE}"}
    semaphore = asyncio.Semaphore(16)
    peak_entries = peak_bytes = 0

    async def one(client: httpx.AsyncClient, number: int) -> None:
        nonlocal peak_entries, peak_bytes
        path, body = anthropic_request("m-anth", f"flood {number}", False)
        async with semaphore:
            response = await client.post(path, json=body, headers=headers)
        assert response.status_code == 200 and response.headers["x-router-cache"] == "miss"
        peak_entries, peak_bytes = max(peak_entries, len(store)), max(peak_bytes, store.total_bytes)

    async with serving_in_process(create_app(state)) as port, \
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        await asyncio.gather(*(one(client, number) for number in range(2000)))
    assert len(upstream.calls) == 2000
    assert peak_entries <= 50 and peak_bytes <= 40000
    assert len(store) == 50 or store.total_bytes > 40000 - 2000
    registry = state.metrics.registry
    assert registry.get_sample_value("router_cache_evictions_total") == store.stats.evicted > 1900
    assert registry.get_sample_value("router_cache_bytes") == store.total_bytes
    await state.aclose()


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


async def test_redis_is_shared_by_two_replicas(redis_url: str) -> None:
    limits = '[limits]\nbackend = "redis"\nredis-url = "env:REDIS_URL"'
    environ = {"REDIS_URL": redis_url}
    first_upstream, second_upstream = Upstream(), Upstream()
    first = make_state(first_upstream, routes(limits), environ)
    second = make_state(second_upstream, routes(limits), environ)
    assert first.cache is not None and type(first.cache.store).__name__ == "RedisStore"
    text = unique()
    async with serving_in_process(create_app(first)) as one, serving_in_process(create_app(second)) as two:
        miss = await ask(f"http://127.0.0.1:{one}", "openai", "m-anth", text)
        hit = await ask(f"http://127.0.0.1:{two}", "openai", "m-anth", text, stream=True)
    assert miss.headers["x-router-cache"] == "miss" and hit.headers["x-router-cache"] == "hit"
    assert (len(first_upstream.calls), len(second_upstream.calls)) == (1, 0)
    assert fold_openai(hit.content).choices[0].message.content == miss.json()["choices"][0]["message"]["content"]
    from redis import Redis

    keys = Redis.from_url(redis_url).keys("router:cache:*")
    assert len(keys) == 1 and text.encode() not in keys[0]  # named by a digest, never the prompt
    await first.aclose()
    await second.aclose()


async def test_a_table_without_cache_opens_no_cache(upstream: Upstream) -> None:
    text = routes().replace("cache = {", "# cache = {")
    state = make_state(upstream, text)
    assert state.cache is None
    await state.aclose()


async def test_a_reload_keeps_the_memory_cache_and_a_table_without_cache_closes_it(upstream: Upstream) -> None:
    state = make_state(upstream)
    assert state.cache is not None
    store = state.cache.store
    await store.put("entry", b"{}", 60)
    bounded = load_config_text(routes(cache_section="[cache]\nmax-entries = 5"), filename="routes.toml",
                               environ={"ANTH_KEY": "sk-ant-upstream-0123456789", "GEM_KEY": "gem-upstream-0123456789"})
    state.install(build_table(bounded))
    assert state.cache is not None and state.cache.store is store and store.settings.max_entries == 5
    assert await store.get("entry") == b"{}"
    without = load_config_text(routes().replace("cache = {", "# cache = {"), filename="routes.toml",
                               environ={"ANTH_KEY": "sk-ant-upstream-0123456789", "GEM_KEY": "gem-upstream-0123456789"})
    state.install(build_table(without))
    assert state.cache is None
    await state.aclose()
    assert isinstance(store, MemoryStore) and len(store) == 0  # closed: its answers are gone
