"""Derivatives on the graph, path by path and the fast way, and the check that they agree.

- connection derivatives: one per edge (an input slot of a node; ``x*x`` has two edges into x),
  built by the op table's rules as graph, so each has a symbolic form and, evaluated, a number;
- paths: the exact number of paths from the output to each variable and a bounded listing of
  them with their products (cgcalc/walk.py);
- accumulation: reverse mode (every variable in one backward pass) and forward mode, on numbers
  or on graph, all through the one loop of cgcalc/walk.py with a combine step from here;
- the symbolic derivative: reverse accumulation done on graph nodes, made canonical as it forms.
"""

from __future__ import annotations

import math

from . import ops
from .errors import FAILURE, CgcalcError, EvaluationError
from .graph import Graph
from .simplify import Simplifier
from .walk import accumulate, depending, list_paths, path_counts, topological, users_of


class Edge:
    """One connection: input slot ``index`` of node ``out``; ``rule`` is d(out)/d(input)."""

    __slots__ = ("out", "index", "rule")

    def __init__(self, out, index, rule):
        self.out, self.index, self.rule = out, index, rule

    @property
    def inp(self):
        return self.out.args[self.index]


def connection(builder, node, i):
    """d(node)/d(node.args[i]) as a node, from the op table's rule (elementwise ops)."""
    o = ops.OPS[node.op]
    if not o.rules:
        raise NotImplementedError(f"op {node.op!r} has no connection derivative rule")
    if o.variadic:
        return o.rules[0](builder, node, i, *node.args)
    return o.rules[i](builder, node, *node.args)


def vjp(b, node, i, G):
    """The adjoint that flows from ``node`` (whose adjoint is G) into its input ``i``.

    Elementwise ops: G times the connection derivative, summed down to the input's shape where
    the input was broadcast. Array ops: the table's vector-Jacobian product."""
    o = ops.OPS[node.op]
    arg = node.args[i]
    if o.elementwise:
        term = _times(b, G, connection(b, node, i))
        if b.shape_of(arg) != b.shape_of(node):
            term = b.sum_to(term, arg)
        return term
    rule = o.vjp if o.variadic else o.vjp[i]
    if rule is None:
        raise NotImplementedError(f"op {node.op!r} has no derivative rule for input {i + 1}")
    return rule(b, node, i, G, *node.args) if o.variadic else rule(b, node, G, *node.args)


def jvp(b, node, tangents):
    """The tangent of ``node`` from its inputs' tangents (None where zero), or None."""
    o = ops.OPS[node.op]
    if o.elementwise:
        terms = []
        for i, (t, a) in enumerate(zip(tangents, node.args)):
            if t is None:
                continue
            if b.shape_of(a) != b.shape_of(node):
                t = b.like(t, node)
            terms.append(_times(b, t, connection(b, node, i)))
        if not terms:
            return None
        return terms[0] if len(terms) == 1 else b.add(*terms)
    return o.jvp(b, node, tangents, *node.args)


def edges(builder, order, sources) -> list[Edge]:
    """Every connection whose input depends on one of ``sources``, in topological order.
    ``rule`` is the connection derivative for elementwise ops, else None."""
    live = depending(order, sources)
    return [Edge(n, i, connection(builder, n, i) if ops.OPS[n.op].elementwise else None)
            for n in order if n in live for i, a in enumerate(n.args) if a in live]


# -- what one step of the chain rule does, for walk.accumulate --------------------------------

class Numbers:
    """Numeric accumulation: ``edge_value(node, i)`` is the connection derivative's value."""

    def __init__(self, edge_value):
        self.edge_value = edge_value

    def edge(self, node, i, g):  # reverse: the adjoint times the connection derivative
        return g * self.edge_value(node, i)

    @staticmethod
    def add(a, b):
        return a + b

    def node(self, node, tangents):  # forward: the sum over inputs of derivative times tangent
        value = self.edge_value
        return sum(value(node, i) * t for i, t in enumerate(tangents) if t)


