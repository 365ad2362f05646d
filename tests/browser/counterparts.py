"""Each dashboard figure's Prometheus counterpart: which series of /metrics it sums.

A figure named after a metric (`router_...`) is the sum of that metric's series whose labels match
the figure's `data-*` labels. Other names are the dashboard's own and are listed in COUNTERPARTS;
a figure with neither is a failure, so every number the pages show is checked against /metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tests.browser.pages import Figure
from tests.browser.prometheus import Sample, total

Rule = Callable[[list[Sample], Mapping[str, str]], float]


def _sum(metric: str, **fixed: str) -> Rule:
    return lambda samples, labels: total(samples, metric, {**labels, **fixed})


def _errors(samples: list[Sample], labels: Mapping[str, str]) -> float:
    """Requests that ended with a status of 400 or more (router_requests_total's `status`)."""
    return sum(sample.value for sample in samples
               if sample.name == "router_requests_total" and sample.labels.get("status", "").isdigit()
               and int(sample.labels["status"]) >= 400
               and all(sample.labels.get(k) == v for k, v in labels.items()))


def _input_tokens(samples: list[Sample], labels: Mapping[str, str]) -> float:
    """Every prompt token: router_usage_tokens' kinds input (uncached), cache_read and cache_write."""
    return sum(total(samples, "router_usage_tokens", {**labels, "kind": kind})
               for kind in ("input", "cache_read", "cache_write"))


COUNTERPARTS: dict[str, Rule] = {
    "requests_total": _sum("router_requests"),
    "errors_total": _errors,
    "tokens_input_total": _input_tokens,
    "tokens_output_total": _sum("router_usage_tokens", kind="output"),
    "tokens_cache_read_total": _sum("router_usage_tokens", kind="cache_read"),
    "tokens_cache_write_total": _sum("router_usage_tokens", kind="cache_write"),
    "cost_usd_total": _sum("router_cost_usd"),
}


def expected(figure: Figure, samples: list[Sample]) -> float:
    """What /metrics says the figure should show."""
    if figure.name.startswith("router_"):
        return total(samples, figure.name, figure.labels)
    rule = COUNTERPARTS.get(figure.name)
    if rule is None:
        raise AssertionError(f"figure {figure.name!r} has no known Prometheus counterpart (tests/browser/counterparts.py)")
    return rule(samples, figure.labels)
