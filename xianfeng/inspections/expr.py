"""XLSForm expressions (relevant, constraint, choice_filter): parsed once into a small JSON tree, evaluated the
same way here (server-side checks) and in the browser (static/inspections/fill.js, skip logic offline).

The subset: ${name} references, "." (the answer being checked), bare names (a choice's column, in choice_filter),
numbers, 'strings', or/and, = != < <= > >=, + - * div mod, unary minus, parentheses, and the functions
selected, count-selected, string-length, not, regex, contains, starts-with, if, number, int, string, concat,
today, true, false. XPath 1.0 rules: a comparison is numeric when both sides are numbers, an empty answer is "".

Tree nodes: ["num", 1.5] ["str", "x"] ["ref", "name"] ["self"] ["col", "name"] ["op", "and", a, b] ["neg", a]
["fn", "selected", [args]].
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

FUNCTIONS = {
    "selected": 2, "count-selected": 1, "string-length": 1, "not": 1, "regex": 2, "contains": 2, "starts-with": 2,
    "if": 3, "number": 1, "int": 1, "string": 1, "concat": -1, "today": 0, "true": 0, "false": 0,
}
_TOKEN = re.compile(r"""
    \s*(?:
      (?P<ref>\$\{(?P<refname>[A-Za-z_][\w.\-]*)\})
    | (?P<num>\d+(?:\.\d+)?|\.\d+)
    | (?P<str>'[^']*'|"[^"]*")
    | (?P<op><=|>=|!=|=|<|>|\+|-|\*|\(|\)|,)
    | (?P<self>\.(?![\w.]))
    | (?P<name>[A-Za-z_][\w\-]*(?::[A-Za-z_][\w\-]*)?)
    )""", re.VERBOSE)
_BINARY = {"or": 1, "and": 2, "=": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4, "+": 5, "-": 5, "*": 6,
           "div": 6, "mod": 6}


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ExpressionError(ValueError):
    """An expression that cannot be parsed; the text says where."""


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"无法识别的内容：{text[pos:pos + 10]!r}")
        pos = m.end()
        if m["ref"]:
            tokens.append(("ref", m["refname"]))
        elif m["num"]:
            tokens.append(("num", m["num"]))
        elif m["str"]:
            tokens.append(("str", m["str"][1:-1]))
        elif m["op"]:
            tokens.append(("op", m["op"]))
        elif m["self"]:
            tokens.append(("self", "."))
        elif m["name"]:
            tokens.append(("name", m["name"]))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExpressionError("表达式不完整")
        self.i += 1
        return token

    def binary_op(self) -> str | None:
        token = self.peek()
        if token is None:
            return None
        kind, value = token
        if kind == "op" and value in _BINARY:
            return value
        if kind == "name" and value in ("and", "or", "div", "mod"):
            return value
        return None

    def expression(self, min_prec: int = 1) -> list:
        left = self.unary()
        while True:
            op = self.binary_op()
            if op is None or _BINARY[op] < min_prec:
                return left
            self.take()
            right = self.expression(_BINARY[op] + 1)
            left = ["op", op, left, right]

    def unary(self) -> list:
        token = self.peek()
        if token == ("op", "-"):
            self.take()
            return ["neg", self.unary()]
        return self.primary()

    def primary(self) -> list:
        kind, value = self.take()
        if kind == "num":
            return ["num", float(value)]
        if kind == "str":
            return ["str", value]
        if kind == "ref":
            return ["ref", value]
        if kind == "self":
            return ["self"]
        if kind == "op" and value == "(":
            inner = self.expression()
            if self.take() != ("op", ")"):
                raise ExpressionError("缺少右括号")
            return inner
        if kind == "name":
            if self.peek() == ("op", "("):
                self.take()
                args: list = []
                if self.peek() != ("op", ")"):
                    args.append(self.expression())
                    while self.peek() == ("op", ","):
                        self.take()
                        args.append(self.expression())
                if self.take() != ("op", ")"):
                    raise ExpressionError(f"函数 {value} 缺少右括号")
                arity = FUNCTIONS.get(value)
                if arity is None:
                    raise ExpressionError(f"不支持的函数：{value}()")
                if arity >= 0 and len(args) != arity:
                    raise ExpressionError(f"函数 {value}() 需要{arity}个参数，实际{len(args)}个")
                return ["fn", value, args]
            return ["col", value]
        raise ExpressionError(f"此处不应出现 {value!r}")


def parse(text: str) -> list | None:
    """The tree for an expression, or None for an empty one. Raises ExpressionError."""
    if text is None or not str(text).strip():
        return None
    parser = _Parser(tokenize(str(text)))
    tree = parser.expression()
    if (extra := parser.peek()) is not None:
        raise ExpressionError(f"多余的内容：{extra[1]!r}")
    return tree


def references(tree: Any) -> set[str]:
    """The ${names} a tree refers to."""
    if not isinstance(tree, list) or not tree:
        return set()
    if tree[0] == "ref":
        return {tree[1]}
    found: set[str] = set()
    for part in tree[1:]:
        if isinstance(part, list):
            if part and isinstance(part[0], str):
                found |= references(part)
            else:
                for item in part:
                    found |= references(item)
    return found


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(_text(value).strip())
    except ValueError:
        return float("nan")


def _truth(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0 and value == value
    if isinstance(value, list):
        return bool(value)
    return bool(_text(value))


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, (int, float))


def _compare(op: str, a: Any, b: Any) -> bool:
    if op in ("=", "!="):
        if _is_number(a) or _is_number(b):
            na, nb = _number(a), _number(b)
            equal = na == nb if (na == na and nb == nb) else _text(a) == _text(b)
        elif isinstance(a, bool) or isinstance(b, bool):
            equal = _truth(a) == _truth(b)
        else:
            equal = _text(a) == _text(b)
        return equal if op == "=" else not equal
    if _DATE.match(_text(a)) and _DATE.match(_text(b)):  # ISO dates order as text
        ta, tb = _text(a), _text(b)
        return {"<": ta < tb, "<=": ta <= tb, ">": ta > tb, ">=": ta >= tb}[op]
    na, nb = _number(a), _number(b)
    if na != na or nb != nb:
        return False
    return {"<": na < nb, "<=": na <= nb, ">": na > nb, ">=": na >= nb}[op]


def evaluate(tree: Any, *, answers: Mapping[str, Any], current: Any = None, row: Mapping[str, Any] | None = None,
             today: Callable[[], dt.date] = dt.date.today) -> Any:
    """Evaluate a tree: ${name} from `answers`, "." is `current`, a bare name a column of the choice `row`."""
    if tree is None:
        return True
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "str":
        return tree[1]
    if kind == "ref":
        return answers.get(tree[1], "")
    if kind == "self":
        return "" if current is None else current
    if kind == "col":
        return (row or {}).get(tree[1], "")
    if kind == "neg":
        return -_number(evaluate(tree[1], answers=answers, current=current, row=row, today=today))

    def ev(node):
        return evaluate(node, answers=answers, current=current, row=row, today=today)

    if kind == "op":
        op = tree[1]
        if op == "or":
            return _truth(ev(tree[2])) or _truth(ev(tree[3]))
        if op == "and":
            return _truth(ev(tree[2])) and _truth(ev(tree[3]))
        a, b = ev(tree[2]), ev(tree[3])
        if op in ("=", "!=", "<", "<=", ">", ">="):
            return _compare(op, a, b)
        na, nb = _number(a), _number(b)
        if op == "+":
            return na + nb
        if op == "-":
            return na - nb
        if op == "*":
            return na * nb
        if op == "div":
            return na / nb if nb else float("nan")
        if op == "mod":
            return na % nb if nb else float("nan")
    if kind == "fn":
        name, args = tree[1], tree[2]
        vals = [ev(a) for a in args]
        if name == "selected":
            chosen = vals[0] if isinstance(vals[0], list) else _text(vals[0]).split()
            return _text(vals[1]) in [str(c) for c in chosen]
        if name == "count-selected":
            return float(len(vals[0]) if isinstance(vals[0], list) else len(_text(vals[0]).split()))
        if name == "string-length":
            return float(len(_text(vals[0])))
        if name == "not":
            return not _truth(vals[0])
        if name == "regex":
            try:
                return re.search(_text(vals[1]), _text(vals[0])) is not None
            except re.error:
                return False
        if name == "contains":
            return _text(vals[1]) in _text(vals[0])
        if name == "starts-with":
            return _text(vals[0]).startswith(_text(vals[1]))
        if name == "if":
            return vals[1] if _truth(vals[0]) else vals[2]
        if name == "number":
            return _number(vals[0])
        if name == "int":
            n = _number(vals[0])
            return float(int(n)) if n == n else n
        if name == "string":
            return _text(vals[0])
        if name == "concat":
            return "".join(_text(v) for v in vals)
        if name == "today":
            return today().isoformat()
        if name == "true":
            return True
        if name == "false":
            return False
    raise ExpressionError(f"无法计算的表达式节点：{kind}")


def truth(tree: Any, **kwargs: Any) -> bool:
    return _truth(evaluate(tree, **kwargs))
