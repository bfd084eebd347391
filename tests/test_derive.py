"""Derivatives: the sum over paths, reverse and forward accumulation, the symbolic derivative
printed and parsed back, finite differences and SymPy as independent oracles."""

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cgcalc.derive import Analysis
from cgcalc.render.common import derivatives
from cgcalc.evaluate import evaluate_point
from cgcalc.graph import parse
from conftest import close, fd


def f_at(g, env):
    return evaluate_point(g.order, env)[g.output]


def check_all_ways(text, env, rel=1e-6):
    """reverse = forward = finite differences = the printed symbolic derivative re-parsed
    = the sum over all listed paths."""
    g = parse(text)
    a = Analysis(g, list(g.variables), env, max_paths=10_000)
    adj = a.adjoints()
    derivs = {d.wrt[0]: d for d in derivatives(a)}
    for v in g.variables:
        reverse = adj.get(g.var_nodes[v], 0.0)
        forward = a.tangents(v)[g.output]
        numeric = fd(lambda t: f_at(g, {**env, v: t}), env[v])
        printed = derivs[v].text
        h = parse(printed)
        assert set(h.variables) <= set(g.variables), printed
        reparsed = evaluate_point(h.order, {k: env[k] for k in h.variables})[h.output]
        paths = a.paths(v)
        if len(paths) == a.path_counts()[v]:
            assert close(sum(p for _, _, p in paths), reverse, rel=1e-9, abs_=1e-12)
        assert close(reverse, forward, rel=1e-9, abs_=1e-12), (text, v)
        assert close(reverse, numeric, rel=rel, abs_=1e-6), (text, v, reverse, numeric)
        assert close(reparsed, reverse, rel=1e-8, abs_=1e-10), (text, v, printed)
        assert close(derivs[v].value, reverse, rel=1e-8, abs_=1e-10)


@pytest.mark.parametrize("text, env", [
    ("exp(sin(x^2))", {"x": 1.0}),
    ("v = x^2; u = sin(v); f = exp(u)", {"x": 0.7}),
    ("sin(x)*cos(x) + sin(x)", {"x": 0.5}),
    ("x*x", {"x": 3.0}),
    ("x*y + sin(x*y)", {"x": 1.0, "y": 2.0}),
    ("y1 = x*x + sin(x); y2 = y1*y1 + sin(y1); y3 = y2*y2 + sin(y2); y3", {"x": 0.3}),
    ("sigmoid(w*x + b)", {"w": 0.5, "x": -1.5, "b": 0.25}),
    ("p = sigmoid(z); -y*log(p) - (1-y)*log(1-p)", {"z": 0.3, "y": 1.0}),
    ("tanh(x) / (1 + x^2) + softplus(x) - relu(x) * abs(x)", {"x": 0.8}),
    ("asin(x/2) + acos(x/3) + atan(x) + sinh(x) + cosh(x) + tan(x)", {"x": 0.4}),
    ("log(x, 2) + ln(x) + sqrt(x) + pow(x, y) + x^y", {"x": 1.7, "y": 0.6}),
    ("exp(sin(x*y)) * log(1 + x^2) + tanh(y) / (1 + x^2)", {"x": 0.3, "y": -0.8}),
])
def test_all_ways_agree(text, env):
    check_all_ways(text, env)


# -- random expressions ------------------------------------------------------------------------
LEAVES = st.sampled_from(["x", "y", "z", "2", "0.5", "3", "pi"])
UNARY = ["sin", "cos", "tanh", "sigmoid", "atan", "softplus", "exp", "-"]
BINARY = ["+", "-", "*", "/", "^2", "^3"]


def _combine(children):
    def build(args):
        kind, a, b = args
        if kind in UNARY:
            if kind == "exp":
                return f"exp(sin({a}))"  # bounded: keeps values finite
            return f"-({a})" if kind == "-" else f"{kind}({a})"
        if kind == "/":
            return f"({a}) / (1 + ({b})^2)"  # never divides by zero
        if kind.startswith("^"):
            return f"({a}){kind}"
        return f"({a}) {kind} ({b})"
    return st.tuples(st.sampled_from(UNARY + BINARY), children, children).map(build)


EXPRS = st.recursive(LEAVES, _combine, max_leaves=12)
POINTS = st.floats(-1.5, 1.5, allow_nan=False).filter(lambda v: abs(v) > 1e-3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRS, POINTS, POINTS, POINTS)
def test_random_expressions_all_ways(text, x, y, z):
    g = parse(text)
    assume(g.variables)
    env = {"x": x, "y": y, "z": z}
    env = {v: env[v] for v in g.variables}
    value = f_at(g, env)
    assume(math.isfinite(value) and abs(value) < 1e6)
    check_all_ways(text, env, rel=1e-5)


