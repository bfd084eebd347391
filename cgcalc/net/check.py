"""``cgcalc check FILE.net``: the derived gradients against forward mode and finite
differences, entry by entry, at given params."""

from __future__ import annotations

from ..derive import forward_symbolic
from ..walk import topological
from . import backprop
from .model import Network


def check(net: Network, params, data, h=1e-6):
    """For every param entry: reverse mode, forward mode and a central difference of the cost.
    Returns rows (param, index, reverse, forward, numeric)."""
    import numpy as np

    from ..evaluate import Tape

    b = net.builder
    env = net.env(params, data)
    names = net.variables()
    grads = backprop.gradients(net)
    reverse = dict(zip(net.params, backprop.tape(net, list(grads.values())).run(env)))
    cost_tape = backprop.tape(net, [net.cost])
    order = net.graph.order
    rows = []
    for p in net.params:
        seed = b.var(f"\0d_{p}")  # not a name a user can write: no clash with theirs
        b.declare(seed, b.shape_of(net.var_nodes[p]))
        tan = forward_symbolic(b, order, {net.var_nodes[p]: seed})
        t_node = tan.get(net.cost, b.const(0))
        t_tape = Tape(topological([t_node]), [t_node], [*names, seed.value])
        k = names.index(p)
        base = np.array(params[p], dtype=float)
        rev = np.broadcast_to(np.asarray(reverse[p]), base.shape)
        for idx in np.ndindex(base.shape):
            e = np.zeros_like(base)
            e[idx] = 1.0
            forward = float(t_tape.run([*env, e])[0])
            plus, minus = base.copy(), base.copy()
            plus[idx] += h
            minus[idx] -= h
            env_p, env_m = list(env), list(env)
            env_p[k], env_m[k] = plus, minus
            numeric = (float(cost_tape.run(env_p)[0]) - float(cost_tape.run(env_m)[0])) / (2 * h)
            rows.append((p, idx, float(rev[idx]), forward, numeric))
    return rows
