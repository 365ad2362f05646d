"""Inline SVG sparklines, drawn on the server: a polyline's points from a series of counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 480
HEIGHT = 60


@dataclass(frozen=True, slots=True)
class Sparkline:
    """`points` for <polyline points=...>, scaled to `peak` (shared by lines drawn together)."""

    points: str
    peak: float


def sparkline(values: Sequence[float], peak: float | None = None) -> Sparkline:
    top = max(peak if peak is not None else max(values, default=0.0), 1.0)
    step = WIDTH / max(len(values) - 1, 1)
    points = " ".join(f"{index * step:.1f},{HEIGHT - value / top * (HEIGHT - 2) - 1:.1f}"
                      for index, value in enumerate(values))
    return Sparkline(points, top)
