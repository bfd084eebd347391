"""A small network's training step as straight-line Python on floats.

On a few dozen numbers (XOR's four rows), a numpy call costs far more than the arithmetic it
does, so the tape's seventeen calls per step are mostly overhead. Here the same graph, its
shapes made concrete for the data set at hand, is lowered to a graph of single numbers (its
entries): one entry of an elementwise product is the product of two entries, a matrix product
is sums of products, a join the entries side by side. The code generator that writes
``cgcalc export``'s modules (cgcalc/codegen.py) then writes that graph as straight-line Python
on floats, shared entries computed once. Elementwise functions call their value from the table
(``cgcalc/ops.py``) on the one-point backend, so a fault raises where numpy would give nan or
inf, and the caller then runs the tape, the reference, for that step; arithmetic is Python's
own operators, and each array op below makes its own entries (``ARRAY_OPS``), following its
numpy value in ``cgcalc/arraymath.py``.

The numbers are the tape's up to the order of additions (numpy sums pairwise, BLAS in its own
order): tests hold them to 1e-12. A graph with an op that jumps (``step``, ``sign``: the
derivatives of relu and abs) stays on the tape, where a last-bit difference at the jump would
change the gradient. So does any graph whose arrays are not small (:data:`MOST_ENTRIES` in one
node, :data:`MOST_CODE` numbers in all), and any the tape runs in fewer numpy calls than
the float code would cost: :func:`compile_step` then says None.
"""

from __future__ import annotations

import math

from .. import arraymath, codegen, ops
from ..scalar import SCALAR, as_float
from ..walk import topological
from .model import BATCH

MOST_ENTRIES = 256   # entries of the largest node written out (above: numpy is cheaper)
# numbers (entries) in one step: writing and compiling it takes ~25 us an entry, so this bounds
# it at about half a second (above: compiling costs more than it saves)
MOST_CODE = 20_000
# float operations one call of descend runs at most (about a tenth of a second): what Ctrl-C
# can lose
PER_DESCENT = 2_000_000
# float operations of straight-line Python that cost what one numpy call on small arrays costs
# (measured on the examples: about 20-40 ns an operation, 2-3 us a call)
PER_CALL = 60
CALL = 4             # what a call of a Python function (exp, sigmoid) costs, in float operations
JUMPS = {"step", "sign"}  # ops whose value jumps: left to the tape (see above)
# how the generator writes each kind of entry: Python's operators (on floats, the one-point
# backend's own arithmetic: a / b is its divide); _max and _log for the costs; every other
# function as a call of its value, f_<op> (added as the writer meets them)
FLOAT_TEMPLATES = {**codegen.OPERATORS, "_max": "_max({0}, {1})", "_log": "_log({0})"}


class Unsupported(Exception):
    """A node this writer does not expand; the tape runs instead."""


def compile_step(net, outputs, env, calls, descend=False):
    """A :class:`ScalarStep` for ``outputs`` on the data in ``env`` (the values of
    ``net.variables()``), or None where the tape (``calls`` numpy calls a step) is cheaper."""
    try:
        return ScalarStep(net, outputs, env, most=PER_CALL * calls, descend=descend)
    except Exception:  # Unsupported, or anything else: this is only a shortcut, the tape runs
        return None


