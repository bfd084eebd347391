"""The simplifier: identities, like terms, cancelling factors, and value preservation."""

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings

from cgcalc.evaluate import evaluate_point
from cgcalc.graph import parse, topological
from cgcalc.printer import to_text
from cgcalc.simplify import Simplifier
from test_derive import EXPRS, POINTS


def simp(text):
    g = parse(text)
    return to_text(Simplifier(g.builder)(g.output))


@pytest.mark.parametrize("text, want", [
    ("x + 0", "x"), ("1*x", "x"), ("0*sin(x)", "0"), ("x^1", "x"), ("x^0", "1"),
    ("2 + 3*4", "14"), ("x + 2*x", "3*x"), ("x*x^2", "x^3"), ("a*b/a", "b"),
    ("(a*b)/(a*c)", "b/c"), ("x - x", "0"), ("-(a - b)", "b - a"), ("x/2 + x/3", "5*x/6"),
    ("sqrt(x)*sqrt(x)", "x"), ("exp(log(x))", "x"), ("log(exp(x))", "x"),
    ("2*(x + 1) - 2", "2*x"), ("x^2*x^-3", "1/x"), ("1/(2*sqrt(x))", "1/(2*sqrt(x))"),
    ("sin(0) + cos(0)", "1"), ("2*pi", "2*pi"), ("sqrt(4)", "2"), ("8^(1/3)", "2"),
    ("(y - p)/(p*(1 - p)) * p*(1 - p)", "y - p"),
])
def test_rules(text, want):
    assert simp(text) == want


def test_backprop_cancellation_of_sigmoid_and_cross_entropy():
    # dC/dz for C = -y log(p) - (1-y) log(1-p), p = sigmoid(z): backprop's (L3 - y)
    from cgcalc.derive import Analysis
    from cgcalc.render.common import derivatives

    g = parse("p = sigmoid(z); -y*log(p) - (1-y)*log(1-p)")
    (d,) = derivatives(Analysis(g, ["z"]))
    assert d.text in ("sigmoid(z) - y", "-y + sigmoid(z)")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRS, POINTS, POINTS, POINTS)
def test_simplifying_keeps_the_value(text, x, y, z):
    g = parse(text)
    env = {"x": x, "y": y, "z": z}
    try:
        want = evaluate_point(g.order, env)[g.output]
    except Exception:
        assume(False)
    assume(math.isfinite(want) and abs(want) < 1e8)
    s = Simplifier(g.builder)(g.output)
    got = evaluate_point(topological([s]), env)[s]
    assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
    # and it is idempotent
    assert Simplifier(g.builder)(s) is s


@pytest.mark.parametrize("text", ["safe(x)/x", "x/safe(x)", "safe(x)*safe(x)", "safe(x)^2/x",
                                  "safe(x)*x^-1 + x", "safe(x - y)/(x - y)"])
@pytest.mark.parametrize("x", [-2.0, -1e-13, 0.5, 3.0])
def test_a_users_safe_is_never_taken_for_its_input(text, x):
    """safe(A) = max(A, 1e-12) differs from A below 1e-12: an expression's simplified
    derivative (what diff prints) must give the same number as reverse mode there."""
    from cgcalc.derive import Analysis

    g = parse(text)
    point = {"x": x, "y": 0.25}
    a = Analysis(g, list(g.variables), point)
    adj = a.adjoints()
    for d in a.derivatives():
        want = adj.get(g.var_nodes[d.wrt[0]], 0.0)
        assert math.isclose(d.value, want, rel_tol=1e-9, abs_tol=1e-12), (text, d.wrt)
    s = Simplifier(g.builder)(g.output)
    assert math.isclose(evaluate_point(topological([s]), point)[s],
                        evaluate_point(g.order, point)[g.output], rel_tol=1e-12)


# -- one more factor into a product: the shortcut against the general way ---------------------

from hypothesis import strategies as st  # noqa: E402

from cgcalc.graph import Builder  # noqa: E402
from cgcalc.simplify import products  # noqa: E402

_FACTORS = ["x", "y", "z", "sin(x)", "cos(y)", "exp(z)", "x^2", "2", "-1", "x + y", "sin(x)*y",
            "cos(y)*z*exp(x)", "1/x", "sqrt(y)", "tanh(x*y)", "log(z)"]


def _general(self, product, factor):
    return None


