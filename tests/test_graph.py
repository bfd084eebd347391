"""The DAG: one node per distinct subexpression, names, topological order, no recursion."""

import math
import sys

import pytest

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


# -- listing paths: the walk up from a variable, and the budget that keeps displays linear ----

def _random_program(seed, n_vars=4, n_lines=8):
    import random

    rnd = random.Random(seed)
    names = [f"x{i}" for i in range(n_vars)]
    lines = []
    for k in range(n_lines):
        a, b = rnd.choice(names), rnd.choice(names)
        op = rnd.choice(["{a}*{b}", "sin({a}) + {b}", "{a} + {b}*{a}", "exp({a}*{b})"])
        lines.append(f"y{k} = " + op.format(a=a, b=b))
        names.append(f"y{k}")
    lines.append(" + ".join(names[-3:]))
    return "\n".join(lines)


def test_walking_up_from_a_variable_finds_what_walking_the_whole_graph_finds():
    from cgcalc.walk import list_paths, reaching, users_of

    for seed in range(40):
        g = parse(_random_program(seed))
        users = users_of(g.order)
        for v in g.var_nodes.values():
            assert reaching(g.order, [v], users) == reaching(g.order, [v])
            assert reaching(g.order, [v], users, most=1) in (None, {v})
            whole = list_paths(g.order, g.output, v, 50)
            budget = [10**9]
            assert list_paths(g.order, g.output, v, 50, users, budget) == whole
            assert budget[0] < 10**9


def test_listed_paths_of_a_long_sum_stay_linear_and_counts_stay_exact(monkeypatch):
    """Each variable of sin(x0*x1) + sin(x1*x2) + ... has paths as long as the sum: listing all
    would be quadratic. Listed nodes stay within max(PATH_NODES, (max_paths + 4) x the graph);
    counts are all there. (PATH_NODES made small here, to reach the bound at a small size.)"""
    import json

    from click.testing import CliRunner

    from cgcalc import derive
    from cgcalc.cli import main

    for w, budget in ((50, derive.PATH_NODES), (400, 5_000)):
        monkeypatch.setattr(derive, "PATH_NODES", budget)
        text = " + ".join(f"sin(x{i}*x{i + 1})" for i in range(w - 1))
        at = ",".join(f"x{i}=0.5" for i in range(w))
        r = CliRunner().invoke(main, ["diff", text, "--at", at, "--format", "json"])
        assert r.exit_code == 0, r.output
        doc = json.loads(r.output)
        paths = doc["paths"]
        assert [p["count"] for p in paths.values()] == [1] + [2] * (w - 2) + [1]
        listed = sum(len(q["nodes"]) for p in paths.values() for q in p["listed"])
        assert listed <= max(budget, (20 + 4) * len(doc["nodes"]))
        if w == 50:  # small: every path listed, as before
            assert all(len(p["listed"]) == p["count"] for p in paths.values())
        else:
            assert any(len(p["listed"]) < p["count"] for p in paths.values())
        first = paths["x0"]["listed"][0]
        assert first["nodes"][0] == doc["output"] and first["nodes"][-1] == "x0"


@pytest.mark.parametrize("steps", [10, 15, 30])
def test_every_variable_of_an_ordinary_graph_gets_its_paths_listed(steps):
    """Several variables, each with millions of paths: each still gets --max-paths of them."""
    import json

    from click.testing import CliRunner

    from cgcalc.cli import main

    lines = ["a0 = x*y*z*w"] + [f"a{k} = sin(a{k - 1}) + cos(a{k - 1})" for k in range(1, steps)]
    r = CliRunner().invoke(main, ["diff", "\n".join(lines), "--at", "x=1,y=2,z=3,w=4",
                                  "--format", "json"])
    assert r.exit_code == 0, r.output
    paths = json.loads(r.output)["paths"]
    assert {v: len(p["listed"]) for v, p in paths.items()} == dict.fromkeys("xyzw", 20)
    assert all(p["count"] == 2 ** (steps - 1) for p in paths.values())


def test_the_terminal_shows_paths_for_ten_variables_and_says_how_to_see_the_rest():
    from click.testing import CliRunner

    from cgcalc.cli import main

    text = " + ".join(f"sin(x{i}*x{i + 1})" for i in range(29))
    at = ",".join(f"x{i}=0.5" for i in range(30))
    r = CliRunner().invoke(main, ["diff", text, "--at", at, "--format", "rich"],
                           env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert r.output.count("3. Paths from") == 10
    assert "the paths down to 20 more variables" in r.output
    assert "more derivatives" not in r.output  # 30 rows: all shown
