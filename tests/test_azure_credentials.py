"""Microsoft Entra ID tokens (router.upstream.azure_credentials): a fake credential stands in for
azure-identity's DefaultAzureCredential (its get_token contract: AccessToken(token, expires_on
in epoch seconds)); the real one is driven end to end through a fake `az` in
tests/test_e2e_azure.py."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from typing import Any, NamedTuple

import pytest

from router.config.schema import AnthropicUpstream, AzureUpstream
from router.core.errors import UpstreamUnreachable
from router.upstream.azure_credentials import (
    AI_FOUNDRY_SCOPE,
    COGNITIVE_SERVICES_SCOPE,
    AzureTokenSource,
    default_credential,
    entra_scope,
    failure_detail,
)
from router.upstream.scrub import REDACTED, Scrubber

DEFAULT_FAILURE = (
    "DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
    "Attempted credentials:\n"
    "\tEnvironmentCredential: EnvironmentCredential authentication unavailable. Environment variables are not fully configured.\n"
    "Visit https://aka.ms/azsdk/python/identity/environmentcredential/troubleshoot to troubleshoot this issue.\n"
    "\tAzureCliCredential: Please run 'az login' to set up an account\n"
    "To mitigate this issue, please refer to the troubleshooting guidelines here at "
    "https://aka.ms/azsdk/python/identity/defaultazurecredential/troubleshoot."
)


class AccessToken(NamedTuple):
    token: str
    expires_on: int


class Clock:
    """One clock for both: monotonic seconds and epoch seconds move together."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class FakeCredential:
    """Issues `tok-1`, `tok-2` ... valid `lifetime` seconds; fails with `fail_with` when set."""

    def __init__(self, clock: Clock, lifetime: int = 3600, delay: float = 0.0) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.delay = delay
        self.scopes: list[tuple[str, ...]] = []
        self.fail_with: Exception | None = None
        self.threads: set[int] = set()

    def get_token(self, *scopes: str) -> AccessToken:
        self.threads.add(threading.get_ident())
        if self.delay:
            time.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with
        self.scopes.append(scopes)
        return AccessToken(f"tok-{len(self.scopes)}", int(self.clock.now) + self.lifetime)

    @property
    def issued(self) -> list[str]:
        return [f"tok-{n}" for n in range(1, len(self.scopes) + 1)]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def credential(clock: Clock) -> FakeCredential:
    return FakeCredential(clock)


def source(credential: FakeCredential, clock: Clock, name: str = "azure", scope: str = COGNITIVE_SERVICES_SCOPE,
           client_id: str | None = None, **kwargs: Any) -> AzureTokenSource:
    def make(asked: str | None) -> FakeCredential:
        assert asked == client_id
        return credential

    return AzureTokenSource(name, scope, client_id, clock=clock, wall_clock=clock, credential=make, **kwargs)


def test_the_default_scopes() -> None:
    assert entra_scope(AzureUpstream(base_url="https://r.openai.azure.com")) == COGNITIVE_SERVICES_SCOPE
    foundry = AnthropicUpstream(base_url="https://r.services.ai.azure.com/anthropic")
    assert entra_scope(foundry) == AI_FOUNDRY_SCOPE == "https://ai.azure.com/.default"


async def test_a_token_for_the_scope_as_a_bearer_header(credential: FakeCredential, clock: Clock) -> None:
    tokens = source(credential, clock, scope="https://example.test/.default")
    assert await tokens.authorization() == "Bearer tok-1"
    assert credential.scopes == [("https://example.test/.default",)]


async def test_the_token_is_fetched_in_a_worker_thread(credential: FakeCredential, clock: Clock) -> None:
    await source(credential, clock).authorization()
    assert threading.get_ident() not in credential.threads


async def test_the_token_is_reused_until_five_minutes_before_it_expires(credential: FakeCredential, clock: Clock) -> None:
    tokens = source(credential, clock)
    assert await tokens.authorization() == "Bearer tok-1"
    clock.now += 3600 - 300 - 5
    assert await tokens.authorization() == "Bearer tok-1"
    assert len(credential.scopes) == 1
    clock.now += 10
    assert await tokens.authorization() == "Bearer tok-2"


async def test_a_short_lived_token_is_reused_for_half_its_life(clock: Clock) -> None:
    credential = FakeCredential(clock, lifetime=60)
    tokens = source(credential, clock)
    await tokens.authorization()
    clock.now += 29
    assert await tokens.authorization() == "Bearer tok-1"
    clock.now += 2
    assert await tokens.authorization() == "Bearer tok-2"


async def test_concurrent_callers_wait_for_one_refresh(clock: Clock) -> None:
    credential = FakeCredential(clock, delay=0.2)
    tokens = source(credential, clock)
    headers = await asyncio.gather(*(tokens.authorization() for _ in range(20)))
    assert set(headers) == {"Bearer tok-1"} and len(credential.scopes) == 1


