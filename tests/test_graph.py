"""The DAG: one node per distinct subexpression, names, topological order, no recursion."""

import math
import sys

from cgcalc.derive import path_counts
from cgcalc.evaluate import evaluate_point
from cgcalc.graph import Builder, parse, topological


def test_identical_subexpressions_are_one_node():
    g = parse("sin(x)*cos(x) + sin(x)")
    sins = [n for n in g.order if n.op == "sin"]
    assert len(sins) == 1
    consumers = sum(a is sins[0] for n in g.order for a in n.args)
    assert consumers == 2


def test_topological_order_puts_inputs_first():
    g = parse("y1 = x*x + sin(x); y2 = y1*y1 + sin(y1); y2")
    pos = {n: i for i, n in enumerate(g.order)}
    for n in g.order:
        for a in n.args:
            assert pos[a] < pos[n]
    assert g.order[-1] is g.output


def test_automatic_names_do_not_clash_with_user_names():
    g = parse("n1 = x + 1; n1 * sin(n1)")
    names = [g.name(n) for n in g.order if n.op != "const"]
    assert len(names) == len(set(names))
    assert g.name(g.output) == "f"


def test_variables_in_order_of_appearance():
    assert parse("exp(sin(x*y)) * log(1 + x^2)").variables == ("x", "y")
    assert parse("b*a + c").variables == ("b", "a", "c")


def test_hundred_thousand_levels_without_recursion():
    assert sys.getrecursionlimit() <= 3000
    depth = 100_000
    g = parse("sin(" * depth + "x" + ")" * depth)
    assert len(g.order) == depth + 1
    v = evaluate_point(g.order, {"x": 0.5})[g.output]
    want = 0.5
    for _ in range(depth):
        want = math.sin(want)
    assert math.isclose(v, want, rel_tol=1e-9)


def test_builder_hash_conses_and_keeps_int_and_float_apart_only_by_value():
    b = Builder()
    x = b.var("x")
    assert b.sin(x) is b.sin(x)
    assert b.const(2) is b.const(2.0)  # 2.0 is stored as the exact integer 2
    assert b.const(0.5) is not b.const(2)
    assert topological([b.mul(b.sin(x), b.sin(x))])[0] is x


def test_path_count_of_the_1000_step_chain_is_exact():
    lines = ["y0 = x"] + [f"y{i} = y{i-1}*y{i-1} + sin(y{i-1})" for i in range(1, 1001)]
    g = parse("\n".join(lines))
    counts = path_counts(g.order, g.output)
    assert counts[g.var_nodes["x"]] == 3 ** 1000
