"""THE table of operations.

Every operation is defined here once: its numeric value (written against a backend ``xp`` that is
either ``math`` for one point or ``numpy`` for many, so scalars and batches share the definition),
the connection derivative of its output with respect to each input as a rule that *builds graph*
(so one definition gives the symbolic form and, evaluated, the number), and how it prints.

A rule is called as ``rule(g, out, *args)`` where ``g`` is a graph builder (``g.cos(a)``,
``g.mul(a, b)``, ``g.const(2)``), ``out`` the node itself and ``args`` its inputs; it returns the
node d(out)/d(args[i]). Variadic ops (``add``, ``mul``) give one rule taking the index.

Adding a function (say ``erf``) is one row here, one line in ``cgcalc/evaluate.py``'s math backend
if ``math`` spells it differently from numpy, and one test.
"""

from __future__ import annotations

import math
from typing import Callable

# Precedence levels for printing, loosest first.
SUM, PRODUCT, UNARY, POWER, POSTFIX, ATOM = 1, 2, 3, 4, 5, 6


class Op:
    """One row: name, arity, value(xp, *args), rules, and how it prints."""

    __slots__ = ("name", "arity", "value", "rules", "infix", "prec", "latex", "doc",
                 "elementwise", "variadic", "callable")

    def __init__(self, name, arity, value, rules=(), *, infix=None, prec=ATOM, latex=None,
                 doc="", elementwise=True, variadic=False, callable=True):
        self.name = name
        self.arity = arity  # exact, or (min, max) with max None for "any"
        self.value = value  # value(xp, *args)
        self.rules = rules  # one rule per input; variadic ops: one rule(g, out, i, *args)
        self.infix = infix  # "+" for infix ops, "-" for prefix neg
        self.prec = prec
        self.latex = latex  # LaTeX name of a function, e.g. r"\sin"
        self.doc = doc
        self.elementwise = elementwise
        self.variadic = variadic
        self.callable = callable  # may be written as name(args) in an expression

    def __repr__(self):
        return f"Op({self.name!r})"

    def arity_ok(self, n: int) -> bool:
        if isinstance(self.arity, int):
            return n == self.arity
        lo, hi = self.arity
        return n >= lo and (hi is None or n <= hi)

    def arity_text(self) -> str:
        if isinstance(self.arity, int):
            return f"{self.arity} argument{'s' if self.arity != 1 else ''}"
        lo, hi = self.arity
        return f"{lo} or more arguments" if hi is None else f"{lo} to {hi} arguments"


OPS: dict[str, Op] = {}


def op(name, arity, value, *rules, **kw):
    OPS[name] = Op(name, arity, value, tuple(rules), **kw)


def _prod_others(g, out, i, *args):
    others = [a for j, a in enumerate(args) if j != i]
    return others[0] if len(others) == 1 else g.mul(*others)


def _stable_sigmoid(xp, a):
    t = xp.exp(-xp.abs(a))
    return xp.where(a >= 0, 1 / (1 + t), t / (1 + t))


# -- leaves -----------------------------------------------------------------------------------
op("const", 0, None, doc="a number", callable=False)
op("var", 0, None, doc="an input variable", callable=False)

# -- arithmetic (the grammar's operator aliases) ---------------------------------------------
op("add", (2, None), lambda xp, *a: _fold(lambda p, q: p + q, a),
   lambda g, out, i, *args: g.const(1),
   infix="+", prec=SUM, variadic=True, callable=False, doc="a + b")
op("sub", 2, lambda xp, a, b: a - b,
   lambda g, out, a, b: g.const(1),
   lambda g, out, a, b: g.const(-1),
   infix="-", prec=SUM, callable=False, doc="a - b")
op("mul", (2, None), lambda xp, *a: _fold(lambda p, q: p * q, a),
   _prod_others, infix="*", prec=PRODUCT, variadic=True, callable=False, doc="a * b")
op("div", 2, lambda xp, a, b: xp.divide(a, b),
   lambda g, out, a, b: g.div(g.const(1), b),
   lambda g, out, a, b: g.neg(g.div(a, g.pow(b, g.const(2)))),
   infix="/", prec=PRODUCT, callable=False, doc="a / b")
op("neg", 1, lambda xp, a: -a,
   lambda g, out, a: g.const(-1),
   infix="-", prec=UNARY, callable=False, doc="-a")
