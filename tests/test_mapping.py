"""The DSL: expressions are whitelisted, compiled functions do what the table says, ops apply in
order, and the generated source is inspectable."""

from __future__ import annotations

import linecache
import traceback
from types import SimpleNamespace

import pytest

from router.config.schema import ClampOp, DefaultOp, DropOp, RenameOp, SetOp
from router.mapping.compile import compile_fields, compile_variants
from router.mapping.expr import Call, ExprError, Literal, Path, parse_expr
from router.mapping.spec import Variant, parse_pair_spec

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


# --- accounting and variant tables ---------------------------------------------------------------

ACCOUNTED = """
[request]
name = "upper(src.name)"
kind = "src.kind"

[handles.request]
upper = ["name", "meta.user"]

[drop.request]
seed = "no counterpart"
meta.extra = "nested keys are dotted paths"

[variants.block]
text = "text_of"
thinking = "drop: only its author can read it"
"*" = "drop: new types are left out"
"""


def test_drops_handles_and_variants_are_parsed() -> None:
    spec = parse_pair_spec("test", ACCOUNTED, FUNCTIONS, {"text_of"})
    assert dict(spec.drops["request"]) == {"seed": "no counterpart", "meta.extra": "nested keys are dotted paths"}
    assert dict(spec.drops["response"]) == {}
    # a function's handles replace the paths passed to it; plain paths read themselves
    assert [plan.reads for plan in spec.request] == [("name", "meta.user"), ("kind",)]
    assert spec.variants["block"]["text"] == Variant("text", "text_of")
    assert spec.variants["block"]["thinking"] == Variant("thinking", None, "only its author can read it")


def test_variant_tables_compile_to_a_dispatch_dict() -> None:
    spec = parse_pair_spec("test", ACCOUNTED, FUNCTIONS)
    dispatch = compile_variants(spec.variants["block"], {"text_of": str.upper})
    assert dispatch == {"text": str.upper, "thinking": None, "*": None}
    with pytest.raises(ValueError, match="text_of"):
        compile_variants(spec.variants["block"], {})


def test_drops_generate_comments_only() -> None:
    spec = parse_pair_spec("test", ACCOUNTED, FUNCTIONS)
    plain = compile_fields(name="convert", origin="t", fields=spec.request, ops=(), functions=FUNCTIONS,
                           values=spec.values)
    noted = compile_fields(name="convert", origin="t", fields=spec.request, ops=(), functions=FUNCTIONS,
                           values=spec.values, drops=spec.drops["request"])
    assert "# dropped: seed - no counterpart" in noted.source
    src = SimpleNamespace(name="a", kind="k", seed=1)
    assert plain.function(src, None) == noted.function(src, None) == {"name": "A", "kind": "k"}


@pytest.mark.parametrize(
    "table",
    [
        '[drop.request]\nseed = ""\n',  # a drop needs a reason
        '[drop.request]\nseed = 1\n',
        '[drop.requests]\nseed = "typo in the section"\n',
        '[variants.block]\nthinking = "drop:"\n',  # so does a dropped variant
        '[variants.block]\ntext = "not a name"\n',
        '[variants.block]\ntext = "unregistered"\n',
        '[request]\nx = "src.a"\n[handles.request]\nupper = ["a"]\n',  # handles for a function not called
        '[request]\nx = "upper(src)"\n[handles.request]\nupper = "a"\n',
    ],
)
def test_bad_accounting_entries_are_rejected(table: str) -> None:
    with pytest.raises(ExprError):
        parse_pair_spec("t", table, FUNCTIONS, {"text_of"})
