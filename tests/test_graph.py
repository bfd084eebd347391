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


@pytest.mark.parametrize("text", [
    "n1 = x + 1; n1 * sin(n1)", "v = x; u = v*y; f = sin(u) + u", "a = x*y; b = y*x; a + b",
    "c = 2; f = c*x", "sin(x) + cos(y)", "g = exp(x)\nh = g*g\nh", "x = 1; x + y"])
def test_user_names_are_the_names_statements_gave_before_and_after_naming_the_rest(text):
    """user_names (read without naming every node) is the statements' part of names, in the
    graph's order, whether or not every node has been named yet."""
    fresh = parse(text)
    first = [(n.seq, name) for n, name in fresh.user_names.items()]
    assert fresh._names is None  # read without naming every node
    g = parse(text)
    named = [(n.seq, name) for n, name in g.names.items() if n in g._user]
    assert first == named
    assert [(n.seq, name) for n, name in g.user_names.items()] == named  # names made


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
    would be quadratic. Listed nodes stay within max(PATH_NODES, (max_paths + 4) x the graph)
    and the quarter more set aside, a share per variable; counts are all there; and the
    variables whose paths are short (near the end of the sum) are listed whole though the
    common bound was spent before them. (PATH_NODES made small here, to reach the bound at a
    small size.)"""
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
        assert listed <= max(budget, (20 + 4) * len(doc["nodes"])) * 5 // 4
        if w == 50:  # small: every path listed, as before
            assert all(len(p["listed"]) == p["count"] for p in paths.values())
        else:
            assert any(len(p["listed"]) < p["count"] for p in paths.values())
            for i in range(w - 3, w):  # the last terms' paths are short: listed whole
                assert len(paths[f"x{i}"]["listed"]) == paths[f"x{i}"]["count"]
        first = paths["x0"]["listed"][0]
        assert first["nodes"][0] == doc["output"] and first["nodes"][-1] == "x0"


# -- names a user gives: each looked up, never searched for ------------------------------------

class _Counted(str):
    """A variable's name that counts the comparisons made with it."""

    compared = 0

    def __eq__(self, other):
        _Counted.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


@pytest.mark.parametrize("given", ["--at", "--wrt", "api wrt", "--points header"])
def test_names_given_cost_one_lookup_each_not_a_search(given, monkeypatch):
    """Naming every one of n variables costs about n comparisons, not one per variable before
    it: a search of the variables for each name given made `diff` of a 10^5-node sum spend
    most of its time reading --at, and a --points header of 8,000 columns 5.6 s (the class of
    the API's W^2 fixed before them)."""
    import cgcalc
    from cgcalc import graph as graph_module
    from cgcalc.inputs import check_wrt, parse_assignments

    n = 3000
    text = " + ".join(f"x{i}" for i in range(n))
    real_parse = graph_module.parse

    def counted_parse(*args, **kw):
        g = real_parse(*args, **kw)
        g.variables = tuple(map(_Counted, g.variables))
        return g

    monkeypatch.setattr(graph_module, "parse", counted_parse)
    g = graph_module.parse(text)
    names = [f"x{i}" for i in range(n)]
    _Counted.compared = 0
    if given == "--at":
        point = parse_assignments([",".join(f"{v}=1" for v in names)], variables=g.variables)
        assert list(point) == names
    elif given == "--wrt":
        assert check_wrt(names, g) == names
    elif given == "--points header":  # a column per variable, found by its name
        import io

        from cgcalc.rows import RowReader

        rows = ",".join(names) + "\n" + ",".join(str(i) for i in range(n)) + "\n"
        chunks = list(RowReader(io.BytesIO(rows.encode()), "<test>", g.variables))
        assert [float(chunks[0].columns[v][0]) for v in names] == list(range(n))
    else:
        f = cgcalc.function(text)
        _Counted.compared = 0
        assert f.tape(names).outputs  # wrt checked, then compiled
    assert _Counted.compared < 4 * n


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


# -- building while parsing: the same graph as parsing, then building --------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cgcalc.errors import CgcalcError  # noqa: E402
from cgcalc.graph import build, build_direct  # noqa: E402
from cgcalc.parse import parse_program  # noqa: E402
from test_derive import EXPRS  # noqa: E402
from test_grammars import _programs  # noqa: E402


def _by_stages(text):
    return build(parse_program(text), source=text)


def _fingerprint(g):
    """Everything a graph holds, with nodes as their places in the order they were made (which
    decides how terms sort when printed): each node, the output, names, places, variables."""
    made = g.builder.made_since(0)
    seq = {n: i for i, n in enumerate(made)}
    return ([(n.op, n.value, type(n.value), tuple(seq[a] for a in n.args)) for n in made],
            seq[g.output], [seq[n] for n in g.order], g.variables,
            sorted((seq[n], name) for n, name in g.names.items()),
            sorted((seq[n], w) for n, w in g.where.items()),
            sorted((name, seq[n]) for name, n in g.bound.items()))


def same_as_stages(text):
    """The graph built while parsing is the two stages' graph; it declines only what the fast
    parser does not know, and errors (then the stages report them)."""
    from cgcalc.precedence import parse_fast

    direct = build_direct(text)
    try:
        staged = _by_stages(text)
    except CgcalcError:
        assert direct is None, f"{text!r}: built while parsing, an error in two stages"
        return None
    if parse_fast(text) is not None:
        assert direct is not None, f"{text!r}: valid and known to the fast parser, declined"
    if direct is not None:
        assert _fingerprint(direct) == _fingerprint(staged), text
    return direct


