"""What a target's tokens cost: the price that applies to it, and a request's cost in USD.

Resolution, first found wins (all at load, never per request):

    the route's `{ target = "up/model", price = {...} }` entry
    └► the upstream's `prices = { "<model>" = {...} }`
       └► the upstream's `price`
          └► none: the request is recorded with its tokens, cost 0 and `priced = false`

A target that sends the client's model name unchanged (`to = "upstream"`) has no model at load:
its per-model prices are looked up with the client's model when the request comes
(`TargetPrice.for_model`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from router.config.problems import Finding
from router.config.rules import route_targets, split_target
from router.config.schema import Price, Route, Upstream, WeightedTarget
from router.core.usage import Tokens

PER_TOKEN = 1e-6  # prices are per million tokens
_NO_PRICES: Mapping[str, Price] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class TargetPrice:
    """A target's resolved price. `by_model` is only filled for a target that passes the client's
    model through and has no price of its own on the route: its upstream's per-model prices."""

    price: Price | None = None
    by_model: Mapping[str, Price] = field(default_factory=lambda: _NO_PRICES)

    def for_model(self, model: str) -> Price | None:
        """The price for a request whose client asked for `model` (one dict hit, usually empty)."""
        return self.by_model.get(model, self.price) if self.by_model else self.price


def entry_price(route: Route, index: int) -> Price | None:
    """The price written on the route's `index`-th target entry, if it is a table with one."""
    if isinstance(route.to, str):
        return None
    entry = route.to[index]
    return entry.price if isinstance(entry, WeightedTarget) else None


def target_price(upstream: Upstream, model: str | None, own: Price | None = None) -> TargetPrice:
    """The price of the target `upstream/model` (model None: the client's model is sent), with
    `own` the price on its route entry."""
    if own is not None:
        return TargetPrice(own)
    if model is None:
        return TargetPrice(upstream.price, MappingProxyType(dict(upstream.prices)) if upstream.prices else _NO_PRICES)
    return TargetPrice(upstream.prices.get(model, upstream.price))


def cost_usd(tokens: Tokens, price: Price) -> float:
    """What `tokens` cost at `price`. `tokens.input` counts every prompt token, so the uncached
    part is what is left after the cache reads and writes (never below 0: an upstream that
    reports more cache tokens than input is not charged negative input)."""
    input_tokens, output_tokens, cache_read, cache_write = tokens
    uncached = max(input_tokens - cache_read - cache_write, 0)
    read_price = price.input if price.cache_read is None else price.cache_read
    write_price = price.input if price.cache_write is None else price.cache_write
    micro = (uncached * price.input + output_tokens * price.output
             + cache_read * read_price + cache_write * write_price)
    return micro * PER_TOKEN


def unpriced_targets(routes: Sequence[tuple[int, Route]], upstreams: Mapping[str, Upstream],
                     disabled: Collection[str] = ()) -> Iterator[Finding]:
    """A warning for each target without a price, for when budgets are in use: its requests
    would count $0 against every budget. Targets on `disabled` upstreams (optional, no key) serve
    nothing and are left out. A pass-through target (`to = "upstream"`) is priced when its upstream
    has a `price` (per-model prices alone may miss the model a client asks for)."""
    for index, route in routes:
        for number, text in enumerate(route_targets(route)):
            upstream_name, model = split_target(text)
            upstream = upstreams.get(upstream_name)
            if upstream is None or upstream_name in disabled:
                continue  # an unknown upstream is an error of its own; a disabled one serves nothing
            if target_price(upstream, model, entry_price(route, number)).price is not None:
                continue
            where = ("routes", index, "to") if isinstance(route.to, str) else ("routes", index, "to", number)
            message = f'target "{text}" has no price, so budgets count its requests as $0'
            fix = (f'add price = {{ input = ..., output = ... }} to [upstreams.{upstream_name}]'
                   f'{"" if model is None else f" (or prices.{_toml_key(model)})"}')
            yield Finding(where, message, fix, "warning")


def _toml_key(name: str) -> str:
    bare = name.replace("-", "").replace("_", "").isalnum()
    return name if bare else f'"{name}"'
