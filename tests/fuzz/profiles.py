"""Hypothesis profiles for the fuzz suite (issue 13), and each property's share of them.

`fuzz` (loaded by default): bounded so the whole suite stays within about a minute on two cores,
every property at most a few hundred examples. `long`: the deeper run,
`pytest tests/fuzz --hypothesis-profile=long` (or the whole suite with the flag). tests/conftest.py
registers them: hypothesis loads the chosen profile while pytest configures, after the initial
conftests but before those of subdirectories.

Both profiles: no deadline (the first example of a property pays for imports and compiling the
route converters, and the shared CI cores are noisy; a deadline would flag the machine, not the
code), `print_blob` on so a failure prints the `@reproduce_failure` line to paste, and no example
database: the working tree is shared and `.hypothesis/` is not ignored; the blob is the replay.
"""

from __future__ import annotations

from hypothesis import settings

_COMMON = {"deadline": None, "print_blob": True, "database": None}

settings.register_profile("fuzz", max_examples=100, **_COMMON)
settings.register_profile("long", max_examples=5_000, **_COMMON)


def load_default() -> None:
    """`fuzz`, unless a profile was chosen on the command line (hypothesis loads that one later
    when this runs as an initial conftest, and earlier otherwise; either way it wins)."""
    if settings.get_current_profile_name() == "default":
        settings.load_profile("fuzz")


def share(fraction: float) -> settings:
    """The loaded profile with `fraction` of its examples: properties whose inputs vary less
    (a cut offset, a missing field) need fewer, and the suite's time budget is shared."""
    return settings(max_examples=max(10, int(settings.default.max_examples * fraction)))
