"""Every protocol the router speaks: one line per spoke. Adding a protocol is its package under
router/spokes/ plus its line here; everything else asks this registry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from router.config.schema import Upstream
from router.spokes.anthropic.spoke import SPOKE as ANTHROPIC
from router.spokes.bedrock.spoke import SPOKE as BEDROCK
from router.spokes.gemini.spoke import SPOKE as GEMINI
from router.spokes.openai.spoke import SPOKE as OPENAI
from router.spokes.responses.spoke import SPOKE as RESPONSES
from router.spokes.spoke import Spoke

SPOKES: Mapping[str, Spoke] = MappingProxyType({spoke.name: spoke for spoke in (ANTHROPIC, OPENAI, RESPONSES, GEMINI, BEDROCK)})

# The spokes clients speak (front doors, routes.toml's `clients`).
CLIENT_SPOKES: tuple[Spoke, ...] = tuple(spoke for spoke in SPOKES.values() if spoke.client_side is not None)

HUB: Spoke = next(spoke for spoke in SPOKES.values() if spoke.is_hub)

# routes.toml upstream kind → the spoke its upstreams speak.
BY_KIND: Mapping[str, Spoke] = MappingProxyType(
    {kind: spoke for spoke in SPOKES.values() if spoke.upstream_side is not None for kind in spoke.upstream_side.kinds})


def spoke_named(name: str) -> Spoke:
    return SPOKES[name]


def spoke_for_kind(kind: str) -> Spoke:
    return BY_KIND[kind]


def spoke_for_target(upstream: Upstream, client: str, models: Sequence[str]) -> Spoke:
    """The spoke a route target's upstream speaks to this client protocol: its kind's, or the
    one its other API speaks (Bedrock's InvokeModel speaks Anthropic Messages). `models`: the
    target's model, or the route's patterns when the client's name goes through."""
    spoke = BY_KIND[str(type(upstream).__struct_config__.tag)]
    speaks = spoke.upstream.speaks
    other = None if speaks is None else speaks(upstream, client, models)
    return spoke if other is None else SPOKES[other]


def spokes_for_listing(headers: Mapping[str, str]) -> tuple[Spoke, ...]:
    """Whose models GET /v1/models lists, in the first one's shape: the spoke whose marker
    header the client sent, else every spoke whose clients send none (OpenAI Chat and Responses
    clients share one list, in OpenAI's shape, which is what generic tools expect)."""
    unmarked: list[Spoke] = []
    for spoke in CLIENT_SPOKES:
        marker = spoke.client.marker_header
        if marker is None:
            unmarked.append(spoke)
        elif marker in headers:
            return (spoke,)
    return tuple(unmarked) or (HUB,)


def spoke_for_path(path: str) -> Spoke:
    """The spoke whose API `path` belongs to (the longest matching prefix of its paths and error
    paths); the hub's for any other path, so a 404 on an unknown path is in the hub's shape."""
    best, length = HUB, 0
    for spoke in CLIENT_SPOKES:
        for prefix in (*spoke.client.paths, *spoke.client.error_paths):
            if len(prefix) > length and path.startswith(prefix):
                best, length = spoke, len(prefix)
    return best
