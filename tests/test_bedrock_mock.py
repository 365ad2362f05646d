"""The mock Bedrock upstream (tests/support/bedrock_mock.py) authenticates and answers as Bedrock
Runtime does, checked with the official clients: botocore's own bedrock-runtime client (its
signer, its request serializer, its response and event-stream parsers) and the `anthropic` SDK's
AnthropicBedrock client. The end-to-end tests can then blame the router, not the mock.

Requests signed here use botocore's SigV4Auth.add_auth and are sent with httpx, so a test can
tamper with what is sent after signing."""

from __future__ import annotations

import json
import sys
import time
import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anthropic
import botocore.auth
import botocore.session
import botocore.utils
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer, EventStreamMessage
from botocore.exceptions import ClientError, EventStreamError
from botocore.loaders import Loader
from botocore.model import ServiceModel, Shape
from botocore.parsers import EventStreamJSONParser

from tests.support import bedrock_mock
from tests.support.bedrock_mock import (
    ACCESS_KEY,
    API_KEY,
    REGION,
    SECRET_KEY,
    SESSION_TOKEN,
    STATIC_ACCESS_KEY,
    STATIC_SECRET_KEY,
    add_credentials,
    bedrock_upstream,
    recorded,
)
from tests.support.sigv4_check import KnownCredentials, ReceivedRequest, verify

Json = dict[str, Any]
ARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
PROFILE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
HELLO = {"messages": [{"role": "user", "content": [{"text": "hello there"}]}]}
WEATHER = {"toolSpec": {"name": "get_weather", "inputSchema": {"json": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}}
THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with bedrock_upstream() as url:
        yield url


@pytest.fixture(scope="module")
def runtime(upstream: str) -> BaseClient:
    """botocore's own Bedrock Runtime client, pointed at the mock: no retries, to see each answer."""
    session = botocore.session.get_session()
    return session.create_client("bedrock-runtime", region_name=REGION, endpoint_url=upstream,
                                 aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                                 aws_session_token=SESSION_TOKEN, config=Config(retries={"max_attempts": 1}))


def _quoted(model: str) -> str:
    """A model id as a path segment, the way botocore's serializer writes it."""
    return str(botocore.utils.percent_encode(model, safe=""))


def _signed(url: str, body: bytes, headers: dict[str, str] | None = None, access_key: str = ACCESS_KEY,
            secret_key: str = SECRET_KEY, token: str | None = SESSION_TOKEN, region: str = REGION,
            service: str = "bedrock") -> dict[str, str]:
    """The headers botocore's signer adds to a POST of `body` to `url` (Host is httpx's to send:
    the signer signed the one it derived from the URL, the same value)."""
    request = AWSRequest(method="POST", url=url, data=body,
                         headers={"content-type": "application/json", **(headers or {})})
    SigV4Auth(Credentials(access_key, secret_key, token), service, region).add_auth(request)
    return dict(request.headers.items())


def _post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url, content=body, headers=headers, timeout=10.0)


def _converse_url(upstream: str, model: str = PROFILE, action: str = "converse") -> str:
    return f"{upstream}/model/{_quoted(model)}/{action}"


def _hello() -> bytes:
    return json.dumps(HELLO).encode()


# --- the signature ------------------------------------------------------------------------------

def test_a_good_signature_is_answered(upstream: str) -> None:
    url = _converse_url(upstream)
    answer = _post(url, _hello(), _signed(url, _hello()))
    assert answer.status_code == 200, answer.text
    assert answer.json()["output"]["message"]["content"] == [{"text": "Echo: hello there"}]


def test_long_term_credentials_need_no_session_token(upstream: str) -> None:
    url = _converse_url(upstream)
    headers = _signed(url, _hello(), access_key=STATIC_ACCESS_KEY, secret_key=STATIC_SECRET_KEY, token=None)
    assert _post(url, _hello(), headers).status_code == 200