class OnNumbers:
    """A builder whose "nodes" are numbers: an op table rule called with it (and with the values
    of a node and of its inputs) gives the connection derivative's value directly, without
    building its graph. ``xp`` is the backend whose functions compute (numpy's on floats, for
    :func:`gradient_at`)."""

    def __init__(self, xp):
        self.xp = xp

    @staticmethod
    def const(v):
        return float(v)

    def __getattr__(self, op):  # asked once per op: then it is an attribute
        fn = ops.OPS[op].bind(self.xp)
        setattr(self, op, fn)
        return fn

    @staticmethod
    def mul(*xs):
        acc = xs[0]
        for x in xs[1:]:
            acc = acc * x
        return acc


def gradient_at(graph: Graph, wrt, point: dict):
    """(value, [d output/d v for v in wrt]) at one point (name -> float), by one backward pass
    on numbers: each edge's connection derivative is its rule evaluated on numbers, with
    numpy's functions, so the numbers are the tape's, bit for bit (Python's math differs from
    numpy in the last bit, and 1 - tanh(a)^2 near 0 makes that bit the whole answer). For
    the expression language's ops (elementwise); raises CgcalcError where a value is not
    finite (the tape then says what numpy says: inf or nan).

    The backward pass is :func:`walk.accumulate` with :class:`Numbers` written out in one loop:
    the same edges in the same order, the same multiply and add, with one list of input values
    per node (none for a function of one input) and no call per edge but the rule's own (the
    common case, where it measures)."""
    import numpy as np

    from .evaluate import evaluate_point

    g = graph
    xp, F = _on_numpy(np)
    with np.errstate(all="ignore"):
        values = evaluate_point(g.order, point, xp=xp)
        var_nodes = [g.var_nodes[v] for v in wrt]
        live = depending(g.order, var_nodes)
        table = ops.OPS
        acc = {g.output: 1.0}
        get = acc.get
        for n in reversed(g.order):
            total = get(n)
            if total is None:
                continue
            args = n.args
            o = table[n.op]
            if len(args) == 1 and not o.variadic:  # sin(a), exp(a), -a: one edge
                a = args[0]
                if a in live:
                    term = total * o.rules[0](F, values[n], values[a])
                    prev = get(a)
                    acc[a] = term if prev is None else prev + term
                continue
            rules, out, vals = o.rules, values[n], [values[a] for a in args]
            for i, a in enumerate(args):
                if a not in live:
                    continue
                if o.variadic:
                    term = total * rules[0](F, out, i, *vals)
                else:
                    term = total * rules[i](F, out, *vals)
                prev = get(a)
                acc[a] = term if prev is None else prev + term
    return float(values[g.output]), [float(acc.get(n, 0.0)) for n in var_nodes]


_ON_NUMPY = None


def _on_numpy(np):
    """numpy's functions on floats (cgcalc/scalar.py), and the builder on those numbers: made
    once (each function is looked up once)."""
    global _ON_NUMPY
    if _ON_NUMPY is None:
        from .scalar import NumpyOnFloats

        xp = NumpyOnFloats(np)
        _ON_NUMPY = xp, OnNumbers(xp)
    return _ON_NUMPY


class Adjoints:
    """Symbolic reverse accumulation on graph nodes: what flows into input i is the op's
    vector-Jacobian product; adjoints add as nodes. With a simplifier, each adjoint is made
    canonical as it forms (the nodes it would make of the raw ones, without building those)."""

    def __init__(self, builder, simp=None):
        self.b, self.simp = builder, simp

    def edge(self, node, i, g):
        if self.simp is None:
            return vjp(self.b, node, i, g)
        return _canonical_vjp(self.simp, node, i, g)

    def add(self, a, b):
        if self.simp is None:
            return self.b.add(a, b)
        return self.simp.known(self.simp.add([a, b]))


class Tangents:
    """Symbolic forward accumulation: each node's tangent from its inputs' (the op's JVP)."""

    def __init__(self, builder):
        self.b = builder

    def node(self, node, tangents):
        return jvp(self.b, node, tangents)


