"""The registry is the list of protocols, and everything else agrees with it: every spoke is
whole, every upstream kind and client protocol routes.toml accepts has its spoke, `router check`
knows each spoke's fields, and no module outside a spoke's package names a protocol."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import pytest

from router.config.protocols import CLIENT_ANSWER_FIELDS, UPSTREAM_REQUEST_FIELDS
from router.config.schema import ClientProtocol, Upstream
from router.config.target import Capabilities, TargetContext
from router.hub.messages import AnthropicMessage, MessagesRequest
from router.routing.compose import build_converters, pair_name, table_spec
from router.routing.compose import compose as _compose
from router.spokes.registry import BY_KIND, CLIENT_SPOKES, HUB, SPOKES, spoke_for_path
from router.spokes.spoke import Spoke

ROUTER = Path(__file__).resolve().parent.parent / "router"
CTX = TargetContext(route="r", upstream="u", model=None, caps=Capabilities())


def compose_pair(client: Spoke, upstream: Spoke):  # type: ignore[no-untyped-def]
    return _compose(client, upstream, CTX)


def test_exactly_one_spoke_is_the_hub_and_it_converts_nothing() -> None:
    assert [spoke.name for spoke in SPOKES.values() if spoke.is_hub] == [HUB.name]
    assert HUB.client.table is None and HUB.upstream.table is None
    assert HUB.client.stream_from_hub is None and HUB.upstream.stream_to_hub is None


@pytest.mark.parametrize("spoke", SPOKES.values(), ids=SPOKES.keys())
def test_a_converting_spoke_has_both_tables_machines_and_decoders(spoke: Spoke) -> None:
    """Each side a spoke has (Bedrock has only upstreams) converts both ways."""
    if spoke.is_hub:
        return
    assert spoke.client_side is not None or spoke.upstream_side is not None
    tables = []
    if spoke.client_side is not None:
        assert spoke.client.table is not None and spoke.client.stream_from_hub is not None
        tables.append(spoke.client.table)
    if spoke.upstream_side is not None:
        assert spoke.upstream.table is not None and spoke.upstream.stream_to_hub is not None
        assert spoke.upstream.answer_decoder is not None
        tables.append(spoke.upstream.table)
    for table in tables:
        spec = table_spec(table)
        assert spec.request and spec.response, table.name


def test_routes_toml_protocols_and_kinds_are_the_registrys() -> None:
    assert set(typing.get_args(ClientProtocol)) == {spoke.name for spoke in CLIENT_SPOKES}
    kinds = {str(kind.__struct_config__.tag) for kind in typing.get_args(Upstream)}
    assert kinds == set(BY_KIND)


def test_router_check_knows_every_spokes_fields() -> None:
    assert set(UPSTREAM_REQUEST_FIELDS) == set(BY_KIND)
    assert set(CLIENT_ANSWER_FIELDS) == {spoke.name for spoke in CLIENT_SPOKES}
    # The hub's own request fields include every field of its request Struct.
    hub_fields = UPSTREAM_REQUEST_FIELDS[HUB.upstream.kinds[0]][1]
    assert set(MessagesRequest.__struct_fields__) <= hub_fields
    assert set(AnthropicMessage.__struct_fields__) - {"content"} <= CLIENT_ANSWER_FIELDS[HUB.name][1]


@pytest.mark.parametrize("client", [name for name, spoke in SPOKES.items() if spoke.client_side is not None])
@pytest.mark.parametrize("upstream", [name for name, spoke in SPOKES.items() if spoke.upstream_side is not None])
def test_every_pair_of_spokes_composes(client: str, upstream: str) -> None:
    converters = build_converters(pair_name(client, upstream), CTX)
    assert converters.passthrough == (client == upstream)


def test_each_spokes_paths_take_its_shape() -> None:
    for spoke in CLIENT_SPOKES:
        for path in spoke.client.paths:
            assert spoke_for_path(path) is spoke
    assert spoke_for_path("/no/such/path") is HUB


def test_no_module_outside_a_spoke_names_a_protocol() -> None:
    """Dispatch, send, the limiter, explain and the rest ask the spoke. A quoted protocol name
    outside router/spokes/ (and config, which describes routes.toml) is a branch on it."""
    quoted = re.compile(r"""["'](%s)(__\w+)?["']""" % "|".join(map(re.escape, SPOKES)))
    offenders = []
    for path in ROUTER.rglob("*.py"):
        relative = path.relative_to(ROUTER)
        if relative.parts[0] in ("spokes", "config"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if quoted.search(code) and '"""' not in code:
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []


def test_a_spoke_with_one_side_is_asked_only_for_that_side() -> None:
    """An upstream-only protocol (Bedrock) has no client side: pairs with it as the client are
    not served, and asking for its client side is a clear error, not an AttributeError."""
    only_upstream = dataclasses.replace(SPOKES["openai"], name="openai-upstream-only", client_side=None)
    with pytest.raises(LookupError, match="no client speaks"):
        only_upstream.client
    assert compose_pair(HUB, only_upstream).answer_to_hub is not None
