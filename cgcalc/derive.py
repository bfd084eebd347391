"""Derivatives on the graph, the seed's way and the fast way, and the check that they agree.

- connection derivatives: one per edge (an input slot of a node; ``x*x`` has two edges into x),
  built by the op table's rules as graph, so each has a symbolic form and, evaluated, a number;
- paths: the exact number of paths from the output to each variable (dynamic programming over
  the DAG, Python integers of any size) and a bounded listing of them with their products;
- accumulation: reverse mode (every variable in one backward pass) and forward mode, numeric;
- the symbolic derivative: reverse accumulation done on graph nodes, then simplified.
"""

from __future__ import annotations

from . import ops
from .graph import Graph, topological
from .simplify import Simplifier


class Edge:
    """One connection: input slot ``index`` of node ``out``; ``rule`` is d(out)/d(input)."""

    __slots__ = ("out", "index", "rule")

    def __init__(self, out, index, rule):
        self.out, self.index, self.rule = out, index, rule

    @property
    def inp(self):
        return self.out.args[self.index]


def live_set(order, sources=None) -> set[int]:
    """Ids of the nodes that depend on some input variable (or on one of ``sources``)."""
    live: set[int] = set()
    for n in order:
        if (n.op == "var" if sources is None else id(n) in sources) or \
                any(id(a) in live for a in n.args):
            live.add(id(n))
    return live


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


def forward_symbolic(b, order, seeds):
    """Tangent nodes of every node given tangent nodes for some leaves (``seeds``: id -> node)."""
    tan: dict[int, object] = {}
    for n in order:
        if id(n) in seeds:
            tan[id(n)] = seeds[id(n)]
        elif n.args:
            ts = [tan.get(id(a)) for a in n.args]
            if any(t is not None for t in ts):
                t = jvp(b, n, ts)
                if t is not None:
                    tan[id(n)] = t
    return tan


def edges(graph: Graph, order=None, sources=None) -> list[Edge]:
    """Every connection into a node that depends on a variable (or on one of ``sources``), in
    topological order. ``rule`` is the connection derivative for elementwise ops, else None."""
    order = order or graph.order
    live = live_set(order, sources)
    b = graph.builder
    return [Edge(n, i, connection(b, n, i) if ops.OPS[n.op].elementwise else None)
            for n in order for i, a in enumerate(n.args) if id(a) in live]


def path_counts(order, output) -> dict[int, int]:
    """Number of paths from ``output`` to every node (exact integers)."""
    live = live_set(order)
    count: dict[int, int] = {id(output): 1}
    for n in reversed(order):
        c = count.get(id(n))
        if not c:
            continue
        for a in n.args:
            if id(a) in live:
                count[id(a)] = count.get(id(a), 0) + c
    return count


def list_paths(order, output, target, limit: int):
    """Up to ``limit`` paths from output to target, each as (nodes, slot indices). Iterative DFS."""
    reach: set[int] = set()
    for n in order:
        if n is target or any(id(a) in reach for a in n.args):
            reach.add(id(n))
    found = []
    if id(output) not in reach or limit <= 0:
        return found
    path, nxt, slots = [output], [0], []
    while path:
        node = path[-1]
        if node is target:
            found.append((list(path), list(slots)))
            if len(found) >= limit:
                break
            path.pop(), nxt.pop()
            if slots:
                slots.pop()
            continue
        i = nxt[-1]
        args = node.args
        while i < len(args) and id(args[i]) not in reach:
            i += 1
        if i >= len(args):
            path.pop(), nxt.pop()
            if slots:
                slots.pop()
            continue
        nxt[-1] = i + 1
        path.append(args[i])
        nxt.append(0)
        slots.append(i)
    return found


def reverse_numeric(order, output, edge_value) -> dict[int, float]:
    """d(output)/d(node) for every node: one backward pass, each edge adding its contribution."""
    live = live_set(order)
    adj: dict[int, float] = {id(output): 1.0}
    for n in reversed(order):
        g = adj.get(id(n))
        if g is None:
            continue
        for i, a in enumerate(n.args):
            if id(a) in live:
                adj[id(a)] = adj.get(id(a), 0.0) + g * edge_value(n, i)
    return adj


def forward_numeric(order, var_node, edge_value) -> dict[int, float]:
    """d(node)/d(var) for every node: one forward pass seeded at ``var_node``."""
    live = live_set(order)
    tan: dict[int, float] = {}
    for n in order:
        if n is var_node:
            tan[id(n)] = 1.0
        elif id(n) not in live or n.op == "var":
            tan[id(n)] = 0.0
        else:
            t = 0.0
            for i, a in enumerate(n.args):
                ta = tan[id(a)]
                if ta:
                    t += edge_value(n, i) * ta
            tan[id(n)] = t
    return tan