class ScalarStep:
    """``run(env)``: the outputs as numpy arrays, or None when a value left a function's domain
    or overflowed (the tape then says what numpy says: nan or inf). The data (inputs, targets,
    m) are those of the ``env`` it was written for, read once; ``run`` reads only the params."""

    def __init__(self, net, outputs, env, most=None, descend=False):
        variables = net.variables()
        rows = int(env[variables.index(BATCH)])
        static = {*net.inputs, *net.targets, BATCH}
        w = _Writer(net.builder.shape_of, rows, most)
        index = {name: k for k, name in enumerate(variables)}
        for n in topological(outputs):
            w.expand(n, index)
        self.shapes = [w.shape[o] for o in outputs]
        self.vars = sorted(w.var_names)
        self.static = {k: _flat(env[k]) for k in self.vars if variables[k] in static}
        results = [e for o in outputs for e in w.entries[o]]
        body, text = codegen.statements(
            _needed(w.order, results), codegen.Namer(w.functions), {}, w.templates,
            keep=[e for e in results if e.op not in ("var", "const")], arrays=False)
        self._text = {o: [text[e] for e in w.entries[o]] for o in outputs}
        self._lines = ["    " + line for line in body]
        args = ", ".join(f"V{k}" for k in self.vars)
        lines = [f"def step({args}):", *self._unpacked(w), *self._lines]
        lines.append("    return (" + "".join(f"[{', '.join(self._text[o])}], "
                                        for o in outputs) + ")")
        if descend:  # plain gradient descent trains with it: many epochs a call
            lines += self._descent(net, outputs, w, index, args)
        self.most_epochs = max(1, PER_DESCENT // max(1, w.operations))  # a call of descend
        scope = dict(w.functions)
        exec(compile("\n".join(lines) + "\n", "<cgcalc step>", "exec"), scope)  # our own text
        self._step, self._descend = scope["step"], scope.get("descend")
        self.descends = self._descend is not None  # descend() runs epochs, else it declines

    def _descent(self, net, outputs, w, index, args):
        """``descend(n, rate, ...)``: n steps of gradient descent on floats, the params' entries
        kept in locals from step to step (``param -= rate * grad``, each entry as numpy does
        it); the lines, when ``outputs`` are the gradients of the params in order."""
        params = self._params = [index[p] for p in net.params]
        if len(outputs) != len(params) or not all(
                k in w.var_names and k not in self.static and
                len(w.var_names[k]) == len(w.entries[o]) for k, o in zip(params, outputs)):
            return []
        lines = [f"def descend(_n, _rate, {args}):", *self._unpacked(w)]
        lines.append("    for _ in range(_n):")
        lines += ["    " + line for line in self._lines]
        names = [name for k in params for name in w.var_names[k]]
        steps = [f"{name} - _rate * {entry}" for k, o in zip(params, outputs)
                 for name, entry in zip(w.var_names[k], self._text[o])]
        # all at once: every gradient is read before any param changes
        lines.append(f"        ({', '.join(names)},) = ({', '.join(steps)},)")
        lines.append("    return (" + "".join(f"[{', '.join(w.var_names[k])}], "
                                        for k in params) + ")")
        return lines

    def _unpacked(self, w):
        """The lines that give each variable's entries their local names."""
        return [f"    {', '.join(w.var_names[k])}{',' if len(w.var_names[k]) == 1 else ''} = V{k}"
                for k in self.vars]

    def run(self, env):
        import numpy as np

        args = [self.static[k] if k in self.static else _flat(env[k]) for k in self.vars]
        try:
            flat = self._step(*args)
        except (ArithmeticError, ValueError):
            return None
        return [np.array(f, dtype=float).reshape(s) for f, s in zip(flat, self.shapes)]

    def descend(self, env, epochs, rate):
        """``epochs`` steps of plain gradient descent at ``rate`` (at most :attr:`most_epochs`,
        so that Ctrl-C loses a tenth of a second at most), the params of ``env`` (its arrays)
        updated in place at the end; False, and nothing changed, when a value left a
        function's domain on the way (the caller then steps one epoch at a time) or when
        these outputs are not the params' gradients."""
        import numpy as np

        if self._descend is None:
            return False
        args = [self.static[k] if k in self.static else _flat(env[k]) for k in self.vars]
        try:
            flat = self._descend(epochs, rate, *args)
        except (ArithmeticError, ValueError):
            return False
        new = [np.array(entries, dtype=float).reshape(env[k].shape)
               for k, entries in zip(self._params, flat)]
        for k, value in zip(self._params, new):  # all made first: the window for Ctrl-C is small
            env[k][...] = value
        return True


def _flat(value):
    import numpy as np

    return np.asarray(value, dtype=float).ravel().tolist()


class _Entry:
    """One number of the step: an operation on other entries, a variable's entry (its local
    name in ``value``) or a constant. The nodes the code generator writes."""

    __slots__ = ("op", "args", "value")

    def __init__(self, op, args=(), value=None):
        self.op, self.args, self.value = op, args, value


class _Writer:
    """Each node's concrete shape and its entries (row-major), made in topological order."""

    def __init__(self, shape_of, rows, most=None):
        self.shape_of, self.rows = shape_of, rows
        self.most = math.inf if most is None else most  # float operations, at most
        self.operations = 0
        self.shape: dict = {}
        self.entries: dict = {}
        self.order: list = []  # every entry made, inputs first
        self.functions: dict = {"_log": _log, "_max": SCALAR.maximum}
        self.templates = dict(FLOAT_TEMPLATES)
        self.var_names: dict = {}  # variable's index -> its entries' local names
        self._consts: dict = {}
        self._var_entries: dict = {}

    def concrete(self, node):
        out = []
        for d in self.shape_of(node):
            if d == BATCH:
                d = self.rows
            if not isinstance(d, int):
                raise Unsupported(f"shape {d!r}")
            out.append(d)
        shape = tuple(out)
        if math.prod(shape) > MOST_ENTRIES:
            raise Unsupported("large")
        return shape

    def let(self, op, *args, operations=1):
        """A new entry: ``op`` of the entries ``args`` (x * 1.0 is x itself, bit for bit: the
        bias column's products)."""
        if op == "mul" and len(args) == 2:
            for k in (0, 1):
                if args[k].op == "const" and args[k].value == 1.0:
                    return args[1 - k]
        self.operations += operations
        if self.operations > self.most or len(self.order) > MOST_CODE:
            raise Unsupported("long")
        e = _Entry(op, args)
        self.order.append(e)
        return e

    def const(self, v):
        e = self._consts.get(v)
        if e is None:
            e = self._consts[v] = _Entry("const", value=v)
            self.order.append(e)
        return e

    def sum(self, terms, operations=None):
        """Terms added left to right; no terms is numpy's empty sum, 0; one is itself."""
        if not terms:
            return self.const(0.0)
        if len(terms) == 1:
            return terms[0]
        return self.let("add", *terms,
                        operations=len(terms) - 1 if operations is None else operations)

    def fn(self, op):
        name = f"f_{op}"
        if name not in self.functions:
            self.functions[name] = ops.OPS[op].bind(SCALAR)
            self.templates[name] = name + "({all:, })"
        return name

    def expand(self, n, index):
        op = n.op
        if op == "const":
            v = as_float(n.value)
            if not math.isfinite(v):
                raise Unsupported("constant")
            self.shape[n], self.entries[n] = (), [self.const(v)]
            return
        shape = self.concrete(n)
        self.shape[n] = shape
        if op == "var":
            k = index[n.value]
            if k not in self.var_names:
                self.var_names[k] = [f"v{k}_{i}" for i in range(math.prod(shape))]
                made = [_Entry("var", value=name) for name in self.var_names[k]]
                self.order += made
                self._var_entries[k] = made
            self.entries[n] = list(self._var_entries[k])
            return
        if op in JUMPS:
            raise Unsupported(op)
        args = [self.entries[a] for a in n.args]
        shapes = [self.shape[a] for a in n.args]
        if ops.OPS[op].elementwise:
            self.entries[n] = self.elementwise(op, args, shapes, shape)
            return
        write = ARRAY_OPS.get(op)
        if write is None:
            raise Unsupported(op)
        self.entries[n] = write(self, n, args, shapes, shape)

    # -- elementwise: one entry per entry, broadcasting as numpy does -------------------------
    def elementwise(self, op, args, shapes, shape):
        picks = [_broadcast_index(s, shape) for s in shapes]
        if op in codegen.OPERATORS:
            key, operations = op, None
        else:
            key, operations = self.fn(op), CALL
        out = []
        for i in range(math.prod(shape)):
            xs = [a[p[i]] for a, p in zip(args, picks)]
            out.append(self.let(key, *xs, operations=operations or max(1, len(xs) - 1)))
        return out

    # -- array ops: their entries from their inputs' ------------------------------------------
    def op_matmul(self, n, args, shapes, shape):
        (r, k), (_, c) = shapes
        a, b = args
        return [self.sum([self.let("mul", a[i * k + j], b[j * c + col], operations=0)
                          for j in range(k)], operations=2 * k)
                for i in range(r) for col in range(c)]

    def op_transpose(self, n, args, shapes, shape):
        r, c = shapes[0]
        return [args[0][i * c + j] for j in range(c) for i in range(r)]

    def op_join(self, n, args, shapes, shape):
        rows = shape[0]
        out = []
        for i in range(rows):
            for a, s in zip(args, shapes):
                if s:
                    out += a[i * s[1]:(i + 1) * s[1]]
                else:
                    out.append(a[0])
        return out

    def op_cols(self, n, args, shapes, shape):
        r, c = shapes[0]
        i0, i1 = int(n.args[1].value), int(n.args[2].value)
        return [args[0][i * c + j] for i in range(r) for j in range(i0, i1)]

    def op_sum(self, n, args, shapes, shape):
        return [self.sum(args[0])]

    def op_mean(self, n, args, shapes, shape):
        return [self.let("div", self.sum(args[0]), self.const(float(len(args[0]))))]

    def op_like(self, n, args, shapes, shape):
        pick = _broadcast_index(shapes[0], shape)
        return [args[0][pick[i]] for i in range(math.prod(shape))]

    def op_sum_to(self, n, args, shapes, shape):
        G, gshape = args[0], shapes[0]
        if len(gshape) < len(shape):
            raise Unsupported("sum_to")
        full = (1,) * (len(gshape) - len(shape)) + shape  # the target, padded on the left
        if gshape == full:
            return list(G)
        groups: dict = {}
        for i, idx in enumerate(_indices(gshape)):
            key = tuple(0 if d == 1 else j for j, d in zip(idx, full))
            groups.setdefault(key, []).append(G[i])
        return [self.sum(groups[key]) for key in _indices(full)]

    def op_size(self, n, args, shapes, shape):
        return [self.const(float(math.prod(shapes[0])))]

    def op_rows(self, n, args, shapes, shape):
        return [self.const(float(shapes[0][0] if shapes[0] else 1))]

    def op_rowsum(self, n, args, shapes, shape):
        r, c = shapes[0]
        return [self.sum(args[0][i * c:(i + 1) * c]) for i in range(r)]

    def op_zeros(self, n, args, shapes, shape):
        return [self.const(0.0)] * math.prod(shape)

    def op_cross_entropy(self, n, args, shapes, shape):
        p, y = args
        rows = self.const(float(shapes[0][0] if shapes[0] else 1))
        floor, one = self.const(arraymath.LOG_FLOOR), self.const(1.0)
        terms = []
        for pi, yi in zip(p, y):  # y*max(log(p), floor) + (1-y)*max(log(1-p), floor)
            at_p = self.let("_max", self.let("_log", pi, operations=CALL), floor, operations=CALL)
            at_q = self.let("_max", self.let("_log", self.let("sub", one, pi), operations=CALL),
                            floor, operations=CALL)
            terms.append(self.let("add", self.let("mul", yi, at_p),
                                  self.let("mul", self.let("sub", one, yi), at_q)))
        return [self.let("div", self.let("neg", self.sum(terms)), rows)]

    def op_mse(self, n, args, shapes, shape):
        p, y = args
        rows = self.const(float(shapes[0][0] if shapes[0] else 1))
        terms = []
        for pi, yi in zip(p, y):
            d = self.let("sub", pi, yi)
            terms.append(self.let("mul", d, d))
        return [self.let("div", self.let("div", self.sum(terms),
                                                  self.const(2.0)), rows)]


ARRAY_OPS = {name: getattr(_Writer, "op_" + name) for name in (
    "matmul", "transpose", "join", "cols", "sum", "mean", "like", "sum_to", "size", "rows",
    "rowsum", "zeros", "cross_entropy", "mse")}


def _needed(order, results):
    """The entries of ``order`` the results are made from, in order (the others, such as the
    bias column of a product that is cut away, are not written)."""
    needed = set(results)
    for e in reversed(order):
        if e in needed:
            needed.update(e.args)
    return [e for e in order if e in needed]


def _log(a):
    """numpy's log on one float: -inf at 0; below 0, a fault (the tape then says nan)."""
    return math.log(a) if a != 0 else -math.inf


def _indices(shape):
    """Every index of ``shape``, row-major."""
    out = [()]
    for d in shape:
        out = [i + (j,) for i in out for j in range(d)]
    return out


def _broadcast_index(small, shape):
    """For each entry of ``shape`` (row-major), the entry of an input of shape ``small`` that
    numpy's broadcasting reads."""
    arraymath.broadcast(small, shape)  # raises if they do not broadcast
    pad = (1,) * (len(shape) - len(small)) + tuple(small)
    strides, acc = [], 1
    for d in reversed(pad):
        strides.append(acc)
        acc *= d
    strides.reverse()
    return [sum(j * s for j, d, s in zip(idx, pad, strides) if d != 1)
            for idx in _indices(shape)]
