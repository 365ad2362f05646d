"""botocore's side of Bedrock's SigV4: its credential chain, its signer, and what its errors mean.

This is the only module that imports botocore for credentials and signing; it is imported by
router.upstream.aws_credentials on the first refresh, in a worker thread (botocore takes a while
to import), and only when a Bedrock upstream signs its requests. Nothing here computes a
signature of its own: the canonical request, the string to sign, the key derivation and the
HMACs are botocore's `SigV4Auth`; what this module adds is caching around it:

- one `SigV4Auth` per set of frozen credentials, made when they change, not per request;
- the signing key: SigV4 derives it with four HMACs from the secret, the date, the region and
  the service, all fixed for a day, and botocore derives it again for every request. Each of
  those HMAC steps is remembered (`_KeyCachingSigV4Auth._sign`), so a request costs only the
  final HMAC over its string to sign;
- the headers to sign: botocore selects them twice per request (for the canonical request, then
  for the Authorization header), from the same headers; the second time reuses the first, and
  requests in the same second to the same endpoint (whose headers, the date included, are the
  same) share the selection and its canonical form;
- the canonical URI: botocore percent-encodes the path for every request; a model's path is the
  same for every request to it, so each path's encoding is remembered (a few per upstream);
- the body: botocore reads `AWSRequest.body` to hash it, which prepares a whole copy of the
  request (headers and all) to hand back the bytes it was given; `_BytesRequest` hands them back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import botocore.credentials  # type: ignore[import-untyped]
import botocore.exceptions  # type: ignore[import-untyped]
import botocore.session  # type: ignore[import-untyped]
from botocore.auth import SigV4Auth  # type: ignore[import-untyped]
from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]

# botocore's refresh windows for temporary credentials (botocore.credentials): from this many
# seconds before they expire it refreshes when asked and keeps the old ones if that fails
# (advisory); from the second on, a refresh must succeed (mandatory). Read from botocore's
# class so a change there is followed; the numbers are its defaults since 2015.
ADVISORY_WINDOW = float(getattr(botocore.credentials.RefreshableCredentials, "_advisory_refresh_timeout", 15 * 60))
MANDATORY_WINDOW = float(getattr(botocore.credentials.RefreshableCredentials, "_mandatory_refresh_timeout", 10 * 60))
# What our headers may not carry into the signer: botocore replaces them (or, for `date`, signs
# it instead of x-amz-date), so a caller's own would be sent next to ours.
RESERVED_HEADERS = frozenset({"authorization", "x-amz-date", "x-amz-security-token", "date"})
_MAX_DETAIL = 300
# The key-derivation HMACs one signer remembers: four per day; a day's change starts afresh.
_MAX_REMEMBERED_STEPS = 8
_HEADERS_TO_SIGN = "router.headers_to_sign"  # our key in botocore's per-request context
# The encoded paths one signer remembers: one per model and API; more are re-encoded from scratch.
_MAX_REMEMBERED_PATHS = 256
# The header selections one signer remembers: one per endpoint and second is what repeats (the
# date is a signed header); a new second's start fills them again.
_MAX_REMEMBERED_SELECTIONS = 32


class NoAwsCredentials(Exception):
    """botocore's chain found no credentials at all (get_credentials() gave None)."""


class Frozen(NamedTuple):
    """One consistent set of credentials, and how long botocore says they last."""

    access_key: str
    secret_key: str
    token: str | None
    seconds_left: float | None  # None: they do not expire (long-term keys)


def load_credentials(profile: str | None) -> Any:
    """botocore's credential chain for `profile` (None: AWS_PROFILE, else `default`): the
    environment, the shared config and credentials files, SSO, web identity, container and
    instance roles, assume-role, credential_process. Blocks (it may ask the network)."""
    credentials = botocore.session.Session(profile=profile).get_credentials()
    if credentials is None:
        raise NoAwsCredentials
    return credentials


def frozen(credentials: Any) -> Frozen:
    """The credentials to sign with now; botocore refreshes temporary ones first when they are in
    its refresh window (blocking; the old ones are kept when an advisory refresh fails, a
    mandatory refresh's failure raises)."""
    current = credentials.get_frozen_credentials()
    return Frozen(current.access_key, current.secret_key, current.token or None, _seconds_left(credentials))


def _seconds_left(credentials: Any) -> float | None:
    # RefreshableCredentials knows when the credentials it hands out expire (`_expiry_time`) and
    # how long that is by its own clock (`_seconds_remaining()`, the one its refresh windows are
    # measured with), but says nothing public about it except `refresh_needed()`: a yes/no that
    # costs ~9 µs a call (a local-timezone lookup), too dear per request, and a number is needed
    # to know when to ask again. Static credentials have no expiry.
    if getattr(credentials, "_expiry_time", None) is None:
        return None
    return float(credentials._seconds_remaining())


