"""Route conditions (`when`): each condition matching and not, fall-through to later routes, the
exact-name fast path kept for unconditioned routes, and facts computed lazily (the token estimate
only when a route that could match has a token bound)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from router.config.load import load_config_text
from router.hub.messages import MessagesRequest, request_from_python
from router.hub.tokens import count_input_tokens
from router.routing.facts import RequestFacts
from router.routing.lookup import Table, build_table
from router.spokes.anthropic import view
from router.spokes.openai.wire import ChatRequest

KEY_A = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
HEAD = f"""
[auth]
keys = [{{ name = "team-a", sha256 = "{KEY_A}" }}]

[upstreams.local]
kind = "mock"
"""
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def table_of(routes: str) -> Table:
    return build_table(load_config_text(HEAD + routes, filename="t.toml", environ={}))


def conditional(when: str, model: str = "m") -> Table:
    """`cond` (with the conditions) then `plain` (without), both for `model`."""
    return table_of(f"""
[[routes]]
name = "cond"
models = ["{model}"]
to = "local"
when = {when}

[[routes]]
name = "plain"
models = ["{model}"]
to = "local"
""")


def anthropic(**fields: Any) -> MessagesRequest:
    body = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}], **fields}
    return request_from_python(body, MessagesRequest)


def openai(**fields: Any) -> ChatRequest:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields}
    return msgspec.convert(body, ChatRequest)


def route_for(table: Table, facts: RequestFacts, model: str = "m") -> str | None:
    plan = table.lookup(facts.protocol, model, facts)
    return None if plan is None else plan.route


def a_facts(headers: dict[str, str] | None = None, key: str | None = None, **fields: Any) -> RequestFacts:
    return RequestFacts.given("anthropic", anthropic(**fields), headers, key)


def o_facts(headers: dict[str, str] | None = None, key: str | None = None, **fields: Any) -> RequestFacts:
    return RequestFacts.given("openai", openai(**fields), headers, key)


# --- each condition ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("thinking", "expected"),
    [
        ({"type": "enabled", "budget_tokens": 1024}, "cond"),
        ({"type": "adaptive"}, "cond"),
        ({"type": "disabled"}, "plain"),
        (None, "plain"),
    ],
)
def test_thinking_anthropic(thinking: dict[str, Any] | None, expected: str) -> None:
    table = conditional("{ thinking = true }")
    assert route_for(table, a_facts(thinking=thinking)) == expected


@pytest.mark.parametrize(("effort", "expected"), [("low", "cond"), ("high", "cond"), ("none", "plain"), (None, "plain")])
def test_thinking_openai(effort: str | None, expected: str) -> None:
    table = conditional("{ thinking = true }")
    assert route_for(table, o_facts(reasoning_effort=effort)) == expected


def test_thinking_false_matches_requests_without_thinking() -> None:
    table = conditional("{ thinking = false }")
    assert route_for(table, a_facts()) == "cond"
    assert route_for(table, a_facts(thinking={"type": "enabled", "budget_tokens": 2048})) == "plain"


def image_block() -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}


def test_images_in_a_user_message() -> None:
    table = conditional("{ images = true }")
    content = [{"type": "text", "text": "what is this?"}, image_block()]
    assert route_for(table, a_facts(messages=[{"role": "user", "content": content}])) == "cond"
    assert route_for(table, a_facts()) == "plain"


def test_images_inside_a_tool_result() -> None:
    table = conditional("{ images = true }")
    messages = [
        {"role": "user", "content": "take a screenshot"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "screenshot", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [image_block()]}]},
    ]
    assert route_for(table, a_facts(messages=messages)) == "cond"


def test_no_images_when_tool_results_hold_text_only() -> None:
    table = conditional("{ images = false }")
    messages = [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "plain text"}]}]
    assert route_for(table, a_facts(messages=messages)) == "cond"


def test_images_openai_image_url_parts() -> None:
    table = conditional("{ images = true }")
    parts = [{"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]
    assert route_for(table, o_facts(messages=[{"role": "user", "content": parts}])) == "cond"
    assert route_for(table, o_facts()) == "plain"


def test_tools_present_and_absent() -> None:
    tools_on, tools_off = conditional("{ tools = true }"), conditional("{ tools = false }")
    tool = {"name": "get_weather", "input_schema": {"type": "object"}}
    assert route_for(tools_on, a_facts(tools=[tool])) == "cond"
    assert route_for(tools_on, a_facts()) == "plain"
    assert route_for(tools_on, a_facts(tools=[])) == "plain"  # an empty list offers no tools
    assert route_for(tools_off, a_facts()) == "cond"
    function = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    assert route_for(tools_on, o_facts(tools=[function])) == "cond"


def test_header_exact_value_any_name_case() -> None:
    table = conditional('{ header = { "X-Team" = "research" } }')
    assert route_for(table, a_facts({"x-team": "research"})) == "cond"
    assert route_for(table, a_facts({"X-TEAM": "research"})) == "cond"
    assert route_for(table, a_facts({"x-team": "Research"})) == "plain"  # values are exact
    assert route_for(table, a_facts({"x-team": "research-2"})) == "plain"
    assert route_for(table, a_facts({})) == "plain"


def test_header_glob_and_list_of_values() -> None:
    table = conditional('{ header = { "x-team" = ["research", "lab-*"] } }')
    assert route_for(table, a_facts({"x-team": "lab-7"})) == "cond"
    assert route_for(table, a_facts({"x-team": "research"})) == "cond"
    assert route_for(table, a_facts({"x-team": "labs"})) == "plain"


def test_several_headers_must_all_match() -> None:
    table = conditional('{ header = { "x-team" = "a", "x-env" = "prod*" } }')
    assert route_for(table, a_facts({"x-team": "a", "x-env": "production"})) == "cond"
    assert route_for(table, a_facts({"x-team": "a"})) == "plain"


def test_key_name() -> None:
    table = conditional('{ key = ["team-a"] }')
    assert route_for(table, a_facts(key="team-a")) == "cond"
    assert route_for(table, a_facts(key="team-b")) == "plain"
    assert route_for(table, a_facts(key=None)) == "plain"


def fixed_tokens(monkeypatch: pytest.MonkeyPatch, tokens: int) -> list[int]:
    """Replace the estimator with a constant; the list records each call."""
    calls: list[int] = []

    def count(request: Any) -> int:
        calls.append(tokens)
        return tokens

    monkeypatch.setattr(view, "count_input_tokens", count)
    return calls


@pytest.mark.parametrize(("tokens", "expected"), [(59_999, "plain"), (60_000, "cond"), (200_000, "cond"), (200_001, "plain")])
def test_input_token_bounds_are_inclusive(monkeypatch: pytest.MonkeyPatch, tokens: int, expected: str) -> None:
    fixed_tokens(monkeypatch, tokens)
    table = conditional("{ min-input-tokens = 60000, max-input-tokens = 200000 }")
    assert route_for(table, a_facts()) == expected


def test_input_tokens_are_the_count_tokens_estimate() -> None:
    table = conditional("{ min-input-tokens = 5000 }")
    long_text = "word " * 6000
    src = anthropic(messages=[{"role": "user", "content": long_text}])
    assert count_input_tokens(src) >= 5000
    assert route_for(table, RequestFacts.given("anthropic", src)) == "cond"
    assert route_for(table, a_facts()) == "plain"


def test_openai_requests_count_as_the_anthropic_request_they_become() -> None:
    system = "You are terse."
    src = openai(messages=[{"role": "system", "content": system}, {"role": "user", "content": "Hello, Claude"}])
    same = anthropic(system=system, messages=[{"role": "user", "content": "Hello, Claude"}])
    assert RequestFacts.given("openai", src).input_tokens == count_input_tokens(same)


def test_all_conditions_must_hold() -> None:
    table = conditional('{ tools = true, thinking = true, key = ["team-a"] }')
    tool = {"name": "t", "input_schema": {"type": "object"}}
    thinking = {"type": "enabled", "budget_tokens": 1024}
    assert route_for(table, a_facts(key="team-a", tools=[tool], thinking=thinking)) == "cond"
    assert route_for(table, a_facts(key="team-a", tools=[tool])) == "plain"
    assert route_for(table, a_facts(key="team-b", tools=[tool], thinking=thinking)) == "plain"


# --- first match wins, fall-through, the fast path ----------------------------------------------


def test_fall_through_past_a_glob_to_a_later_glob() -> None:
    table = table_of("""