@pytest.mark.parametrize("tamper", ["body", "signed header", "path", "secret", "date"])
def test_what_was_not_signed_is_refused_as_aws_does(upstream: str, tamper: str) -> None:
    url = _converse_url(upstream)
    body = _hello()
    headers = _signed(url, body, {"x-amz-user-agent": "router/1"}, secret_key="wrong" if tamper == "secret" else SECRET_KEY)
    if tamper == "body":
        body = body.replace(b"hello", b"howdy")
    elif tamper == "signed header":
        headers["x-amz-user-agent"] = "router/2"
    elif tamper == "path":
        url = _converse_url(upstream, "us.anthropic.claude-opus-4-v1:0")
    elif tamper == "date":
        signed_at = datetime.strptime(headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        headers["X-Amz-Date"] = (signed_at + timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
    answer = _post(url, body, headers)
    assert answer.status_code == 403
    assert answer.headers["x-amzn-errortype"].startswith("InvalidSignatureException:")
    assert answer.json()["message"].startswith("The request signature we calculated does not match the signature you provided.")
    assert "The Canonical String for this request should have been" in answer.json()["message"]


def test_unsigned_headers_may_change(upstream: str) -> None:
    """What the signature does not cover (a proxy's headers, the user agent) is not checked."""
    url = _converse_url(upstream)
    headers = {**_signed(url, _hello()), "user-agent": "changed-after-signing", "x-forwarded-for": "10.0.0.1"}
    assert _post(url, _hello(), headers).status_code == 200


@pytest.mark.parametrize(("change", "error_type", "message"), [
    ({"region": "eu-west-1"}, "InvalidSignatureException", "Credential should be scoped to a valid region. "),
    ({"service": "bedrock-runtime"}, "InvalidSignatureException", "Credential should be scoped to correct service: 'bedrock'. "),
    ({"access_key": "AKIDUNKNOWN000000000"}, "UnrecognizedClientException", "The security token included in the request is invalid."),
    ({"token": None}, "UnrecognizedClientException", "The security token included in the request is invalid."),
    ({"token": "another-token"}, "UnrecognizedClientException", "The security token included in the request is invalid."),
])
def test_wrong_scope_or_identity(upstream: str, change: dict[str, Any], error_type: str, message: str) -> None:
    url = _converse_url(upstream)
    answer = _post(url, _hello(), _signed(url, _hello(), **change))
    assert (answer.status_code, answer.headers["x-amzn-errortype"].split(":")[0]) == (403, error_type)
    assert answer.json() == {"message": message}


def test_an_old_signature_has_expired(upstream: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = _converse_url(upstream)
    old = datetime.now(UTC) - timedelta(minutes=6)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: old)
    answer = _post(url, _hello(), _signed(url, _hello()))
    assert answer.status_code == 403 and answer.headers["x-amzn-errortype"].startswith("InvalidSignatureException")
    assert answer.json()["message"].startswith(f"Signature expired: {old.strftime('%Y%m%dT%H%M%SZ')} is now earlier than")


def test_expired_credentials_then_refreshed_ones(upstream: str) -> None:
    """Credentials added at run time: a token past its expiry is refused as STS's are, the fresh
    ones that replace it are accepted."""
    url = _converse_url(upstream)
    expired = KnownCredentials("ASIAROUTEREXPIRED001", "expired-secret", "expired-token", expires_at=time.time() - 1)
    fresh = KnownCredentials("ASIAROUTERFRESH00001", "fresh-secret", "fresh-token", expires_at=time.time() + 3600)
    add_credentials(upstream, expired)
    add_credentials(upstream, fresh)
    refused = _post(url, _hello(), _signed(url, _hello(), access_key=expired.access_key, secret_key=expired.secret_key,
                                           token=expired.session_token))
    assert (refused.status_code, refused.headers["x-amzn-errortype"].split(":")[0]) == (403, "ExpiredTokenException")
    accepted = _post(url, _hello(), _signed(url, _hello(), access_key=fresh.access_key, secret_key=fresh.secret_key,
                                            token=fresh.session_token))
    assert accepted.status_code == 200


def test_no_authorization_at_all(upstream: str) -> None:
    answer = _post(_converse_url(upstream), _hello(), {"content-type": "application/json"})
    assert (answer.status_code, answer.json()) == (403, {"message": "Missing Authentication Token"})
    assert answer.headers["x-amzn-errortype"].startswith("MissingAuthenticationTokenException")


def test_bedrock_api_keys(upstream: str) -> None:
    url = _converse_url(upstream)
    good = _post(url, _hello(), {"authorization": f"Bearer {API_KEY}", "content-type": "application/json"})
    assert good.status_code == 200
    bad = _post(url, _hello(), {"authorization": "Bearer ABSKnot-a-key", "content-type": "application/json"})
    assert bad.status_code == 403 and bad.headers["x-amzn-errortype"].startswith("AccessDeniedException")


def test_the_checker_alone_at_a_fixed_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """sigv4_check without a server: a request signed at a given time verifies at that time only
    (within five minutes), with the host it was signed for."""
    signed_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: signed_at)
    url = "http://bedrock.test/model/us.anthropic.claude-v1%3A0/converse"
    headers = _signed(url, b"{}")
    known = {ACCESS_KEY: KnownCredentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)}

    def received(host: str) -> ReceivedRequest:
        pairs = [("host", host), *((name.lower(), value) for name, value in headers.items())]
        return ReceivedRequest("POST", "/model/us.anthropic.claude-v1%3A0/converse", pairs, b"{}")

    assert verify(received("bedrock.test"), known, REGION, signed_at + timedelta(minutes=4)) is None
    assert verify(received("other.test"), known, REGION, signed_at) is not None
    late = verify(received("bedrock.test"), known, REGION, signed_at + timedelta(minutes=6))
    assert late is not None and late.message.startswith("Signature expired")
    early = verify(received("bedrock.test"), known, REGION, signed_at - timedelta(minutes=6))
    assert early is not None and early.message.startswith("Signature not yet current")