def _grown(b, chain, shortcut):
    s = Simplifier(b)
    if not shortcut:
        s._one_more = _general.__get__(s)
    made = []
    for factors in chain:
        product = None
        for text in factors:
            factor = s(_parse_into(b, text))
            product = factor if product is None else s.mul([product, factor])
            made.append(product)
    return made


def _parse_into(b, text):
    from cgcalc.graph import build
    from cgcalc.parse import parse_program

    return build(parse_program(text), source=text, builder=b).output


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.sampled_from(_FACTORS), min_size=1, max_size=10), min_size=1,
                max_size=12))
def test_one_more_factor_is_what_the_general_way_makes(chain):
    """Products grown factor by factor, as backpropagation grows an adjoint: the shortcut
    (the new factor put in its place among sorted ones) gives the very node the general way
    gives, in the same builder (so the same printed derivative)."""
    b = Builder()
    fast, general = _grown(b, chain, True), _grown(b, chain, False)
    assert all(p is q for p, q in zip(fast, general)), [to_text(p) for p in fast]


def test_the_shortcut_is_what_a_deep_chain_takes(monkeypatch):
    taken = []
    real = products.Products._one_more

    def counted(self, product, factor):
        made = real(self, product, factor)
        taken.append(made is not None)
        return made

    monkeypatch.setattr(products.Products, "_one_more", counted)
    b = Builder()
    _grown(b, [["sin(x)", "cos(y)", "exp(z)", "sin(y)", "cos(x)", "tanh(x)", "z"]], True)
    assert taken.count(True) >= 5


def test_atoms_are_put_back_once_per_node_across_roots():
    """A simplifier with atoms (a network's names) puts each atom back once per node, however
    many roots share the node: a network's gradients share most of their graph, and putting
    it back per gradient made a join of 4,000 params train in 39 s, not 18. The nodes are the
    ones a fresh simplifier gives each root."""
    k = 200
    g = parse("a = x*y; s = sin(a)*cos(a) + exp(a)*a; "
              + " + ".join(f"s*x{i}" for i in range(k)))
    atom = next(n for n in g.order if n.op == "mul" and {c.value for c in n.args} == {"x", "y"})
    roots = [n for n in g.order if n.op == "mul" and  # s*x0, s*x1, ...
             any(c.op == "var" and c.value[1:].isdigit() for c in n.args)]
    assert len(roots) == k
    simp = Simplifier(g.builder, [atom])
    made = []
    real_make = g.builder.make
    g.builder.make = lambda op, *args: made.append(op) or real_make(op, *args)
    try:
        got = [simp(r) for r in roots]
    finally:
        del g.builder.make
    assert got == [Simplifier(g.builder, [atom])(r) for r in roots]
    assert atom in topological([got[0]]) and len(made) < 4 * k


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.sampled_from(_FACTORS + ["1", "1.0"]), min_size=1, max_size=10),
                min_size=1, max_size=8))
def test_times_is_the_product_the_general_way_makes(chain):
    """``times(a, c)``, backpropagation's step (an adjoint times a connection derivative), is
    ``known(mul([a, c]))``: factors of 1 included, grown as an adjoint grows."""
    b = Builder()
    s = Simplifier(b)
    for factors in chain:
        product = None
        for text in factors:
            factor = s(_parse_into(b, text))
            if product is None:
                product = factor
                continue
            made = s.times(product, factor)
            assert made is s.known(s.mul([product, factor])), to_text(made)
            assert s.memo[made] is made
            product = made


# -- what a diff's simplifier notes before it starts (derive.py: Analysis.simplifier) ----------

_TEMPLATES = ["exp(log({a}))", "log(exp({a}))", "sin(2)*{a}", "exp({a})*log(1 + ({a})^2)",
              "{a} - sin({a})", "cos({a})/(2 + sin({a}))", "sqrt(1 + ({a})^2)", "tanh(sin({a}))",
              "exp(sin({a}))*exp(cos({a}))", "atan(log(3))*{a}"]
_MIXED = st.recursive(EXPRS, lambda inner: st.tuples(st.sampled_from(_TEMPLATES), inner).map(
    lambda t: t[0].format(a=t[1])), max_leaves=4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_MIXED)
