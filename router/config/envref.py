"""Environment references: how routes.toml names a secret without containing it.

A secret is written `env:NAME` or `${NAME}`; the value lives only in the process environment, so
routes.toml can be committed, shared and printed. Anything else in a secret's place is refused by
the loader (it would be a literal secret in a file).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_ENV_REF = re.compile(r"env:(?P<a>[A-Za-z_][A-Za-z0-9_]*)|\$\{(?P<b>[A-Za-z_][A-Za-z0-9_]*)\}")


def parse_env_ref(value: str) -> str | None:
    """The variable name `value` refers to, or None when it is not an env reference."""
    match = _ENV_REF.fullmatch(value)
    if match is None:
        return None
    return match.group("a") or match.group("b")


def resolve(value: str, environ: Mapping[str, str]) -> str | None:
    """The secret `value` refers to; None when it is no reference or the variable is unset.

    An empty variable counts as unset: `export KEY=` (or an env file line `KEY=`) is a missing key,
    and sending an empty bearer token would only turn into a confusing 401 later.
    """
    name = parse_env_ref(value)
    if name is None:
        return None
    return environ.get(name) or None
