"""Google Cloud access tokens for Vertex AI upstreams (router.upstream.google_credentials): a
generated service-account key, a fake token endpoint on loopback, no network."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from router.core.errors import UpstreamUnreachable
from router.upstream.google_credentials import GoogleTokenSource
from router.upstream.scrub import REDACTED, Scrubber
from tests.support.fake_google import TokenEndpoint, new_private_key, token_endpoint, write_key_file

CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return new_private_key()


@pytest.fixture
def endpoint(private_key: rsa.RSAPrivateKey) -> Iterator[TokenEndpoint]:
    with token_endpoint(private_key) as running:
        yield running


@pytest.fixture
def key_file(tmp_path: Path, private_key: rsa.RSAPrivateKey, endpoint: TokenEndpoint) -> str:
    return str(write_key_file(tmp_path / "sa.json", private_key, endpoint.url))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_service_account_key_gets_a_bearer_token(key_file: str, endpoint: TokenEndpoint) -> None:
    source = GoogleTokenSource("vertex", key_file)
    assert await source.authorization() == f"Bearer {endpoint.issued[0]}"
    assert endpoint.scopes == [CLOUD_PLATFORM]


async def test_the_token_is_reused_until_five_minutes_before_it_expires(key_file: str, endpoint: TokenEndpoint) -> None:
    clock = Clock()
    source = GoogleTokenSource("vertex", key_file, clock=clock)
    first = await source.authorization()
    clock.now += 3600 - 300 - 5
    assert await source.authorization() == first
    assert len(endpoint.issued) == 1
    clock.now += 10  # now within five minutes of expiry
    second = await source.authorization()
    assert second != first and second == f"Bearer {endpoint.issued[1]}"


async def test_a_short_lived_token_is_reused_for_half_its_life(key_file: str, endpoint: TokenEndpoint) -> None:
    endpoint.expires_in = 60
    clock = Clock()
    source = GoogleTokenSource("vertex", key_file, clock=clock)
    first = await source.authorization()
    clock.now += 29
    assert await source.authorization() == first
    clock.now += 2
    assert await source.authorization() != first
    assert len(endpoint.issued) == 2


async def test_concurrent_callers_wait_for_one_refresh(key_file: str, endpoint: TokenEndpoint) -> None:
    endpoint.delay = 0.3
    source = GoogleTokenSource("vertex", key_file)
    headers = await asyncio.gather(*(source.authorization() for _ in range(20)))
    assert len(endpoint.issued) == 1
    assert set(headers) == {f"Bearer {endpoint.issued[0]}"}


async def test_the_event_loop_is_not_blocked_while_a_token_is_fetched(key_file: str, endpoint: TokenEndpoint) -> None:
    endpoint.delay = 0.3
    source = GoogleTokenSource("vertex", key_file)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    await source.authorization()
    ticker.cancel()
    assert ticks >= 10


async def test_each_new_token_is_given_to_the_scrubber(key_file: str, endpoint: TokenEndpoint) -> None:
    clock = Clock()
    scrubber = Scrubber.for_secrets([])
    source = GoogleTokenSource("vertex", key_file, on_token=scrubber.remember, clock=clock)
    await source.authorization()
    token = endpoint.issued[0]
    assert scrubber.text(f"invalid token {token}") == f"invalid token {REDACTED}"
    assert token[len(token) // 2:] not in scrubber.data(f"masked ****{token[len(token) // 2:]}".encode()).decode()
    clock.now += 3600
    await source.authorization()
    newer = endpoint.issued[1]
    assert REDACTED in scrubber.text(newer) and REDACTED in scrubber.text(token)  # the one before, too


async def test_a_refused_key_is_a_502_naming_the_upstream_and_the_fix(key_file: str, endpoint: TokenEndpoint) -> None:
    endpoint.fail_with = (400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
    source = GoogleTokenSource("vertex-claude", key_file)
    with pytest.raises(UpstreamUnreachable) as raised:
        await source.authorization()
    error = raised.value
    assert error.status == 502 and error.retryable
    assert "'vertex-claude'" in error.message and "invalid_grant" in error.message
    assert "service-account key file" in error.message
    assert "PRIVATE KEY" not in error.message and "assertion" not in error.message


async def test_an_unreachable_token_endpoint_is_a_502(tmp_path: Path, private_key: rsa.RSAPrivateKey) -> None:
    from tests.support.servers import free_port

    key_file = write_key_file(tmp_path / "sa.json", private_key, f"http://127.0.0.1:{free_port()}/token")
    with pytest.raises(UpstreamUnreachable, match="could not get a Google Cloud access token"):
        await GoogleTokenSource("vertex", str(key_file), timeout=2).authorization()


async def test_a_missing_key_file_is_a_502_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    with pytest.raises(UpstreamUnreachable) as raised:
        await GoogleTokenSource("vertex", str(missing)).authorization()
    assert str(missing) in raised.value.message


async def test_a_failed_refresh_keeps_serving_a_token_that_is_still_valid(
    key_file: str, endpoint: TokenEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    source = GoogleTokenSource("vertex", key_file, clock=clock)
    first = await source.authorization()
    clock.now += 3600 - 100  # time to refresh, the token still valid 100 s
    endpoint.fail_with = (503, {"error": "temporarily_unavailable"})
    with caplog.at_level(logging.WARNING):
        assert await source.authorization() == first
    assert "'vertex'" in caplog.text and endpoint.issued[0] not in caplog.text
    endpoint.fail_with = None
    clock.now += 5
    assert await source.authorization() == first  # the retry waits a little
    clock.now += 10
    assert await source.authorization() == f"Bearer {endpoint.issued[1]}"
    clock.now += 3600 * 2
    endpoint.fail_with = (503, {"error": "temporarily_unavailable"})
    with pytest.raises(UpstreamUnreachable):  # expired: nothing left to serve
        await source.authorization()


async def test_application_default_credentials_read_the_environment(
    key_file: str, endpoint: TokenEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", key_file)
    assert await GoogleTokenSource("vertex", None).authorization() == f"Bearer {endpoint.issued[0]}"


async def test_without_google_auth_the_error_says_how_to_install_it(
    key_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import router.upstream

    monkeypatch.setitem(sys.modules, "google.auth", None)  # an import of it now fails
    monkeypatch.delitem(sys.modules, "router.upstream.google_adapter", raising=False)
    monkeypatch.delattr(router.upstream, "google_adapter", raising=False)
    with pytest.raises(UpstreamUnreachable) as raised:
        await GoogleTokenSource("vertex", key_file).authorization()
    assert "pip install 'router[google]'" in raised.value.message


async def test_tokens_are_never_logged(
    key_file: str, endpoint: TokenEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    with caplog.at_level(logging.DEBUG):
        source = GoogleTokenSource("vertex", key_file, clock=clock)
        await source.authorization()
        clock.now += 3600
        await source.authorization()
    assert len(endpoint.issued) == 2
    for token in endpoint.issued:
        assert token not in caplog.text
        assert token[len(token) // 2:] not in caplog.text