def test_noted_nodes_are_canonical_and_nothing_is_made(text):
    """``note_canonical`` records only what the simplifier would give back unchanged (a
    function of exp, log or a number may be rebuilt: those are left to it), and makes no
    node: terms sort by when they were made, so a node made early would reorder them."""
    g = parse(text)
    s = Simplifier(g.builder)
    before = g.builder.count()
    s.note_canonical(g.order)
    assert g.builder.count() == before
    noted = [n for n in g.order if n in s.memo]
    assert noted and all(s.memo[n] is n for n in noted)
    fresh = Simplifier(g.builder)
    assert all(fresh(n) is n for n in noted), [to_text(n) for n in noted if fresh(n) is not n]


def _program(rng, depth):
    """A random program: functions, arithmetic, numbers and named statements (what the
    printed order of terms depends on: when each node was made)."""
    def e(d):
        r = rng.random()
        if d <= 0 or r < 0.2:
            return rng.choice(["x", "y", "z", "2", "3", "0.5", "pi", "1"])
        if r < 0.45:
            return f"{rng.choice(['sin', 'cos', 'exp', 'log', 'tanh', 'relu', 'softplus'])}" \
                   f"({e(d - 1)})"
        op = rng.choice(["+", "-", "*", "/", "^"])
        if op == "^":
            return f"({e(d - 1)})^{rng.choice(['2', '3', '-1', '0.5', 'y'])}"
        return f"({e(d - 1)} {op} {e(d - 1)})"
    if rng.random() < 0.3:
        return f"u = {e(3)}; v = {e(2)}*u + u; {e(2)} + v*u - u/v"
    return e(depth)


def test_noting_first_changes_no_derivative(monkeypatch):
    """Derivatives (first and second order) of random programs printed with the graph's nodes
    noted first are exactly those without (each from its own parse, so nothing one made is
    there for the other)."""
    import random

    from cgcalc.derive import Analysis
    from cgcalc.errors import CgcalcError
    from cgcalc.render.common import derivatives

    rng = random.Random(5)
    programs = [_program(rng, rng.randint(1, 6)) for _ in range(400)]

    def printed():
        out = []
        for text in programs:
            for order_n in (1, 2):
                g = parse(text)
                try:
                    out.append([d.text for d in derivatives(Analysis(g, list(g.variables),
                                                                      order_n=order_n))])
                except CgcalcError as e:
                    out.append(str(e))
        return out

    noted = printed()
    monkeypatch.setattr(Simplifier, "note_canonical", lambda self, order: None)
    assert printed() == noted


# -- constants that are not finite numbers: 0*log(0) is nan, not 0 -------------------------------

# Parts without variables whose value is inf or nan, which the simplifier cannot fold: a domain
# fault, a division by zero, an overflow (of a function, of a power, of numbers multiplied or
# added), and what is made of them
NOT_FINITE = ["0/0", "1/0", "-1/0", "log(0)", "log(-1)", "sqrt(-1)", "(-1)^0.5", "(-8)^(1/3)",
              "0^-2", "asin(2)", "exp(1000)", "cosh(-1000)", "2^2000", "pi^1000", "1e308*10",
              "1e308 + 1e308", "sin(1/0)", "1 + log(0)", "log(0)^2", "1/0 - 1/0"]
# Parts that do not fold either (inexact), but are finite: every rule still applies to them (of a
# modest size: x - 2^100 + 2^100 is 0 in floats, and its derivative's 2*x the better number)
FINITE = ["sin(2)", "sqrt(2)", "log(3)", "2^(1/3)", "pi", "atan(1/3)", "e^-3"]
# Each puts the part c (in brackets: a part) where a rule for numbers would take it away (0*c,
# c - c, c/c, exp(log(c)), (c^(1/2))^2, ...) or keep it (c^0 is 1 for inf and nan too), beside a
# variable
ABSORBING = ["x*(0*{c})", "0*x*{c}", "(x + {c})*0", "x*({c} - {c})", "x*({c} - {c}) + x^2",
             "sin(x)*(2*{c} - {c})", "x*{c}/{c}", "x*exp(log{c})", "x*log(exp{c})",
             "x*({c}^(1/2))^2", "x*(x - {c} + {c})", "x*0*{c} + x", "0*{c} + x", "x^2*{c}^0",
             "x*(0*(x + {c}))", "x*({c}*x - x*{c})", "x*{c}^2/{c}^2"]