def reverse_symbolic(builder, order, output, wrt, simp=None):
    """(d output/d each of ``wrt`` as nodes, the adjoint of every node): one backward pass on
    graph, each edge adding its contribution (the sum over paths). Without ``simp`` (a
    Simplifier) the adjoints are raw, one product and sum per edge, what a tape runs."""
    live = depending(order, wrt)
    seed = builder.const(1)
    adjoints = accumulate(order, {output: simp(seed) if simp else seed}, Adjoints(builder, simp),
                          live=live)
    zero = builder.const(0)
    return [adjoints.get(v, zero) for v in wrt], adjoints


def forward_symbolic(builder, order, seeds: dict):
    """Tangent nodes of every node, given tangent nodes for some leaves (node -> tangent)."""
    return accumulate(order, seeds, Tangents(builder), reverse=False)


def _canonical_vjp(simp, node, i, G):
    """simp(vjp(b, node, i, G)) for a canonical G, with elementwise products formed directly
    (the connection derivative as :func:`connection` makes it, written out: this is once per
    edge of every derivative diff prints)."""
    b = simp.b
    o = ops.OPS[node.op]
    if o.elementwise and o.rules and \
            (b.ALL_NUMBERS or b.shape_of(node.args[i]) == b.shape_of(node)):
        if o.variadic:
            d = o.rules[0](b, node, i, *node.args)
        else:
            d = o.rules[i](b, node, *node.args)
        return simp.times(G, simp(d))
    return simp(vjp(b, node, i, G))


def derivative_outputs(graph: Graph, wrt, order_n=1):
    """[(label, node)] for the value and each requested derivative, ready to compile into one
    tape. First derivatives are the raw reverse-mode adjoints (every edge one multiply-add, the
    backward pass itself); higher orders are the simplified symbolic derivatives."""
    g = graph
    if order_n == 1:
        nodes, _ = reverse_symbolic(g.builder, g.order, g.output, [g.var_nodes[v] for v in wrt])
        pairs = [(f"d/d{v}", n) for v, n in zip(wrt, nodes)]
    else:
        pairs = [(d.label, d.node) for d in Analysis(g, wrt, order_n=order_n).derivatives()]
    return [("value", g.output), *pairs]


def compile_outputs(graph: Graph, outputs):
    from .evaluate import Tape

    nodes = [n for _, n in outputs]
    return Tape(topological(nodes), nodes, graph.variables)


def _in_inputs(builder, node, rule):
    """A connection derivative ``rule`` of ``node`` simplified with the node's inputs kept
    whole (what is shown on the edge)."""
    return Simplifier(builder, node.args)(rule)


def _one(node):
    return node.op == "const" and node.value == 1


def _times(b, g, d):
    """g * d without the multiplications by 1 and -1 that the rules of + and - would add."""
    if _one(g):
        return d
    if _one(d):
        return g
    if d.op == "const" and d.value == -1:
        return b.neg(g)
    return b.mul(g, d)


class Derivative:
    """One derivative: ``wrt`` in order of differentiation (("x",) or ("x", "y")), the
    simplified node and its value at the point; ``text``, a valid cgcalc expression, is filled
    in by whoever prints it."""

    __slots__ = ("wrt", "node", "text", "value")

    def __init__(self, wrt, node, value=None):
        self.wrt, self.node, self.value = wrt, node, value
        self.text = None

    @property
    def key(self) -> str:
        return ",".join(self.wrt)

    @property
    def label(self) -> str:
        n = len(self.wrt)
        if n == 1:
            return f"d/d{self.wrt[0]}"
        return f"d{n}/" + "".join(f"d{v}" for v in self.wrt)


PATH_NODES = 100_000  # nodes of listed paths, all variables together, at least (see paths)
PATH_TIMES = 100  # and at most this many paths' worth per variable (--max-paths beyond it)
MAX_DERIVATIVES = 10_000  # derivatives one run of --order may ask for (all variables' together)


