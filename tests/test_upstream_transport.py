"""Which transport an upstream gets: our own HTTP/1.1 pool, called natively, unless the
environment names a proxy for it (then httpx's transport, which speaks to proxies)."""

from __future__ import annotations

import httpx
import msgspec
import pytest

from router.config.schema import (
    AnthropicUpstream,
    MockUpstream,
    OpenAIUpstream,
    Upstream,
)
from router.upstream.client import default_transport, environment_proxy, make_client
from router.upstream.http1 import Http1Transport
from router.upstream.mock import MockTransport

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def openai(base_url: str) -> Upstream:
    return msgspec.convert({"kind": "openai", "base-url": base_url}, OpenAIUpstream)


async def test_a_real_upstream_gets_our_pool_and_the_client_calls_it_natively() -> None:
    client = make_client("deepseek", openai("https://api.deepseek.com/v1"), "sk-test")
    try:
        assert isinstance(client.transport, Http1Transport)
        assert client.direct is client.transport.pool
        assert client.direct.serves(httpx.URL("https://api.deepseek.com/v1/chat/completions"))
    finally:
        await client.http.aclose()


def test_the_mock_upstream_stays_in_process() -> None:
    assert isinstance(default_transport("m", MockUpstream()), MockTransport)


def test_a_proxy_in_the_environment_sends_the_upstream_through_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    upstream = msgspec.convert({"kind": "anthropic", "base-url": "https://api.anthropic.com"}, AnthropicUpstream)
    assert environment_proxy(httpx.URL("https://api.anthropic.com/v1/messages")) == "http://proxy.internal:3128"
    assert isinstance(default_transport("anthropic", upstream), httpx.AsyncHTTPTransport)


def test_no_proxy_exempts_a_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,.corp.example")
    assert environment_proxy(httpx.URL("https://llm.corp.example/v1/chat/completions")) is None
    assert isinstance(default_transport("vllm", openai("https://llm.corp.example/v1")), Http1Transport)


def test_a_proxy_for_one_scheme_does_not_catch_the_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert environment_proxy(httpx.URL("http://127.0.0.1:8000/v1/chat/completions")) is None
