"""Where a Bedrock request goes and what it carries besides its body: the model's endpoint
(`/model/{model id}/converse`, `-stream`, `/invoke`, `/invoke-with-response-stream`), our
headers, and what Bedrock's error answers mean.

Model ids are percent-encoded whole, as boto3 encodes a path label: an inference-profile ARN
(`arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc`) becomes one path
segment, and no client's model name can leave the `/model/` path or pick another method. The
SigV4 signature (router.upstream.aws_credentials) is made over this path as sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from router.config.schema import HttpUpstream, Upstream
from router.spokes.bedrock.errors import error_status, exception_type, quoted_signature_message
from router.spokes.spoke import HeaderForwarding, UpstreamFault


def model_url(base_url: str, model: str, method: str) -> str:
    return f"{base_url.rstrip('/')}/model/{quote(model, safe='')}/{method}"


def converse_url(base_url: str, model: str, stream: bool) -> str:
    return model_url(base_url, model, "converse-stream" if stream else "converse")


def invoke_url(base_url: str, model: str, stream: bool) -> str:
    return model_url(base_url, model, "invoke-with-response-stream" if stream else "invoke")


def headers(upstream: Upstream, api_key: str | None) -> dict[str, str]:
    """A Bedrock API key is a bearer token; without one each request is signed (SigV4) as it
    leaves, over these headers too. (A stream's answer comes as `application/vnd.amazon.
    eventstream` whatever `accept` says, as boto3 sends it.)"""
    ours = {"content-type": "application/json", "accept": "application/json"}
    if isinstance(upstream, HttpUpstream):
        ours.update(upstream.headers)
    if api_key:
        ours["authorization"] = f"Bearer {api_key}"
    return ours


def no_forwarding(upstream: Upstream) -> HeaderForwarding | None:
    return None  # Converse takes no client headers: what Anthropic clients send as headers has no meaning here


def no_token_counter(base_url: str) -> None:
    return None  # the router's estimate answers count_tokens for Bedrock targets


# What to fix, by the error type Bedrock names (`x-amzn-ErrorType`), for the ones that are ours
# to fix rather than the client's.
_HINTS: Mapping[str, str] = {
    "AccessDeniedException": "the AWS identity lacks bedrock:InvokeModel on this model, or the model's "
                             "access is not enabled in this account and region",
    "UnrecognizedClientException": "the AWS credentials are not valid: check the access key, profile or role",
    "InvalidSignatureException": "the request signature was refused: check the secret key and the clock",
    "ExpiredTokenException": "the AWS session token has expired: refresh the credentials (SSO login, role)",
    "ResourceNotFoundException": "no such model in this region: check the model id, the inference profile "
                                 "prefix (us., eu., apac., global.) and the upstream's region",
}


def fault(status: int, response_headers: Mapping[str, str], raw: bytes) -> UpstreamFault | None:
    """The status Bedrock's error type means (a ModelNotReadyException comes as a 429 but says
    the model is loading: overloaded, not the client's rate) and what to fix."""
    kind = exception_type(response_headers.get("x-amzn-errortype"), raw)
    detail = quoted_signature_message(raw)
    if kind is None:
        return None if detail is None else UpstreamFault(detail=detail)
    meant = error_status(kind, default=status)
    return UpstreamFault(status=meant if meant != status else None, hint=_HINTS.get(kind), detail=detail)


class _BetaFlags:
    """InvokeModel takes the client's `anthropic-beta` flags in the body (`anthropic_beta`,
    router.spokes.bedrock.invoke): the header goes along so the body edit can read it."""

    def pick(self, incoming: Mapping[str, str]) -> dict[str, str]:
        flags = incoming.get("anthropic-beta")
        return {"anthropic-beta": flags} if flags else {}


_BETA_FLAGS = _BetaFlags()


def beta_forwarding(upstream: Upstream) -> HeaderForwarding | None:
    return _BETA_FLAGS
