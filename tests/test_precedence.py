"""cgcalc/precedence.py: whatever the operator-precedence parser parses, it parses exactly as
the LALR tables do (the same AST, every node's kind, text, line, column and width); every input
the tables reject it gives up on (None), so lark still names the place of every error; and it
does parse the expression language's valid programs without array syntax."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgcalc import grammars, lalr
from cgcalc.parse import ToAst
from cgcalc.precedence import parse_fast
from test_grammars import EXPR_CASES, EXPR_PIECES, _programs


def by_tables(text):
    try:
        return grammars.parser("expr").tables.parse(text, ToAst())
    except lalr.NoParse:
        return None


def shape(stmts):
    """The statements as plain tuples (walked with a stack: deep input is ordinary)."""
    if stmts is None:
        return None
    out = []
    for s in stmts:
        nodes, stack = [], [s.expr]
        while stack:
            a = stack.pop()
            nodes.append((a.kind, a.text, a.line, a.column, a.width, len(a.args)))
            stack.extend(reversed(a.args))
        out.append((s.name, s.line, s.column, s.width, s.index, nodes))
    return out


ARRAYS = set("@'[]")


def agree(text):
    fast, tables = parse_fast(text), by_tables(text)
    if tables is None:
        assert fast is None, f"{text!r}: parsed by the fast path, rejected by the grammar"
    elif fast is not None:
        assert shape(fast) == shape(tables)
    else:  # it gives up only on array syntax
        assert ARRAYS & set(text), f"{text!r}: valid, no array syntax, yet not parsed"


CASES = EXPR_CASES + [
    "-x^2", "2^-3^2", "-2^2*3", "a*-b*c", "x^-y*z", "- - x", "+x", "a - -b", "2**3**2",
    "f(a, g(b, c), -d)", "f()", "f(\n)", "f(a,)", "f(,a)", "(a, b)", "x = y = 3", "x =", "= x",
    "x\n= 3", "1e", "1..2", "2.e3 + .5E-2", "x;;y;", "a = 1; b = a; -b", "sin\n(x)",
    "x\r\ny", "x \\\n + y", "((((x))))", "(x))", "((x)", "pi = 3", "1_0", "٣ + x", "x +\n y",
    "(x +\n y)", "exp(sin(x^2))\n", "# only\nx # and\n", "x\t+\fy", "x $ y", "sin(x)(y)", " ",
    "x  ", "x \t\f\r", "x\n  ", "  x  ;  ", "x \\ ", "x\\",
    # a name and its "(" are one piece for the fast parser, blanks between them included
    "sin (x)", "sin\t(x)", "sin\f(x)", "f\v(x)", "pow (x, 2)", "log (x, 2)", "é \t(x)",
    "θ(x)", "(f\n(x))", "2 sin(x)", "pi(x)", "x = sin (y); x (z)", "f ()", "sin (\n x)",
]


@pytest.mark.parametrize("text", CASES)
def test_agrees_with_the_tables(text):
    agree(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(EXPR_PIECES), max_size=16))
def test_agrees_on_random_input(pieces):
    agree("".join(pieces))


# characters the fast parser's tokens start with or stop at: every blank and line break, every
# first character it sorts by (ASCII), and outside ASCII letters, digits and neither
ODD_PIECES = EXPR_PIECES + ["\r", "\r\n", "\t", "\f", "\v", "\x00", ".", "..", "\\",
                            "\\ \t\r\n", "٣", "é", "→", "\u2028", "\x85", "_", "f()", "f(\n)", "1.",
                            "3e", "#"]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(ODD_PIECES), max_size=12))
def test_agrees_on_odd_characters(pieces):
    agree("".join(pieces))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_programs())
def test_agrees_on_random_programs(text):
    agree(text)


def test_deep_and_wide_inputs():
    n = 100_000
    deep = parse_fast("sin(" * n + "-x" + ")" * n)
    node, depth = deep[0].expr, 0
    while node.kind == "call":
        node, depth = node.args[0], depth + 1
    assert depth == n and node.kind == "neg" and node.args[0].text == "x"
    wide = parse_fast(" + ".join(f"x{i}" for i in range(n)))
    assert wide[0].expr.kind == "add" and wide[0].expr.args[1].text == f"x{n - 1}"
    assert wide[0].expr.args[1].column == len(" + ".join(f"x{i}" for i in range(n - 1))) + 4
