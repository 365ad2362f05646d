"""Token counts by kind. Each spoke reads them from its own protocol's usage (`Spoke.read_usage`,
router.hub.usage for the hub's shape); everything else passes these around."""

from __future__ import annotations

from typing import NamedTuple


class Tokens(NamedTuple):
    """One answer's token counts.

    `input` is every prompt token the upstream read, cache reads and writes included (what rate
    limits and `router_tokens{kind="in"}` count); `output` what it generated. `cache_read` and
    `cache_write` are the parts of `input` that were read from / written to the prompt cache, so
    uncached input is `input - cache_read - cache_write`. A protocol that does not report a kind
    leaves it 0."""

    input: int
    output: int
    cache_read: int = 0
    cache_write: int = 0


def merge(earlier: Tokens | None, later: Tokens | None) -> Tokens | None:
    """Streams report input at their start and cumulative output later (sometimes input again):
    keep each field's latest non-zero value."""
    if later is None:
        return earlier
    if earlier is None:
        return later
    return Tokens(later.input or earlier.input, later.output or earlier.output,
                  later.cache_read or earlier.cache_read, later.cache_write or earlier.cache_write)