EXPRS_XY = st.recursive(st.sampled_from(["x", "y", "2", "0.5"]), _combine, max_leaves=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRS_XY, POINTS, POINTS)
def test_second_derivatives_match_finite_differences_of_the_first(text, x, y):
    g = parse(f"x * ({text})")
    env = {"x": x, "y": y}
    env = {v: env[v] for v in g.variables}
    assume(abs(f_at(g, env)) < 1e4)
    a2 = Analysis(g, ["x"], env, order_n=2)
    (d2,) = derivatives(a2)

    def first(t):
        return Analysis(g, ["x"], {**env, "x": t}).adjoints()[g.var_nodes["x"]]
    assert close(d2.value, fd(first, x), rel=1e-5, abs_=1e-5)


# -- SymPy as an independent oracle ------------------------------------------------------------
SYMPY_TABLE = [
    "exp(sin(x^2))", "x^3 - 2*x + 1", "sin(x)*cos(x)", "x/(1 + x^2)", "log(x^2 + 1)",
    "sqrt(1 + x^2)", "atan(x) + asin(x/3)", "tanh(x)^2", "exp(-x^2/2)", "x^x",
    "sigmoid(x)", "softplus(x)", "cosh(x)*sinh(x)", "1/x + 1/x^2", "log(x, 10)",
    "sin(x*y) + y^2", "exp(x*y)/(x + y)", "(x + y)^3",
]


def _sympy(text):
    sp = pytest.importorskip("sympy")
    x, y = sp.symbols("x y")
    names = {"x": x, "y": y, "sigmoid": lambda a: 1 / (1 + sp.exp(-a)),
             "softplus": lambda a: sp.log(1 + sp.exp(a)), "ln": sp.log, "pi": sp.pi,
             "e": sp.E, "sqrt": sp.sqrt, "exp": sp.exp, "log": sp.log, "sin": sp.sin,
             "cos": sp.cos, "tan": sp.tan, "asin": sp.asin, "acos": sp.acos, "atan": sp.atan,
             "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh, "abs": sp.Abs}
    # test-only: our own table above and our own printed output, never user input
    return sp.sympify(text.replace("^", "**"), locals=names), (x, y), sp


@pytest.mark.parametrize("text", SYMPY_TABLE)
def test_against_sympy(text):
    expr, (x, y), sp = _sympy(text)
    g = parse(text)
    env = {"x": 0.7, "y": 1.3}
    env = {v: env[v] for v in g.variables}
    a = Analysis(g, list(g.variables), env)
    for d in derivatives(a):
        sym = {"x": x, "y": y}[d.wrt[0]]
        want = sp.diff(expr, sym)
        got_value = float(want.subs({x: 0.7, y: 1.3}))
        assert close(d.value, got_value, rel=1e-10, abs_=1e-12), (text, d.text, want)
        ours, _, _ = _sympy(d.text)
        assert sp.simplify(ours - want) == 0, (text, d.text, want)


def test_sum_over_listed_paths_equals_accumulation_on_shared_graph():
    g = parse("y1 = x*x + sin(x); y2 = y1*y1 + sin(y1); y3 = y2*y2 + sin(y2); y3")
    a = Analysis(g, ["x"], {"x": 0.4}, max_paths=1000)
    paths = a.paths("x")
    assert len(paths) == a.path_counts()["x"] == 27
    assert len({tuple(s) for _, s, _ in paths}) == 27  # x*x: two edges, two distinct paths
    assert close(sum(p for _, _, p in paths), a.adjoints()[g.var_nodes["x"]], rel=1e-12)


def test_listing_is_bounded_but_count_is_exact():
    lines = ["y0 = x"] + [f"y{i} = y{i-1}*y{i-1} + sin(y{i-1})" for i in range(1, 41)]
    g = parse("\n".join(lines))
    a = Analysis(g, ["x"], {"x": -0.5}, max_paths=7)
    assert len(a.paths("x")) == 7
    assert a.path_counts()["x"] == 3 ** 40


def test_deep_chain_derivative_without_recursion():
    depth = 20_000
    g = parse("sin(" * depth + "x" + ")" * depth)
    a = Analysis(g, ["x"], {"x": 0.3})
    (d,) = derivatives(a)
    want, v = 1.0, 0.3
    for _ in range(depth):
        want *= math.cos(v)
        v = math.sin(v)
    assert close(d.value, want, rel=1e-9)
    h = parse(d.text)  # statements, parsed back
    assert close(f_at(h, {"x": 0.3}), want, rel=1e-9)


def test_mixed_partials_and_hessian_order():
    g = parse("x^2*y^3")
    a = Analysis(g, ["x", "y"], {"x": 2.0, "y": 3.0}, order_n=2)
    got = {d.key: (d.text, d.value) for d in derivatives(a)}
    assert list(got) == ["x,x", "x,y", "y,y"]
    assert got["x,x"][1] == 2 * 27 and got["x,y"][1] == 2 * 2 * 3 * 9
    assert got["y,y"][1] == 4 * 6 * 3


def test_domain_error_names_the_node():
    from cgcalc.errors import EvaluationError

    g = parse("u = x - 2; f = log(u)")
    with pytest.raises(EvaluationError) as info:
        Analysis(g, ["x"], {"x": 1.0})
    assert "u = x - 2" not in info.value.message and "log(u)" in info.value.message
    assert info.value.status == 1 and info.value.line == 1
