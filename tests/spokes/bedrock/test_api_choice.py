"""Which Bedrock API a route target uses (router.spokes.bedrock.api), and what InvokeModel's
dialect of the Anthropic protocol changes (router.spokes.bedrock.invoke, endpoint)."""

from __future__ import annotations

import pytest

from router.config.schema import BedrockUpstream, Guardrail, OpenAIUpstream
from router.config.target import Capabilities, TargetContext
from router.spokes.bedrock.api import is_anthropic_model, speaks
from router.spokes.bedrock.endpoint import converse_url, headers, invoke_url
from router.spokes.bedrock.invoke import guardrail_headers, invoke_body

BASE = "https://bedrock-runtime.us-east-1.amazonaws.com"


@pytest.mark.parametrize("model", [
    "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "global.anthropic.claude-haiku-4-5-20251001-v1:0",
    "apac.anthropic.claude-3-5-sonnet-20240620-v1:0",
    "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-1-20250805-v1:0",
    "us.anthropic.claude-*",
])
def test_anthropic_models_are_recognised_in_every_spelling(model: str) -> None:
    assert is_anthropic_model(model)


@pytest.mark.parametrize("model", [
    "amazon.nova-pro-v1:0", "us.meta.llama3-3-70b-instruct-v1:0", "us.deepseek.r1-v1:0", "openai.gpt-oss-120b-1:0",
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3", "*", "claude-sonnet-4-5",
])
def test_other_models_are_not(model: str) -> None:
    assert not is_anthropic_model(model)


CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def test_auto_takes_invoke_model_only_for_anthropic_clients_on_claude() -> None:
    auto = BedrockUpstream(region="us-east-1")
    assert speaks(auto, "anthropic", (CLAUDE,)) == "anthropic"
    assert speaks(auto, "openai", (CLAUDE,)) is None
    assert speaks(auto, "anthropic", ("amazon.nova-pro-v1:0",)) is None
    # a target without its own model: the route's patterns decide, all of them Claude or Converse
    assert speaks(auto, "anthropic", ("us.anthropic.claude-*", "anthropic.claude-*")) == "anthropic"
    assert speaks(auto, "anthropic", ("us.anthropic.claude-*", "*")) is None
    assert speaks(auto, "anthropic", ()) is None


def test_api_setting_wins_over_auto() -> None:
    assert speaks(BedrockUpstream(region="us-east-1", api="converse"), "anthropic", (CLAUDE,)) is None
    assert speaks(BedrockUpstream(region="us-east-1", api="invoke"), "openai", ("anything",)) == "anthropic"
    assert speaks(OpenAIUpstream(base_url="http://x"), "anthropic", (CLAUDE,)) is None


def test_model_ids_are_one_escaped_path_segment() -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc"
    assert converse_url(BASE, arn, False) == (
        f"{BASE}/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc/converse")
    assert converse_url(BASE + "/", CLAUDE, True) == f"{BASE}/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
    assert invoke_url(BASE, "../../x?y", True) == f"{BASE}/model/..%2F..%2Fx%3Fy/invoke-with-response-stream"
    assert invoke_url(BASE, CLAUDE, False).endswith("/invoke")


def test_an_api_key_is_a_bearer_token_and_without_one_nothing_is_added() -> None:
    upstream = BedrockUpstream(region="us-east-1", headers={"x-team": "a"})
    assert headers(upstream, "k-123")["authorization"] == "Bearer k-123"
    assert "authorization" not in headers(upstream, None)
    assert headers(upstream, None)["x-team"] == "a"


def test_invoke_body_moves_model_stream_and_betas_where_bedrock_wants_them() -> None:
    body = {"model": CLAUDE, "stream": True, "max_tokens": 5, "messages": []}
    edited = invoke_body(body, {"anthropic-beta": "interleaved-thinking-2025-05-14, context-1m-2025-08-07"})
    assert edited == {"max_tokens": 5, "messages": [], "anthropic_version": "bedrock-2023-05-31",
                      "anthropic_beta": ["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"]}
    # a route op's own version and betas stay
    kept = invoke_body({"anthropic_version": "v", "anthropic_beta": ["a"]}, {"anthropic-beta": "b"})
    assert kept == {"anthropic_version": "v", "anthropic_beta": ["a"]}


def test_invoke_model_takes_the_guardrail_in_headers() -> None:
    ctx = TargetContext("r", "bedrock", CLAUDE, Capabilities(),
                        guardrail=Guardrail(id="gr-1", version="3", trace="enabled_full"))
    assert guardrail_headers(ctx) == {"x-amzn-bedrock-guardrailidentifier": "gr-1",
                                      "x-amzn-bedrock-guardrailversion": "3", "x-amzn-bedrock-trace": "ENABLED_FULL"}
    assert guardrail_headers(TargetContext("r", "bedrock", CLAUDE, Capabilities())) == {}