# --- model ids ----------------------------------------------------------------------------------

@pytest.mark.parametrize("model", [ARN, PROFILE, "anthropic.claude-3-haiku-20240307-v1:0"])
def test_model_ids_arrive_encoded_and_are_decoded(upstream: str, runtime: BaseClient, model: str) -> None:
    since = len(recorded(upstream))
    answer = runtime.converse(modelId=model, **HELLO)
    assert answer["output"]["message"]["content"] == [{"text": "Echo: hello there"}]
    call = recorded(upstream, since)[0]
    assert call["model"] == model and call["path"] == f"/model/{_quoted(model)}/converse"


def test_a_colon_left_unencoded_is_signed_as_sent(upstream: str) -> None:
    """The anthropic SDK keeps `:` in the path (quote(model, safe=":")): the signature covers the
    path as sent, whichever encoding it uses."""
    url = f"{upstream}/model/{PROFILE}/converse"
    assert _post(url, _hello(), _signed(url, _hello())).status_code == 200


def test_an_arn_scripts_failures_by_its_last_segment(runtime: BaseClient) -> None:
    with pytest.raises(ClientError) as error:
        runtime.converse(modelId="arn:aws:bedrock:us-east-1:123456789012:inference-profile/fail-429", **HELLO)
    assert error.value.response["Error"]["Code"] == "ThrottlingException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


# --- Converse -----------------------------------------------------------------------------------

def test_converse_thinking_and_its_signature_coming_back(runtime: BaseClient) -> None:
    first = runtime.converse(modelId=PROFILE, additionalModelRequestFields=THINKING, **HELLO)
    content = first["output"]["message"]["content"]
    assert content[0]["reasoningContent"]["reasoningText"]["text"] == bedrock_mock.THOUGHT
    assert content[1] == {"text": "Echo: hello there"}
    history = [*HELLO["messages"], {"role": "assistant", "content": content},
               {"role": "user", "content": [{"text": "and again"}]}]
    second = runtime.converse(modelId=PROFILE, messages=history, additionalModelRequestFields=THINKING)
    assert second["output"]["message"]["content"][-1] == {"text": "Echo: and again"}
    for signature in ({"signature": "c2lnbmF0dXJlLWZyb20tZWxzZXdoZXJl"}, {}):
        reasoning = {"reasoningContent": {"reasoningText": {"text": "thought", **signature}}}
        broken = [history[0], {"role": "assistant", "content": [reasoning, {"text": "hi"}]}, history[2]]
        with pytest.raises(ClientError) as error:
            runtime.converse(modelId=PROFILE, messages=broken)
        assert error.value.response["Error"]["Code"] == "ValidationException"
        assert "messages.1.content.0" in error.value.response["Error"]["Message"]