class PathLists:
    """The paths one display lists, up to ``limit`` for each of ``targets`` nodes (an
    expression's variables, a network's params), from ``output`` down, each target's listed
    when first asked and kept.

    What listing costs (the nodes found above a target, and those of the paths listed) is
    bounded for all targets together: a long sum's variables each have a path as long as the
    sum, and listing them all would be quadratic. The bound is :data:`PATH_NODES`, or
    ``limit + 4`` times the graph's size where that is more (``limit`` counted up to
    :data:`PATH_TIMES`: however many paths are asked for, the bound stays linear), spent in
    the order the targets are asked; beside it a quarter as much is set aside in equal shares,
    one per target, for a target the common part left short (spent or cut before it). So a
    target whose paths are short is listed however many long ones were listed before it, and
    the whole stays linear in the graph."""

    def __init__(self, order, output, targets: int, limit: int):
        self.order, self.output, self.limit = order, output, limit
        whole = max(PATH_NODES, (min(limit, PATH_TIMES) + 4) * len(order))
        self._common = [whole]  # for walk.list_paths to spend
        self._share = whole // 4 // max(1, targets)
        self._users = users_of(order)
        self._listed: dict = {}  # target node -> its listing

    def __call__(self, target) -> list:
        """Up to ``limit`` paths down to ``target``, each (nodes, input slots); fewer where the
        bound cut them."""
        listed = self._listed.get(target)
        if listed is None:
            listed = self._listed[target] = self._list(target)
        return listed

    def _list(self, target):
        args = self.order, self.output, target, self.limit, self._users
        found = list_paths(*args, self._common)
        if found is not None and self._common[0] >= 0:
            return found  # whole: the common part was enough
        found = found or []
        own = list_paths(*args, [self._share]) or []
        return own if len(own) > len(found) else found


def _check_count(variables, order_n):
    """CgcalcError where derivatives of order ``order_n`` in that many ``variables`` (one per
    choice of variables, repeats allowed, order not counting) are more than
    :data:`MAX_DERIVATIVES`: refused before any is made."""
    import math

    count = math.comb(variables + order_n - 1, order_n)
    if count > MAX_DERIVATIVES:
        raise CgcalcError(f"--order {order_n} in {variables:,} variables is {count:,} "
                          f"derivatives, more than {MAX_DERIVATIVES:,}",
                          hint="choose fewer variables with --wrt")


