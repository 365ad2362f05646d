"""Token counts: (in, out), where "in" is every prompt token the upstream read, cached or not, and
"out" what it generated. Each spoke reads them from its own protocol's usage (`Spoke.read_usage`,
router.hub.usage for the hub's shape); everything else passes these around."""

from __future__ import annotations

Tokens = tuple[int, int]


def merge(earlier: Tokens | None, later: Tokens | None) -> Tokens | None:
    """Streams report input at their start and cumulative output later (sometimes input again):
    keep each side's latest non-zero value."""
    if later is None:
        return earlier
    if earlier is None:
        return later
    return later[0] or earlier[0], later[1] or earlier[1]
