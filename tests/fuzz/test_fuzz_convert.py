"""Request conversion is a function of the request and the target: the same body, decoded and
converted twice, gives the same upstream bytes, for every capability set the converters adapt to.
(Neither request converter mints ids, so nothing is normalised away.)"""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from router.config.target import Capabilities, TargetContext
from router.hub.messages import MessagesRequest
from router.routing.compose import build_converters
from router.spokes.openai.wire import ChatRequest
from tests.fuzz import strategies as s
from tests.fuzz.profiles import share
from tests.fuzz.shapes import encode

CAPABILITIES = (
    Capabilities(),
    Capabilities(reasoning="reasoning-content", vision=False, max_output_tokens=8192, tool_schema="clean"),
    Capabilities(reasoning="effort", cache_control=True, top_k=True),
    Capabilities(reasoning="effort", tool_schema="clean", stream_usage=False),
    Capabilities(max_output_tokens=4000),
)
_encode = msgspec.json.Encoder().encode


def converted(pair: str, struct: type[Any], body: bytes, caps: Capabilities) -> bytes:
    ctx = TargetContext(route="t", upstream="up", model="target", caps=caps)
    src = msgspec.json.decode(body, type=struct)
    return _encode(build_converters(pair, ctx).request.function(src, ctx))


@share(0.5)
@given(body=s.anthropic_requests(), caps=st.sampled_from(CAPABILITIES))
def test_anthropic_to_openai_conversion_is_deterministic(body: dict[str, Any], caps: Capabilities) -> None:
    raw = encode(body)
    first = converted("anthropic__openai", MessagesRequest, raw, caps)
    assert converted("anthropic__openai", MessagesRequest, raw, caps) == first
    assert msgspec.json.decode(first)["model"] == "target"


@share(0.5)
@given(body=s.openai_requests(), caps=st.sampled_from(CAPABILITIES))
def test_openai_to_anthropic_conversion_is_deterministic(body: dict[str, Any], caps: Capabilities) -> None:
    raw = encode(body)
    first = converted("openai__anthropic", ChatRequest, raw, caps)
    assert converted("openai__anthropic", ChatRequest, raw, caps) == first
    assert msgspec.json.decode(first)["model"] == "target"
