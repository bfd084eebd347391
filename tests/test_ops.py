"""The op table: every row has a value and a rule per input, and each rule agrees with central
finite differences of the row's own value function."""

import math
import re
from pathlib import Path

import pytest

from cgcalc import ops
from cgcalc.derive import connection
from cgcalc.evaluate import evaluate_point
from cgcalc.graph import Builder, parse, topological
from cgcalc.scalar import SCALAR as MATH
from conftest import close, fd

ROOT = Path(__file__).resolve().parents[1]

# points inside each op's domain, away from kinks
SAMPLES = {
    "asin": [(0.3,), (-0.6,)], "acos": [(0.3,), (-0.6,)],
    "log": [(0.7,), (2.5,)], "sqrt": [(0.7,), (4.0,)],
    "abs": [(0.7,), (-1.3,)], "sign": [(0.7,), (-1.3,)], "step": [(0.7,), (-1.3,)],
    "relu": [(0.7,), (-1.3,)], "pow": [(1.3, 2.0), (0.7, -1.5), (2.0, 0.5)],
    "div": [(1.3, 2.0), (-0.7, 0.4)], "tan": [(0.3,), (-1.0,)],
}
DEFAULT = {1: [(0.3,), (-1.2,), (2.0,)], 2: [(0.3, -1.2), (1.5, 0.7)], 3: [(0.3, -1.2, 0.9)]}

FUNCTION_OPS = [name for name, o in ops.OPS.items() if o.value is not None and o.elementwise]
ARRAY_OPS = [name for name, o in ops.OPS.items() if not o.elementwise]


def _arity(o):
    return o.arity if isinstance(o.arity, int) else 3


@pytest.mark.parametrize("name", FUNCTION_OPS)
def test_connection_derivatives_match_finite_differences(name):
    o = ops.OPS[name]
    n = _arity(o)
    b = Builder()
    args = [b.var(f"a{i}") for i in range(n)]
    node = b.make(name, *args)
    for point in SAMPLES.get(name, DEFAULT[n]):
        env = {f"a{i}": v for i, v in enumerate(point)}
        for i in range(n):
            rule = connection(b, node, i)
            got = evaluate_point(topological([rule]), env)[rule]

            def f(t, i=i):
                vals = list(point)
                vals[i] = t
                return o.bind(MATH)(*vals)

            want = fd(f, point[i], h=1e-4)
            assert close(got, want, rel=1e-6, abs_=1e-7), (name, i, point, got, want)


@pytest.mark.parametrize("name", FUNCTION_OPS)
def test_every_row_is_complete(name):
    o = ops.OPS[name]
    n = 1 if o.variadic else _arity(o)
    assert len(o.rules) == n, f"{name}: {n} inputs but {len(o.rules)} rules"
    assert o.value is not None


@pytest.mark.parametrize("name", ARRAY_OPS)
def test_every_array_row_is_complete(name):
    o = ops.OPS[name]
    assert o.vjp is not None and o.jvp is not None and o.shape is not None, name
    if not o.variadic:
        assert len(o.vjp) == o.arity, name


def test_numpy_and_math_backends_agree():
    np = pytest.importorskip("numpy")
    for name in FUNCTION_OPS:
        o = ops.OPS[name]
        n = _arity(o)
        for point in SAMPLES.get(name, DEFAULT[n]):
            a = o.bind(MATH)(*point)
            v = o.bind(np)(*[np.array([p]) for p in point])
            assert close(float(a), float(v[0]), rel=1e-12, abs_=1e-15), name


def test_grammar_aliases_and_function_names_have_rows():
    text = (ROOT / "grammar" / "expr.lark").read_text()
    aliases = set(re.findall(r"->\s*(\w+)", text))
    syntax = {"number", "name", "call", "pos", "index"}  # syntax, not operations
    for alias in aliases - syntax:
        assert alias in ops.OPS, f"grammar alias {alias!r} has no op row"
    for name in ops.callable_names():
        assert ops.ALIASES.get(name, name) in ops.OPS, name


def test_stable_sigmoid_and_softplus_at_extremes():
    s = ops.OPS["sigmoid"].value
    assert s(MATH, -1000.0) == 0.0 and s(MATH, 1000.0) == 1.0
    sp = ops.OPS["softplus"].value
    assert sp(MATH, 1000.0) == 1000.0
    assert close(sp(MATH, -50.0), math.exp(-50.0), rel=1e-9, abs_=0)


def test_builder_methods_do_not_shadow_ops():
    """``g.size(a)`` in a rule must make the op ``size``: a builder method of an op's name is
    only allowed where it makes that op (a helper named like an op once took its place)."""
    from cgcalc.net.model import NetBuilder

    b = NetBuilder()
    x, y = b.var("p"), b.var("q")
    b.declare(x, (2, 3))
    b.declare(y, (2, 3))
    for cls in (Builder, NetBuilder):
        for name in ops.OPS:
            if name in ("const", "var") or not any(name in vars(k) for k in cls.__mro__):
                continue
            arity = ops.OPS[name].arity
            args = (x, y) if arity == 2 or isinstance(arity, tuple) else (x,)
            made = getattr(b, name)(*args)
            assert made.op == name and made.args == args, name


def test_functions_lists_every_callable_op_with_a_rule_that_parses():
    from click.testing import CliRunner

    from cgcalc.cli import main

    out = CliRunner().invoke(main, ["functions"]).stdout.splitlines()
    listed = {line.split("(")[0].split()[0] for line in out}
    assert listed == set(ops.callable_names())
    for line in out:
        for part in line.split("d/d")[1:]:  # "a = cos(a); " -> cos(a) re-parses
            text = part.split(" = ", 1)[1].rstrip("; ")
            g = parse(text)
            assert set(g.variables) <= {"a", "b"}, line


def test_a_joins_inputs_find_their_columns_without_measuring_every_piece_each():
    """The adjoint of each of a join's k inputs is its columns of the join's adjoint; the k
    of them look at the pieces' shapes about k times in all, not k times each (a join of
    4,000 params spent most of a training run measuring widths)."""
    from cgcalc.ops import OPS

    asked = []

    class Shapes:  # a builder that only knows shapes, columns and numbers, and keeps notes
        notes: dict = {}

        def shape_of(self, a):
            asked.append(a)
            return a

        def const(self, v):
            return v

        def cols(self, G, lo, hi):
            return (lo, hi)

    g = Shapes()
    pieces = [(4, 1 + k % 3) if k % 4 else () for k in range(300)]  # a number is one column
    widths = [p[1] if p else 1 for p in pieces]
    rule = OPS["join"].vjp
    got = [rule(g, "the join", i, "G", *pieces) for i in range(len(pieces))]
    starts = [sum(widths[:i]) for i in range(len(pieces))]
    assert got == [(s, s + w) for s, w in zip(starts, widths)]
    assert len(asked) <= 2 * len(pieces)
    other = pieces[::-1][:50]  # another join on the same builder: its own offsets
    got = [rule(g, "another join", i, "G", *other) for i in range(len(other))]
    widths = [p[1] if p else 1 for p in other]
    assert got == [(sum(widths[:i]), sum(widths[:i + 1])) for i in range(len(other))]