[[routes]]
name = "thinking-claude"
models = ["claude-*"]
to = "local"
when = { thinking = true }

[[routes]]
name = "claude"
models = ["claude-*"]
to = "local"

[[routes]]
name = "rest"
models = ["*"]
to = "local"
""")
    thinking = {"type": "enabled", "budget_tokens": 1024}
    assert route_for(table, a_facts(thinking=thinking), "claude-x") == "thinking-claude"
    assert route_for(table, a_facts(), "claude-x") == "claude"
    assert route_for(table, a_facts(thinking=thinking), "gpt-4o") == "rest"


def test_a_failed_condition_falls_through_to_nothing() -> None:
    table = table_of("""
[[routes]]
name = "only-with-tools"
models = ["m"]
to = "local"
when = { tools = true }
""")
    assert route_for(table, a_facts()) is None


def test_order_is_file_order_between_exact_and_glob_routes() -> None:
    table = table_of("""
[[routes]]
name = "glob-with-condition"
models = ["m*"]
to = "local"
when = { tools = true }

[[routes]]
name = "exact"
models = ["m"]
to = "local"
""")
    tool = {"name": "t", "input_schema": {"type": "object"}}
    assert route_for(table, a_facts(tools=[tool])) == "glob-with-condition"
    assert route_for(table, a_facts()) == "exact"


def test_unconditioned_exact_names_stay_a_dict_hit() -> None:
    table = table_of("""