class Analysis:
    """Everything ``diff`` shows about a graph, computed on demand."""

    def __init__(self, graph: Graph, wrt, point=None, order_n=1, max_paths=20, mode="reverse"):
        self.graph = graph
        self.wrt = list(dict.fromkeys(wrt))
        if order_n > 1:  # (order 1 is one derivative per variable, as the graph has them)
            _check_count(len(self.wrt), order_n)
        self.point = point
        self.order_n = order_n
        self.max_paths = max_paths
        self.mode = mode
        self.values: dict = {}  # node -> its value at the point
        self._simplifier = None
        self._edges = None
        self._edge_values: dict = {}
        self._derivatives = None
        self._counts = None
        self._path_lists = None  # made when paths are first asked
        self._paths: dict = {}
        self.inline_sizes: dict = {}  # printed sizes of simplified nodes, shared by all edges
        if point is not None:
            self._evaluate(graph.order)

    def _evaluate(self, order):
        from .evaluate import evaluate_point

        g = self.graph
        evaluate_point(order, self.point, self.values, where=g.where, source=g.source,
                       filename=g.filename, names=lambda: g.names)

    # -- values -----------------------------------------------------------------------------
    @property
    def value(self):
        return self.values.get(self.graph.output) if self.point is not None else None

    def eval_node(self, node):
        if node not in self.values:  # walk only what is not known yet: linear in all
            self._evaluate(topological([node], skip=self.values))
        return self.values[node]

    def edge_value(self, node, i):
        """The connection derivative at the point. Where the op's rule has no value there but
        its simplified form does (x^0 at 0: 0*x^-1, which is 0), the simplified form's, as it
        is shown; where neither has, nan. An edge never fails the run: the derivative's own
        value does, whichever form shows it."""
        key = (node, i)
        v = self._edge_values.get(key)
        if v is None:
            b = self.graph.builder
            rule = connection(b, node, i)
            try:
                v = self.eval_node(rule)
            except EvaluationError:
                try:
                    v = self.eval_node(_in_inputs(b, node, rule))
                except EvaluationError:
                    v = math.nan
            self._edge_values[key] = v
        return v

    # -- the graph's view -------------------------------------------------------------------
    @property
    def simplifier(self) -> Simplifier:
        if self._simplifier is None:
            self._simplifier = Simplifier(self.graph.builder)
            # the graph's own nodes first, in its order: a deep graph is not walked again
            self._simplifier.note_canonical(self.graph.order)
        return self._simplifier

    def edges(self) -> list[Edge]:
        if self._edges is None:
            g = self.graph
            self._edges = edges(g.builder, g.order, list(g.var_nodes.values()))
        return self._edges

    def local_form(self, edge: Edge):
        """The connection derivative simplified, in the names of the node's inputs."""
        return _in_inputs(self.graph.builder, edge.out, edge.rule)

    def path_counts(self) -> dict[str, int]:
        if self._counts is None:
            g = self.graph
            counts = path_counts(g.order, g.output)
            self._counts = {v: counts.get(g.var_nodes[v], 0) for v in self.wrt}
        return self._counts

    @property
    def first_order_vars(self):
        return self.wrt

    def paths(self, var):
        """Listed paths to ``var``: (node list, slot list, product or None). Up to
        ``max_paths`` each, bounded for all variables together as :class:`PathLists` says
        (a long sum's variables each have a path as long as the sum: listing them all would
        be quadratic); past the bound fewer or none are listed, and the counts stay exact."""
        listed = self._paths.get(var)
        if listed is None:
            listed = self._paths[var] = self._list_paths(var)
        return listed

    def _list_paths(self, var):
        g = self.graph
        if self._path_lists is None:
            self._path_lists = PathLists(g.order, g.output, len(self.wrt), self.max_paths)
        out = []
        for nodes, slots in self._path_lists(g.var_nodes[var]):
            product = None
            if self.point is not None:
                product = 1.0
                for n, i in zip(nodes, slots):
                    product *= self.edge_value(n, i)
            out.append((nodes, slots, product))
        return out

    # -- accumulation ---------------------------------------------------------------------
    def adjoints(self):
        g = self.graph
        return accumulate(g.order, {g.output: 1.0}, Numbers(self.edge_value),
                          live=depending(g.order, g.var_nodes.values()))

    def tangents(self, var):
        g = self.graph
        return accumulate(g.order, {g.var_nodes[var]: 1.0}, Numbers(self.edge_value),
                          reverse=False)

    def derivatives(self) -> list[Derivative]:
        """Every requested derivative, symbolic (simplified) and at the point."""
        if self._derivatives is None:
            self._derivatives = self._compute_derivatives()
        return self._derivatives

    def _compute_derivatives(self):
        from itertools import combinations_with_replacement

        g, b = self.graph, self.graph.builder
        simp = self.simplifier
        variables = self.wrt
        # order 1: one backward pass for every variable
        nodes, _ = reverse_symbolic(b, g.order, g.output, [g.var_nodes[v] for v in variables],
                                    simp=simp)
        current = {(v,): n for v, n in zip(variables, nodes)}
        rank = {v: k for k, v in enumerate(variables)}.__getitem__
        for _ in range(self.order_n - 1):
            nxt = {}
            for key, node in current.items():
                ds, _ = reverse_symbolic(b, topological([node]), node,
                                         [b.var(v) for v in variables], simp=simp)
                for v, d in zip(variables, ds):
                    nxt[key + (v,)] = d
            current = {}
            for key, node in nxt.items():
                canon_key = tuple(sorted(key, key=rank))
                if canon_key not in current:
                    current[canon_key] = simp(node)
        if self.order_n > 1:
            wanted = list(combinations_with_replacement(variables, self.order_n))
            current = {k: current[k] for k in wanted}
        return [Derivative(key, node, self.eval_node(node) if self.point is not None else None)
                for key, node in current.items()]

    def derivative_names(self):
        """The user's names carried over to the simplified forms of their nodes, for printing
        the derivatives in them."""
        g = self.graph
        memo = self.simplifier.memo
        names = {}
        for n, name in g.user_names.items():
            if n.op not in ("var", "const"):
                c = memo.get(n)
                if c is not None and c.op not in ("var", "const"):
                    names.setdefault(c, name)
        return names


