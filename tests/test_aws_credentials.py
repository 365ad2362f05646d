"""AWS credentials and SigV4 signatures for Bedrock upstreams (router.upstream.aws_credentials,
router.upstream.aws_signing): botocore's credential chain from the environment, a temporary shared
credentials file and config file (credential_process: a small script that counts its calls and
hands out credentials that expire), and signatures checked by recomputing them with botocore
(tests/support/sigv4_check.py) and against botocore's own bedrock-runtime client.

Every test runs with no AWS_* variable of the machine's, with the instance metadata service off
and the config files pointed at temporary ones: nothing leaks in, nothing reaches the network."""

from __future__ import annotations

import asyncio
import datetime
import logging
import sys
import types
from pathlib import Path
from typing import Any

import botocore.auth  # type: ignore[import-untyped]
import botocore.credentials  # type: ignore[import-untyped]
import botocore.session  # type: ignore[import-untyped]
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
from botocore.credentials import Credentials

from router.core.errors import UpstreamUnreachable
from router.spokes.bedrock.endpoint import converse_url
from router.upstream.aws_credentials import AwsSigner, failure_message, recheck_after
from router.upstream.aws_signing import (
    ADVISORY_WINDOW,
    MANDATORY_WINDOW,
    Frozen,
    RequestSigner,
)
from tests.support.sigv4_check import KnownCredentials, ReceivedRequest, verify

REGION = "us-east-1"
BASE_URL = f"https://bedrock-runtime.{REGION}.amazonaws.com"
ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
BODY = b'{"messages":[{"role":"user","content":[{"text":"hello"}]}]}'
HEADERS = {"content-type": "application/json", "accept": "application/json"}
ENV_KEY = KnownCredentials("AKIDENVIRONMENT", "env/secret/key+AAAAAAAAAAAAAAAAAAAAAAAAA", "env-session-token")

# A credential_process: each call takes the next line of `plan` ("ok <seconds to expiry>" or
# "fail"), appends it to `calls`, and prints credentials numbered by the call. Its clock is the
# test's (`shift`: seconds the test moved botocore's clock on; see TimeMachine).
PROCESS_SCRIPT = """
import datetime, json, sys
from pathlib import Path
folder = Path(sys.argv[1])
shift = float((folder / "shift").read_text()) if (folder / "shift").exists() else 0.0
calls = folder / "calls"
done = len(calls.read_text().splitlines()) if calls.exists() else 0
plan = (folder / "plan").read_text().splitlines()
step = plan[min(done, len(plan) - 1)]
with calls.open("a") as log:
    log.write(step + "\\n")
if step == "fail":
    sys.stderr.write("the identity provider is down\\n")
    sys.exit(1)
lifetime = float(step.split()[1])
expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=shift + lifetime)
n = done + 1
print(json.dumps({"Version": 1, "AccessKeyId": f"AKIDPROCESS{n}", "SecretAccessKey": f"process-secret-{n}",
                  "SessionToken": f"process-token-{n}", "Expiration": expiry.strftime("%Y-%m-%dT%H:%M:%SZ")}))
"""


@pytest.fixture(autouse=True)
def aws_isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AWS settings of the machine's; empty config files of our own; no metadata service."""
    import os

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    aws = tmp_path / "aws"
    aws.mkdir()
    (aws / "config").write_text("")
    (aws / "credentials").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return aws


@pytest.fixture
def env_credentials(monkeypatch: pytest.MonkeyPatch) -> KnownCredentials:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ENV_KEY.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ENV_KEY.secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", ENV_KEY.session_token or "")
    return ENV_KEY


class Process:
    """A credential_process profile (`proc`) whose calls follow a plan and are counted."""

    def __init__(self, aws: Path) -> None:
        self.folder = aws / "process"
        self.folder.mkdir()
        script = self.folder / "process.py"
        script.write_text(PROCESS_SCRIPT)
        (aws / "config").write_text(f'[profile proc]\ncredential_process = "{sys.executable}" "{script}" '
                                    f'"{self.folder}"\n')

    def plan(self, *steps: str) -> None:
        (self.folder / "plan").write_text("\n".join(steps) + "\n")

    @property
    def calls(self) -> int:
        calls = self.folder / "calls"
        return len(calls.read_text().splitlines()) if calls.exists() else 0


