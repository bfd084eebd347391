"""``cgcalc check FILE.net``: the derived gradients against forward mode and finite
differences, entry by entry, at given params."""

from __future__ import annotations

import math

from .. import ops
from ..derive import ROUNDING, best_difference, either_side, forward_symbolic
from ..errors import CgcalcError
from ..walk import depending, topological
from . import backprop
from .model import Network


def check(net: Network, params, data, h=1e-6):
    """For every param entry: reverse mode, forward mode and a central difference of the cost,
    its step kept short of the bends of relu, abs, ... (:meth:`_Entry.difference`). Returns
    rows (param, index, reverse, forward, numeric), and {(param, index): why} for the entries
    no difference can check (numeric None): on a bend, where a derivative is a convention."""
    import numpy as np

    from ..evaluate import Tape

    b = net.builder
    env = net.env(params, data)
    names = net.variables()
    grads = backprop.gradients(net)
    reverse = dict(zip(net.params, backprop.tape(net, list(grads.values())).run(env)))
    order = net.graph.order
    # the inputs of the nodes that bend (the table's bends_at), computed beside the cost
    bends = [(n.args[0], ops.OPS[n.op].bends_at, n.op) for n in order
             if ops.OPS[n.op].bends_at is not None]
    # and the probabilities of cross_entropy that are a sigmoid's, whose gradient cancels to
    # P - y however P rounds (a softmax's does not: it divides by what is left of 1 - P)
    probabilities = [n.args[0] for n in order
                     if n.op == "cross_entropy" and n.args[0].op == "sigmoid"]
    inputs = list(dict.fromkeys([*(u for u, _, _ in bends), *probabilities]))
    cost_tape = backprop.tape(net, [net.cost, *inputs])
    place = {u: i for i, u in enumerate(inputs, start=1)}  # (the cost is output 0)
    still = cost_tape.run(env) if inputs else None  # at the params as given
    clamped = [u for u in probabilities if _clamped(still[place[u]])]
    rows, unchecked = [], {}
    simplify = backprop.simplifier(net)  # as reverse mode's gradients are (backprop.gradients)
    for p in net.params:
        seed = b.var(f"\0d_{p}")  # not a name a user can write: no clash with theirs
        b.declare(seed, b.shape_of(net.var_nodes[p]))
        tan = forward_symbolic(b, order, {net.var_nodes[p]: seed})
        # simplified, so the cancellations reverse mode's gradients have, forward mode has too:
        # cross_entropy's 1/(P(1 - P)) against a sigmoid's P(1 - P), where P may round to 1
        t_node = simplify(tan.get(net.cost, b.const(0)))
        t_tape = Tape(topological([t_node]), [t_node], [*names, seed.value])
        k = names.index(p)
        base = np.array(params[p], dtype=float)
        rev = np.broadcast_to(np.asarray(reverse[p]), base.shape)
        moved = depending(order, [net.var_nodes[p]])  # only bends the param moves are met
        entry = _Entry(cost_tape, env, k, base, still,
                       [(place[u], at, op) for u, at, op in bends if u in moved],
                       any(u in moved for u in clamped))
        for idx in np.ndindex(base.shape):
            e = np.zeros_like(base)
            e[idx] = 1.0
            forward = float(t_tape.run([*env, e])[0])
            try:
                numeric = entry.difference(idx, h, float(rev[idx]))
            except CgcalcError as why:
                numeric = None
                unchecked[p, idx] = why.message
            rows.append((p, idx, float(rev[idx]), forward, numeric))
    return rows, unchecked


_AGREE = 1e-9  # a quick difference this close to reverse mode is taken as it is
_CLAMPED = 1e-7  # a difference of a coarse cost this far from reverse mode is not taken
_COARSE = 1e-6  # 1 - P below this keeps at most 10 digits: log(1 - P) is a staircase
_NOISE = 1e-8  # rounding's share of a difference at most, relative to it (or to 1)
_GROWTHS = 6  # times a step may grow tenfold
_SHRINKS = 40  # times a step may shrink fourfold to stay short of a bend


def _clamped(p) -> bool:
    """Whether cross_entropy cannot follow some entry of ``p`` (a sigmoid's): it clamps its
    log (p within e^-100 of 0), or 1 - p is coarse (:data:`_COARSE`) or 0."""
    import numpy as np

    from ..arraymath import SAFE_FLOOR

    p = np.asarray(p)
    return bool(np.any((p <= SAFE_FLOOR) | (1 - p <= _COARSE)))


