"""Expressions of the field tables: parsed with `ast`, checked against a whitelist, kept as IR.

Grammar (anything else is rejected at load, never evaluated):
    expr  := path | call | literal
    path  := ("src" | "ctx") ("." NAME | "[" INT "]")*
    call  := FUNC "(" expr ("," expr)* ")"      FUNC must be registered for the protocol pair
    literal := 'text' | 123 | 1.5 | True | False | None
A trailing "?" on the whole expression omits the output key when the value is None.
"""

from __future__ import annotations

import ast
from collections.abc import Collection
from dataclasses import dataclass

ROOTS = frozenset({"src", "ctx"})


@dataclass(frozen=True, slots=True)
class Path:
    root: str
    steps: tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Call:
    func: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Literal:
    value: object


Expr = Path | Call | Literal


class ExprError(ValueError):
    pass


def parse_expr(text: str, functions: Collection[str]) -> tuple[Expr, bool]:
    """Parse one field expression; return it and whether it is optional (trailing "?")."""
    optional = text.endswith("?")
    source = text[:-1] if optional else text
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExprError(f"not an expression: {text!r} ({exc.msg})") from None
    return _to_ir(tree, text, functions), optional


def _to_ir(node: ast.expr, text: str, functions: Collection[str]) -> Expr:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool, type(None))):
        return Literal(node.value)
    if isinstance(node, ast.Call):
        return _call_to_ir(node, text, functions)
    if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)):
        return _path_to_ir(node, text)
    raise ExprError(f"{text!r}: only paths, registered functions and literals are allowed")


def _call_to_ir(node: ast.Call, text: str, functions: Collection[str]) -> Call:
    if not isinstance(node.func, ast.Name) or node.keywords:
        raise ExprError(f"{text!r}: call a registered function by name, positional arguments only")
    if node.func.id not in functions:
        raise ExprError(f"{text!r}: unknown function {node.func.id!r}")
    return Call(node.func.id, tuple(_to_ir(arg, text, functions) for arg in node.args))


def _path_to_ir(node: ast.expr, text: str) -> Path:
    steps: list[str | int] = []
    while not isinstance(node, ast.Name):
        if isinstance(node, ast.Attribute):
            steps.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and type(node.slice.value) is int:
            steps.append(node.slice.value)
            node = node.value
        else:
            raise ExprError(f"{text!r}: a path is src/ctx followed by .name or [index]")
    if node.id not in ROOTS:
        raise ExprError(f"{text!r}: a path starts with src or ctx, not {node.id!r}")
    return Path(node.id, tuple(reversed(steps)))