@pytest.fixture
def process(aws_isolated: Path) -> Process:
    return Process(aws_isolated)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TimeMachine:
    """Moves time on without sleeping, for everyone who reads it: botocore's credentials (their
    refresh windows), the credential_process (the expiry it prints), and the signer's clock."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, process: Process) -> None:
        self.clock = Clock()
        self.shift = 0.0
        self._process = process
        machine = self

        class ShiftedDatetime(datetime.datetime):
            @classmethod
            def now(cls, tz: datetime.tzinfo | None = None) -> datetime.datetime:  # type: ignore[override]
                return datetime.datetime.now(tz) + datetime.timedelta(seconds=machine.shift)

        shifted = types.SimpleNamespace(**{**vars(datetime), "datetime": ShiftedDatetime})
        monkeypatch.setattr(botocore.credentials, "datetime", shifted)

    def advance(self, seconds: float) -> None:
        self.shift += seconds
        self.clock.now += seconds
        (self._process.folder / "shift").write_text(str(self.shift))


@pytest.fixture
def time_machine(monkeypatch: pytest.MonkeyPatch, process: Process) -> TimeMachine:
    return TimeMachine(monkeypatch, process)


def model_url(model: str = ARN) -> httpx.URL:
    return httpx.URL(converse_url(BASE_URL, model, False))


async def signed(signer: AwsSigner, url: httpx.URL | None = None, headers: dict[str, str] | None = None,
                 body: bytes = BODY) -> dict[str, str]:
    return dict(await signer.sign("POST", url or model_url(), headers or HEADERS, body))


def received(url: httpx.URL, headers: dict[str, str], body: bytes = BODY) -> ReceivedRequest:
    """The request as a server sees it: the raw path, the host httpx sends, the headers."""
    sent = [("host", url.netloc.decode())] + [(name.lower(), value) for name, value in headers.items()]
    return ReceivedRequest("POST", url.raw_path.decode(), sent, body)


def access_key_of(headers: dict[str, str]) -> str:
    return headers["authorization"].split("Credential=")[1].split("/")[0]


# --- where the credentials come from ---------------------------------------------------------

async def test_environment_credentials_sign_a_request_aws_accepts(env_credentials: KnownCredentials) -> None:
    told: list[str] = []
    signer = AwsSigner("bedrock", REGION, None, on_secret=told.append)
    headers = await signed(signer)
    assert headers["content-type"] == "application/json"
    assert headers["x-amz-security-token"] == env_credentials.session_token
    assert headers["x-amz-date"].endswith("Z")
    assert headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={env_credentials.access_key}/")
    assert f"/{REGION}/bedrock/aws4_request" in headers["authorization"]
    assert verify(received(model_url(), headers), {env_credentials.access_key: env_credentials}, REGION) is None
    assert told == [env_credentials.session_token]  # the secret that travels; the secret key never leaves


async def test_long_term_keys_send_no_session_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDLONGTERM")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "long-term-secret")
    told: list[str] = []
    headers = await signed(AwsSigner("bedrock", REGION, None, on_secret=told.append))
    assert "x-amz-security-token" not in headers
    assert verify(received(model_url(), headers), {"AKIDLONGTERM": KnownCredentials("AKIDLONGTERM", "long-term-secret")},
                  REGION) is None
    assert told == ["long-term-secret"]


async def test_the_profile_picks_its_keys_from_the_shared_credentials_file(aws_isolated: Path) -> None:
    (aws_isolated / "credentials").write_text(
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = default-secret\n\n"
        "[team]\naws_access_key_id = AKIDTEAM\naws_secret_access_key = team-secret\n"
        "aws_session_token = team-token\n")
    known = {"AKIDDEFAULT": KnownCredentials("AKIDDEFAULT", "default-secret"),
             "AKIDTEAM": KnownCredentials("AKIDTEAM", "team-secret", "team-token")}
    team = await signed(AwsSigner("bedrock", REGION, "team"))
    default = await signed(AwsSigner("bedrock", REGION, None))
    assert (access_key_of(team), access_key_of(default)) == ("AKIDTEAM", "AKIDDEFAULT")
    assert verify(received(model_url(), team), known, REGION) is None
    assert verify(received(model_url(), default), known, REGION) is None


async def test_the_environment_names_the_profile_when_the_upstream_does_not(aws_isolated: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (aws_isolated / "credentials").write_text("[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = d\n\n"
                                              "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = o\n")
    monkeypatch.setenv("AWS_PROFILE", "ops")
    assert access_key_of(await signed(AwsSigner("bedrock", REGION, None))) == "AKIDOPS"


async def test_no_credentials_anywhere_is_unreachable_with_the_fix() -> None:
    signer = AwsSigner("bedrock-east", REGION, None)
    with pytest.raises(UpstreamUnreachable) as raised:
        await signed(signer)
    message = str(raised.value)
    assert "upstream 'bedrock-east' has no AWS credentials" in message
    assert "AWS_ACCESS_KEY_ID" in message and "profile" in message and "api-key" in message
    with pytest.raises(UpstreamUnreachable):  # and again: nothing was cached
        await signed(signer)


async def test_a_profile_that_does_not_exist_is_named() -> None:
    with pytest.raises(UpstreamUnreachable) as raised:
        await signed(AwsSigner("bedrock", REGION, "nosuch"))
    message = str(raised.value)
    assert "upstream 'bedrock'" in message and "'nosuch'" in message and "AWS_CONFIG_FILE" in message


def test_without_botocore_the_message_says_what_to_install() -> None:
    missing = ModuleNotFoundError("No module named 'botocore'", name="botocore")
    assert failure_message("bedrock", None, missing) == (
        "upstream 'bedrock': bedrock upstreams need botocore: pip install 'router[bedrock]'")


# --- temporary credentials: refreshed once per expiry, kept when a refresh fails --------------

async def test_expiring_credentials_are_refreshed_once_per_expiry_and_concurrent_signs_share_it(
        process: Process, time_machine: TimeMachine) -> None:
    # Each set of credentials lasts a minute longer than botocore's advisory window (it refreshes
    # from 15 minutes before they expire).
    process.plan(f"ok {ADVISORY_WINDOW + 60}")
    told: list[str] = []
    signer = AwsSigner("bedrock", REGION, "proc", on_secret=told.append, clock=time_machine.clock)
    first = await asyncio.gather(*(signed(signer) for _ in range(10)))
    # 50 of the 60 seconds: the other ten are margin for the real time the credential process and
    # botocore take between printing the expiry and reading it (a loaded CI machine took over one).
    time_machine.advance(50)
    for _ in range(50):
        first.append(await signed(signer))
    assert process.calls == 1  # one load for sixty signatures, ten of them concurrent
    assert {access_key_of(headers) for headers in first} == {"AKIDPROCESS1"}
    assert told == ["process-token-1"]

    time_machine.advance(11)  # inside the advisory window now
    second = await asyncio.gather(*(signed(signer) for _ in range(10)))
    assert process.calls == 2  # one refresh, shared by ten concurrent requests
    assert {access_key_of(headers) for headers in second} == {"AKIDPROCESS2"}
    assert second[0]["x-amz-security-token"] == "process-token-2"
    known = {"AKIDPROCESS2": KnownCredentials("AKIDPROCESS2", "process-secret-2", "process-token-2")}
    assert verify(received(model_url(), second[0]), known, REGION) is None
    assert told == ["process-token-1", "process-token-2"]

    time_machine.advance(50)
    await signed(signer)
    assert process.calls == 2  # the new ones last their own minute...
    time_machine.advance(11)
    assert access_key_of(await signed(signer)) == "AKIDPROCESS3"  # ...then they are refreshed in turn
    assert process.calls == 3


async def test_a_failed_refresh_keeps_the_credentials_that_are_still_valid(
        process: Process, time_machine: TimeMachine, caplog: pytest.LogCaptureFixture) -> None:
    # Credentials a minute short of botocore's mandatory window (10 minutes before expiry):
    # botocore's advisory refresh runs at once and fails (it keeps them); a minute later the
    # mandatory one fails too (botocore raises): they are valid ten minutes more, so they sign.
    process.plan(f"ok {MANDATORY_WINDOW + 60}", "fail")
    signer = AwsSigner("bedrock", REGION, "proc", clock=time_machine.clock)
    assert access_key_of(await signed(signer)) == "AKIDPROCESS1"
    assert process.calls == 2  # the load, and botocore's failed advisory refresh

    time_machine.advance(61)
    with caplog.at_level(logging.WARNING, logger="router.upstream.aws"):
        headers = await signed(signer)
    assert access_key_of(headers) == "AKIDPROCESS1"
    assert process.calls == 3  # the mandatory refresh, failed
    warning = next(record.getMessage() for record in caplog.records if record.name == "router.upstream.aws")
    assert "upstream 'bedrock' could not get AWS credentials (profile 'proc')" in warning
    assert "identity provider is down" in warning
    assert "valid" in warning and "process-secret-1" not in warning and "process-token-1" not in warning
    known = {"AKIDPROCESS1": KnownCredentials("AKIDPROCESS1", "process-secret-1", "process-token-1")}
    assert verify(received(model_url(), headers), known, REGION) is None

    time_machine.advance(5)
    for _ in range(5):
        await signed(signer)
    assert process.calls == 3  # not retried on every request...
    time_machine.advance(5)
    await signed(signer)
    assert process.calls == 4  # ...but a little later

    time_machine.advance(MANDATORY_WINDOW)  # now they have expired: nothing valid is left
    with pytest.raises(UpstreamUnreachable) as raised:
        await signed(signer)
    assert "upstream 'bedrock' could not get AWS credentials (profile 'proc')" in str(raised.value)


async def test_a_first_load_that_fails_is_unreachable(process: Process) -> None:
    process.plan("fail")
    with pytest.raises(UpstreamUnreachable) as raised:
        await signed(AwsSigner("bedrock", REGION, "proc"))
    assert "upstream 'bedrock' could not get AWS credentials (profile 'proc')" in str(raised.value)
    assert "credential_process" in str(raised.value) or "process" in str(raised.value)


def test_when_to_ask_botocore_again() -> None:
    advisory, mandatory = 900.0, 600.0
    assert recheck_after(3600.0, advisory, mandatory) == 2700.0  # when its advisory window opens
    assert recheck_after(800.0, advisory, mandatory) == 200.0  # inside it: when a refresh must succeed
    assert recheck_after(300.0, advisory, mandatory) == 150.0  # short-lived: half their remaining life
    assert recheck_after(-5.0, advisory, mandatory) == 0.0


# --- the signature ------------------------------------------------------------------------------

def pinned(monkeypatch: pytest.MonkeyPatch, *moments: datetime.datetime) -> None:
    """botocore's signing time: these moments in turn (the last one repeats)."""
    queue = list(moments)

    def now(remove_tzinfo: bool = True) -> datetime.datetime:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    monkeypatch.setattr(botocore.auth, "get_current_datetime", now)