def test_converse_redacted_thinking_round_trips(runtime: BaseClient) -> None:
    trigger = {"messages": [{"role": "user", "content": [{"text": f"think {bedrock_mock.REDACTED_TRIGGER}"}]}]}
    content = runtime.converse(modelId=PROFILE, additionalModelRequestFields=THINKING, **trigger)["output"]["message"]["content"]
    assert isinstance(content[1]["reasoningContent"]["redactedContent"], bytes)  # a blob: base64 on the wire
    history = [*trigger["messages"], {"role": "assistant", "content": content}, {"role": "user", "content": [{"text": "ok"}]}]
    assert runtime.converse(modelId=PROFILE, messages=history)["stopReason"] == "end_turn"
    content[1]["reasoningContent"]["redactedContent"] = b"not ours"
    with pytest.raises(ClientError, match="Invalid `data` in `redacted_thinking` block"):
        runtime.converse(modelId=PROFILE, messages=history)


def test_converse_tool_round_trip(runtime: BaseClient) -> None:
    question = {"role": "user", "content": [{"text": "call get_weather please"}]}
    first = runtime.converse(modelId=PROFILE, messages=[question], toolConfig={"tools": [WEATHER]})
    assert first["stopReason"] == "tool_use"
    call = first["output"]["message"]["content"][0]["toolUse"]
    assert call["name"] == "get_weather" and call["input"] == {"city": "demo"}
    result = {"role": "user", "content": [{"toolResult": {"toolUseId": call["toolUseId"], "content": [{"text": "sunny"}]}}]}
    history = [question, first["output"]["message"], result]
    second = runtime.converse(modelId=PROFILE, messages=history, toolConfig={"tools": [WEATHER]})
    assert second["output"]["message"]["content"] == [{"text": "The tool returned: sunny"}]
    with pytest.raises(ClientError, match="The toolConfig field must be defined"):
        runtime.converse(modelId=PROFILE, messages=history)
    forced = runtime.converse(modelId=PROFILE, messages=[{"role": "user", "content": [{"text": "hi"}]}],
                              toolConfig={"tools": [WEATHER], "toolChoice": {"tool": {"name": "get_weather"}}})
    assert forced["stopReason"] == "tool_use"


@pytest.mark.parametrize(("messages", "message"), [
    ([{"role": "user", "content": [{"text": " "}]}], "The text field in the ContentBlock object at messages.0.content.0 is blank"),
    ([{"role": "user", "content": [{"text": "a"}]}, {"role": "user", "content": [{"text": "b"}]}],
     "A conversation must alternate between user and assistant roles"),
    ([{"role": "assistant", "content": [{"text": "a"}]}], "A conversation must start with a user message"),
    ([{"role": "user", "content": []}], "The content field in the Message object at messages.0 is empty"),
])
def test_converse_rules(runtime: BaseClient, messages: list[Json], message: str) -> None:
    with pytest.raises(ClientError) as error:
        runtime.converse(modelId=PROFILE, messages=messages)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert error.value.response["Error"]["Message"].startswith(message)


