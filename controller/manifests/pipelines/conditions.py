"""A check's `condition`: a threshold written as an expression over the measured `value`
(Argo Rollouts' `successCondition`), for what one range (`max`, `min`) cannot say, such as
`value < 0.01 or value > 0.99`.

The language is small on purpose, and parsed once when the manifest loads: numbers, `value`,
`+ - * /`, comparisons (chained too: `0.2 <= value < 0.8`), `and`, `or`, `not`, parentheses and
`abs(...)`. Anything else (names, attributes, other calls, strings) is refused with the
construct named, so a manifest can never make the controller run code.
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable
from typing import Any

MAX_LENGTH = 512
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_ARITHMETIC: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


@functools.lru_cache(maxsize=256)
def parse(text: str) -> ast.expr:
    """The condition's tree (never changed: cached per text, as every measurement judges it);
    ValueError saying what is not allowed."""
    if len(text) > MAX_LENGTH:
        raise ValueError(f"a condition has at most {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as e:
        raise ValueError(f"condition {text!r} is not an expression: {e.msg}") from None
    uses_value = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id not in ("value", "abs"):
                raise ValueError(f"condition {text!r}: unknown name {node.id!r} (use value)")
            uses_value = uses_value or node.id == "value"
        elif isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id == "abs"):
                raise ValueError(f"condition {text!r}: only abs(...) may be called")
            if len(node.args) != 1 or node.keywords:
                raise ValueError(f"condition {text!r}: abs takes one argument")
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise ValueError(f"condition {text!r}: only numbers may be written")
        elif not isinstance(node, _ALLOWED):
            raise ValueError(f"condition {text!r}: {type(node).__name__} is not allowed")
    if not uses_value:
        raise ValueError(f"condition {text!r} does not use value")
    if not isinstance(tree, (ast.Compare, ast.BoolOp)) and not (
        isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not)
    ):
        raise ValueError(f"condition {text!r} is not a comparison (value < 0.01, ...)")
    return tree


_ALLOWED = (
    ast.Compare,
    ast.BoolOp,
    ast.UnaryOp,
    ast.BinOp,
    ast.Load,
    ast.And,
    ast.Or,
    ast.Not,
    ast.USub,
    ast.UAdd,
    *_COMPARE,
    *_ARITHMETIC,
)


def holds(tree: ast.expr, value: float) -> bool:
    """Whether the condition holds for `value` (a division by zero does not hold)."""
    try:
        return bool(_evaluate(tree, value))
    except ZeroDivisionError:
        return False


def _evaluate(node: ast.expr, value: float) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return value
    if isinstance(node, ast.Call):
        return abs(_evaluate(node.args[0], value))
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, value)
        if isinstance(node.op, ast.Not):
            return not operand
        return -operand if isinstance(node.op, ast.USub) else +operand
    if isinstance(node, ast.BinOp):
        return _ARITHMETIC[type(node.op)](_evaluate(node.left, value), _evaluate(node.right, value))
    if isinstance(node, ast.BoolOp):
        results = (_evaluate(v, value) for v in node.values)
        return all(results) if isinstance(node.op, ast.And) else any(results)
    assert isinstance(node, ast.Compare)
    left = _evaluate(node.left, value)
    for op, right_node in zip(node.ops, node.comparators, strict=True):
        right = _evaluate(right_node, value)
        if not _COMPARE[type(op)](left, right):
            return False
        left = right
    return True