def botocore_signature(credentials: KnownCredentials, url: httpx.URL, headers: dict[str, str],
                       stamp: str) -> str:
    """botocore's own SigV4Auth, nothing cached, at the same time, over the same request."""
    request = AWSRequest(method="POST", url=str(url), headers=headers, data=BODY)
    request.context["timestamp"] = stamp
    auth = SigV4Auth(Credentials(credentials.access_key, credentials.secret_key, credentials.session_token),
                     "bedrock", REGION)
    auth._modify_request_before_signing(request)
    string_to_sign = auth.string_to_sign(request, auth.canonical_request(request))
    return str(auth.signature(string_to_sign, request))


async def test_the_cached_signing_key_signs_as_botocore_does_uncached_across_a_day_change(
        env_credentials: KnownCredentials, monkeypatch: pytest.MonkeyPatch) -> None:
    day1 = datetime.datetime(2026, 3, 1, 23, 59, 58)
    day2 = datetime.datetime(2026, 3, 2, 0, 0, 1)
    pinned(monkeypatch, day1, day1, day1, day2, day2, day1)
    signer = AwsSigner("bedrock", REGION, None)
    url = model_url()
    for expected_day in ("20260301", "20260301", "20260301", "20260302", "20260302", "20260301"):
        headers = await signed(signer, url)
        stamp = headers["x-amz-date"]
        assert stamp.startswith(expected_day)
        assert headers["authorization"].endswith(f"Signature={botocore_signature(env_credentials, url, HEADERS, stamp)}")


