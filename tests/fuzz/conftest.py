"""The fuzz suite's hypothesis profiles (tests/fuzz/profiles.py): `fuzz` by default, `long` with
`pytest tests/fuzz --hypothesis-profile=long`."""

from __future__ import annotations

from tests.fuzz.profiles import load_default

load_default()