NAMED = st.tuples(EXPRS, EXPRS, st.sampled_from(["a", "b1", "x", "θ"])).map(
    lambda t: f"{t[2]} = {t[0]}\n{t[1]} + {t[2]}*{t[0]}")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(EXPRS, NAMED, _programs()))
def test_building_while_parsing_makes_the_graph_the_two_stages_make(text):
    same_as_stages(text)


@pytest.mark.parametrize("text", [
    "exp(sin(x^2))", "v = x^2; u = sin(v); f = exp(u)",
    "y1 = x*x + sin(x); y2 = y1*y1 + sin(y1); y2",
    "sin(x)*cos(x) + sin(x)", "log(x, 2) + ln(x) + pow(x, y) + -x^2 + +x", "a = 1; b = a; -b",
    "f = x\nf", "2^3^2 * 1e-3 - .5 / 6.02E23", "θ1 + σ * x", "sigmoid(relu(softplus(x)))",
])
def test_ordinary_programs_are_built_while_parsed(text):
    assert same_as_stages(text) is not None


@pytest.mark.parametrize("text", [
    "x + 1; x = 2",  # used before it is bound
    "x = x + 1",  # used in its own statement
    "a = 1; a = 2",  # bound twice
    "sin = 2", "pi = 3", "ln = x",  # names that cannot be bound
    "foo(x)", "sin(x, y)", "log(x, y, z)", "pow(x)", "sin", "sum(x)", "transpose(x)",
    "x + 1" + "0" * 400, "1" * 400 + " * x",  # a number too large for a float
    "x +", "(x", "", "# nothing", "x @ y", "[x, 1]", "x'",  # not the fast parser's: stages
])
def test_whatever_the_two_stages_report_they_report_as_before(text):
    """Every error and every input the fast parser does not know: built in two stages, so
    the message (and which of two errors comes first) is what it always was."""
    assert build_direct(text) is None  # so parse() is the two stages, as before
    with pytest.raises(CgcalcError):
        parse(text)


def test_every_node_a_builder_makes_has_every_slot_set():
    """Builder.node fills a Node's slots itself (no call of __init__): a slot added to Node
    and forgotten there would be unset on every node."""
    from cgcalc.graph import Node
    from cgcalc.net.model import NetBuilder

    for b in (Builder(), NetBuilder()):
        x = b.var("x")
        made = [x, b.const(2), b.node("sin", x), b.mul(x, x), b.add(x, b.const(2)), b.cos(x),
                b.pow(x, b.const(3))]
        for n in made:
            for slot in Node.__slots__:
                getattr(n, slot)  # AttributeError if unset
        assert [n.seq for n in made[2:]] == sorted({n.seq for n in made[2:]})


def test_a_builder_that_knows_shapes_is_not_all_numbers():
    """Only a builder whose every shape is () lets the backward pass skip its shape checks."""
    from cgcalc.net.model import NetBuilder

    class Shaped(Builder):
        def shape_of(self, node):
            return (3,)

    class Plain(Builder):
        MAKERS = {}

    assert Builder.ALL_NUMBERS and Plain.ALL_NUMBERS
    assert not NetBuilder.ALL_NUMBERS and not Shaped.ALL_NUMBERS


@pytest.mark.parametrize("text", [
    "x", "sin(x)*x + x*y", "y1 = x*x + x; y2 = y1*y1 + y1; y3 = y2*y2 + y2; y3",
    "exp(sin(x*y)) * log(1 + x^2) + tanh(y) / (1 + x^2)"])
def test_reach_size_is_the_walks_length_up_to_its_bound(text):
    from cgcalc.walk import reach_size

    g = parse(text)
    for n in g.order:
        whole = len(topological([n]))
        for most in (1, 2, 3, 5, whole, whole + 1, 100):
            assert reach_size(n, most) == min(most, whole)


def test_reach_size_stops_at_its_bound():
    """Asked of a 10,000-deep chain with a bound of 5, it looks at a handful of nodes: the
    simplifier asks it of every product it might multiply out (a chain of K such steps took
    65 s at K = 4,000 when each walked its whole graph; 2.8 s now)."""
    from cgcalc.walk import reach_size

    looked = [0]

    class Counted:
        def __init__(self, below):
            self._args = (below,) if below is not None else ()

        @property
        def args(self):
            looked[0] += 1
            return self._args

    node = None
    for _ in range(10_000):
        node = Counted(node)
    assert reach_size(node, 5) == 5
    assert looked[0] <= 5


@pytest.mark.parametrize("text", ["sin(n_1*x) + n_1", "n_2*exp(n_1 + x)*cos(n_3)",
                                  "a = n_1*x; b = sin(a)*n_4; b + cos(n_2*b)"])
def test_generated_names_never_read_as_a_users_in_latex(text):
    """A user's n_1 is n_{1} in LaTeX, as the generated n1 would be: every node a display
    names has a LaTeX name of its own."""
    from cgcalc.printer import latex_name

    g = parse(text)
    shown = [latex_name(name) for name in g.names.values()]
    assert len(shown) == len(set(shown)), sorted(shown)
