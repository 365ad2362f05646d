"""Prices: which one applies to a target (route entry > upstream per-model > upstream default >
none), and what tokens cost at it, cache reads and writes included."""

from __future__ import annotations

import pytest

from router.config.load import load_config_text
from router.config.prices import TargetPrice, cost_usd, target_price
from router.config.schema import MockUpstream, Price
from router.core.usage import Tokens
from router.routing.lookup import build_table

SONNET = Price(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
DEFAULT = Price(input=1.0, output=2.0)
OWN = Price(input=9.0, output=9.0)


def test_cost_of_plain_tokens() -> None:
    assert cost_usd(Tokens(1_000_000, 1_000_000), DEFAULT) == pytest.approx(3.0)
    assert cost_usd(Tokens(1000, 500), SONNET) == pytest.approx(0.003 + 0.0075)


def test_cache_tokens_are_priced_apart_from_uncached_input() -> None:
    # 10,000 prompt tokens: 6,000 read from the cache, 2,000 written to it, 2,000 plain.
    tokens = Tokens(10_000, 1_000, cache_read=6_000, cache_write=2_000)
    expected = (2_000 * 3.0 + 6_000 * 0.3 + 2_000 * 3.75 + 1_000 * 15.0) / 1e6
    assert cost_usd(tokens, SONNET) == pytest.approx(expected)


def test_unset_cache_prices_are_the_input_price() -> None:
    tokens = Tokens(10_000, 0, cache_read=6_000, cache_write=2_000)
    assert cost_usd(tokens, DEFAULT) == pytest.approx(10_000 * 1.0 / 1e6)


def test_more_cache_tokens_than_input_never_charges_negative_input() -> None:
    assert cost_usd(Tokens(100, 0, cache_read=150), Price(input=1.0, output=1.0, cache_read=0.0)) == 0.0


def test_resolution_order() -> None:
    upstream = MockUpstream(price=DEFAULT, prices={"sonnet": SONNET})
    assert target_price(upstream, "sonnet", OWN).price == OWN  # the route entry's price wins
    assert target_price(upstream, "sonnet").price == SONNET  # then the upstream's per-model price
    assert target_price(upstream, "haiku").price == DEFAULT  # then the upstream's price
    assert target_price(MockUpstream(), "haiku").price is None  # else none


def test_a_pass_through_target_prices_by_the_clients_model() -> None:
    price = target_price(MockUpstream(price=DEFAULT, prices={"sonnet": SONNET}), None)
    assert price.for_model("sonnet") == SONNET
    assert price.for_model("other") == DEFAULT
    assert TargetPrice().for_model("x") is None


TABLE = """
[upstreams.up]
kind = "mock"
price = { input = 1, output = 2 }
prices = { "sonnet" = { input = 3, output = 15, cache-read = 0.3, cache-write = 3.75 } }

[[routes]]
name = "main"
models = ["claude-*"]
balance = "weighted"
to = [{ target = "up/sonnet", weight = 1, price = { input = 9, output = 9 } }, "up/sonnet", "up/haiku", "up"]
"""


def test_the_table_resolves_each_targets_price_at_load() -> None:
    table = build_table(load_config_text(TABLE, filename="routes.toml", environ={}))
    plan = table.lookup("anthropic", "claude-x")
    assert plan is not None
    prices = [target.price for target in plan.targets]
    assert [p.price for p in prices] == [OWN, SONNET, DEFAULT, DEFAULT]
    assert prices[3].for_model("sonnet") == SONNET


def test_prices_must_not_be_negative() -> None:
    from router.config.problems import InvalidConfig

    with pytest.raises(InvalidConfig) as raised:
        load_config_text(TABLE.replace("input = 1,", "input = -1,"), filename="routes.toml", environ={})
    assert "price" in str(raised.value.problems[0].render())
