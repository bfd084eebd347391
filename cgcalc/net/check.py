"""``cgcalc check FILE.net``: the derived gradients against forward mode and finite
differences, entry by entry, at given params."""

from __future__ import annotations

import math

from ..derive import ROUNDING, best_difference, forward_symbolic
from ..errors import CgcalcError
from ..walk import topological
from . import backprop
from .model import Network


def check(net: Network, params, data, h=1e-6):
    """For every param entry: reverse mode, forward mode and a central difference of the cost
    (:func:`_central`). Returns rows (param, index, reverse, forward, numeric)."""
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
            numeric = _central(cost_tape, env, k, base, idx, h)
            if abs(numeric - rev[idx]) > _AGREE * max(1.0, abs(float(rev[idx]))):
                numeric = _careful(cost_tape, env, k, base, idx, numeric)
            rows.append((p, idx, float(rev[idx]), forward, numeric))
    return rows


_AGREE = 1e-9  # a quick difference this close to reverse mode is taken as it is


def _careful(cost_tape, env, k, base, idx, quick):
    """The entry's difference again where the quick one disagrees with reverse mode:
    Ridders' extrapolation from several first steps (cgcalc/derive.py), as an expression's
    check takes it, in its place where it has an error estimate (a cost far steeper than the
    entry's own scale: sigmoid(1e6*x) at 1e6). Where they agree, two evaluations an entry."""
    entry = float(base[idx])

    def cost(t):
        return _cost_at(cost_tape, env, k, base, idx, t)[0]

    try:
        d, error = best_difference(cost, entry, 1e-3 * max(1.0, abs(entry)), abs(entry) * 1e-14)
    except CgcalcError:
        return quick
    return d if d is not None and math.isfinite(error) else quick


_NOISE = 1e-8  # rounding's share of a difference at most, relative to it (or to 1)
_GROWTHS = 6  # times a step may grow tenfold


def _central(cost_tape, env, k, base, idx, h):
    """d cost/d base[idx] by a central difference. The step is ``h`` times the entry (at least
    ``h``), and ten times larger while rounding the cost could move the difference by more
    than :data:`_NOISE` of it: beside a cost of 1e12 a step of 1e-6 changes nothing that
    survives rounding. The step taken is the one the rounded entries differ by."""
    entry = float(base[idx])
    step = h * max(1.0, abs(entry))
    for _ in range(_GROWTHS + 1):
        c_plus, x_plus = _cost_at(cost_tape, env, k, base, idx, entry + step)
        c_minus, x_minus = _cost_at(cost_tape, env, k, base, idx, entry - step)
        numeric = (c_plus - c_minus) / (x_plus - x_minus)
        noise = ROUNDING * max(abs(c_plus), abs(c_minus)) / (x_plus - x_minus)
        if not noise > _NOISE * max(1.0, abs(numeric)):
            return numeric
        step *= 10
    return numeric


def _cost_at(cost_tape, env, k, base, idx, t):
    """(the cost, the entry as stored) with param ``k``'s entry ``idx`` set to ``t``."""
    moved = base.copy()
    moved[idx] = t
    at = list(env)
    at[k] = moved
    return float(cost_tape.run(at)[0]), float(moved[idx])
