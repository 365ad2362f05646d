"""The dashboard's figures that /metrics also has, read from the same Prometheus registry the
scrape encodes (every worker's files under `router serve --workers N`), so a figure on a page
and its counterpart in /metrics agree.

A figure name is one of FIGURES; `Figures.by(label)` groups them by a metric label (route,
target, key), `Figures.overall` sums every series.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.samples import Sample

from router.observe.metrics import MULTIPROC_ENV, Metrics

# name → what it sums in /metrics (tests/browser/counterparts.py checks the same rules).
FIGURES = {
    "requests_total": "router_requests_total",
    "errors_total": "router_requests_total with status >= 400",
    "tokens_input_total": "router_usage_tokens_total, kinds input + cache_read + cache_write",
    "tokens_output_total": "router_usage_tokens_total{kind=output}",
    "tokens_cache_read_total": "router_usage_tokens_total{kind=cache_read}",
    "tokens_cache_write_total": "router_usage_tokens_total{kind=cache_write}",
    "cost_usd_total": "router_cost_usd_total",
    "router_config_reloads": "router_config_reloads_total (by result)",
}
_TOKEN_FIGURES = {
    "input": ("tokens_input_total",),
    "output": ("tokens_output_total",),
    "cache_read": ("tokens_input_total", "tokens_cache_read_total"),
    "cache_write": ("tokens_input_total", "tokens_cache_write_total"),
}
Group = dict[str, float]  # figure name → value


def scrape(metrics: Metrics) -> list[Sample]:
    """Every sample /metrics would show now."""
    metrics.flush()
    registry = metrics.registry
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
    return [sample for metric in registry.collect() for sample in metric.samples]


def _contributions(sample: Sample) -> Iterable[str]:
    """The figures a sample adds to."""
    if sample.name == "router_requests_total":
        status = sample.labels.get("status", "")
        yield "requests_total"
        if status.isdigit() and int(status) >= 400:
            yield "errors_total"
    elif sample.name == "router_usage_tokens_total":
        yield from _TOKEN_FIGURES.get(sample.labels.get("kind", ""), ())
    elif sample.name == "router_cost_usd_total":
        yield "cost_usd_total"


def _empty() -> Group:
    return dict.fromkeys(("requests_total", "errors_total", "tokens_input_total", "tokens_output_total",
                          "tokens_cache_read_total", "tokens_cache_write_total", "cost_usd_total"), 0.0)


@dataclass(slots=True)
class Figures:
    samples: list[Sample]
    overall: Group = field(default_factory=_empty)
    _by: dict[str, dict[str, Group]] = field(default_factory=dict)

    @classmethod
    def of(cls, metrics: Metrics) -> Figures:
        figures = cls(scrape(metrics))
        for sample in figures.samples:
            for name in _contributions(sample):
                figures.overall[name] += sample.value
        return figures

    def by(self, label: str) -> Mapping[str, Group]:
        """label value → its figures, for the series that carry `label` (route, target, key)."""
        found = self._by.get(label)
        if found is None:
            groups: defaultdict[str, Group] = defaultdict(_empty)
            for sample in self.samples:
                if label not in sample.labels:
                    continue
                for name in _contributions(sample):
                    groups[sample.labels[label]][name] += sample.value
            found = self._by[label] = dict(groups)
        return found

    def of_group(self, label: str, value: str) -> Group:
        return self.by(label).get(value) or _empty()

    def counter(self, name: str, **labels: str) -> float:
        """The sum of counter `name`'s series whose labels include `labels`."""
        return sum(sample.value for sample in self.samples if sample.name == f"{name}_total"
                   and all(sample.labels.get(k) == v for k, v in labels.items()))

    def histogram_quantile(self, name: str, quantile: float) -> float | None:
        """As PromQL's histogram_quantile over every series of histogram `name` summed (linear
        within a bucket); None without an observation."""
        buckets: defaultdict[float, float] = defaultdict(float)
        for sample in self.samples:
            if sample.name == f"{name}_bucket":
                buckets[float(sample.labels["le"])] += sample.value
        bounds = sorted(buckets)
        if not bounds or buckets[bounds[-1]] == 0:
            return None
        rank = quantile * buckets[bounds[-1]]
        lower, below = 0.0, 0.0
        for bound in bounds:
            count = buckets[bound]
            if count >= rank:
                if bound == float("inf"):
                    return lower  # beyond the last finite bucket: its bound is all that is known
                return lower + (bound - lower) * ((rank - below) / (count - below) if count > below else 1.0)
            lower, below = bound, count
        return lower