def test_converse_tool_results_answer_the_ids_asked(runtime: BaseClient) -> None:
    asked = {"role": "assistant", "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {}}}]}

    def answered(*ids: str) -> list[Json]:
        results = [{"toolResult": {"toolUseId": id_, "content": [{"text": "sunny"}]}} for id_ in ids]
        return [{"role": "user", "content": [{"text": "weather?"}]}, asked, {"role": "user", "content": results}]
    assert runtime.converse(modelId=PROFILE, messages=answered("tooluse_1"), toolConfig={"tools": [WEATHER]})
    with pytest.raises(ClientError, match="Expected toolResult blocks at messages.2.content for the following Ids: tooluse_1"):
        runtime.converse(modelId=PROFILE, messages=answered("tooluse_renamed"), toolConfig={"tools": [WEATHER]})
    with pytest.raises(ClientError, match="exceeds the number of toolUse blocks of previous turn"):
        runtime.converse(modelId=PROFILE, messages=answered("tooluse_1", "tooluse_2"), toolConfig={"tools": [WEATHER]})


def test_converse_images_and_documents(upstream: str, runtime: BaseClient) -> None:
    picture = {"image": {"format": "png", "source": {"bytes": b"\x89PNG..."}}}
    paper = {"document": {"format": "txt", "name": "notes (v2)", "source": {"bytes": b"some notes"}}}
    answer = runtime.converse(modelId=PROFILE, messages=[{"role": "user", "content": [{"text": "look"}, picture, paper]}])
    assert answer["output"]["message"]["content"] == [{"text": "Echo: look"}]
    url = _converse_url(upstream)
    for block, message in [({"image": {"format": "image/png", "source": {"bytes": "aGk="}}}, "Member must satisfy enum"),
                           ({"image": {"format": "png", "source": {"bytes": "data:image/png;base64,aGk="}}}, "Invalid base64"),
                           ({"document": {"format": "txt", "name": "notes.txt", "source": {"bytes": "aGk="}}},
                            "The document file name can only contain")]:
        body = json.dumps({"messages": [{"role": "user", "content": [{"text": "look"}, block]}]}).encode()
        refused = _post(url, body, _signed(url, body))
        assert refused.status_code == 400 and message in refused.json()["message"]


def test_converse_usage_with_cache_points_and_max_tokens(runtime: BaseClient) -> None:
    cached = runtime.converse(modelId=PROFILE, system=[{"text": "be brief"}, {"cachePoint": {"type": "default"}}], **HELLO)
    assert cached["usage"] == {"inputTokens": 11, "outputTokens": 7, "cacheReadInputTokens": 3,
                               "cacheWriteInputTokens": 5, "totalTokens": 26}
    short = runtime.converse(modelId=PROFILE, inferenceConfig={"maxTokens": 2},
                             messages=[{"role": "user", "content": [{"text": "one two three"}]}])
    assert short["stopReason"] == "max_tokens" and short["output"]["message"]["content"] == [{"text": "Echo: one"}]


# --- ConverseStream -----------------------------------------------------------------------------

def _frames(data: bytes) -> list[EventStreamMessage]:
    """The frames decoded by botocore, fed one byte at a time (a frame split anywhere)."""
    buffer = EventStreamBuffer()
    messages: list[EventStreamMessage] = []
    for offset in range(len(data)):
        buffer.add_data(data[offset:offset + 1])
        messages.extend(buffer)
    return messages


def _stream_shape(name: str) -> Shape:
    return ServiceModel(Loader().load_service_model("bedrock-runtime", "service-2")).shape_for(name)


def _parsed(message: EventStreamMessage, shape: str) -> Json:
    return dict(EventStreamJSONParser().parse(message.to_response_dict(), _stream_shape(shape)))


def test_converse_stream_frames_decode_with_botocore(upstream: str) -> None:
    url = _converse_url(upstream, action="converse-stream")
    body = json.dumps({**HELLO, "additionalModelRequestFields": THINKING}).encode()
    answer = _post(url, body, _signed(url, body))
    assert answer.headers["content-type"] == "application/vnd.amazon.eventstream"
    frames = _frames(answer.content)
    assert {frame.headers[":message-type"] for frame in frames} == {"event"}
    kinds = [frame.headers[":event-type"] for frame in frames]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    events = [_parsed(frame, "ConverseStreamOutput") for frame in frames]
    deltas = [event["contentBlockDelta"]["delta"] for event in events if "contentBlockDelta" in event]
    assert "".join(delta.get("text", "") for delta in deltas) == "Echo: hello there"
    assert [delta["reasoningContent"] for delta in deltas if "reasoningContent" in delta][-1].keys() == {"signature"}
    assert events[-1]["metadata"]["usage"]["totalTokens"] == 18
    assert all(json.loads(frame.payload)["p"] for frame in frames)  # Bedrock's padding member


def test_converse_stream_tool_use_with_the_official_client(runtime: BaseClient) -> None:
    answer = runtime.converse_stream(modelId=ARN, messages=[{"role": "user", "content": [{"text": "get_weather now"}]}],
                                     toolConfig={"tools": [WEATHER]})
    events = list(answer["stream"])
    assert events[1]["contentBlockStart"]["start"]["toolUse"]["name"] == "get_weather"
    pieces = [e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events if "contentBlockDelta" in e]
    assert len(pieces) == 2 and json.loads("".join(pieces)) == {"city": "demo"}
    assert [next(iter(e)) for e in events[-3:]] == ["contentBlockStop", "messageStop", "metadata"]
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"


@pytest.mark.parametrize(("script", "code"), [("stream-throttle", "throttlingException"),
                                              ("stream-error", "modelStreamErrorException")])
def test_exceptions_inside_the_stream(runtime: BaseClient, script: str, code: str) -> None:
    stream = iter(runtime.converse_stream(modelId=script, **HELLO)["stream"])
    assert [next(iter(next(stream))) for _ in range(3)] == ["messageStart", "contentBlockDelta", "contentBlockDelta"]
    with pytest.raises(EventStreamError) as error:
        next(stream)
    assert error.value.response["Error"]["Code"] == code


def test_a_cut_stream_drops_the_connection(upstream: str) -> None:
    url = _converse_url(upstream, "cut-stream", "converse-stream")
    with pytest.raises(httpx.RemoteProtocolError):
        _post(url, _hello(), _signed(url, _hello()))


# --- scripted failures --------------------------------------------------------------------------

@pytest.mark.parametrize(("model", "status", "code"), [
    ("fail-429", 429, "ThrottlingException"), ("fail-503", 503, "ServiceUnavailableException"),
    ("fail-400", 400, "ValidationException"), ("fail-403", 403, "AccessDeniedException"),
    ("fail-424", 424, "ModelErrorException"), ("fail-408", 408, "ModelTimeoutException"),
    ("not-ready", 429, "ModelNotReadyException")])
def test_scripted_errors_as_bedrock_sends_them(runtime: BaseClient, model: str, status: int, code: str) -> None:
    with pytest.raises(ClientError) as error:
        runtime.converse(modelId=model, **HELLO)
    assert error.value.response["Error"]["Code"] == code
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_echo_key_quotes_the_credentials(upstream: str) -> None:
    url = _converse_url(upstream, "echo-key")
    answer = _post(url, _hello(), _signed(url, _hello()))
    assert answer.status_code == 403
    assert "AWS4-HMAC-SHA256 Credential=" in answer.json()["message"] and SESSION_TOKEN in answer.json()["message"]


# --- InvokeModel with the anthropic SDK ---------------------------------------------------------

@pytest.fixture
def boto3_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK asks boto3 for a session only to get credentials and the region (boto3 is not a
    dependency of the router; botocore is): a stand-in built on botocore's own session."""
    def session(profile_name: str | None, region_name: str | None, aws_access_key_id: str | None,
                aws_secret_access_key: str | None, aws_session_token: str | None) -> Any:
        core = botocore.session.Session()
        core.set_credentials(aws_access_key_id, aws_secret_access_key, aws_session_token)
        return types.SimpleNamespace(get_credentials=core.get_credentials, region_name=region_name)
    monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(Session=session))