async def test_requests_in_one_second_share_a_header_selection_and_each_signs_as_botocore_does(
        env_credentials: KnownCredentials) -> None:
    """One endpoint's requests in the same second have the same headers (the date is one of
    them), so the signer selects and canonicalises them once; each signature is still over its
    own body, URL and headers, exactly botocore's uncached one."""
    signer = AwsSigner("bedrock", REGION, None)
    known = {env_credentials.access_key: env_credentials}
    other_url, other_headers = model_url("amazon.nova-pro-v1:0"), {**HEADERS, "x-extra": "1"}
    for url, headers, body in [(model_url(), HEADERS, BODY), (model_url(), HEADERS, BODY + b" "),
                               (other_url, HEADERS, BODY), (model_url(), other_headers, BODY),
                               (model_url(), HEADERS, BODY)]:
        sent = await signed(signer, url, headers, body)
        assert verify(received(url, sent, body), known, REGION) is None
        signature = sent["authorization"].split("Signature=")[1]
        expected = botocore_signature(env_credentials, url, headers, sent["x-amz-date"]) if body == BODY else None
        assert expected is None or signature == expected


async def test_every_header_given_is_signed_and_ours_replace_any_given(env_credentials: KnownCredentials) -> None:
    given = {**HEADERS, "X-Amzn-Bedrock-GuardrailIdentifier": "gr-1", "Authorization": "Bearer stale",
             "x-amz-date": "19990101T000000Z", "Date": "Fri, 01 Jan 1999 00:00:00 GMT"}
    headers = await signed(AwsSigner("bedrock", REGION, None), headers=given)
    assert "Authorization" not in headers and "x-amz-date" in headers and "Date" not in headers
    assert headers["X-Amzn-Bedrock-GuardrailIdentifier"] == "gr-1"
    signed_names = headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert signed_names == ["accept", "content-type", "host", "x-amz-date", "x-amz-security-token",
                            "x-amzn-bedrock-guardrailidentifier"]
    assert verify(received(model_url(), headers), {env_credentials.access_key: env_credentials}, REGION) is None