[[routes]]
name = "plain"
models = ["a"]
to = "local"

[[routes]]
name = "cond"
models = ["b"]
to = "local"
when = { tools = true }

[[routes]]
name = "after-cond"
models = ["b"]
to = "local"

[[routes]]
name = "empty-when"
models = ["c"]
to = "local"
when = {}
""")
    assert table.exact[("anthropic", "a")].route == "plain"
    assert table.exact[("anthropic", "c")].route == "empty-when"  # `when = {}`: no conditions
    assert ("anthropic", "b") not in table.exact  # the first route claiming "b" has conditions
    assert route_for(table, a_facts(), "b") == "after-cond"


def test_without_facts_conditional_routes_are_skipped() -> None:
    table = conditional("{ tools = false }")
    plan = table.lookup("anthropic", "m")
    assert plan is not None and plan.route == "plain"


# --- laziness ------------------------------------------------------------------------------------


def never_count(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(request: Any) -> int:
        raise AssertionError("the token estimate was computed")

    monkeypatch.setattr(view, "count_input_tokens", fail)


def test_tokens_not_counted_when_no_route_needs_them(monkeypatch: pytest.MonkeyPatch) -> None:
    never_count(monkeypatch)
    table = conditional("{ tools = false, thinking = false }")
    facts = a_facts()
    assert route_for(table, facts) == "cond"
    assert not facts.token_estimate_computed


def test_tokens_not_counted_for_a_token_route_of_another_model(monkeypatch: pytest.MonkeyPatch) -> None:
    never_count(monkeypatch)
    table = table_of("""
[[routes]]
name = "long"
models = ["claude-*"]
to = "local"
when = { min-input-tokens = 100000 }

[[routes]]
name = "rest"
models = ["*"]
to = "local"
""")
    assert route_for(table, a_facts(), "gpt-4o") == "rest"


def test_tokens_not_counted_when_a_cheaper_condition_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    never_count(monkeypatch)
    table = conditional('{ min-input-tokens = 1000, key = ["team-a"], tools = true }')
    assert route_for(table, a_facts(key="team-b")) == "plain"  # the key fails first
    assert route_for(table, a_facts(key="team-a")) == "plain"  # then tools


def test_tokens_counted_once_for_several_token_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fixed_tokens(monkeypatch, 50)
    table = table_of("""
[[routes]]
name = "huge"
models = ["m"]
to = "local"
when = { min-input-tokens = 100000 }

[[routes]]
name = "big"
models = ["m"]
to = "local"
when = { min-input-tokens = 1000 }

[[routes]]
name = "small"
models = ["m"]
to = "local"
when = { max-input-tokens = 999 }
""")
    assert route_for(table, a_facts()) == "small"
    assert calls == [50]


def test_body_loaded_once_and_only_when_a_body_fact_is_needed() -> None:
    loads: list[int] = []
    src = anthropic()

    def load() -> MessagesRequest:
        loads.append(1)
        return src

    table = table_of("""
[[routes]]
name = "team"
models = ["m"]
to = "local"
when = { header = { "x-team" = "a" } }

[[routes]]
name = "flags"
models = ["m"]
to = "local"
when = { tools = true, thinking = true }

[[routes]]
name = "images"
models = ["m"]
to = "local"
when = { images = true }

[[routes]]
name = "plain"
models = ["m", "other"]
to = "local"
""")
    make: Callable[[], RequestFacts] = lambda: RequestFacts("anthropic", load, {"x-team": "a"}, None)
    assert route_for(table, make()) == "team"
    assert route_for(table, make(), "other") == "plain"
    assert loads == []  # headers alone decided; the body was never needed
    facts = RequestFacts("anthropic", load, {}, None)
    assert route_for(table, facts) == "plain"
    assert loads == [1] and facts.decoded


def test_facts_are_computed_at_most_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fixed_tokens(monkeypatch, 10)
    facts = a_facts()
    assert facts.input_tokens == facts.input_tokens == 10
    assert calls == [10]
    assert facts.thinking is False and facts.tools is False and facts.images is False
