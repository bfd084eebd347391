"""A network's backward pass: the gradient of the cost with respect to each param, derived on
the graph by reverse accumulation and simplified (where backpropagation's cancellations happen,
which is also what keeps them finite), and the tapes that run the graph and its gradients."""

from __future__ import annotations

from ..derive import reverse_symbolic
from ..simplify import ArraySimplifier
from ..walk import topological
from .model import BATCH, Network


def simplifier(net: Network, extra_atoms=()):
    """The network's simplifier: the file's own nodes (its equations, declarations) stay
    opaque, so results read in their names."""
    atoms = set(net.graph.bound.values()) | set(net.var_nodes.values()) | set(extra_atoms)
    if net.recurrence is not None:  # each step's states: h[1], h[2], ... (zeros stay zeros)
        atoms.update(n for n in net.recurrence.nodes.values() if n.op != "zeros")
    atoms.discard(net.cost)
    return ArraySimplifier(net.builder, net.builder.shape_of, atoms)


def gradients(net: Network, params=None, simplified=True):
    """{param: node} for dC/dparam (every param unless ``params`` names some). A param the cost
    does not use gets zeros of its shape."""
    b, g = net.builder, net.graph
    names = list(net.params if params is None else params)
    wrt = [net.var_nodes[p] for p in names]
    nodes, _ = reverse_symbolic(b, g.order, net.cost, wrt)
    if simplified:
        s = simplifier(net)
        nodes = [s(n) for n in nodes]
    zero = b.const(0)
    return {p: b.like(zero, v) if n is zero else n for p, n, v in zip(names, nodes, wrt)}


def tape(net: Network, outputs, static=False):
    """``outputs`` compiled; with ``static``, what depends on the data alone (the bias columns,
    transposes of inputs, 1/m) is computed once per data set, not per run."""
    from ..evaluate import Tape

    data = (*net.inputs, *net.targets, BATCH) if static else ()
    return Tape(topological(outputs), outputs, net.variables(), static=data)


def train_tapes(net: Network):
    """(cost and gradients, gradients alone, cost alone): the second runs on most steps."""
    grads = list(gradients(net).values())
    return (tape(net, [net.cost, *grads], static=True), tape(net, grads, static=True),
            tape(net, [net.cost], static=True))


def predict(net: Network, params, X):
    """The output node's values for the rows of inputs ``X``."""
    import numpy as np

    Y = np.zeros((X.shape[0], net.width(net.targets)))
    return np.asarray(tape(net, [net.output]).run(net.env(params, (X, Y)))[0])
