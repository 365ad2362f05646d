"""OpenTelemetry traces, when `[telemetry]` or the OTEL_* variables ask for them (router.config.
telemetry decides). This module imports no OpenTelemetry: only `start_tracing`, at server start and
with traces on, imports router.observe.otel (which does), so a router without the `otel` extra, or
with traces off, never loads it and each request pays one `is not None` test (Exchange.tracing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from router.config.schema import Config, Telemetry
from router.config.telemetry import OTEL_EXTRA_FIX, otel_installed, tracing_on

if TYPE_CHECKING:
    from router.observe.otel import Tracing

log = logging.getLogger("router.observe.tracing")
TRACE_HEADERS = (b"traceparent", b"tracestate")  # W3C trace context


def start_tracing(telemetry: Telemetry | None, environ: Mapping[str, str],
                  config_now: Callable[[], Config]) -> Tracing | None:
    """The process's tracer, or None when traces are off. `config_now` reads the table in use (a
    reload may change the upstreams spans describe; a route's `trace-content` comes with its plan)."""
    if not tracing_on(telemetry, environ):
        return None
    if not otel_installed():
        # `router check` refuses a [telemetry] table without the extra; OTEL_* variables alone
        # (shared by every service of a deployment) only earn this warning.
        log.warning("traces are asked for but the otel extra is not installed (%s): no traces", OTEL_EXTRA_FIX)
        return None
    from router.observe.otel import open_tracing

    return open_tracing(telemetry, environ, config_now)


def trace_headers_of(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The W3C trace-context headers among an ASGI request's (a repeated one joined with ", ", as
    router.gateway.incoming joins them): where a request's span looks for its client's trace
    when the request never reached an upstream."""
    found: dict[str, str] = {}
    for name, value in raw:
        if name in TRACE_HEADERS:
            key, text = name.decode("latin-1"), value.decode("latin-1")
            found[key] = f"{found[key]}, {text}" if key in found else text
    return found