op("pow", 2, lambda xp, a, b: xp.power(a, b),
   lambda g, out, a, b: g.mul(b, g.pow(a, g.sub(b, g.const(1)))),
   lambda g, out, a, b: g.mul(g.pow(a, b), g.log(a)),
   infix="^", prec=POWER, doc="a ^ b, also a ** b and pow(a, b)")

# -- functions --------------------------------------------------------------------------------
op("sin", 1, lambda xp, a: xp.sin(a), lambda g, out, a: g.cos(a), latex=r"\sin")
op("cos", 1, lambda xp, a: xp.cos(a), lambda g, out, a: g.neg(g.sin(a)), latex=r"\cos")
op("tan", 1, lambda xp, a: xp.tan(a),
   lambda g, out, a: g.add(g.const(1), g.pow(g.tan(a), g.const(2))), latex=r"\tan")
op("asin", 1, lambda xp, a: xp.arcsin(a),
   lambda g, out, a: g.div(g.const(1), g.sqrt(g.sub(g.const(1), g.pow(a, g.const(2))))),
   latex=r"\arcsin")
op("acos", 1, lambda xp, a: xp.arccos(a),
   lambda g, out, a: g.neg(g.div(g.const(1), g.sqrt(g.sub(g.const(1), g.pow(a, g.const(2)))))),
   latex=r"\arccos")
op("atan", 1, lambda xp, a: xp.arctan(a),
   lambda g, out, a: g.div(g.const(1), g.add(g.const(1), g.pow(a, g.const(2)))), latex=r"\arctan")
op("sinh", 1, lambda xp, a: xp.sinh(a), lambda g, out, a: g.cosh(a), latex=r"\sinh")
op("cosh", 1, lambda xp, a: xp.cosh(a), lambda g, out, a: g.sinh(a), latex=r"\cosh")
op("tanh", 1, lambda xp, a: xp.tanh(a),
   lambda g, out, a: g.sub(g.const(1), g.pow(g.tanh(a), g.const(2))), latex=r"\tanh")
op("exp", 1, lambda xp, a: xp.exp(a), lambda g, out, a: g.exp(a), latex=r"\exp")
op("log", 1, lambda xp, a: xp.log(a), lambda g, out, a: g.div(g.const(1), a), latex=r"\log",
   doc="natural log; log(a, base) is log(a)/log(base); ln is the same op")
op("sqrt", 1, lambda xp, a: xp.sqrt(a),
   lambda g, out, a: g.div(g.const(1), g.mul(g.const(2), g.sqrt(a))), latex=r"\sqrt")
op("abs", 1, lambda xp, a: xp.abs(a), lambda g, out, a: g.sign(a), latex=r"\operatorname{abs}")
op("sign", 1, lambda xp, a: xp.sign(a), lambda g, out, a: g.const(0), latex=r"\operatorname{sign}")
op("step", 1, lambda xp, a: xp.where(a > 0, 1.0, 0.0), lambda g, out, a: g.const(0),
   latex=r"\operatorname{step}", doc="1 where a > 0, else 0")
op("sigmoid", 1, _stable_sigmoid,
   lambda g, out, a: g.mul(g.sigmoid(a), g.sub(g.const(1), g.sigmoid(a))), latex=r"\sigma",
   doc="1 / (1 + exp(-a))")
op("relu", 1, lambda xp, a: xp.maximum(a, 0.0), lambda g, out, a: g.step(a),
   latex=r"\operatorname{relu}", doc="max(a, 0)")
op("softplus", 1, lambda xp, a: xp.maximum(a, 0.0) + xp.log1p(xp.exp(-xp.abs(a))),
   lambda g, out, a: g.sigmoid(a), latex=r"\operatorname{softplus}", doc="log(1 + exp(a))")

# Names a user may write that build another op: ln(a) is log(a); log(a, b) and pow(a, b) below.
ALIASES = {"ln": "log"}
CONSTANTS = {"pi": math.pi, "e": math.e}


def _fold(f, args):
    acc = args[0]
    for a in args[1:]:
        acc = f(acc, a)
    return acc


def callable_names() -> list[str]:
    """Every function name an expression may call."""
    return sorted([n for n, o in OPS.items() if o.callable] + list(ALIASES))


def arity_of_call(name: str) -> tuple[int, int]:
    """How many arguments ``name(...)`` takes, as written (log takes 1 or 2)."""
    if name in ("log", "ln"):
        return (1, 2)
    o = OPS[ALIASES.get(name, name)]
    return (o.arity, o.arity) if isinstance(o.arity, int) else (o.arity[0], o.arity[1] or 10**9)