def reverse_symbolic(builder, order, output, var_nodes, adjoints=None, simp=None):
    """The derivative of ``output`` w.r.t. each of ``var_nodes`` as nodes: one backward pass,
    each edge adding its contribution (the sum over paths).

    Without ``simp`` the nodes are the raw adjoints, one product and sum per edge (what a tape
    runs). With ``simp`` (a Simplifier) each adjoint is made canonical as it forms: the nodes
    ``simp`` would make of the raw ones, without building and walking those first."""
    live = live_set(order, {id(v) for v in var_nodes})
    adj: dict[int, object] = {} if adjoints is None else adjoints
    adj.setdefault(id(output), builder.const(1))
    if simp is not None:
        adj = {k: simp(v) for k, v in adj.items()}
    for n in reversed(order):
        g = adj.get(id(n))
        if g is None:
            continue
        for i, a in enumerate(n.args):
            if id(a) not in live:
                continue
            prev = adj.get(id(a))
            if simp is None:
                term = vjp(builder, n, i, g)
                adj[id(a)] = term if prev is None else builder.add(prev, term)
            else:
                term = _canonical_vjp(simp, n, i, g)
                adj[id(a)] = term if prev is None else simp.known(simp.add([prev, term]))
    return [adj.get(id(v), builder.const(0)) for v in var_nodes]


def _canonical_vjp(simp, node, i, G):
    """simp(vjp(b, node, i, G)) for a canonical G, with elementwise products formed directly."""
    b = simp.b
    if ops.OPS[node.op].elementwise and b.shape_of(node.args[i]) == b.shape_of(node):
        d = simp(connection(b, node, i))
        if _one(G):
            return d
        if _one(d):
            return G
        return simp.known(simp.mul([G, d]))
    return simp(vjp(b, node, i, G))


def derivative_outputs(graph: Graph, wrt, order_n=1):
    """[(label, node)] for the value and each requested derivative, ready to compile into one
    tape. First derivatives are the raw reverse-mode adjoints (every edge one multiply-add, the
    backward pass itself); higher orders are the simplified symbolic derivatives."""
    g = graph
    if order_n == 1:
        nodes = reverse_symbolic(g.builder, g.order, g.output, [g.var_nodes[v] for v in wrt])
        pairs = [(f"d/d{v}", n) for v, n in zip(wrt, nodes)]
    else:
        pairs = [(d.label, d.node) for d in Analysis(g, wrt, order_n=order_n).derivatives()]
    return [("value", g.output), *pairs]


