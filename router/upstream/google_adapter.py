"""What google-auth is given and asked for Vertex AI: an HTTP transport for its token requests
(httpx's sync client, so the router needs neither `requests` nor `urllib3`), and the
credentials a `vertex` table names.

google-auth is the optional `router[google]` extra: only router.upstream.google_credentials
imports this module, lazily, when a Vertex AI upstream first needs a token. Everything here is
blocking and runs in a worker thread.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any

import google.auth
import google.auth.credentials
import google.auth.exceptions
import google.auth.transport
import httpx
from google.oauth2 import service_account

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


class HttpxResponse(google.auth.transport.Response):
    """A finished httpx response as google-auth reads one."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


class HttpxRequest(google.auth.transport.Request):
    """google-auth's transport interface on httpx's sync client. Its timeout bounds every token
    request (google-auth passes its own, shorter, for the metadata server's probes); proxies
    come from the environment, as for the upstream itself. Transport failures are raised as
    google-auth's TransportError, which its retry and fallback logic expects."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._http = httpx.Client(timeout=timeout)

    def __call__(
        self, url: str, method: str = "GET", body: bytes | None = None,
        headers: Mapping[str, str] | None = None, timeout: float | None = None, **kwargs: Any,
    ) -> HttpxResponse:
        try:
            response = self._http.request(method, url, content=body, headers=headers,
                                          timeout=min(timeout or self._timeout, self._timeout))
        except httpx.HTTPError as exc:
            # The URL is a token endpoint or the metadata server: no secret in it; the body may be.
            raise google.auth.exceptions.TransportError(f"{type(exc).__name__} calling {url}") from None
        return HttpxResponse(response)

    def close(self) -> None:
        self._http.close()


def load_credentials(key_file: str | None, request: HttpxRequest) -> google.auth.credentials.Credentials:
    """The service-account key file's credentials, or Application Default Credentials (which
    also read the other kinds of credential files, named by GOOGLE_APPLICATION_CREDENTIALS)."""
    credentials: google.auth.credentials.Credentials
    if key_file is None:
        credentials, _project = google.auth.default(scopes=SCOPES, request=request)
        return credentials
    with open(key_file, encoding="utf-8") as file:
        info = json.load(file)
    kind = info.get("type") if isinstance(info, dict) else None
    if kind != "service_account":
        raise ValueError(f"{key_file} is not a service-account key (its type is {kind!r}); for other "
                         "credentials leave `credentials` out to use Application Default Credentials")
    credentials = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    return credentials


def refreshed_token(credentials: google.auth.credentials.Credentials, request: HttpxRequest) -> tuple[str, float | None]:
    """A new access token and its remaining lifetime in seconds (None: google-auth gave no
    expiry)."""
    credentials.refresh(request)
    token = credentials.token
    if not isinstance(token, str) or not token:
        raise google.auth.exceptions.RefreshError("the token endpoint gave no access token")
    expiry = credentials.expiry  # naive UTC, as google-auth keeps it
    if expiry is None:
        return token, None
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    return token, (expiry - now).total_seconds()


def failure_detail(exc: BaseException) -> str:
    """What went wrong, short and without secrets: google-auth's RefreshError carries the token
    endpoint's whole answer as a second argument; only its first (the error and its
    description) is said."""
    if isinstance(exc, google.auth.exceptions.GoogleAuthError) and exc.args and isinstance(exc.args[0], str):
        return exc.args[0][:300]
    return f"{type(exc).__name__}: {str(exc)[:300]}"
