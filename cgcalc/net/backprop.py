"""A network's backward pass: the gradient of the cost with respect to each param, derived on
the graph by reverse accumulation and simplified (where backpropagation's cancellations happen,
which is also what keeps them finite); the tapes that run the graph and its gradients; and how
one connection reads (its local derivative, what flows back through it)."""

from __future__ import annotations

from .. import ops
from ..arraymath import tanh_from_exp
from ..derive import connection, reverse_symbolic, vjp
from ..printer import PLAIN, to_text
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


def gradients(net: Network, params=None):
    """{param: node} for dC/dparam (every param unless ``params`` names some). A param the cost
    does not use gets zeros of its shape."""
    b, g = net.builder, net.graph
    names = list(net.params if params is None else params)
    wrt = [net.var_nodes[p] for p in names]
    nodes, _ = reverse_symbolic(b, g.order, net.cost, wrt)
    s = simplifier(net)
    nodes = [s(n) for n in nodes]
    zero = b.const(0)
    return {p: b.like(zero, v) if n is zero else n for p, n, v in zip(names, nodes, wrt)}


FROM_EXP_AT = 1 << 15  # numbers from which a step's tanh is worth tanh_from_exp's 15-30 calls
_FROM_EXP_PAYS = None  # whether it pays on this machine at all: see from_exp_pays


def training_tanh(x, out=None):
    """Training's tanh: ``arraymath.tanh_from_exp`` on a step of FROM_EXP_AT numbers or more
    where it beats numpy's (:func:`from_exp_pays`), numpy's tanh otherwise (on a smaller step
    tanh_from_exp's calls cost more than the exp saves). Chosen by the whole step's size, also
    where it runs in bands of rows (``for_size``, cgcalc/parallel.py), so every band computes
    what the whole step would."""
    return _tanh_for(out.size if out is not None else getattr(x, "size", 1))(x, out=out)


def _tanh_for(size):
    import numpy as np

    return tanh_from_exp if size >= FROM_EXP_AT and from_exp_pays() else np.tanh


def from_exp_pays() -> bool:
    """Whether tanh_from_exp beats numpy's own tanh on a large step: not where numpy computes
    float64 tanh with its AVX-512 kernels (its CPU feature AVX512_SKX), at about 2 ns a number
    (bench/tanh.py on an AVX-512 EPYC: numpy 0.53-0.66 ms for 320,000 numbers, tanh_from_exp
    1.9-4x that); elsewhere numpy's tanh is 13-19 ns a number and tanh_from_exp 0.69x of it
    (AVX2). Asked of numpy, not timed: the same machine always takes the same tanh."""
    global _FROM_EXP_PAYS
    if _FROM_EXP_PAYS is None:
        try:
            from numpy._core._multiarray_umath import __cpu_features__ as features
        except ImportError:  # numpy 1.x
            try:
                from numpy.core._multiarray_umath import __cpu_features__ as features
            except ImportError:
                features = {}
        _FROM_EXP_PAYS = not features.get("AVX512_SKX", False)
    return _FROM_EXP_PAYS


training_tanh.writes_into = True  # fills a given array (so the tape keeps one for it)
training_tanh.for_size = _tanh_for
TRAINING = {"tanh": training_tanh}  # ops training's tapes compute their own way (the table's
# row for tanh, cgcalc/ops.py, is every other evaluation's)


def tape(net: Network, outputs, static=False, training=False):
    """``outputs`` compiled; with ``static``, what depends on the data alone (the bias columns,
    transposes of inputs, 1/m) is computed once per data set, not per run. ``training`` tapes
    compute tanh on large steps from one exp (:func:`training_tanh`)."""
    from ..evaluate import Tape

    data = (*net.inputs, *net.targets, BATCH) if static else ()
    order = topological(outputs)
    shape_of = net.builder.shape_of
    rows = [n for n in order if (shape_of(n) or (None,))[0] == BATCH] if training else ()
    return Tape(order, outputs, net.variables(), static=data,
                functions=TRAINING if training else None, rows=rows)


def train_tapes(net: Network):
    """(cost and gradients, gradients alone, cost alone), and the gradients' nodes: the second
    tape runs on most steps."""
    grads = list(gradients(net).values())
    return tuple(tape(net, outs, static=True, training=True)
                 for outs in ([net.cost, *grads], grads, [net.cost])), grads


def predictor(net: Network, params):
    """A function of rows of inputs ``X``: the output node's values there, on one tape."""
    import numpy as np

    output, width = tape(net, [net.output]), net.width(net.targets)

    def predict(X):
        Y = np.zeros((X.shape[0], width))
        return np.asarray(output.run(net.env(params, (X, Y)))[0])

    return predict


def predict(net: Network, params, X):
    """The output node's values for the rows of inputs ``X``."""
    return predictor(net, params)(X)


class EdgeTexts:
    """The connections of a graph told in the names of their nodes (``names``: node -> name).
    What a node's connections share, the node and its inputs kept whole and the names among
    them, is made once per node, not once per connection: a mean over T steps is one node
    with T of them."""

    def __init__(self, builder, names):
        self.b, self.names = builder, names
        self._around: dict = {}  # (node, its δ or None) -> (atoms, the names shown)

    def local(self, edge, style=None):
        """An elementwise connection derivative in the names of the node and its inputs:
        sigmoid'(z) reads as L3*(1 - L3). None for an array op (it has a backward rule)."""
        if not ops.OPS[edge.out.op].elementwise:
            return None
        b = self.b
        atoms, shown = self._around_of(edge.out)
        node = ArraySimplifier(b, b.shape_of, atoms)(connection(b, edge.out, edge.index))
        return to_text(node, shown, style or PLAIN)

    def backward(self, edge, style=None):
        """What flows back through a connection: δ(input) in terms of δ(output),
        δL3 = dC/dL3."""
        b, out = self.b, edge.out
        out_name = self.names.get(out)
        delta = b.var(f"\0δ{out_name}")  # not a name a user can write: no clash with theirs
        b.declare(delta, b.shape_of(out))
        atoms, shown = self._around_of(out, delta, f"δ{out_name}")
        node = ArraySimplifier(b, b.shape_of, atoms)(vjp(b, out, edge.index, delta))
        return to_text(node, shown, style or PLAIN)

    def _around_of(self, node, delta=None, delta_name=None):
        key = (node, delta)
        got = self._around.get(key)
        if got is None:
            names = self.names
            inside = (*node.args, node)
            shown = {a: names[a] for a in inside if names.get(a)}
            if delta is not None:
                inside += (delta,)
                shown[delta] = delta_name
            got = self._around[key] = (frozenset(inside), shown)
        return got