async def test_the_credential_is_made_once_with_the_managed_identity_client_id(credential: FakeCredential, clock: Clock) -> None:
    made: list[str | None] = []

    def make(client_id: str | None) -> FakeCredential:
        made.append(client_id)
        return credential

    tokens = AzureTokenSource("azure", COGNITIVE_SERVICES_SCOPE, "mi-client-id", clock=clock, wall_clock=clock, credential=make)
    await tokens.authorization()
    clock.now += 3600
    await tokens.authorization()
    assert made == ["mi-client-id"] and len(credential.scopes) == 2


def test_default_credential_passes_the_managed_identity_client_id(monkeypatch: pytest.MonkeyPatch) -> None:
    import azure.identity

    seen: list[dict[str, Any]] = []

    def fake(**kwargs: Any) -> object:
        seen.append(kwargs)
        return object()

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", fake)
    default_credential(None)
    default_credential("abc")
    assert seen == [{}, {"managed_identity_client_id": "abc"}]


async def test_each_new_token_is_given_to_the_scrubber(credential: FakeCredential, clock: Clock) -> None:
    scrubber = Scrubber.for_secrets([])
    tokens = source(credential, clock, on_token=scrubber.remember)
    await tokens.authorization()
    clock.now += 3600
    await tokens.authorization()
    assert scrubber.text("got tok-1 and tok-2") == f"got {REDACTED} and {REDACTED}"


async def test_no_credential_is_a_502_naming_the_upstream_and_the_fix(credential: FakeCredential, clock: Clock) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    credential.fail_with = ClientAuthenticationError(DEFAULT_FAILURE)
    with pytest.raises(UpstreamUnreachable) as raised:
        await source(credential, clock, name="azure-east").authorization()
    error = raised.value
    assert error.status == 502 and error.retryable
    message = error.message
    assert "'azure-east'" in message and COGNITIVE_SERVICES_SCOPE in message
    assert "az login" in message and "AZURE_CLIENT_SECRET" in message and "managed identity" in message
    assert "Environment variables are not fully configured" in message and "Please run 'az login'" in message
    assert "To mitigate" not in message and "\n" not in message


async def test_the_fix_names_the_managed_identity_it_was_given(credential: FakeCredential, clock: Clock) -> None:
    credential.fail_with = RuntimeError("ManagedIdentityCredential: no identity assigned")
    with pytest.raises(UpstreamUnreachable, match="client id mi-123 must be assigned"):
        await source(credential, clock, client_id="mi-123").authorization()


def test_the_failure_detail_keeps_what_each_credential_said() -> None:
    assert failure_detail(RuntimeError(DEFAULT_FAILURE)) == (
        "EnvironmentCredential: EnvironmentCredential authentication unavailable. Environment variables are not "
        "fully configured.; AzureCliCredential: Please run 'az login' to set up an account")
    assert failure_detail(RuntimeError("")) == "RuntimeError"
    assert len(failure_detail(RuntimeError("x" * 5000))) == 500


async def test_a_failed_refresh_keeps_serving_a_token_that_is_still_valid(
    credential: FakeCredential, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = source(credential, clock)
    assert await tokens.authorization() == "Bearer tok-1"
    clock.now += 3600 - 100  # time to refresh, the token valid 100 s more
    credential.fail_with = RuntimeError("login.microsoftonline.com unreachable")
    with caplog.at_level(logging.WARNING):
        assert await tokens.authorization() == "Bearer tok-1"
    assert "'azure'" in caplog.text and "tok-1" not in caplog.text
    credential.fail_with = None
    clock.now += 5
    assert await tokens.authorization() == "Bearer tok-1"  # the retry waits a little
    clock.now += 10
    assert await tokens.authorization() == "Bearer tok-2"
    clock.now += 3600 * 2
    credential.fail_with = RuntimeError("still unreachable")
    with pytest.raises(UpstreamUnreachable):  # expired: nothing left to serve
        await tokens.authorization()


async def test_an_empty_token_is_a_failure(credential: FakeCredential, clock: Clock) -> None:
    class Empty(FakeCredential):
        def get_token(self, *scopes: str) -> AccessToken:
            return AccessToken("", int(clock.now) + 3600)

    tokens = AzureTokenSource("azure", COGNITIVE_SERVICES_SCOPE, clock=clock, wall_clock=clock,
                              credential=lambda _id: Empty(clock))
    with pytest.raises(UpstreamUnreachable, match="gave no access token"):
        await tokens.authorization()


async def test_without_azure_identity_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "azure.identity", None)  # an import of it now fails
    with pytest.raises(UpstreamUnreachable) as raised:
        await AzureTokenSource("azure", COGNITIVE_SERVICES_SCOPE).authorization()
    assert "'azure'" in raised.value.message and "pip install 'router[azure]'" in raised.value.message


async def test_tokens_are_never_logged(credential: FakeCredential, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        tokens = source(credential, clock)
        await tokens.authorization()
        clock.now += 3600
        await tokens.authorization()
    assert len(credential.scopes) == 2 and "tok-" not in caplog.text