_SMALLEST_STEP = 1e-8  # of |x|: the least step the search for one where f is finite tries
_TRIES = 40  # steps tried at most
_SHRINK = 1.4  # each step of an extrapolation is this much smaller than the one before
_STEPS = 10  # steps of an extrapolation at most
ROUNDING = 3e-16  # of |f|: what rounding f's value may add to it, with a margin


def extrapolated(f, x, h, side=0, fx=None):
    """d f/d x at ``x`` by Ridders' method: differences with steps ``h``, ``h/1.4``,
    ``h/1.4^2``, ... extrapolated towards a step of 0 (Richardson's tableau), and of all the
    estimates the one whose error estimate is least: (estimate, error estimate). Central
    differences (``side`` 0), or one-sided ones from ``x`` to the right (1) or the left (-1)
    (``fx``: f(x)), whose error goes as the step, not its square. An estimate's error is at
    least what rounding ``f`` may add to the difference of its smallest step (else differences
    of rounded values that happen to agree would look exact). So a first step too large for the
    function's own scale (sin at x = 1000 with h = 1) costs accuracy only where the
    extrapolation cannot mend it; the steps stop once rounding, not the step, limits the
    error, or where ``f`` fails (raises CgcalcError, or is not finite)."""
    def difference(h):
        if side:
            to = x + side * h
            above, below = (f(to), fx) if side > 0 else (fx, f(to))
            span = (to - x) * side
        else:
            up, down = x + h, x - h
            above, below = f(up), f(down)
            span = up - down  # the step as rounded into x ± h
        if not span:  # the step is rounded away beside x
            raise CgcalcError("no step")
        d = (above - below) / span
        if not math.isfinite(d):
            raise CgcalcError("not finite")
        return d, ROUNDING * max(abs(above), abs(below)) / span

    ratio = _SHRINK if side else _SHRINK * _SHRINK  # how the error shrinks with each step
    first, noise = difference(h)
    column = [first]
    best, error = first, math.inf  # one difference alone: how far off, nothing says
    for i in range(1, _STEPS):
        h /= _SHRINK
        try:
            d, noise = difference(h)
        except CgcalcError:
            break
        row = [d]
        factor = ratio
        for j in range(1, i + 1):
            row.append((row[j - 1] * factor - column[j - 1]) / (factor - 1))
            factor *= ratio
            e = max(abs(row[j] - row[j - 1]), abs(row[j] - column[j - 1]), noise)
            if e <= error and math.isfinite(row[j]):  # (near 1e308 a tableau may overflow)
                best, error = row[j], e
        if abs(row[i] - column[i - 1]) >= 2 * error:
            break  # higher orders only add rounding now
        column = row
    return best, error


_STARTS = 12  # first steps an extrapolation is tried from at most, each ten times smaller
SURE = 1e-10  # an estimate this sure (relative) ends the search for a better first step


