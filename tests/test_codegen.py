"""The one code generator (cgcalc/codegen.py): the code it writes computes what the graph
says, in the graph's order of operations, bit for bit, however operations are written into
their users."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from cgcalc import codegen


class Node:
    __slots__ = ("op", "args", "value")

    def __init__(self, op, args=(), value=None):
        self.op, self.args, self.value = op, tuple(args), value


FLOAT = {**codegen.OPERATORS, "f": "f({0})"}
NUMBERS = st.floats(-1e3, 1e3, allow_nan=False).filter(lambda v: v == 0 or abs(v) > 1e-3)


def _value(n, env):
    """The graph's own numbers: each operation on its inputs' values, left to right."""
    a = [env[x] for x in n.args]
    if n.op == "add":
        r = a[0]
        for v in a[1:]:
            r = r + v
        return r
    if n.op == "mul":
        r = a[0]
        for v in a[1:]:
            r = r * v
        return r
    if n.op == "sub":
        return a[0] - a[1]
    if n.op == "div":
        return a[0] / a[1]
    if n.op == "neg":
        return -a[0]
    return math.sin(a[0])  # "f"


@st.composite
def graphs(draw):
    """Random graphs of float arithmetic: n-ary sums and products, differences, quotients,
    negations, calls, the canonical forms a + (-1)*b and (-1)*a, constants, shared nodes."""
    variables = [Node("var", value=f"x{k}") for k in range(draw(st.integers(1, 4)))]
    nodes = list(variables)
    minus_one = Node("const", value=-1.0)
    made = [minus_one]
    for _ in range(draw(st.integers(1, 25))):
        pick = st.sampled_from(nodes)
        op = draw(st.sampled_from(["add", "mul", "sub", "div", "neg", "f", "const",
                                   "minus", "negated"]))
        if op == "const":
            n = Node("const", value=draw(NUMBERS))
        elif op in ("add", "mul"):
            n = Node(op, draw(st.lists(pick, min_size=2, max_size=4)))
        elif op in ("sub", "div"):
            n = Node(op, [draw(pick), draw(pick)])
        elif op == "minus":  # a + (-1)*b, written a - b
            b = Node("mul", [minus_one, *draw(st.lists(pick, min_size=1, max_size=3))])
            made.append(b)
            n = Node("add", [draw(pick), b])
        elif op == "negated":  # (-1)*a*..., written -(a * ...)
            n = Node("mul", [minus_one, *draw(st.lists(pick, min_size=1, max_size=3))])
        else:
            n = Node(op, [draw(pick)])
        made.append(n)
        nodes.append(n)
    order = [n for n in made if n.op == "const"] + variables + \
        [n for n in made if n.op != "const"]
    return order, variables, nodes[-1], draw(st.lists(NUMBERS, min_size=len(variables),
                                                      max_size=len(variables)))


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_written_code_computes_the_graphs_numbers_bit_for_bit(case):
    order, variables, out, xs = case
    lines, text = codegen.statements(order, codegen.Namer({"f"}), {}, FLOAT, keep=[out],
                                     arrays=False)
    env = {v: x for v, x in zip(variables, xs)}
    want = None
    try:
        for n in order:
            if n.op == "const":
                env[n] = n.value
            elif n.op != "var":
                env[n] = _value(n, env)
        want = env[out]
    except (ZeroDivisionError, OverflowError):
        pass
    source = "def run({}):\n{}    return {}\n".format(
        ", ".join(text[v] for v in variables), "".join(f"    {line}\n" for line in lines),
        text[out])
    scope = {"f": math.sin}
    exec(compile(source, "<test>", "exec"), scope)  # the test's own graph, not user text
    try:
        got = scope["run"](*xs)
    except (ZeroDivisionError, OverflowError):
        assert want is None, source
        return
    assert want is not None, source
    assert got == want or (got != got and want != want), source
    assert math.copysign(1, got) == math.copysign(1, want) or got != got, source
