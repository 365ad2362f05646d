"""Identifiers the router makes up: request ids, message, completion and tool-use ids.

They name things (for logs, for clients matching a tool result to its call); they guard nothing,
so they come from the `random` module's generator, not os.urandom: in a VM a getrandom syscall
per id was measured at 2-4% of a small request's CPU. `random` reseeds itself in a forked
child, so worker processes never share a sequence; 96 bits make a collision a non-event.
"""

from __future__ import annotations

import random


def new_id(prefix: str) -> str:
    """`prefix` and 24 hex digits, e.g. new_id("msg_") -> "msg_4f0c…"."""
    return prefix + random.randbytes(12).hex()
