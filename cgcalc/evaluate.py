"""Numeric evaluation: one point with ``math`` (numpy is not imported on that path), many points
with numpy through a flat tape compiled once.

The op table writes each value as ``value(xp, *args)``; ``xp`` is :data:`MATH` here for floats
or the ``numpy`` module for arrays, so both share one definition.
"""

from __future__ import annotations

import math

from . import ops
from .errors import EvaluationError


class _MathBackend:
    """The few numpy names the op table uses, for Python floats. Domain faults raise."""

    sin, cos, tan = staticmethod(math.sin), staticmethod(math.cos), staticmethod(math.tan)
    arcsin, arccos, arctan = staticmethod(math.asin), staticmethod(math.acos), staticmethod(math.atan)
    sinh, cosh, tanh = staticmethod(math.sinh), staticmethod(math.cosh), staticmethod(math.tanh)
    exp, log, sqrt = staticmethod(math.exp), staticmethod(math.log), staticmethod(math.sqrt)
    log1p = staticmethod(math.log1p)
    abs = staticmethod(abs)

    @staticmethod
    def power(a, b):
        return math.pow(a, b)

    @staticmethod
    def divide(a, b):
        return a / b

    @staticmethod
    def sign(a):
        return float((a > 0) - (a < 0)) if a == a else a

    @staticmethod
    def where(c, a, b):
        return a if c else b

    @staticmethod
    def maximum(a, b):
        return a if a >= b or a != a else b


MATH = _MathBackend()


def describe_failure(exc: Exception) -> str:
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, OverflowError):
        return "the result is too large (overflow)"
    return "a value outside the function's domain"


def evaluate_point(order, env: dict, values: dict | None = None, where=None, source=None,
                   filename=None, names=None) -> dict:
    """Values of every node in ``order`` (a topological list) at the point ``env`` (name -> float).

    ``values`` (id -> float) may hold values already known; it is filled in and returned.
    """
    values = {} if values is None else values
    table = ops.OPS
    for node in order:
        key = id(node)
        if key in values:
            continue
        op = node.op
        if op == "const":
            values[key] = float(node.value)
        elif op == "var":
            values[key] = env[node.value]
        else:
            try:
                v = table[op].value(MATH, *[values[id(a)] for a in node.args])
            except (ValueError, ZeroDivisionError, OverflowError) as exc:
                raise _failure(node, exc, [values[id(a)] for a in node.args], where, source,
                               filename, names) from None
            if isinstance(v, complex):  # pragma: no cover - math.pow never returns complex
                raise _failure(node, ValueError(), [], where, source, filename, names)
            values[key] = float(v)
    return values


def _failure(node, exc, argvals, where, source, filename, names):
    from .printer import to_text

    what = describe_failure(exc)
    label = (names or {}).get(id(node))
    text = to_text(node, {id(a): (names or {}).get(id(a)) for a in node.args
                          if (names or {}).get(id(a))})
    shown_args = ", ".join(_fmt(v) for v in argvals)
    msg = f"{what} at {label + ' = ' if label else ''}{text} (input {shown_args})"
    line = col = None
    width = 1
    if where and id(node) in where:
        line, col, width = where[id(node)]
    return EvaluationError(msg, source=source, filename=filename, line=line, column=col,
                           width=width)


def _fmt(v):
    return repr(float(v))


# -- many points: a flat tape of numpy calls -----------------------------------------------------

class Tape:
    """A topological list compiled once into (function, input slots) steps over numpy arrays.

    ``run(inputs)`` evaluates every requested output for arrays of points; it is what the Python
    API, ``--points`` and training use. Slots are freed as soon as their last consumer has run,
    so memory follows the widest point of the graph, not its length.
    """

    def __init__(self, order, outputs, variables):
        import numpy as np

        self.np = np
        slot = {id(n): i for i, n in enumerate(order)}
        self.n_slots = len(order)
        self.variables = tuple(variables)
        self.var_slots = []
        self.consts = []
        self.steps = []
        last_use: dict[int, int] = {}
        for i, n in enumerate(order):
            for a in n.args:
                last_use[slot[id(a)]] = i
        self.outputs = [slot[id(o)] for o in outputs]
        keep = set(self.outputs)
        var_index = {v: k for k, v in enumerate(self.variables)}
        for i, n in enumerate(order):
            if n.op == "var":
                self.var_slots.append((i, var_index[n.value]))
            elif n.op == "const":
                self.consts.append((i, float(n.value)))
            else:
                free = tuple(s for s in {slot[id(a)] for a in n.args}
                             if last_use.get(s) == i and s not in keep)
                self.steps.append((ops.OPS[n.op].value, i,
                                   tuple(slot[id(a)] for a in n.args), free))

    def run(self, inputs, block=None):
        """``inputs``: one array (or float) per variable, in ``variables`` order.

        With ``block``, 1-d inputs are evaluated a slice at a time so intermediates stay in
        cache; the results are the same."""
        np = self.np
        n = max((np.size(a) for a in inputs), default=0)
        if block and n > block and all(np.ndim(a) <= 1 for a in inputs):
            outs = None
            for start in range(0, n, block):
                part = [a[start:start + block] if np.ndim(a) else a for a in inputs]
                res = self._run(part)
                if outs is None:
                    outs = [np.empty(n) for _ in res]
                for o, r in zip(outs, res):
                    o[start:start + block] = r
            return outs
        return self._run(inputs)

    def _run(self, inputs):
        np = self.np
        mem: list = [None] * self.n_slots
        for i, k in self.var_slots:
            mem[i] = inputs[k]
        for i, v in self.consts:
            mem[i] = v
        with np.errstate(all="ignore"):
            for fn, out, args, free in self.steps:
                mem[out] = fn(np, *[mem[a] for a in args])
                for s in free:
                    mem[s] = None
        return [mem[o] for o in self.outputs]
