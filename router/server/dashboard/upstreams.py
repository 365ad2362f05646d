"""The upstreams page's data: each upstream (kind, base URL without credentials, on or off) and
each of its targets (`upstream/model` as in the metrics): breaker state, cool-down, in-flight
requests, the last failed attempts with their scrubbed messages, and the figures since start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from router.config.schema import Price
from router.gateway.state import RouterState
from router.observe.upstream_errors import UpstreamFailure
from router.server.admin import redacted_url
from router.server.dashboard.figures import Figures, Group


@dataclass(frozen=True, slots=True)
class TargetState:
    key: str
    breaker: str  # closed | open
    failures: int  # in a row, since the last success
    cooldown_left: float
    cooldown_until: float | None  # epoch s
    in_flight: int
    errors: list[UpstreamFailure]
    figures: Group


@dataclass(frozen=True, slots=True)
class UpstreamView:
    name: str
    kind: str
    base_url: str
    off: str | None
    price: str | None
    targets: list[TargetState]


def price_text(price: Price | None) -> str | None:
    if price is None:
        return None
    text = f"${price.input:g} in, ${price.output:g} out"
    if price.cache_read is not None:
        text += f", ${price.cache_read:g} cache read"
    if price.cache_write is not None:
        text += f", ${price.cache_write:g} cache write"
    return text + " per million tokens"


def _target_keys(state: RouterState, upstream: str) -> list[str]:
    """Targets of `upstream` in the table's plans, then any the breaker, the error ring or
    /metrics saw (a client's own model on a passthrough route)."""
    planned = [target.key for plan in state.table.plans.values() for target in plan.targets if target.upstream == upstream]
    others = [*state.health.known(), *state.upstream_errors.targets()]
    keys = [*planned, *sorted(key for key in others if key.startswith(f"{upstream}/"))]
    return [key for index, key in enumerate(keys) if key not in keys[:index]]


def target_state(state: RouterState, key: str, figures: Figures) -> TargetState:
    failures, left = state.health.breaker(key)
    until = state.now() + left if left else None
    return TargetState(key, "open" if left else "closed", failures, left, until, state.health.in_flight(key),
                       state.upstream_errors.of(key), figures.of_group("target", key))


def upstreams_context(state: RouterState) -> dict[str, Any]:
    loaded = state.table.loaded
    figures = Figures.of(state.metrics)
    views = []
    for name, upstream in loaded.config.upstreams.items():
        base_url = getattr(upstream, "base_url", None)
        off = "off: optional, and its API key is unset" if name in loaded.disabled_upstreams else None
        targets = [target_state(state, key, figures) for key in _target_keys(state, name)]
        views.append(UpstreamView(name, str(type(upstream).__struct_config__.tag), redacted_url(base_url) if base_url else "(the kind's default)",
                                  off, price_text(getattr(upstream, "price", None)), targets))
    known = {target.key for view in views for target in view.targets}
    # Targets /metrics counted that no upstream of this table has (removed by a reload).
    gone = [target_state(state, key, figures) for key in sorted(figures.by("target")) if key and key not in known]
    return {"upstreams": views, "gone": gone}
