"""Printing: what is printed parses back to the same function; LaTeX is well formed."""

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings

from cgcalc.evaluate import evaluate_point
from cgcalc.graph import parse
from cgcalc.printer import LATEX, latex_name, program_text, to_text
from test_derive import EXPRS, POINTS


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRS, POINTS, POINTS, POINTS)
def test_printed_text_parses_back_to_the_same_value(text, x, y, z):
    g = parse(text)
    env = {"x": x, "y": y, "z": z}
    want = evaluate_point(g.order, env)[g.output]
    assume(math.isfinite(want))
    h = parse(to_text(g.output))
    got = evaluate_point(h.order, env)[h.output]
    assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12)


@pytest.mark.parametrize("text, want", [
    ("-x^2", "-x^2"), ("(-x)^2", "(-x)^2"), ("a - (b - c)", "a - (b - c)"),
    ("a/(b*c)", "a/(b*c)"), ("2^3^2", "2^3^2"), ("(2^3)^2", "(2^3)^2"),
])
def test_parentheses_only_where_needed(text, want):
    assert to_text(parse(text).output) == want


def test_large_shared_graphs_print_as_statements_that_parse_back():
    lines = ["y0 = x"] + [f"y{i} = y{i-1}*y{i-1} + sin(y{i-1})" for i in range(1, 60)]
    g = parse("\n".join(lines))
    text = program_text(g.output, reserved=g.variables)
    assert ";" in text and len(text) < 10_000
    h = parse(text)
    assert math.isclose(evaluate_point(h.order, {"x": -0.5})[h.output],
                        evaluate_point(g.order, {"x": -0.5})[g.output], rel_tol=1e-12)


def test_latex():
    assert to_text(parse("sigmoid(x)/sqrt(y)").output, style=LATEX) == \
        "\\frac{\\sigma\\left(x\\right)}{\\sqrt{y}}"
    assert latex_name("theta1") == "\\theta_{1}"
    assert latex_name("θ2") == "\\theta_{2}"
    assert latex_name("L3") == "L_{3}"
    assert latex_name("δL3") == "\\delta_{L_{3}}" and latex_name("δ") == "\\delta"
    b = parse("x").builder  # an op named with an underscore is not a subscript in LaTeX
    node = b.make("sum_to", b.var("G"), b.var("A"))
    assert to_text(node, style=LATEX) == \
        "\\operatorname{sum\\_to}\\left(G, A\\right)"
