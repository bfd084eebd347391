"""grammar/expr.lark and the parser: precedence, statements, names, and syntax errors that
point at the place."""

import math

import pytest

from cgcalc.errors import CgcalcError
from cgcalc.evaluate import evaluate_point
from cgcalc.graph import parse


def value(text, **env):
    g = parse(text)
    return evaluate_point(g.order, {k: float(v) for k, v in env.items()})[g.output]


@pytest.mark.parametrize("text, want", [
    ("-2^2", -4.0), ("2^3^2", 512.0), ("2**3**2", 512.0), ("(-2)^2", 4.0),
    ("2^-1", 0.5), ("1 - 2 - 3", -4.0), ("8 / 2 / 2", 2.0), ("2 * 3 + 4", 10.0),
    ("2 + 3 * 4", 14.0), ("-3 * -2", 6.0), ("+3", 3.0), (".5 + 1e-3 + 6.02E23", 6.02e23 + 0.501),
    ("pi", math.pi), ("e", math.e), ("log(8, 2)", 3.0), ("ln(e)", 1.0), ("pow(2, 10)", 1024.0),
    ("sqrt(16) + abs(-3) + sign(-2) + step(1) + relu(-1)", 4 + 3 - 1 + 1 + 0),
])
def test_precedence_and_constants(text, want):
    assert math.isclose(value(text), want, rel_tol=1e-12)


def test_statements_newlines_comments_and_unicode_names():
    text = "# the chain rule\nv = θ1^2   # square\n\nu = sin(v); σ = exp(u)\n"
    g = parse(text)
    assert g.variables == ("θ1",)
    assert g.name(g.output) == "σ"
    assert math.isclose(value(text, θ1=1.0), math.exp(math.sin(1.0)))


def test_newlines_inside_parentheses_continue_the_statement():
    assert value("f = sin(\n  x\n) + (1 +\n 2)", x=0.0) == 3.0


def test_last_statement_is_the_output_and_names_keep():
    g = parse("y1 = x*x + sin(x); y2 = y1*y1 + sin(y1); y2")
    assert g.name(g.output) == "y2"
    assert {g.name(n) for n in g.order} >= {"x", "y1", "y2"}


@pytest.mark.parametrize("text, line, column, words", [
    ("sin(x", 1, 6, "missing ')'"),
    ("x + * 2", 1, 5, "unexpected '*'"),
    ("2x", 1, 2, "write '*'"),
    ("x $ 2", 1, 3, "unexpected character '$'"),
    ("(x))", 1, 4, "no '(' to match"),
    ("a = 1\nb = a +", 2, 8, "unexpected end"),
    ("f(x,)", 1, 5, "unexpected ')'"),
    ("x)", 1, 2, "no '(' to match"),
    ("sin(x)) # (", 1, 7, "no '(' to match"),
    ("a = (x\n +\n 1)\nb = a) + 1", 4, 6, "no '(' to match"),
])
def test_syntax_errors_name_line_column_and_caret(text, line, column, words):
    _assert_placed(text, line, column, words)


@pytest.mark.parametrize("text, line, column", [
    ("(x +)", 1, 5), ("f(x,)", 1, 5), ("sin(x, )", 1, 8), ("(-)", 1, 3), ("((x *) + 1)", 1, 6),
    ("# )\n(x /)", 2, 5),
])
def test_a_close_paren_with_its_open_one_is_not_called_unmatched(text, line, column):
    """')' where an operand is missing: the '(' is there, the message must not say otherwise."""
    _assert_placed(text, line, column, "unexpected ')'")
    with pytest.raises(CgcalcError) as info:
        parse(text)
    assert "no '(' to match" not in info.value.message


def _assert_placed(text, line, column, words):
    with pytest.raises(CgcalcError) as info:
        parse(text)
    e = info.value
    assert (e.line, e.column) == (line, column)
    assert words in e.message
    rendered = e.render()
    assert rendered.startswith("error: ")
    src_line = text.splitlines()[line - 1]
    assert src_line in rendered
    caret_line = rendered.splitlines()[2]
    gutter = rendered.splitlines()[1].index(src_line)
    assert caret_line.index("^") == gutter + column - 1


@pytest.mark.parametrize("text, words", [
    ("", "empty"), ("  # only a comment\n", "empty"),
    ("sn(x)", "unknown function 'sn'"),
    ("sin(x, y)", "takes 1 argument"), ("pow(x)", "takes 2 arguments"),
    ("log(x, 2, 3)", "takes 1 or 2"),
    ("f = exp(u); u = sin(x); f", "used before it is bound"),
    ("a = x; a = y; a", "bound twice"),
    ("sin + 1", "is a function"),
])
def test_semantic_errors(text, words):
    with pytest.raises(CgcalcError) as info:
        parse(text)
    assert words in info.value.message


def test_unknown_function_suggests_the_nearest():
    with pytest.raises(CgcalcError) as info:
        parse("exp(sigmod(x))")
    assert info.value.hint == "did you mean sigmoid?"
    assert (info.value.line, info.value.column, info.value.width) == (1, 5, 6)


@pytest.mark.parametrize("text, number", [
    ("x*1_000", "1_000"), ("x + 2.5_5*x", "2.5_5"), ("sin(1e5_0 * x)", "1e5_0"),
    ("y = x\n3_0 * y", "3_0"),
])
def test_a_number_with_underscores_is_named_as_such(text, number):
    """1_000 lexes as 1 and a name _000; the error says what was meant, under all of it (not
    "write '*' to multiply", nor at the line's end)."""
    with pytest.raises(CgcalcError) as info:
        parse(text)
    e = info.value
    line = text.splitlines()[e.line - 1]
    assert e.message == f"{number!r} is not a number: write its digits without '_'"
    assert line[e.column - 1:e.column - 1 + e.width] == number


@pytest.mark.parametrize("text", ["2_x", "x1_000 +", "x + # 1_000\n*"])
def test_names_with_underscores_are_not_taken_for_numbers(text):
    with pytest.raises(CgcalcError) as info:
        parse(text)
    assert "is not a number" not in info.value.message
