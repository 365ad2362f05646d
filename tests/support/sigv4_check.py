"""Verify an AWS Signature Version 4 request the way AWS does: by recomputing its signature.

The test Bedrock upstream (tests/support/bedrock_mock.py) knows a table of test credentials. For a
request signed with one of them it rebuilds what the signer must have signed, with botocore's own
SigV4Auth (the same code the router signs with, but nothing of the router's), from what actually
arrived on the wire:

- the method, and the URL `http://{host}{raw path}?{query}` with the percent-encoding exactly as
  received (SigV4 for non-S3 services encodes the path once more, so `%3A` must arrive as the
  signer saw it: a router that re-encodes or decodes a model ARN after signing is caught);
- ONLY the headers the Authorization header lists in SignedHeaders, with their received values;
- the body as received; the time from X-Amz-Date.

It then compares the signatures in constant time. AWS's refusals are kept: their HTTP status, the
`x-amzn-ErrorType` name and the message (a wrong signature also tells the canonical request and
the string to sign AWS expected, as AWS does, which is what one needs to debug a signer).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "bedrock"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=5)
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details.")
INVALID_TOKEN = "The security token included in the request is invalid."
EXPIRED_TOKEN = "The security token included in the request is expired"
_PARAMETER = re.compile(r"\s*([A-Za-z]+)=([^,\s]*)\s*")


@dataclass(frozen=True)
class KnownCredentials:
    """A test identity the mock accepts: its keys, the session token it must come with (temporary
    credentials), and the epoch second after which AWS calls the token expired."""

    access_key: str
    secret_key: str
    session_token: str | None = None
    expires_at: float | None = None


@dataclass(frozen=True)
class ReceivedRequest:
    """A request as it arrived: `target` is the raw path and query, percent-encoding untouched;
    header names are lower case, in the order received (repeated names kept)."""

    method: str
    target: str
    headers: Sequence[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key == name]
        return ",".join(values) if values else None


@dataclass(frozen=True)
class Refusal:
    """AWS's answer to a request it does not authenticate."""

    status: int
    error_type: str
    message: str


@dataclass(frozen=True)
class _Authorization:
    access_key: str
    date: str
    region: str
    service: str
    terminator: str
    signed_headers: list[str]
    signature: str


def verify(request: ReceivedRequest, known: Mapping[str, KnownCredentials], region: str,
           now: datetime | None = None) -> Refusal | None:
    """None when the request carries a valid SigV4 signature of one of the known credentials for
    service `bedrock` in `region`, signed within five minutes of `now`; else AWS's refusal."""
    header = request.header("authorization")
    if header is None:
        return Refusal(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    parsed = _parse(header)
    if isinstance(parsed, Refusal):
        return parsed
    credentials = known.get(parsed.access_key)
    if credentials is None:
        return Refusal(403, "UnrecognizedClientException", INVALID_TOKEN)
    return (_token_refusal(request, credentials, now) or _scope_refusal(request, parsed, region, now)
            or _signature_refusal(request, parsed, credentials))


def _parse(header: str) -> _Authorization | Refusal:
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        return _invalid(f"Authorization header requires the {ALGORITHM} algorithm, not '{algorithm}'.")
    parameters = {}
    for piece in rest.split(","):
        match = _PARAMETER.fullmatch(piece)
        if match is None:
            return _invalid(f"Authorization header has a malformed parameter: '{piece.strip()}'.")
        parameters[match[1]] = match[2]
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not parameters.get(name)]
    if missing:
        return _invalid(f"Authorization header requires '{missing[0]}' parameter. Authorization={header}")
    scope = parameters["Credential"].split("/")
    if len(scope) != 5:
        return _invalid(f"Credential should be of the form AKID/DATE/REGION/SERVICE/aws4_request, "
                        f"not '{parameters['Credential']}'.")
    access_key, date, region, service, terminator = scope
    return _Authorization(access_key, date, region, service, terminator,
                          signed_headers=parameters["SignedHeaders"].split(";"), signature=parameters["Signature"])