class _Entry:
    """One param's entries, each moved in turn: the cost there, and the values of the inputs
    of the nodes that bend, (tape output, where it bends, the op) for each in ``bends``;
    ``still``: every output at the params as given."""

    def __init__(self, cost_tape, env, k, base, still, bends, clamped=False):
        self.tape, self.env, self.k, self.base, self.bends = cost_tape, env, k, base, bends
        self.still = still
        self.clamped = clamped  # it moves a probability cross_entropy clamps (_clamped)

    def _at(self, idx, t):
        """(the cost, the entry as stored, every output) with entry ``idx`` set to ``t``."""
        moved = self.base.copy()
        moved[idx] = t
        at = list(self.env)
        at[self.k] = moved
        values = self.tape.run(at)
        return float(values[0]), float(moved[idx]), values

    def difference(self, idx, h, reverse):
        """d cost/d entry by a central difference (:meth:`_central`), its step made a quarter
        as long while some bending input is on another side of its bend at entry ± step than
        at the entry; on a bend (an input right on it, moved by the entry), the slopes from
        either side (as an expression's check takes them: cgcalc/derive.py), CgcalcError where
        they differ. Where the quick difference disagrees with reverse mode, it is taken again
        Ridders' way (:meth:`_careful`)."""
        entry = float(self.base[idx])
        step, numeric, plus, minus, noisy = self._central(idx, entry,
                                                          h * max(1.0, abs(entry)))
        shrunk = False
        for _ in range(_SHRINKS):
            on, crossed, nearest = self._bends_met(plus, minus, step)
            if crossed is None:
                break
            step, shrunk = min(step / 4, nearest), True
            (c_plus, x_plus, plus), (c_minus, x_minus, minus) = \
                self._at(idx, entry + step), self._at(idx, entry - step)
            if x_plus == x_minus:
                break
            numeric = (c_plus - c_minus) / (x_plus - x_minus)
        if crossed is not None:
            raise CgcalcError(f"{crossed}() bends nearer to the entry than a step rounding "
                              f"leaves exact")
        if shrunk and on is None and ROUNDING * max(abs(c_plus), abs(c_minus)) / \
                (x_plus - x_minus) > _NOISE * max(1.0, abs(numeric)):
            raise CgcalcError(f"a bend within {step:.3g} of the entry leaves only steps whose "
                              f"change in the cost rounding hides")
        if on is not None:
            slope = either_side(self._cost(idx), entry, step, abs(entry) * 1e-14, on)
            if slope is None:
                raise CgcalcError(f"{on}() bends there: its slopes from the left and the right "
                                  f"are not sure")
            return slope
        if abs(numeric - reverse) > _AGREE * max(1.0, abs(reverse)):
            first = step if shrunk else 1e-3 * max(1.0, abs(entry))
            numeric = self._careful(idx, entry, first, step, numeric)
            off = abs(numeric - reverse) > _CLAMPED * max(1.0, abs(reverse))
            if off and self.clamped:
                raise CgcalcError("a sigmoid's probability is so near 1 that 1 - P keeps few "
                                  "digits, or none (cross_entropy then clamps its log at -100): "
                                  "the cost does not follow the param as its gradient, P - y, "
                                  "does")
            if off and noisy:
                raise CgcalcError("rounding the cost hides the change any step of the entry "
                                  "makes in it (a term far larger than the entry's part)")
        return numeric

    def _bends_met(self, plus, minus, step):
        """(an op that bends right at the entry, moved by it; an op whose input is on another
        side of its bend at entry ± ``step`` than at the entry, each None where there is none;
        and a quarter of the step at which the nearest such input would reach its bend, from
        its rate of change between the two)."""
        import numpy as np

        on = crossed = None
        nearest = step
        for i, at, op in self.bends:
            side = np.sign(self.still[i] - at)
            moves = (plus[i] != at) | (minus[i] != at)
            if on is None and np.any((side == 0) & moves):
                on = op
            across = (side != 0) & ((np.sign(plus[i] - at) != side) |
                                    (np.sign(minus[i] - at) != side))
            if np.any(across):
                crossed = crossed or op
                rate = np.abs(np.asarray(plus[i] - minus[i]))[across] / (2 * step)
                away = np.abs(np.asarray(self.still[i] - at))[across]
                with np.errstate(divide="ignore", invalid="ignore"):
                    reach = np.min(away / rate) / 4
                if reach > 0:  # (nan and 0 are no better guess than a quarter of the step)
                    nearest = min(nearest, float(reach))
        return on, crossed, nearest

    def _cost(self, idx):
        return lambda t: self._at(idx, t)[0]

    def _central(self, idx, entry, step):
        """(step, d cost/d entry by a central difference, the outputs at entry + step and at
        entry - step, whether rounding may still move it by more than :data:`_NOISE`). Ten
        times larger steps while rounding the cost could move the difference by more than that:
        beside a cost of 1e12 a step of 1e-6 changes nothing that survives rounding. The step
        taken is the one the rounded entries differ by."""
        for _ in range(_GROWTHS + 1):
            c_plus, x_plus, plus = self._at(idx, entry + step)
            c_minus, x_minus, minus = self._at(idx, entry - step)
            numeric = (c_plus - c_minus) / (x_plus - x_minus)
            noise = ROUNDING * max(abs(c_plus), abs(c_minus)) / (x_plus - x_minus)
            if not noise > _NOISE * max(1.0, abs(numeric)):
                return step, numeric, plus, minus, False
            step *= 10
        return step / 10, numeric, plus, minus, True

    def _careful(self, idx, entry, first, least, quick):
        """The entry's difference again where the quick one disagrees with reverse mode:
        Ridders' extrapolation from ``first`` and smaller first steps (cgcalc/derive.py), as
        an expression's check takes it, in its place where it has an error estimate (a cost
        far steeper than the entry's own scale: sigmoid(1e6*x) at 1e6). The first step is ten
        times smaller while the cost is not finite that far (p beyond 1 in cross_entropy),
        down to ``least``, the quick difference's. Where they agree, two evaluations an
        entry."""
        cost = self._cost(idx)
        while not (math.isfinite(cost(entry + first)) and math.isfinite(cost(entry - first))):
            first /= 10
            if first < least:
                return quick
        try:
            d, error = best_difference(cost, entry, first, abs(entry) * 1e-14)
        except CgcalcError:
            return quick
        return d if d is not None and math.isfinite(error) else quick