def compile_outputs(graph: Graph, outputs):
    from .evaluate import Tape

    nodes = [n for _, n in outputs]
    return Tape(topological(nodes), nodes, graph.variables)


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
    simplified node, its text (a valid cgcalc expression) and its value at the point."""

    __slots__ = ("wrt", "node", "text", "value")

    def __init__(self, wrt, node, text="", value=None):
        self.wrt, self.node, self.text, self.value = wrt, node, text, value

    @property
    def key(self) -> str:
        return ",".join(self.wrt)

    @property
    def label(self) -> str:
        n = len(self.wrt)
        if n == 1:
            return f"d/d{self.wrt[0]}"
        return f"d{n}/" + "".join(f"d{v}" for v in self.wrt)


class Analysis:
    """Everything ``diff`` shows about a graph, computed on demand."""

    def __init__(self, graph: Graph, wrt, point=None, order_n=1, max_paths=20, mode="reverse"):
        from .evaluate import evaluate_point

        self.graph = graph
        self.wrt = list(wrt)
        self.point = point
        self.order_n = order_n
        self.max_paths = max_paths
        self.mode = mode
        self.values: dict = {}
        self._simplifier = None
        self._edges = None
        self._edge_values: dict = {}
        self._derivatives = None
        self.inline_sizes: dict = {}  # printed sizes of simplified nodes, shared by all edges
        if point is not None:
            evaluate_point(graph.order, point, self.values, where=graph.where,
                           source=graph.source, filename=graph.filename, names=graph.names)

    # -- values -----------------------------------------------------------------------------
    @property
    def value(self):
        return self.values.get(id(self.graph.output)) if self.point is not None else None

    def eval_node(self, node):
        from .evaluate import evaluate_point

        g = self.graph
        if id(node) not in self.values:  # walk only what is not known yet: linear in all
            evaluate_point(topological([node], skip=self.values), self.point, self.values,
                           where=g.where, source=g.source, filename=g.filename, names=g.names)
        return self.values[id(node)]

    def edge_value(self, node, i):
        key = (id(node), i)
        v = self._edge_values.get(key)
        if v is None:
            v = self.eval_node(connection(self.graph.builder, node, i))
            self._edge_values[key] = v
        return v

    # -- the seed's view ------------------------------------------------------------------
    @property
    def simplifier(self) -> Simplifier:
        if self._simplifier is None:
            self._simplifier = Simplifier(self.graph.builder)
        return self._simplifier

    def edges(self) -> list[Edge]:
        if self._edges is None:
            self._edges = edges(self.graph)
        return self._edges

    def local_form(self, edge: Edge):
        """The connection derivative simplified, in the names of the node's inputs."""
        atoms = {id(a) for a in edge.out.args}
        return Simplifier(self.graph.builder, atoms)(edge.rule)

    def path_counts(self) -> dict[str, int]:
        counts = path_counts(self.graph.order, self.graph.output)
        return {v: counts.get(id(n), 0) for v, n in self.graph.var_nodes.items()
                if v in self.first_order_vars}

    @property
    def first_order_vars(self):
        seen = []
        for w in self.wrt:
            if w not in seen:
                seen.append(w)
        return seen

    def paths(self, var):
        """Listed paths to ``var``: (node list, slot list, product or None)."""
        g = self.graph
        found = list_paths(g.order, g.output, g.var_nodes[var], self.max_paths)
        out = []
        for nodes, slots in found:
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
        return reverse_numeric(g.order, g.output, self.edge_value)

    def tangents(self, var):
        g = self.graph
        return forward_numeric(g.order, g.var_nodes[var], self.edge_value)

    def derivatives(self) -> list[Derivative]:
        """Every requested derivative, symbolic (simplified, printed) and at the point."""
        if self._derivatives is None:
            self._derivatives = self._compute_derivatives()
        return self._derivatives

    def _compute_derivatives(self):
        from itertools import combinations_with_replacement

        from .printer import program_text

        g, b = self.graph, self.graph.builder
        simp = self.simplifier
        variables = self.first_order_vars
        # order 1: one backward pass for every variable
        nodes = reverse_symbolic(b, g.order, g.output, [g.var_nodes[v] for v in variables],
                                 simp=simp)
        current = {(v,): n for v, n in zip(variables, nodes)}
        for _ in range(self.order_n - 1):
            nxt = {}
            for key, node in current.items():
                order = topological([node])
                present = {n.value: n for n in order if n.op == "var"}
                ds = reverse_symbolic(b, order, node,
                                      [present.get(v, b.var(v)) for v in variables], simp=simp)
                for v, d in zip(variables, ds):
                    nxt[key + (v,)] = d
            current = {}
            for key, node in nxt.items():
                canon_key = tuple(sorted(key, key=variables.index))
                if canon_key not in current:
                    current[canon_key] = simp(node)
        if self.order_n > 1:
            wanted = list(combinations_with_replacement(variables, self.order_n))
            current = {k: current[k] for k in wanted}
        names = self._canonical_names()
        out = []
        for key, node in current.items():
            text = program_text(node, names=names, reserved=g.variables)
            value = self.eval_node(node) if self.point is not None else None
            out.append(Derivative(key, node, text, value))
        return out

    def _canonical_names(self):
        """The user's names carried over to the simplified forms of their nodes."""
        g = self.graph
        simp = self.simplifier
        names = {}
        for n in g.order:
            name = g.user_names.get(id(n))
            if name and n.op not in ("var", "const"):
                c = simp.memo.get(n)
                if c is not None and c.op not in ("var", "const"):
                    names.setdefault(id(c), name)
        return names


def check_gradients(graph, point):
    """Per variable: (name, (), reverse, forward, a fourth-order central difference)."""
    from .evaluate import evaluate_point

    a = Analysis(graph, list(graph.variables), point)
    adj = a.adjoints()
    rows = []
    for v in graph.variables:
        def f(t):
            return evaluate_point(graph.order, {**point, v: t})[id(graph.output)]
        h = 1e-3 * max(1.0, abs(point[v]))
        numeric = (8 * (f(point[v] + h) - f(point[v] - h)) -
                   (f(point[v] + 2 * h) - f(point[v] - 2 * h))) / (12 * h)
        rows.append((v, (), adj.get(id(graph.var_nodes[v]), 0.0),
                     a.tangents(v)[id(graph.output)], numeric))
    return rows