def _sdk(upstream: str) -> anthropic.AnthropicBedrock:
    return anthropic.AnthropicBedrock(aws_access_key=ACCESS_KEY, aws_secret_key=SECRET_KEY,
                                      aws_session_token=SESSION_TOKEN, aws_region=REGION, base_url=upstream,
                                      max_retries=0)


@pytest.mark.usefixtures("boto3_stand_in")
def test_anthropic_sdk_invoke_unary_and_stream(upstream: str) -> None:
    since = len(recorded(upstream))
    sdk = _sdk(upstream)
    message = sdk.messages.create(model=ARN, max_tokens=64, messages=[{"role": "user", "content": "hello there"}])
    assert message.content[0].type == "text" and message.content[0].text == "Echo: hello there"
    with sdk.messages.stream(model=PROFILE, max_tokens=64, messages=[{"role": "user", "content": "one two"}]) as stream:
        assert "".join(stream.text_stream) == "Echo: one two"
        assert stream.get_final_message().stop_reason == "end_turn"
    calls = recorded(upstream, since)
    assert [call["path"].rsplit("/", 1)[-1] for call in calls] == ["invoke", "invoke-with-response-stream"]
    assert "anthropic_version" in calls[0]["body"] and "model" not in calls[0]["body"]
    assert calls[0]["model"] == ARN


