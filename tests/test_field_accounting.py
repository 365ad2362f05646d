"""Every field of every input wire Struct a shipped table converts from is accounted for: read by
a `src.` path, handled by a named function (`[handles.<section>]`), or dropped with a reason
(`[drop.<section>]`). Variant tables name a function or a drop reason for each tag, and the
README's "what is dropped, and why" is the one generated from the tables."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from router.mapping.accounting import account, field_paths
from router.mapping.compile import compile_variants
from router.mapping.docs import SHIPPED, ShippedTable, dropped_markdown, shipped_spec
from router.mapping.expr import Call, Expr
from router.mapping.expr import Path as ExprPath
from router.mapping.spec import FALLBACK_TAG, PairSpec, parse_pair_spec
from router.spokes.openai.client import content as client_content
from router.spokes.openai.upstream import content as upstream_content
from router.spokes.tables import read_pair_text

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- dropped:begin -->", "<!-- dropped:end -->"
CASES = [(shipped, section) for shipped in SHIPPED for section in shipped.inputs]


def _spec_from(shipped: ShippedTable, text: str) -> PairSpec:
    functions = {name for section in shipped.functions.values() for name in section}
    return parse_pair_spec(shipped.table, text, functions, set(shipped.variant_functions))


@pytest.mark.parametrize(("shipped", "section"), CASES, ids=[f"{s.table}:{sec}" for s, sec in CASES])
def test_every_input_field_is_accounted_for(shipped: ShippedTable, section: str) -> None:
    struct = shipped.inputs[section]
    problems = account(shipped_spec(shipped.table), section, struct).problems()
    assert not problems, f"schemas/{shipped.table}.toml [{section}] ({struct.__name__}):\n" + "\n".join(problems)


def test_an_unaccounted_field_fails_naming_it() -> None:
    shipped = next(entry for entry in SHIPPED if entry.table == "openai.client")
    text = read_pair_text("openai.client")
    trimmed = re.sub(r"(?m)^seed = .*\n", "", text)
    assert trimmed != text
    result = account(_spec_from(shipped, trimmed), "request", shipped.inputs["request"])
    assert result.unaccounted == ("seed",)
    assert "seed: not read by the table, handled by a function, or dropped with a reason" in result.problems()


def test_a_function_without_handles_accounts_for_nothing() -> None:
    shipped = next(entry for entry in SHIPPED if entry.table == "openai.upstream")
    text = read_pair_text("openai.upstream")
    trimmed = re.sub(r"(?m)^reasoning_effort_for = .*\n", "", text)
    assert trimmed != text
    result = account(_spec_from(shipped, trimmed), "request", shipped.inputs["request"])
    assert set(result.unaccounted) == {"thinking.type", "thinking.budget_tokens", "output_config.effort"}


class Inner(msgspec.Struct):
    a: int = 0
    b: int = 0


class Outer(msgspec.Struct):
    x: int = 0
    inner: list[Inner] | None = None


def test_paths_typos_and_conflicts() -> None:
    assert field_paths(Outer) == ("x", "inner", "inner.a", "inner.b")
    table = """
[request]
x = "src.x"
y = "f(src)"

[handles.request]
f = ["inner.a", "inner.zz"]

[drop.request]
x = "reason"
"""
    result = account(parse_pair_spec("t", table, {"f"}), "request", Outer)
    assert result.unaccounted == ("inner.b",)
    assert result.unknown == ("inner.zz",)
    assert result.read_and_dropped == ("x",)
    # a path covers what is under it; a drop under a read field says what the function leaves out
    table = '[request]\ny = "f(src.inner)"\nx = "src.x"\n[drop.request]\n"inner.b" = "why"\n'
    assert account(parse_pair_spec("t", table, {"f"}), "request", Outer).ok


def test_functions_given_the_whole_input_say_what_they_handle() -> None:
    """A function called with bare `src` reads whatever it likes: its `handles` entry must say."""
    for shipped in SHIPPED:
        spec = shipped_spec(shipped.table)
        for section in shipped.inputs:
            plans = spec.request if section == "request" else spec.response
            for plan in plans:
                for func in _whole_input_calls(plan.expr):
                    assert func in spec.handles[section], f"{shipped.table} [handles.{section}] lacks {func}"


def _whole_input_calls(expr: Expr) -> list[str]:
    if not isinstance(expr, Call):
        return []
    found = [expr.func] if any(isinstance(arg, ExprPath) and arg.root == "src" and not arg.steps for arg in expr.args) else []
    return found + [func for arg in expr.args for func in _whole_input_calls(arg)]


# --- variant tables --------------------------------------------------------------------------------

VARIANT_CASES = [
    ("openai.upstream", "content_block", upstream_content),
    ("openai.client", "content_part", client_content),
]


@pytest.mark.parametrize(("table", "name", "module"), VARIANT_CASES, ids=[case[0] for case in VARIANT_CASES])
def test_variant_tables_drive_the_spokes_dispatch(table: str, name: str, module: object) -> None:
    variants = shipped_spec(table).variants[name]
    functions = getattr(module, "VARIANTS")
    assert FALLBACK_TAG in variants and variants[FALLBACK_TAG].function is None, "new tags need a fallback"
    assert {v.function for v in variants.values() if v.function} == set(functions), "a VARIANTS function unused"
    assert all(v.reason for v in variants.values() if v.function is None)
    assert dict(getattr(module, "part_converters")()) == dict(compile_variants(variants, functions))


def test_dropped_and_unknown_variants_convert_to_nothing() -> None:
    ctx = object()  # a dropped block never reaches the target's capabilities
    for tag in ("thinking", "redacted_thinking", "server_tool_use", "something_new"):
        assert upstream_content.content_part({"type": tag}, "$", ctx) is None  # type: ignore[arg-type]
    for tag in ("input_audio", "something_new"):
        assert client_content.part_block({"type": tag}, "$") is None


def test_unknown_variant_function_is_rejected() -> None:
    from router.mapping.expr import ExprError

    with pytest.raises(ExprError, match="unknown function"):
        parse_pair_spec("t", '[variants.block]\ntext = "nope"\n', set(), {"text_of"})


# --- the README ------------------------------------------------------------------------------------


def test_readme_dropped_table_is_generated_from_the_tables() -> None:
    text = README.read_text("utf-8")
    assert BEGIN in text and END in text, f"README.md lacks the {BEGIN} ... {END} section"
    current = text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")
    fresh = dropped_markdown().strip("\n")
    if current != fresh:
        print(f"README.md is out of date; between {BEGIN} and {END} put:\n\n{fresh}\n")
    assert current == fresh, "README.md's dropped table is stale: see the fresh text printed above"
