"""What the router's /metrics says, as sums over the series a dashboard figure names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Sample:
    name: str
    labels: Mapping[str, str]
    value: float


def scrape(base_url: str) -> list[Sample]:
    """Every sample of GET /metrics (the Prometheus text format)."""
    response = httpx.get(f"{base_url}/metrics", timeout=10.0)
    response.raise_for_status()
    return [Sample(sample.name, dict(sample.labels), float(sample.value))
            for family in text_string_to_metric_families(response.text) for sample in family.samples]


def total(samples: list[Sample], name: str, labels: Mapping[str, str] | None = None) -> float:
    """The sum of the samples called `name` (a counter's `_total` may be left off) whose labels
    include all of `labels`."""
    names = {name, f"{name}_total"} if not name.endswith("_total") else {name}
    wanted = labels or {}
    return sum(sample.value for sample in samples
               if sample.name in names and all(sample.labels.get(k) == v for k, v in wanted.items()))