def _token_refusal(request: ReceivedRequest, credentials: KnownCredentials, now: datetime | None) -> Refusal | None:
    """Temporary credentials: the request must carry their session token, unexpired."""
    if request.header("x-amz-security-token") != credentials.session_token:
        return Refusal(403, "UnrecognizedClientException", INVALID_TOKEN)
    if credentials.expires_at is not None and _now(now).timestamp() >= credentials.expires_at:
        return Refusal(403, "ExpiredTokenException", EXPIRED_TOKEN)
    return None


def _scope_refusal(request: ReceivedRequest, authorization: _Authorization, region: str,
                   now: datetime | None) -> Refusal | None:
    if authorization.service != SERVICE:
        return _invalid(f"Credential should be scoped to correct service: '{SERVICE}'. ")
    if authorization.region != region:
        return _invalid("Credential should be scoped to a valid region. ")
    if authorization.terminator != "aws4_request":
        return _invalid("Credential should be scoped with a valid terminator: 'aws4_request', "
                        f"not '{authorization.terminator}'. ")
    if "host" not in authorization.signed_headers:
        return _invalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    stamp = request.header("x-amz-date")
    try:
        signed_at = datetime.strptime(stamp or "", TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return _invalid(f"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header, "
                        f"in the form {TIMESTAMP_FORMAT}, not '{stamp}'.")
    assert stamp is not None
    if authorization.date != stamp[:8]:
        return _invalid(f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
                        f"HTTP: '{authorization.date}' != '{stamp[:8]}', from '{stamp}'.")
    return _skew_refusal(signed_at, _now(now))


def _skew_refusal(signed_at: datetime, now: datetime) -> Refusal | None:
    def stamp(moment: datetime) -> str:
        return moment.strftime(TIMESTAMP_FORMAT)
    if signed_at < now - MAX_SKEW:
        return _invalid(f"Signature expired: {stamp(signed_at)} is now earlier than {stamp(now - MAX_SKEW)} "
                        f"({stamp(now)} - 5 min.)")
    if signed_at > now + MAX_SKEW:
        return _invalid(f"Signature not yet current: {stamp(signed_at)} is still later than "
                        f"{stamp(now + MAX_SKEW)} ({stamp(now)} + 5 min.)")
    return None


def _signature_refusal(request: ReceivedRequest, authorization: _Authorization,
                       credentials: KnownCredentials) -> Refusal | None:
    declared_hash = request.header("x-amz-content-sha256")
    actual_hash = hashlib.sha256(request.body).hexdigest()
    if declared_hash not in (None, UNSIGNED_PAYLOAD, actual_hash) and "x-amz-content-sha256" in authorization.signed_headers:
        return Refusal(400, "XAmzContentSHA256Mismatch",
                       "The provided 'x-amz-content-sha256' header does not match what was computed.")
    rebuilt = _rebuilt(request, authorization)
    signer = SigV4Auth(Credentials(credentials.access_key, credentials.secret_key, credentials.session_token),
                       authorization.service, authorization.region)
    canonical = signer.canonical_request(rebuilt)
    string_to_sign = signer.string_to_sign(rebuilt, canonical)
    expected = signer.signature(string_to_sign, rebuilt)
    if hmac.compare_digest(expected.encode(), authorization.signature.encode()):
        return None
    return _invalid(f"{MISMATCH}\n\nThe Canonical String for this request should have been\n'{canonical}'\n\n"
                    f"The String-to-Sign should have been\n'{string_to_sign}'\n")


def _rebuilt(request: ReceivedRequest, authorization: _Authorization) -> AWSRequest:
    """The request as the signer must have seen it: the received target on the received host, the
    signed headers only, the body, the signing time."""
    host = request.header("host") or ""
    rebuilt = AWSRequest(method=request.method, url=f"http://{host}{request.target}", data=request.body)
    signed = set(authorization.signed_headers)
    for name, value in request.headers:
        if name in signed:
            rebuilt.headers[name] = value  # an HTTPMessage: a repeated name is appended, not replaced
    rebuilt.context["timestamp"] = request.header("x-amz-date")
    return rebuilt


def _invalid(message: str) -> Refusal:
    return Refusal(403, "InvalidSignatureException", message)


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)