@pytest.mark.usefixtures("boto3_stand_in")
def test_anthropic_sdk_tools_and_thinking(upstream: str) -> None:
    tool: anthropic.types.ToolParam = {"name": "get_weather", "input_schema": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
    message = _sdk(upstream).messages.create(model=PROFILE, max_tokens=2048, tools=[tool],
                                             thinking={"type": "enabled", "budget_tokens": 1024},
                                             messages=[{"role": "user", "content": "use get_weather"}])
    assert [block.type for block in message.content] == ["thinking", "tool_use"] and message.stop_reason == "tool_use"


def test_anthropic_sdk_with_an_api_key(upstream: str) -> None:
    sdk = anthropic.AnthropicBedrock(api_key=API_KEY, aws_region=REGION, base_url=upstream, max_retries=0)
    assert sdk.messages.create(model=PROFILE, max_tokens=8, messages=[{"role": "user", "content": "hi"}]).content[0].text == "Echo: hi"  # type: ignore[union-attr]
    with pytest.raises(anthropic.PermissionDeniedError):
        anthropic.AnthropicBedrock(api_key="ABSKwrong", aws_region=REGION, base_url=upstream, max_retries=0).messages.create(
            model=PROFILE, max_tokens=8, messages=[{"role": "user", "content": "hi"}])


@pytest.mark.usefixtures("boto3_stand_in")
def test_anthropic_sdk_sees_an_exception_frame(upstream: str) -> None:
    stream = _sdk(upstream).messages.stream(model="stream-throttle", max_tokens=8,
                                            messages=[{"role": "user", "content": "one two three four"}])
    with pytest.raises(anthropic.APIStatusError, match="throttlingException"), stream as events:
        events.until_done()


@pytest.mark.parametrize("extra", [{"model": PROFILE}, {"stream": True}])
def test_invoke_refuses_what_bedrock_refuses(upstream: str, extra: Json) -> None:
    url = _converse_url(upstream, action="invoke")
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 8,
                       "messages": [{"role": "user", "content": "hi"}], **extra}).encode()
    answer = _post(url, body, _signed(url, body))
    assert answer.status_code == 400 and answer.headers["x-amzn-errortype"].startswith("ValidationException")
    assert f"extraneous key [{next(iter(extra))}] is not permitted" in answer.json()["message"]


def test_invoke_stream_chunks_decode_with_botocore(upstream: str) -> None:
    url = _converse_url(upstream, action="invoke-with-response-stream")
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 8,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    frames = _frames(_post(url, body, _signed(url, body)).content)
    events = [json.loads(_parsed(frame, "ResponseStream")["chunk"]["bytes"]) for frame in frames]
    assert [event["type"] for event in events][:2] == ["message_start", "content_block_start"]
    assert events[-1]["type"] == "message_stop" and events[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == 7
