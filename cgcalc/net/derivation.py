"""``cgcalc diff FILE.net``: backpropagation derived on the network's graph and told in its own
names, the way "On chain rule, computational graphs, and backpropagation" tells it: nodes with
shapes and values, every connection (its local derivative, and what flows back through it in
terms of the adjoint δ flowing in), the paths from the cost down to each param, and the
gradients composed along them and simplified, all at given param values."""

from __future__ import annotations

from ..derive import PathLists, edges, reverse_symbolic, vjp
from ..printer import PLAIN, program_text, to_text
from ..walk import path_counts
from . import backprop
from .model import Network


class NetDerivation:
    def __init__(self, net: Network, params, data, wrt=None, max_paths=20):
        import numpy as np

        self.net, self.params, self.max_paths = net, params, max_paths
        self.wrt = list(dict.fromkeys(wrt or net.params))
        g, b = net.graph, net.builder
        self.graph = g
        self.names = {**{n: k for k, n in g.bound.items()},
                      **{n: k for k, n in net.var_nodes.items()}}
        for n in g.order:
            if n not in self.names and n.op != "const":
                self.names[n] = g.names.get(n)
        wrt_nodes = [net.var_nodes[p] for p in self.wrt]
        # the connections on the paths from the cost down to the chosen params, and the
        # adjoints of the same nodes: one walk decides both
        self.edges = edges(b, g.order, wrt_nodes)
        grads, adjoints = reverse_symbolic(b, g.order, net.cost, wrt_nodes)
        contributions = [vjp(b, e.out, e.index, adjoints[e.out]) for e in self.edges]
        self.simplify = backprop.simplifier(net)
        self.gradients = {p: self.simplify(node) for p, node in zip(self.wrt, grads)}
        # the gradients' numbers are the simplified ones', as printed and as training takes
        # them: where backpropagation's cancellation happens (cross_entropy's (P - y)/(P(1 - P))
        # meeting a sigmoid's P(1 - P)) the raw adjoints lose what rounding P took (P = 1: 0/0)
        outs = [*g.order, *self.gradients.values(), *contributions]
        values = backprop.tape(net, outs).run(net.env(params, data))
        k, w = len(g.order), len(grads)
        self.values = {n: np.asarray(v) for n, v in zip(g.order, values[:k])}
        self.grad_values = {p: np.broadcast_to(np.asarray(v), net.shape(p))
                            for p, v in zip(self.wrt, values[k:k + w])}
        self.edge_values = [np.asarray(v) for v in values[k + w:]]
        self.counts = path_counts(g.order, net.cost)
        self._own = self._reserved = None  # for gradient_text, made when first asked
        self._paths = None  # the paths' listings (derive.PathLists), made when first asked
        self._texts = backprop.EdgeTexts(b, self.names)
        self._adjoints = adjoints
        rec = net.recurrence
        self.state_steps = set() if rec is None else \
            {n for (_, s), n in rec.nodes.items() if s >= 1}
        self.through_time = None
        if rec is not None:
            from .through_time import ThroughTime

            self.through_time = ThroughTime(self)

    def adjoint(self, node):
        """The raw adjoint of ``node`` (dC/dnode as graph), from the backward pass."""
        return self._adjoints[node]

    def name(self, node):
        return self.names.get(node)

    def shape(self, node):
        return self.net.builder.shape_of(node)

    def definition(self, node):
        return to_text(node, {a: self.name(a) for a in node.args if self.name(a)})

    def local(self, edge, style=None):
        """The elementwise connection derivative (None for array ops)."""
        return self._texts.local(edge, style)

    def backward(self, edge, style=None):
        """δ(input) from this connection, in terms of δ(output)."""
        return self._texts.backward(edge, style)

    def names_text(self, node, style=None):
        """A node of the unrolled derivation in the file's names (h[3], x[2], ...)."""
        return to_text(node, self.names, style or PLAIN)

    def paths(self, param):
        """Up to ``max_paths`` paths from the cost down to ``param``, listed once. Which nodes
        lead to it is found walking up from it (costing what it finds), not by a pass over the
        whole graph per param; and the paths listed for all params together are bounded as a
        diff's are (:class:`derive.PathLists`: a long sum's paths are as long as the sum), so
        past the bound fewer or none are listed (the terminal view says so, and json gives the
        count beside what is listed; counts stay exact)."""
        if self._paths is None:
            self._paths = PathLists(self.graph.order, self.net.cost, len(self.wrt),
                                    self.max_paths)
        return self._paths(self.net.var_nodes[param])

    def cut(self, param) -> bool:
        """Whether the bound left ``param`` fewer listed paths than ``max_paths`` asks for."""
        return len(self.paths(param)) < min(self.max_paths, self.count(param))

    def count(self, param):
        return self.counts.get(self.net.var_nodes[param], 0)

    def gradient_text(self, param, style=None, own_names_only=False):
        """The simplified gradient; ``own_names_only`` keeps just the file's names (inputs,
        params, equations), so the text stands on its own as an expression in them."""
        if self._own is None:  # picked from every node's name once, not once per param
            own = {*self.net.graph.bound, *self.net.var_nodes}
            self._reserved = frozenset(own)
            if self.net.recurrence is not None:
                own.update(self.net.recurrence.step_names)
            self._own = {k: v for k, v in self.names.items() if v in own}
        names = self._own if own_names_only else self.names
        # statements for the shared parts of a long one (a deep network's chain of cos(...)
        # factors would otherwise repeat, and grow as the square of the depth)
        return program_text(self.gradients[param], atoms=names, style=style or PLAIN,
                            reserved=self._reserved)

