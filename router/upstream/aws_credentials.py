"""AWS credentials for Bedrock upstreams that sign their requests (SigV4) instead of sending an API key.

An `AwsSigner` is made per upstream client. Its credentials come from botocore's chain (the
environment, the shared config and credentials files and their profiles, SSO, web identity,
container and instance roles, assume-role, credential_process), loaded on the first request;
botocore's signer signs each request (router.upstream.aws_signing: botocore's code, with what
repeats cached). Like router.upstream.refreshing_token's OAuth tokens:

- the hot path is one clock read and the signature: no lock, no thread, nothing that blocks;
- temporary credentials are refreshed when botocore's refresh window opens (15 minutes before
  they expire), by botocore, in a worker thread (it blocks: STS, SSO, the instance metadata
  service, a credential_process), one refresh at a time: concurrent callers wait for that one;
- a failed refresh while the credentials in hand are still valid keeps them serving (a warning
  is logged) and is retried a little later; with nothing valid it is an UpstreamUnreachable
  naming the upstream and the fix (a 502 in the client's protocol; failover tries the next target);
- each new secret key and session token is given to `on_secret` (the upstream's scrubber); they
  are never logged.

botocore is the optional `router[bedrock]` extra; this module does not import it (the worker
thread does, on the first refresh), and `router check` already reports a Bedrock upstream without it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from router.config.schema import BEDROCK_SIGNING_NAME
from router.core.errors import UpstreamUnreachable
from router.upstream.refreshing_token import RETRY_AFTER_FAILURE

if TYPE_CHECKING:
    from router.upstream.aws_signing import Frozen, RequestSigner

INSTALL_HINT = "bedrock upstreams need botocore: pip install 'router[bedrock]'"
NO_CREDENTIALS_FIX = ("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys), "
                      "name a profile of ~/.aws/config or ~/.aws/credentials (the upstream's `profile`, or "
                      "AWS_PROFILE), give the host a role (instance profile, ECS task role, EKS web identity), "
                      "or set the upstream's api-key to a Bedrock API key; see "
                      "https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html")
_NEVER = float("inf")


class AwsSigner:
    """`RequestAuth` for Bedrock: each request signed with SigV4 by botocore, with credentials from
    botocore's chain, refreshed before they expire."""

    __slots__ = (
        "_check_at",
        "_clock",
        "_credentials",
        "_expires_at",
        "_lock",
        "_on_secret",
        "_profile",
        "_region",
        "_service",
        "_signer",
        "_thread_lock",
        "_told",
        "_upstream",
    )

    _log = logging.getLogger("router.upstream.aws")

    def __init__(self, upstream_name: str, region: str, profile: str | None, *,
                 on_secret: Callable[[str], None] | None = None, service: str = BEDROCK_SIGNING_NAME,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._upstream = upstream_name
        self._region = region
        self._profile = profile  # None: AWS_PROFILE, else `default`
        self._service = service  # SigV4's signing name
        self._on_secret = on_secret
        self._clock = clock
        self._lock = asyncio.Lock()
        # Guards botocore's credentials object across threads: a refresh whose caller was
        # cancelled goes on in its thread while the next caller may start another.
        self._thread_lock = threading.Lock()
        self._credentials: Any = None  # botocore's Credentials, loaded by the first refresh
        self._signer: RequestSigner | None = None
        self._check_at = 0.0  # when to ask botocore again (it may refresh then)
        self._expires_at = 0.0  # when the credentials in hand stop being valid
        self._told: tuple[str, ...] = ()  # the secrets on_secret last heard

    async def sign(self, method: str, url: httpx.URL, headers: Mapping[str, str], body: bytes) -> Mapping[str, str]:
        signer = self._signer
        if signer is None or self._clock() >= self._check_at:
            signer = await self._current_signer()
        return signer.sign(method, str(url), headers, body)

    async def _current_signer(self) -> RequestSigner:
        async with self._lock:
            if self._signer is None or self._clock() >= self._check_at:
                await self._refresh()
            assert self._signer is not None  # _refresh sets it or raises
            return self._signer

    async def _refresh(self) -> None:
        try:
            frozen, signer = await asyncio.to_thread(self._fetch_locked)
        except Exception as exc:  # noqa: BLE001 - every failure is the same answer to the client
            self._refresh_failed(exc)
            return
        now = self._clock()
        left = frozen.seconds_left
        from router.upstream.aws_signing import (  # loaded by the thread
            ADVISORY_WINDOW,
            MANDATORY_WINDOW,
        )

        self._expires_at = _NEVER if left is None else now + left
        self._check_at = _NEVER if left is None else now + recheck_after(left, ADVISORY_WINDOW, MANDATORY_WINDOW)
        if signer is not None:
            self._signer = signer
        self._tell(frozen)

    def _fetch_locked(self) -> tuple[Frozen, RequestSigner | None]:
        """In a worker thread: botocore loaded, the credentials loaded once, then botocore's
        current ones (refreshed by botocore when due); a new signer only when they changed."""
        from router.upstream import (
            aws_signing,  # botocore: optional, and slow to import
        )

        with self._thread_lock:
            if self._credentials is None:
                self._credentials = aws_signing.load_credentials(self._profile)
            frozen = aws_signing.frozen(self._credentials)
        if self._signer is not None and self._signer.made_from(frozen):
            return frozen, None
        return frozen, aws_signing.RequestSigner(frozen, self._region, self._service)

    def _tell(self, frozen: Frozen) -> None:
        """The scrubber learns the secret that travels: the session token (in x-amz-security-token;
        an upstream may echo it). The secret key never leaves the process, only signatures made
        with it, so with a token only the token is told: the scrubber keeps the latest two, and
        those should be this token and the one before it (a request signed with it may still be
        answering). Long-term keys have no token: their secret key is told, for good measure."""
        secrets = (frozen.secret_key,) if frozen.token is None else (frozen.token,)
        if secrets == self._told or self._on_secret is None:
            return
        self._told = secrets
        for secret in secrets:
            self._on_secret(secret)

    def _refresh_failed(self, exc: BaseException) -> None:
        message = failure_message(self._upstream, self._profile, exc)
        now = self._clock()
        if self._signer is not None and now < self._expires_at:
            self._log.warning("%s; its current credentials are valid %.0fs more", message, self._expires_at - now)
            self._check_at = min(now + RETRY_AFTER_FAILURE, self._expires_at)
            return
        self._signer = None  # expired: never sign with them again
        raise UpstreamUnreachable(message)


def recheck_after(seconds_left: float, advisory: float, mandatory: float) -> float:
    """When to ask botocore for the credentials again, given how long the ones in hand last.

    Until its advisory window opens botocore would not refresh them; once open it refreshes when
    asked. If they are inside that window already, either its refresh just failed (it keeps the
    old ones then) or the source hands out short-lived credentials: ask again when its mandatory
    window opens (a refresh that must succeed), and for credentials shorter-lived than that, after
    half their remaining life (not on every request)."""
    if seconds_left > advisory:
        return seconds_left - advisory
    if seconds_left > mandatory:
        return seconds_left - mandatory
    return max(seconds_left / 2, 0.0)


def failure_message(upstream: str, profile: str | None, exc: BaseException) -> str:
    """Names the upstream, what failed and the fix; never key material."""
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").startswith("botocore"):
        return f"upstream {upstream!r}: {INSTALL_HINT}"
    aws_signing = sys.modules.get("router.upstream.aws_signing")  # None: botocore failed to import
    if aws_signing is None:
        return f"upstream {upstream!r} could not load botocore ({type(exc).__name__}: {str(exc)[:300]}); {INSTALL_HINT}"

    if isinstance(exc, aws_signing.NoAwsCredentials):
        return f"upstream {upstream!r} has no AWS credentials: {NO_CREDENTIALS_FIX}"
    where = "" if profile is None else f" (profile {profile!r})"
    fix = aws_signing.fix_for(exc, profile) or NO_CREDENTIALS_FIX
    return f"upstream {upstream!r} could not get AWS credentials{where} ({aws_signing.failure_detail(exc)}); {fix}"