class _KeyCachingSigV4Auth(SigV4Auth):  # type: ignore[misc]
    """botocore's SigV4Auth, remembering the HMAC steps that derive the signing key.

    `SigV4Auth.signature` derives k_date → k_region → k_service → k_signing with `_sign(key,
    msg)` on every request, then signs with `_sign(k_signing, string_to_sign, hex=True)`. The
    derivation's inputs (the secret, the date, the region, the service) repeat all day, so its
    four steps are looked up; the final, per-request HMAC is computed as before. The cache is
    per signer, which is per set of credentials: a new secret gets a new signer."""

    def __init__(self, credentials: Any, service_name: str, region_name: str) -> None:
        super().__init__(credentials, service_name, region_name)
        self._derived: dict[tuple[bytes, str], bytes] = {}
        self._paths: dict[str, str] = {}
        # (url, headers as signed, x-amz-date among them) → botocore's selection of the headers
        # to sign; and each selection's canonical text, by the selection's id.
        self._selections: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}
        self._canonical: dict[int, tuple[Any, str]] = {}

    def _sign(self, key: bytes, msg: str, hex: bool = False) -> Any:
        if hex:  # the signature itself: over this request's string to sign
            return super()._sign(key, msg, hex=True)
        step = (key, msg)
        derived = self._derived.get(step)
        if derived is None:
            if len(self._derived) >= _MAX_REMEMBERED_STEPS:
                self._derived.clear()
            derived = self._derived[step] = super()._sign(key, msg)
        return derived

    def headers_to_sign(self, request: Any) -> Any:
        # add_auth asks twice with nothing changed in between (the canonical request, then the
        # Authorization header's SignedHeaders); each answer walks botocore's email-based
        # header map, a quarter of a signature's time. And requests to one endpoint carry the
        # same headers, x-amz-date included, for a whole second: a busy upstream's requests in
        # that second share one selection (and its canonical form, `canonical_headers`).
        selected = request.context.get(_HEADERS_TO_SIGN)
        if selected is None:
            same = (request.url, tuple(request.headers.items()))
            selected = self._selections.get(same)
            if selected is None:
                if len(self._selections) >= _MAX_REMEMBERED_SELECTIONS:
                    self._selections.clear()
                    self._canonical.clear()
                selected = self._selections[same] = super().headers_to_sign(request)
            request.context[_HEADERS_TO_SIGN] = selected
        return selected

    def canonical_headers(self, headers_to_sign: Any) -> Any:
        # Selections are shared (headers_to_sign), so their canonical text is too: looked up by
        # the selection's identity, checked (an id may be reused once its object is gone).
        known = self._canonical.get(id(headers_to_sign))
        if known is not None and known[0] is headers_to_sign:
            return known[1]
        text = super().canonical_headers(headers_to_sign)
        self._canonical[id(headers_to_sign)] = (headers_to_sign, text)
        return text


    def _normalize_url_path(self, path: str) -> Any:
        canonical = self._paths.get(path)
        if canonical is None:
            if len(self._paths) >= _MAX_REMEMBERED_PATHS:
                self._paths.clear()
            canonical = self._paths[path] = super()._normalize_url_path(path)
        return canonical


class _BytesRequest(AWSRequest):  # type: ignore[misc]
    """An AWSRequest whose `body` is its bytes as given, which is what `AWSRequest.body` returns
    for bytes (b"" as None: both hash as the empty payload) after preparing a copy of the
    whole request to get them."""

    @property
    def body(self) -> bytes:
        data: bytes = self.data
        return data


class RequestSigner:
    """Signs requests with one set of frozen credentials for one region and service."""

    __slots__ = ("_auth", "_keys", "_token")

    def __init__(self, credentials: Frozen, region: str, service: str) -> None:
        self._keys = (credentials.access_key, credentials.secret_key, credentials.token)
        read_only = botocore.credentials.ReadOnlyCredentials(*self._keys)
        self._auth = _KeyCachingSigV4Auth(read_only, service, region)
        self._token = credentials.token

    def made_from(self, credentials: Frozen) -> bool:
        """Whether these are the credentials it signs with (botocore handed out the same again)."""
        return self._keys == (credentials.access_key, credentials.secret_key, credentials.token)

    def sign(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
        """`headers` and the signature's: `authorization`, `x-amz-date`, and
        `x-amz-security-token` with temporary credentials. Every header given is signed (as
        botocore signs its own requests: all but hop-by-hop and tracing ones), and the URL's path
        as given, percent-encoding included (SigV4 encodes it once more, as AWS expects)."""
        if not RESERVED_HEADERS.isdisjoint(name.lower() for name in headers):
            headers = {name: value for name, value in headers.items() if name.lower() not in RESERVED_HEADERS}
        request = _BytesRequest(method=method, url=url, headers=headers, data=body)
        self._auth.add_auth(request)
        signed = {**headers, "authorization": request.headers["Authorization"],
                  "x-amz-date": request.headers["X-Amz-Date"]}
        if self._token is not None:
            signed["x-amz-security-token"] = self._token
        return signed


def failure_detail(exc: BaseException) -> str:
    """What went wrong, short: botocore's messages name the profile, the file or the provider,
    not key material (a credential_process's own stderr is not in them)."""
    if isinstance(exc, NoAwsCredentials):
        return "botocore found no credentials"
    if isinstance(exc, botocore.exceptions.BotoCoreError | botocore.exceptions.ClientError):
        return str(exc)[:_MAX_DETAIL]
    return f"{type(exc).__name__}: {str(exc)[:_MAX_DETAIL]}"


def fix_for(exc: BaseException, profile: str | None) -> str | None:
    """What to do about a failure that says what it is; None: the general advice."""
    if isinstance(exc, botocore.exceptions.ProfileNotFound):
        return ("name a profile that AWS_CONFIG_FILE (~/.aws/config) or AWS_SHARED_CREDENTIALS_FILE "
                "(~/.aws/credentials) defines")
    if isinstance(exc, botocore.exceptions.SSOError | botocore.exceptions.TokenRetrievalError):
        return f"sign in again with `aws sso login{'' if profile is None else f' --profile {profile}'}`"
    return None
