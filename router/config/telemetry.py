"""`[telemetry]`: whether traces are on, and what `router check` says about the table.

Traces are on when the table is present (and not `enabled = false`) or when the environment
configures an OTLP exporter the way the OpenTelemetry SDKs read it, so an operator who already
sets OTEL_* for every service gets traces without editing routes.toml. Nothing here imports
OpenTelemetry: the extra is looked for with find_spec (router.observe.tracing imports it, at start,
when traces are on).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit

from router.config.envref import parse_env_ref
from router.config.problems import Finding
from router.config.schema import MockUpstream, Telemetry, Upstream, base_url_of

# The OTEL_* variables that, alone, ask for OTLP traces (the SDK's own meaning of them).
_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
OTEL_EXTRA_FIX = "pip install 'router[otel]'"
GRPC_FIX = "pip install opentelemetry-exporter-otlp-proto-grpc (or use protocol = \"http/json\")"


def tracing_on(telemetry: Telemetry | None, environ: Mapping[str, str]) -> bool:
    """`[telemetry]` decides when present; else an OTLP endpoint or exporter in the environment."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if telemetry is not None:
        return telemetry.enabled
    return from_environment(environ)


def from_environment(environ: Mapping[str, str]) -> bool:
    if any(environ.get(variable) for variable in _ENDPOINT_VARIABLES):
        return True
    exporters = environ.get("OTEL_TRACES_EXPORTER", "")
    return "otlp" in (name.strip().lower() for name in exporters.split(","))


# Not the SDK's default (http/protobuf): its protobuf encoder costs ~110 µs a span on the batch
# processor's thread, the router's CPU too; router.observe.otlp_json encodes JSON in ~10 µs, and
# OTLP receivers (the OTel Collector, Jaeger, Tempo) accept both on /v1/traces.
DEFAULT_PROTOCOL = "http/json"


def protocol_of(telemetry: Telemetry | None, environ: Mapping[str, str]) -> str:
    """The table's protocol, else the SDK's variables', else http/json."""
    if telemetry is not None and telemetry.protocol is not None:
        return telemetry.protocol
    return (environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
            or DEFAULT_PROTOCOL)


def otel_installed() -> bool:
    """The `otel` extra: the SDK and the OTLP/HTTP exporter, looked for without importing them."""
    return _found("opentelemetry.sdk") and _found("opentelemetry.exporter.otlp.proto.http")


def grpc_exporter_installed() -> bool:
    return _found("opentelemetry.exporter.otlp.proto.grpc")


def _found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package (the `opentelemetry` namespace) is missing
        return False


def check_telemetry(telemetry: Telemetry | None, environ: Mapping[str, str]) -> Iterator[Finding]:
    """Errors for a `[telemetry]` table that cannot work here; a warning when only the environment
    asks for traces and the extra is missing (the server then runs without them)."""
    if not tracing_on(telemetry, environ):
        return
    if telemetry is None:
        if not otel_installed():
            yield Finding(("telemetry",), "OTEL_* variables ask for traces but the otel extra is not installed: "
                          "no traces will be sent", OTEL_EXTRA_FIX, "warning")
        return
    path = ("telemetry",)
    if not otel_installed():
        yield Finding(path, "[telemetry] needs the otel extra (opentelemetry-sdk and its OTLP exporter)",
                      OTEL_EXTRA_FIX)
    elif protocol_of(telemetry, environ) == "grpc" and not grpc_exporter_installed():
        yield Finding((*path, "protocol"), "protocol grpc needs opentelemetry-exporter-otlp-proto-grpc", GRPC_FIX)
    if telemetry.endpoint is not None:
        yield from _check_endpoint(telemetry.endpoint)
    for name, value in telemetry.headers.items():
        yield from _check_header(name, value, environ)


def _check_endpoint(endpoint: str) -> Iterator[Finding]:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        yield Finding(("telemetry", "endpoint"), f"endpoint {endpoint!r} is not an http(s) URL",
                      'write the receiver\'s URL, e.g. endpoint = "http://collector:4318"')


def _check_header(name: str, value: str, environ: Mapping[str, str]) -> Iterator[Finding]:
    """Export headers usually carry a token: from the environment only, and never echoed."""
    path = ("telemetry", "headers", name)
    variable = parse_env_ref(value)
    if variable is None:
        yield Finding(path, f"header {name} is not an environment reference (value not shown: it may be a secret)",
                      f'secrets come from the environment; use env:NAME (e.g. {name} = "env:OTLP_TOKEN")')
    elif not environ.get(variable):
        yield Finding(path, f"environment variable {variable} is not set (header {name} of [telemetry])",
                      f"export {variable}=... or remove the header")


# gen_ai.provider.name per upstream kind (the GenAI semantic conventions' well-known values; a
# Vertex AI upstream is Google's Vertex AI whatever publisher's models it serves).
PROVIDERS: Mapping[str, str] = {
    "anthropic": "anthropic", "openai": "openai", "responses": "openai", "gemini": "gcp.gemini",
    "bedrock": "aws.bedrock", "azure": "azure.ai.openai", "mock": "router.mock",
}
VERTEX_PROVIDER = "gcp.vertex_ai"


def provider_name(upstream: Upstream) -> str:
    """What a span says the upstream is (`gen_ai.provider.name`)."""
    if getattr(upstream, "vertex", None) is not None:
        return VERTEX_PROVIDER
    kind = str(upstream.__struct_config__.tag)  # the `kind` tag of the upstream's struct
    return PROVIDERS.get(kind, kind)


def server_address(upstream: Upstream) -> str | None:
    """The host the upstream's requests go to (`server.address`), its kind's default included;
    None for the built-in mock."""
    if isinstance(upstream, MockUpstream):
        return None
    return urlsplit(base_url_of(upstream)).hostname
