"""The DSL: expressions are whitelisted, compiled functions do what the table says, ops apply in
order, and the generated source is inspectable."""

from __future__ import annotations

import linecache
import traceback
from types import SimpleNamespace

import pytest

from router.mapping.compile import compile_fields
from router.mapping.expr import Call, ExprError, Literal, Path, parse_expr
from router.mapping.spec import parse_pair_spec
from router.config.schema import ClampOp, DefaultOp, DropOp, RenameOp, SetOp

FUNCTIONS = {"upper": str.upper, "boom": lambda value: 1 / 0}


def test_parse_paths_calls_literals() -> None:
    assert parse_expr("src.a.b[0]", FUNCTIONS) == (Path("src", ("a", "b", 0)), False)
    assert parse_expr("upper(src.name)?", FUNCTIONS) == (Call("upper", (Path("src", ("name",)),)), True)
    assert parse_expr("'message'", FUNCTIONS) == (Literal("message"), False)
    assert parse_expr("None", FUNCTIONS) == (Literal(None), False)


@pytest.mark.parametrize(
    "text",
    ["__import__('os')", "src.a + 1", "open(src)", "lambda: 1", "os.path", "upper(x=src)", "src[src]", "src.a("],
)
def test_anything_outside_the_grammar_is_rejected(text: str) -> None:
    with pytest.raises(ExprError):
        parse_expr(text, FUNCTIONS)


def _compile(table: str, ops: list[object] = ()):  # type: ignore[assignment]
    spec = parse_pair_spec("test", table, FUNCTIONS)
    return compile_fields(name="convert", origin="test", fields=spec.request, ops=ops,
                          functions=FUNCTIONS, values=spec.values)


TABLE = """
[request]
name = "upper(src.name)"
user = "src.meta.user?"
first = "src.items[0]?"
kind = { from = "src.kind", values = "kinds" }
fixed = "'x'"

[values.kinds]
a = "alpha"
"*" = "other"
"""


def test_compiled_function_follows_the_table() -> None:
    convert = _compile(TABLE).function
    src = SimpleNamespace(name="ab", meta=SimpleNamespace(user="u1"), items=[7], kind="a")
    assert convert(src, None) == {"name": "AB", "user": "u1", "first": 7, "kind": "alpha", "fixed": "x"}
    bare = SimpleNamespace(name="c", meta=None, items=[], kind="zzz")
    assert convert(bare, None) == {"name": "C", "kind": "other", "fixed": "x"}


def test_ops_apply_in_order_after_the_table() -> None:
    ops = [
        SetOp(field="a", value={"nested": [1]}), DefaultOp(field="name", value="ignored"),
        DefaultOp(field="user", value="anon"), ClampOp(field="first", min=0, max=5),
        RenameOp(field="first", to="second"), DropOp(field="fixed"),
    ]
    convert = _compile(TABLE, ops).function
    src = SimpleNamespace(name="n", meta=None, items=[9], kind="a")
    assert convert(src, None) == {"name": "N", "kind": "alpha", "a": {"nested": [1]}, "user": "anon", "second": 5}
    # set values are fresh objects per call: one request can't leak into the next
    assert convert(src, None)["a"] is not convert(src, None)["a"]


def test_generated_source_is_in_linecache_and_tracebacks() -> None:
    compiled = _compile('[request]\nx = "boom(src)"\n')
    assert "def convert(src, ctx):" in compiled.source
    assert linecache.getlines(compiled.filename)
    with pytest.raises(ZeroDivisionError) as caught:
        compiled.function(SimpleNamespace(), None)
    assert "boom(src)" in "".join(traceback.format_tb(caught.value.__traceback__))


def test_unknown_value_map_and_bad_field_names_are_rejected() -> None:
    with pytest.raises(ExprError):
        parse_pair_spec("t", '[request]\nx = { from = "src.a", values = "nope" }\n', FUNCTIONS)
    with pytest.raises(ExprError):
        parse_pair_spec("t", '[request]\n"a-b" = "src.a"\n', FUNCTIONS)