def _agrees(got, want):
    """A derivative's number against reverse mode's: equal where that is finite, and not
    finite where it is not (nan or inf: which one depends on the order of the operations)."""
    if math.isfinite(want):
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)
    return not math.isfinite(got)


def _check_against_reverse_mode(text, env):
    """The printed derivatives, read back and evaluated (numpy, as the API and --points
    evaluate), and the derivative nodes themselves, against the API's gradient."""
    import warnings

    import numpy as np

    import cgcalc
    from cgcalc.derive import Analysis
    from cgcalc.evaluate import Tape
    from cgcalc.render.common import derivatives

    g = parse(text)
    want = cgcalc.function(text).grad(**env)
    for d in derivatives(Analysis(g, list(g.variables))):
        v = d.wrt[0]
        back = cgcalc.function(d.text)
        got = back.value(**{k: env[k] for k in back.variables})
        assert _agrees(got, want[v]), (text, v, d.text, got, want[v])
        tape = Tape(topological([d.node]), [d.node], g.variables)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (node,) = tape.run([np.float64(env[k]) for k in g.variables])
        assert _agrees(float(node), want[v]), (text, v, d.text, float(node), want[v])


@pytest.mark.parametrize("c", NOT_FINITE)
@pytest.mark.parametrize("template", ABSORBING)
def test_a_part_that_is_not_finite_is_never_taken_for_a_number(template, c):
    """x*(0/0) printed d/dx = 0 where its gradient is nan (0 absorbed 0^-1, 1/0 - 1/0 cancelled,
    log(0)/log(0) was 1): the printed derivative must say what the numbers say."""
    text = template.format(c=f"({c})")
    for x in (2.0, -0.5):
        _check_against_reverse_mode(text, {"x": x})


@pytest.mark.parametrize("c", FINITE)
@pytest.mark.parametrize("template", ABSORBING)
def test_a_finite_part_that_does_not_fold_is_still_a_number(template, c):
    text = template.format(c=f"({c})")
    _check_against_reverse_mode(text, {"x": 0.75})


@pytest.mark.parametrize("text, want", [
    ("x*(0*sin(2))", "0"), ("x*(sin(2) - sin(2))", "0"), ("x*sqrt(2)/sqrt(2)", "1"),
    ("x*exp(log(3))", "3"), ("0*x", "0"), ("x*(2^100 - 2^100)", "0"), ("x*(pi - pi)", "0"),
    ("x*(0/0)", "0/0"), ("x*(1/0 - 1/0)", "1/0 - 1/0"), ("x*(0*log(0))", "0*log(0)"),
    ("x*log(0)/log(0)", "log(0)/log(0)"), ("x*sqrt(-1)^2", "sqrt(-1)^2"),
    ("x*(2*log(0) - log(0))", "2*log(0) - log(0)"), ("x*(log(0) + log(0))", "2*log(0)"),
    ("x*(1/0)^-1", "0"), ("x*(0*(1e308*10))", "0*(1e+308*10)"),
])
def test_what_folds_and_what_stays(text, want):
    """Finite parts fold as before; a part that is not finite stays as written where a rule
    for numbers would remove it, and rules that hold for inf and nan too still apply
    (u + u is 2*u; (1/0)^-1 is 0^1, as 1/inf is 0)."""
    from cgcalc.derive import Analysis
    from cgcalc.render.common import derivatives

    (d,) = derivatives(Analysis(parse(text), ["x"]))
    assert d.text == want


_PARTS = st.sampled_from(NOT_FINITE + FINITE)
_AROUND = st.sampled_from(["({a})*(0*{c}) + x", "({a})*({c} - {c})", "sin({a})*{c}/{c}",
                           "({a})*(0*{c} + y)", "({a})^2*(0*{c}) - ({a})*({c} - {c})*z",
                           "exp(log{c})*({a}) + ({a})*x", "({a} + {c})*0*x"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRS, _PARTS, _AROUND, POINTS, POINTS, POINTS)
def test_random_expressions_around_parts_that_are_not_finite(a, c, around, x, y, z):
    text = around.format(a=a, c=f"({c})")
    g = parse(text)
    _check_against_reverse_mode(text, {k: {"x": x, "y": y, "z": z}[k] for k in g.variables})
    s = Simplifier(g.builder)(g.output)
    assert Simplifier(g.builder)(s) is s  # idempotent, as for finite parts