async def test_a_tampered_path_or_body_does_not_verify(env_credentials: KnownCredentials) -> None:
    known = {env_credentials.access_key: env_credentials}
    headers = await signed(AwsSigner("bedrock", REGION, None))
    decoded = httpx.URL(f"{BASE_URL}/model/{ARN}/converse")  # the ARN's ':' and '/' not encoded
    assert verify(received(decoded, headers), known, REGION) is not None
    assert verify(received(model_url(), headers, BODY + b" "), known, REGION) is not None


async def test_an_empty_body_and_a_port_sign_as_botocore_does(env_credentials: KnownCredentials,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    pinned(monkeypatch, datetime.datetime(2026, 3, 1, 12, 0, 0))
    url = httpx.URL("http://127.0.0.1:8443/model/us.anthropic.claude-sonnet-4-v1%3A0/invoke")
    headers = dict(await AwsSigner("bedrock", REGION, None).sign("POST", url, HEADERS, b""))
    request = AWSRequest(method="POST", url=str(url), headers=HEADERS, data=b"")
    SigV4Auth(Credentials(env_credentials.access_key, env_credentials.secret_key, env_credentials.session_token),
              "bedrock", REGION).add_auth(request)
    assert headers["authorization"] == request.headers["Authorization"]


class Captured(Exception):
    """Stops botocore's client once its signed request is in hand (nothing is sent)."""

    def __init__(self, request: Any) -> None:
        super().__init__("captured")
        self.request = request


async def test_an_arn_model_is_signed_exactly_as_botocores_own_bedrock_runtime_client_signs_it(
        env_credentials: KnownCredentials, monkeypatch: pytest.MonkeyPatch) -> None:
    pinned(monkeypatch, datetime.datetime(2026, 3, 1, 12, 0, 0))
    client = botocore.session.Session().create_client("bedrock-runtime", region_name=REGION)

    def capture(request: Any, **_: Any) -> None:
        raise Captured(request)

    client.meta.events.register("before-send.bedrock-runtime.Converse", capture)
    with pytest.raises(Captured) as stopped:
        client.converse(modelId=ARN, messages=[{"role": "user", "content": [{"text": "hello"}]}])
    theirs = stopped.value.request
    url = model_url()
    assert theirs.url == str(url)  # the endpoint's path is boto3's, byte for byte
    their_authorization = theirs.headers["Authorization"].decode() if isinstance(
        theirs.headers["Authorization"], bytes) else theirs.headers["Authorization"]
    signed_names = their_authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    given = {name: _text(theirs.headers[name]) for name in signed_names
             if name not in ("host", "x-amz-date", "x-amz-security-token")}
    ours = await signed(AwsSigner("bedrock", REGION, None), url, given, theirs.body)
    assert ours["authorization"] == their_authorization


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


# --- the signer on its own ----------------------------------------------------------------------

def test_a_request_signer_says_which_credentials_it_was_made_from() -> None:
    frozen = Frozen("AKID", "secret", "token", 100.0)
    signer = RequestSigner(frozen, REGION, "bedrock")
    assert signer.made_from(Frozen("AKID", "secret", "token", 50.0))
    assert not signer.made_from(Frozen("AKID", "secret", "token2", 50.0))