def best_difference(f, x, h, least, side=0):
    """:func:`extrapolated` from ``h``, and from ten, a hundred, ... times smaller first steps
    down to ``least``, until one is sure to :data:`SURE`, two in a row agree, or rounding
    alone would be more than the best error yet: the estimate whose error estimate is least
    (a first step of 1e-3 of x = 10^6 is a thousand times sin's own scale), or (None, inf)."""
    fx = f(x)
    best = last = (None, math.inf)
    for _ in range(_STARTS):
        if h < least and best[0] is not None:
            break
        try:
            d, error = extrapolated(f, x, h, side, fx)
        except CgcalcError:
            break
        if error < best[1] or best[0] is None:
            best = (d, error)
        h /= 10
        if best[1] <= SURE * abs(best[0]) or \
                ROUNDING * abs(fx) / h > best[1]:  # smaller steps: only more rounding
            break
        if last[0] is not None and abs(d - last[0]) <= error + last[1] and \
                max(error, last[1]) <= 1e-8 * max(1.0, abs(d)):
            break  # two first steps agree, sure enough (a derivative of 0 is never sure to SURE)
        last = (d, error)
    return best


def _difference(f, x, h, bend=None):
    """A finite difference of ``f`` at ``x`` (:func:`best_difference`) from a first step ``h``.
    Where ``f`` is not finite that far from ``x`` (sqrt or log near 0, asin near 1, exp near
    overflow), the step is made smaller until it is: ten times smaller each try and at most
    ``|x|/4`` (an edge at 0 is never crossed), and then the estimate is kept only where its
    error estimate, and what rounding ``f`` may add, are within 1e-8 of it. None where that
    step would be below :data:`_SMALLEST_STEP` of ``|x|``, or the estimate is not that sure
    (rounding ``f`` hides the change: a term of 1e-150 beside one of 1).

    On a bend (``bend``: the op that bends at ``x``), the slopes from the left and from the
    right: where they agree (``relu(x)^2`` at 0) the derivative is their mean; where they do
    not (``relu(x)`` at 0), no difference can check it: CgcalcError."""
    least, shrunk = abs(x) * _SMALLEST_STEP, False
    if h > abs(x) / 4 and x + abs(x) / 4 != x and _pole_between(f, x, h):
        h = abs(x) / 4  # f changes sign across 0 and is larger between: a pole (1/x), not crossed
    for _ in range(_TRIES):
        if h < least:
            break
        if not _finite(f, x + h, x - h):
            h, shrunk = min(h / 10, abs(x) / 4) if x else h / 10, True
            continue
        # x ± h is rounded, and the difference divides by the step as rounded: steps far
        # below least are exact (1e-8 of x = 1e10 is 100, sin's scale is 1)
        fine = abs(x) * 1e-14
        if bend is not None:
            return either_side(f, x, h, fine, bend)
        d, error = best_difference(f, x, h, fine)
        if d is None:
            return None
        noise = ROUNDING * max(abs(f(x + h)), abs(f(x - h))) / h  # at the largest step
        if shrunk:  # near an edge: kept only where neither the steps nor rounding can move it
            if not max(error, noise) <= 1e-8 * abs(d):
                return None
        elif not noise <= 1e-2 * max(1.0, abs(d)):
            return None  # rounding f all but hides the change (x + y at y = 1e16)
        return d
    return None


def _pole_between(f, x, h):
    """Whether f changes sign between x - h and x + h and is larger at x than at both."""
    try:
        above, below, at = f(x + h), f(x - h), f(x)
    except CgcalcError:
        return False
    return math.isfinite(above) and math.isfinite(below) and (above > 0) != (below > 0) and \
        abs(at) > max(abs(above), abs(below))


def _finite(f, *at):
    """Whether ``f`` is finite at each of ``at`` (a domain fault raises: not finite)."""
    try:
        return all(math.isfinite(f(t)) for t in at)
    except CgcalcError:
        return False


