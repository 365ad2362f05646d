"""What Bedrock's exceptions mean, for unary error answers and for the exceptions an event
stream carries alike: the HTTP status each one is treated as (router.core.errors.status_to_error
then picks the client's status and error type from it), and how to read an exception's name.

Bedrock names an exception in three places: a unary answer's `x-amzn-ErrorType` header
(`ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/`), its JSON body's
`__type` (sometimes `com.amazon.coral.service#ThrottlingException`), and an event stream's
`:exception-type` header, in lower camel case (`throttlingException`). All three come to one
name here: upper camel case, without prefix or suffix.

The statuses are botocore's bedrock-runtime model's (service-2.json `error.httpStatusCode`)
except where that status would tell the client the wrong thing:

    ThrottlingException            429  rate_limit_error, with retry-after: the client backs off
    ServiceQuotaExceededException  429  (AWS: 400) "resubmit later", a quota, not a bad request
    ModelNotReadyException         503  (AWS: 429) the model is loading: overloaded, not the client's rate
    ServiceUnavailableException    503  overloaded_error
    ValidationException            400  invalid_request_error with Bedrock's message
    ConflictException              400
    AccessDeniedException          403  → 502 api_error: our credentials, not the client's key
    UnrecognizedClientException    403  → 502 (likewise InvalidSignature, ExpiredToken, MissingAuthentication)
    ResourceNotFoundException      404  not_found_error: no such model in the region
    ModelTimeoutException          504  (AWS: 408) the model took too long: timeout_error, not a 400
    ModelErrorException            502  (AWS: 424) the model failed: the upstream's fault, not the request's
    ModelStreamErrorException      502  (AWS: 424) likewise, mid-stream
    InternalServerException        500  api_error

An exception this table does not know is the upstream's failure: `default` (502) unless the
caller knows better (a unary answer's own status).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

import msgspec

# Unknown exceptions: the upstream failed in a way we cannot name.
UNKNOWN_STATUS = 502

ERROR_STATUS: Mapping[str, int] = MappingProxyType({
    "ThrottlingException": 429,
    "ServiceQuotaExceededException": 429,
    "ModelNotReadyException": 503,
    "ServiceUnavailableException": 503,
    "ValidationException": 400,
    "ConflictException": 400,
    "AccessDeniedException": 403,
    "UnrecognizedClientException": 403,
    "InvalidSignatureException": 403,
    "ExpiredTokenException": 403,
    "MissingAuthenticationTokenException": 403,
    "ResourceNotFoundException": 404,
    "ModelTimeoutException": 504,
    "ModelErrorException": 502,
    "ModelStreamErrorException": 502,
    "InternalServerException": 500,
})


class _ErrorBody(msgspec.Struct):
    """A unary error answer's body: only the exception's name (AWS JSON protocols put it in
    `__type`, some services in `code`)."""

    type_: str | None = msgspec.field(name="__type", default=None)
    code: str | None = None
    message: str | None = None
    message_upper: str | None = msgspec.field(name="Message", default=None)


_decode_error_body = msgspec.json.Decoder(_ErrorBody).decode


def canonical(name: str) -> str:
    """`throttlingException`, `ThrottlingException:http://…`, `com.amazon.coral#ThrottlingException`
    → `ThrottlingException`."""
    name = name.partition(":")[0].rpartition("#")[2].strip()
    return name[:1].upper() + name[1:]


def error_status(exception_type: str, default: int = UNKNOWN_STATUS) -> int:
    """The HTTP status the exception is treated as (the module's table); `default` for one it
    does not know. Any spelling: stream (`throttlingException`) or unary (`ThrottlingException`)."""
    return ERROR_STATUS.get(canonical(exception_type), default)


def exception_type(header_value: str | None, body: bytes) -> str | None:
    """The exception a unary error answer names (upper camel case): its `x-amzn-ErrorType`
    header, else its JSON body's `__type` (or `code`); None when neither names one."""
    if header_value:
        name = canonical(header_value)
        if name:
            return name
    try:
        decoded = _decode_error_body(body)
    except (msgspec.DecodeError, RecursionError):
        return None  # not a JSON object: an HTML page from a proxy, an empty body
    named = decoded.type_ or decoded.code
    if not named:
        return None
    return canonical(named) or None


# A SigV4 signature quoted back (AWS's own signature errors quote the request, and a proxy may
# echo the Authorization header): valid for that request for minutes, so never shown. The
# session token it travels with is the scrubber's (router.upstream.scrub).
_SIGNATURE = re.compile(r"(Signature=)[0-9a-fA-F]{16,}")


def without_signatures(text: str) -> str:
    return _SIGNATURE.sub(r"\1[redacted]", text) if "Signature=" in text else text


def quoted_signature_message(body: bytes) -> str | None:
    """The error body's message with the signatures it quotes redacted; None when it quotes none
    (the body's message is then shown as it is)."""
    if b"Signature=" not in body:
        return None
    try:
        decoded = _decode_error_body(body)
    except (msgspec.DecodeError, RecursionError):
        return without_signatures(body.decode("utf-8", "replace").strip()[:500])
    message = decoded.message or decoded.message_upper
    return without_signatures(message) if message else None
