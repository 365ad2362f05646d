"""Azure OpenAI (`kind = "azure"`), the OpenAI upstream side's dialect (router.spokes.openai.azure):
its two endpoints, the `api-key` header (none with entra), the content filter's 400 and
`retry-after-ms` through the upstream client, and what Azure adds to answers (its streams are
recorded cases: tests/cases/streams/openai_to_anthropic/azure_*.sse)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import msgspec
import pytest

from router.config.schema import AzureUpstream, Entra, OpenAIUpstream, Upstream
from router.core.errors import UpstreamStatusError
from router.routing.compose import build_converters
from router.spokes.openai import azure
from router.spokes.openai.wire import ChatCompletion
from router.spokes.registry import spoke_for_kind
from router.spokes.spoke import UpstreamSide
from router.upstream.client import UpstreamClient, make_client
from tests.support.streamcases import CTX

RESOURCE = "https://res.openai.azure.com"
SIDE = spoke_for_kind("azure").upstream
FILTERED = {
    "error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        "type": None, "param": "prompt", "code": "content_filter", "status": 400,
        "innererror": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": {
                "hate": {"filtered": True, "severity": "high"},
                "jailbreak": {"filtered": True, "detected": True},
                "self_harm": {"filtered": False, "severity": "safe"},
                "sexual": {"filtered": False, "severity": "safe"},
                "violence": {"filtered": True, "severity": "medium"},
                "custom_blocklists": {"filtered": True, "details": [{"filtered": True, "id": "Words"},
                                                                   {"filtered": False, "id": "Other"}]},
            },
        },
    }
}


def _side(upstream: Upstream) -> UpstreamSide:
    return SIDE.for_upstream(upstream)


def _azure(**settings: Any) -> AzureUpstream:
    return AzureUpstream(**{"base_url": RESOURCE, "api_key": "env:AZ", **settings})


# --- endpoints ----------------------------------------------------------------------------------

@pytest.mark.parametrize("base", [RESOURCE, RESOURCE + "/", RESOURCE + "/openai", RESOURCE + "/openai/"])
def test_with_an_api_version_the_deployment_names_the_model(base: str) -> None:
    side = _side(_azure(api_version="2024-10-21"))
    assert side.model_in_url
    assert side.url(base, "gpt-4o-mini", True) == (
        f"{RESOURCE}/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21")


def test_a_deployment_name_cannot_leave_the_path() -> None:
    url = _side(_azure(api_version="2024-10-21")).url(RESOURCE, "../../x?api-version=1#", False)
    assert url == f"{RESOURCE}/openai/deployments/..%2F..%2Fx%3Fapi-version%3D1%23/chat/completions?api-version=2024-10-21"


@pytest.mark.parametrize("base", [RESOURCE, RESOURCE + "/openai/v1", RESOURCE + "/openai/v1/"])
def test_without_one_the_v1_api_with_the_model_in_the_body(base: str) -> None:
    side = _side(_azure())
    assert not side.model_in_url
    assert side.url(base, "ignored", True) == f"{RESOURCE}/openai/v1/chat/completions"


def test_openai_upstreams_keep_their_side() -> None:
    upstream = OpenAIUpstream(base_url="https://api.openai.com/v1")
    assert _side(upstream) is SIDE
    assert _side(upstream).url("https://api.openai.com/v1", "", False) == "https://api.openai.com/v1/chat/completions"


def test_the_side_converts_as_the_openai_side_does() -> None:
    side = _side(_azure(api_version="2024-10-21"))
    assert side.table is SIDE.table and side.stream_to_hub is SIDE.stream_to_hub
    assert side.answer_decoder is SIDE.answer_decoder and side.fault is azure.fault


# --- headers ------------------------------------------------------------------------------------

def test_the_key_goes_in_api_key_never_as_a_bearer_token() -> None:
    headers = _side(_azure()).headers(_azure(headers={"x-ms-useragent": "router"}), "secret")
    assert headers["api-key"] == "secret" and headers["x-ms-useragent"] == "router"
    assert "authorization" not in headers


def test_with_entra_no_key_header() -> None:
    upstream = AzureUpstream(base_url=RESOURCE, entra=Entra())
    headers = _side(upstream).headers(upstream, "stray")
    assert "api-key" not in headers and "authorization" not in headers


# --- error answers ------------------------------------------------------------------------------

def test_the_content_filter_400_names_the_filtered_categories() -> None:
    fault = azure.fault(400, {}, msgspec.json.encode(FILTERED))
    assert fault is not None and fault.status is None and fault.retry_after is None
    assert fault.detail == (
        "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. "
        "(filtered: hate (high), jailbreak, violence (medium), custom_blocklists (Words))")


def test_the_specs_spelling_and_a_list_of_blocklists_are_read_too() -> None:
    body = {"error": {"code": "content_filter", "message": "filtered", "innererror": {
        "content_filter_results": {"sexual": {"filtered": True, "severity": "low"},
                                   "custom_blocklists": [{"filtered": True, "id": "A"}]}}}}
    fault = azure.fault(400, {}, msgspec.json.encode(body))
    assert fault is not None and fault.detail == "filtered (filtered: sexual (low), custom_blocklists (A))"


def test_a_content_filter_error_without_results_keeps_its_message() -> None:
    body = {"error": {"code": "content_filter", "message": "The response was filtered."}}
    fault = azure.fault(400, {}, msgspec.json.encode(body))
    assert fault is not None and fault.detail == "The response was filtered."


@pytest.mark.parametrize("raw", [b"", b"<html>", b'{"error": {"code": "invalid_value", "message": "x"}}', b"[1]"])
def test_other_400s_say_nothing_more(raw: bytes) -> None:
    assert azure.fault(400, {}, raw) is None


@pytest.mark.parametrize(("headers", "expected"), [
    ({"retry-after-ms": "1500"}, "2"),
    ({"retry-after-ms": "20"}, "1"),
    ({"retry-after-ms": "6000.0"}, "6"),
    ({"retry-after-ms": "soon"}, None),
    ({"retry-after-ms": "-5"}, None),
    ({"retry-after": "3", "retry-after-ms": "3000"}, None),  # the client reads retry-after itself
    ({}, None),
])
def test_retry_after_ms_counts_only_without_retry_after(headers: dict[str, str], expected: str | None) -> None:
    fault = azure.fault(429, headers, b'{"error": {"code": "429", "message": "Rate limit"}}')
    assert (fault.retry_after if fault is not None else None) == expected


# --- through the upstream client ----------------------------------------------------------------

def _client(upstream: AzureUpstream, answer: Callable[[httpx.Request], httpx.Response],
            seen: list[httpx.Request]) -> UpstreamClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    return make_client("azure-east", upstream, "secret-key", transport=lambda _n, _u: httpx.MockTransport(handler))


async def test_a_deployment_call_goes_to_its_url_with_the_key() -> None:
    seen: list[httpx.Request] = []
    completion = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}
    client = _client(_azure(api_version="2025-04-01-preview"), lambda _r: httpx.Response(200, json=completion), seen)
    assert client.url_for is not None
    body = await client.call(b"{}", client.headers, client.url_for("gpt-4o", False))
    assert msgspec.json.decode(body) == completion
    [request] = seen
    assert str(request.url) == f"{RESOURCE}/openai/deployments/gpt-4o/chat/completions?api-version=2025-04-01-preview"
    assert request.headers["api-key"] == "secret-key" and "authorization" not in request.headers


async def test_the_client_gets_the_filtered_categories_and_no_key() -> None:
    seen: list[httpx.Request] = []
    client = _client(_azure(), lambda _r: httpx.Response(400, json=FILTERED), seen)
    with pytest.raises(UpstreamStatusError) as raised:
        await client.call(b"{}")
    error = raised.value
    assert error.status == 400 and str(seen[0].url) == f"{RESOURCE}/openai/v1/chat/completions"
    assert error.message.startswith("upstream 'azure-east' answered 400: The response was filtered")
    assert "(filtered: hate (high), jailbreak, violence (medium), custom_blocklists (Words))" in error.message


async def test_a_429_with_only_retry_after_ms_is_retried_after_it() -> None:
    seen: list[httpx.Request] = []
    answer = httpx.Response(429, headers={"retry-after-ms": "2500"}, json={"error": {"code": "429", "message": "slow down"}})
    client = _client(_azure(), lambda _r: answer, seen)
    with pytest.raises(UpstreamStatusError) as raised:
        await client.call(b"{}")
    assert raised.value.status == 429 and raised.value.headers["retry-after"] == "3"
    assert not raised.value.retry_after_default


# --- answers ------------------------------------------------------------------------------------

def test_a_filtered_answer_is_a_refusal() -> None:
    """Azure's unary answer: prompt_filter_results, content_filter_results in the choice, and
    finish_reason content_filter; a choice filtered whole may come without a message."""
    answer = {
        "id": "chatcmpl-az", "model": "gpt-4o-2024-11-20", "object": "chat.completion", "created": 0,
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
        "choices": [{"index": 0, "finish_reason": "content_filter",
                     "content_filter_results": {"violence": {"filtered": True, "severity": "medium"}}}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
    }
    completion = msgspec.json.decode(msgspec.json.encode(answer), type=ChatCompletion)
    response = build_converters("anthropic__openai", CTX).response
    assert response is not None
    hub = response.function(completion, CTX)
    assert hub["stop_reason"] == "refusal" and hub["content"] == []


def test_our_credentials_refused_say_what_to_check() -> None:
    """A 401 or 403 is the router's credentials, not the client's (a 502): the hint names the fix."""
    unauthorized = azure.fault(401, {}, b'{"error": {"code": "401", "message": "Access denied due to invalid subscription key."}}')
    forbidden = azure.fault(403, {}, b'{"error": {"code": "PermissionDenied", "message": "Principal does not have access."}}')
    assert unauthorized is not None and "api-key" in (unauthorized.hint or "")
    assert forbidden is not None and "Cognitive Services OpenAI User" in (forbidden.hint or "")
    assert azure.fault(404, {}, b"{}") is None