def either_side(f, x, h, least, bend):
    """The slope at a bend: from the left and from the right, their mean where both are sure
    and they agree within their errors."""
    (left, e_left), (right, e_right) = (best_difference(f, x, h, least, side) for side in (-1, 1))
    if left is None or right is None:
        return None
    scale = max(1.0, abs(left), abs(right))
    sure = max(e_left, e_right) <= 1e-7 * scale  # else rounding or a jump may hide a bend
    if sure and abs(left - right) <= e_left + e_right + 1e-7 * scale:  # (as check compares)
        return (left + right) / 2
    slopes = (f"the slope is {left:.10g} from the left and {right:.10g} from the right" if sure
              else "its slopes from the left and the right are not sure")
    raise CgcalcError(f"{bend}() bends there: {slopes}, and a derivative there is a convention "
                      f"that finite differences cannot check", status=FAILURE,
                      hint="check at a point beside the bend")


def first_step(analysis, var, f_values):
    """The first step of ``var``'s finite difference at the analysis's point; the op that
    bends right there (or None); and the op whose bend set the step, with how far it is (None
    where none did), to say so if it is too near. The step is 1e-3 of the variable (at least
    1e-3), and less where a node that bends (abs, relu: the table's ``bends_at``) would be
    reached sooner: a quarter of the distance there, from its input's value and rate of change
    in ``var``; then, while some bending input is on another side of its bend at x ± h than at
    x (its rate 0 there: x^2 - 1e-7 at 0), a quarter of that. ``f_values(t)``: every node's
    value with ``var`` at t."""
    x = analysis.point[var]
    h, on, near = 1e-3 * max(1.0, abs(x)), None, None
    g = analysis.graph
    rates = analysis.tangents(var)
    moved = depending(g.order, [g.var_nodes[var]])  # what var moves: other bends are not met
    bends = []  # (node, its input, where it bends, which side x is on)
    for n in g.order:
        at = ops.OPS[n.op].bends_at
        if at is None or n.args[0] not in moved:
            continue
        u = n.args[0]
        value = analysis.eval_node(u)
        if value == at:
            on = on or n.op
            continue
        bends.append((n, u, at, value > at))
        rate = rates.get(u, 0.0)
        if rate and abs(value - at) / abs(rate) / 4 < h:
            h, near = abs(value - at) / abs(rate) / 4, (n.op, abs(value - at) / abs(rate))
    for _ in range(_TRIES if bends else 0):
        try:
            sides = [f_values(x + h), f_values(x - h)]
        except CgcalcError:
            break  # past an edge of the domain: _difference steps back from it
        crossed = next((n for n, u, at, above in bends
                        if any((vs[u] > at) != above for vs in sides)), None)
        if crossed is None:
            break
        h, near = h / 4, (crossed.op, h)
    return h, on, near


def check_gradients(graph, point):
    """Per variable: (name, (), reverse, forward, a finite difference: :func:`_difference`
    from :func:`first_step`)."""
    from .evaluate import evaluate_point

    a = Analysis(graph, list(graph.variables), point)
    adj = a.adjoints()
    rows = []
    for v in graph.variables:
        def values(t):
            return evaluate_point(graph.order, {**point, v: t})

        def f(t):
            return values(t)[graph.output]
        h, on, near = first_step(a, v, values)
        cannot = f"cannot check d/d{v} at {v} = {point[v]!r}"
        try:
            numeric = _difference(f, point[v], h, on)
        except CgcalcError as e:
            raise CgcalcError(f"{cannot}: {e.message}", status=FAILURE, hint=e.hint) from None
        if numeric is None and near is not None:
            raise CgcalcError(
                f"{cannot} by finite differences: {near[0]}() bends {near[1]:.3g} from there, "
                f"nearer than a step rounding leaves exact", status=FAILURE,
                hint="check at a point farther from the bend")
        if numeric is None:
            raise CgcalcError(
                f"{cannot} by finite differences: no step h keeps {v} ± h where the function "
                f"is finite, with a change in it that rounding does not hide", status=FAILURE,
                hint="check at a point farther from where the function stops being defined "
                     "(or finite)")
        rows.append((v, (), adj.get(graph.var_nodes[v], 0.0),
                     a.tangents(v).get(graph.output, 0.0), numeric))
    return rows
