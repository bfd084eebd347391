"""THE table of operations.

Every operation is defined here once: its numeric value (written against a backend ``xp`` that is
either ``math`` for one point or ``numpy`` for many, so scalars and batches share the definition),
the connection derivative of its output with respect to each input as a rule that *builds graph*
(so one definition gives the symbolic form and, evaluated, the number), and how it prints.

A rule is called as ``rule(g, out, *args)`` where ``g`` is a graph builder (``g.cos(a)``,
``g.mul(a, b)``, ``g.const(2)``), ``out`` the node itself and ``args`` its inputs; it returns the
node d(out)/d(args[i]). Variadic ops (``add``, ``mul``) give one rule taking the index.

Elementwise ops on arrays reuse that rule: the adjoint flowing back is multiplied by it
elementwise (and summed down where an input was broadcast). The array ops of network files
(``@``, ``'``, ``[A, B]``, ``sum``, ``mean``, the costs) are not elementwise: each gives its
vector-Jacobian product ``vjp(g, out, G, *args)`` (G the adjoint of ``out``), its
Jacobian-vector product ``jvp(g, out, tangents, *args)`` and its ``shape`` rule instead; their
numeric values and shape rules are in ``cgcalc/arraymath.py``, and how a small network's
training step writes each one out on floats in ``cgcalc/net/scalar_step.py`` (an array op it
does not know keeps such networks on the numpy tape).

Adding a function (say ``erf``) is one row here, one line in ``cgcalc/scalar.py`` if ``math``
spells it differently from numpy, its template in ``cgcalc/export/backends.py`` (a test says
if it is missing), and one test.
"""

from __future__ import annotations

import math
from itertools import accumulate

from . import arraymath

# Precedence levels for printing, loosest first.
SUM, PRODUCT, UNARY, POWER, POSTFIX, ATOM = 1, 2, 3, 4, 5, 6


class Op:
    """One row: name, arity, value(xp, *args), rules, and how it prints."""

    __slots__ = ("name", "arity", "call_arity", "value", "rules", "infix", "prec", "latex",
                 "notation", "doc",
                 "elementwise", "variadic", "callable", "vjp", "jvp", "shape", "arrays",
                 "writes_into", "bends_at", "rows", "_bound")

    def __init__(self, name, arity, value, rules=(), *, infix=None, prec=ATOM, latex=None,
                 notation=None, doc="", elementwise=True, variadic=False, callable=True,
                 vjp=None, jvp=None, shape=None, arrays=False, writes_into=False,
                 call_arity=None, bends_at=None, rows=None):
        self.name = name
        self.arity = arity  # exact, or (min, max) with max None for "any"
        self.call_arity = call_arity  # (least, most) arguments as written, where not arity
        self.value = value  # value(xp, *args)
        self.rules = rules  # one rule per input; variadic ops: one rule(g, out, i, *args)
        self.infix = infix  # "+" for infix ops, "-" for prefix neg
        self.prec = prec
        self.latex = latex  # LaTeX name of a function, e.g. r"\sin"
        # how it reads in math (the terminal's and LaTeX's displays, not cgcalc syntax):
        # (terminal parts, LaTeX parts); a part is text or (argument index, precedence)
        self.notation = notation
        self.doc = doc
        self.elementwise = elementwise
        self.variadic = variadic
        self.callable = callable  # may be written as name(args) in an expression
        self.vjp = vjp  # non-elementwise: one vjp(g, out, G, *args) per input (or variadic)
        self.jvp = jvp  # non-elementwise: jvp(g, out, tangents, *args), None tangents are 0
        self.shape = shape  # non-elementwise: shape(shapes, args) -> shape, or raises
        self.arrays = arrays  # only meaningful on arrays: network files, not expressions
        # value(..., out=array) fills a given array, row by row (bands of rows fill theirs)
        self.writes_into = writes_into
        # where the input makes the value or its slope jump (abs, relu at 0): a finite
        # difference must not step across it (cgcalc check)
        self.bends_at = bends_at
        # how it treats a batch's rows, for training's blocks of rows (cgcalc/rowblocks.py):
        # "local", each output row made from the same rows of the inputs (every elementwise
        # op; a matrix product, from its left factor's); "sums", that where the output has
        # rows, and where it has none, a sum over them (so blocks' shares add up to it);
        # "shape", only the input's shape is read; None, none of these (a cost's mean runs
        # after the blocks, on its inputs whole; a row step of that kind, a tape runs whole)
        self.rows = "local" if elementwise else rows
        self._bound: dict = {}

    def bind(self, xp):
        """The value as a function of the inputs alone, for backend ``xp`` (math or numpy):
        a string names the backend's own function (``"sin"`` is ``xp.sin``)."""
        fn = self._bound.get(id(xp))
        if fn is None:
            if isinstance(self.value, str):
                fn = getattr(xp, self.value)
            else:
                from functools import partial
                fn = partial(self.value, xp)
                fn.writes_into = self.writes_into
            self._bound[id(xp)] = fn
        return fn

    def __repr__(self):
        return f"Op({self.name!r})"


OPS: dict[str, Op] = {}


def op(name, arity, value, *rules, **kw):
    OPS[name] = Op(name, arity, value, tuple(rules), **kw)


def _prod_others(g, out, i, *args):
    if len(args) == 2:
        return args[1 - i]
    others = [a for j, a in enumerate(args) if j != i]
    return others[0] if len(others) == 1 else g.mul(*others)


def _stable_sigmoid(xp, a):
    if not getattr(xp, "overflow_raises", False):
        # numpy's exp (arrays, or numpy on floats): 1/(1 + exp(-a)) is accurate wherever the
        # result is not tiny, and where exp(-a) overflows to inf it is the right limit, 0
        return 1.0 / (1.0 + xp.exp(-a))
    # one float: math.exp raises on overflow, so go through the smaller exponential
    t = xp.exp(-abs(a))
    return 1.0 / (1.0 + t) if a >= 0 else t / (1.0 + t)


# -- leaves -----------------------------------------------------------------------------------
op("const", 0, None, doc="a number", callable=False)
op("var", 0, None, doc="an input variable", callable=False)

# -- arithmetic (the grammar's operator aliases) ---------------------------------------------
def _sum(xp, *args):
    acc = args[0]
    for a in args[1:]:
        acc = acc + a
    return acc


def _product(xp, *args):
    acc = args[0]
    for a in args[1:]:
        acc = acc * a
    return acc


op("add", (2, None), _sum,
   lambda g, out, i, *args: g.const(1),
   infix="+", prec=SUM, variadic=True, callable=False, doc="a + b")
op("sub", 2, "subtract",
   lambda g, out, a, b: g.const(1),
   lambda g, out, a, b: g.const(-1),
   infix="-", prec=SUM, callable=False, doc="a - b")
op("mul", (2, None), _product,
   _prod_others, infix="*", prec=PRODUCT, variadic=True, callable=False, doc="a * b")
op("div", 2, "divide",
   lambda g, out, a, b: g.div(g.const(1), b),
   lambda g, out, a, b: g.neg(g.div(a, g.pow(b, g.const(2)))),
   infix="/", prec=PRODUCT, callable=False, doc="a / b")
op("neg", 1, "negative",
   lambda g, out, a: g.const(-1),
   infix="-", prec=UNARY, callable=False, doc="-a")
op("pow", 2, "power",
   lambda g, out, a, b: g.mul(b, g.pow(a, g.sub(b, g.const(1)))),
   lambda g, out, a, b: g.mul(g.pow(a, b), g.log(a)),
   infix="^", prec=POWER, doc="a ^ b, also a ** b and pow(a, b)")

# -- functions --------------------------------------------------------------------------------
op("sin", 1, "sin", lambda g, out, a: g.cos(a), latex=r"\sin")
op("cos", 1, "cos", lambda g, out, a: g.neg(g.sin(a)), latex=r"\cos")
op("tan", 1, "tan",
   lambda g, out, a: g.add(g.const(1), g.pow(g.tan(a), g.const(2))), latex=r"\tan")
op("asin", 1, "arcsin",
   lambda g, out, a: g.div(g.const(1), g.sqrt(g.sub(g.const(1), g.pow(a, g.const(2))))),
   latex=r"\arcsin")
op("acos", 1, "arccos",
   lambda g, out, a: g.neg(g.div(g.const(1), g.sqrt(g.sub(g.const(1), g.pow(a, g.const(2)))))),
   latex=r"\arccos")
op("atan", 1, "arctan",
   lambda g, out, a: g.div(g.const(1), g.add(g.const(1), g.pow(a, g.const(2)))), latex=r"\arctan")
op("sinh", 1, "sinh", lambda g, out, a: g.cosh(a), latex=r"\sinh")
op("cosh", 1, "cosh", lambda g, out, a: g.sinh(a), latex=r"\cosh")
# (training's tapes compute tanh on large steps from one exp: cgcalc/net/backprop.py)
op("tanh", 1, "tanh",
   lambda g, out, a: g.sub(g.const(1), g.pow(g.tanh(a), g.const(2))), latex=r"\tanh")
op("exp", 1, "exp", lambda g, out, a: g.exp(a), latex=r"\exp")
op("log", 1, "log", lambda g, out, a: g.div(g.const(1), a), latex=r"\log", call_arity=(1, 2),
   doc="natural log; log(a, base) is log(a)/log(base); ln is the same op")
op("sqrt", 1, "sqrt",
   lambda g, out, a: g.div(g.const(1), g.mul(g.const(2), g.sqrt(a))), latex=r"\sqrt")
op("abs", 1, "abs", lambda g, out, a: g.sign(a), latex=r"\operatorname{abs}", bends_at=0.0)
op("sign", 1, "sign", lambda g, out, a: g.const(0), latex=r"\operatorname{sign}", bends_at=0.0)
op("step", 1, lambda xp, a: xp.where(a > 0, 1.0, 0.0), lambda g, out, a: g.const(0),
   latex=r"\operatorname{step}", doc="1 where a > 0, else 0", bends_at=0.0)
op("sigmoid", 1, _stable_sigmoid,
   lambda g, out, a: g.mul(g.sigmoid(a), g.sub(g.const(1), g.sigmoid(a))), latex=r"\sigma",
   doc="1 / (1 + exp(-a))")
op("relu", 1, lambda xp, a: xp.maximum(a, 0.0), lambda g, out, a: g.step(a),
   latex=r"\operatorname{relu}", doc="max(a, 0)", bends_at=0.0)
op("softplus", 1, lambda xp, a: xp.logaddexp(0.0, a),
   lambda g, out, a: g.sigmoid(a), latex=r"\operatorname{softplus}", doc="log(1 + exp(a))")

# -- arrays: network files (their numbers and shapes: cgcalc/arraymath.py) ----------------------


def _join_vjp(g, out, i, G, *args):
    starts = _join_starts(g, out, args)
    return g.cols(G, g.const(starts[i]), g.const(starts[i + 1]))


def _join_starts(g, out, args):
    """Where each input of the join ``out`` starts among its columns, and where the last ends:
    worked out once per join and builder, not once per input (a join of k pieces has k)."""
    key = ("join starts", out)
    starts = g.notes.get(key)
    if starts is None:
        widths = (g.shape_of(a)[1] if g.shape_of(a) else 1 for a in args)
        starts = g.notes[key] = list(accumulate(widths, initial=0))
    return starts


def _join_jvp(g, out, tangents, *args):
    parts = [t if t is not None else g.like(g.const(0), a) for t, a in zip(tangents, args)]
    return g.join(*parts)


def _ce_dp(g, p, y):
    """d cross_entropy / dp, elementwise: (p - y) / (p (1 - p) m), the article's L3' rule."""
    return g.div(g.sub(p, y), g.mul(g.mul(g.safe(p), g.safe(g.sub(g.const(1), p))), g.rows(p)))


def _ce_dy(g, p, y):
    return g.div(g.sub(g.log(g.safe(g.sub(g.const(1), p))), g.log(g.safe(p))), g.rows(p))


def _zero(g, *a):
    return g.const(0)


op("matmul", 2, "matmul", infix="@", prec=PRODUCT, callable=False, latex=" \\, ",
   elementwise=False, arrays=True, doc="A @ B, the matrix product",
   vjp=(lambda g, out, G, a, b: g.matmul(G, g.transpose(b)),
        lambda g, out, G, a, b: g.matmul(g.transpose(a), G)),
   jvp=lambda g, out, t, a, b: _add_all(g, [None if t[0] is None else g.matmul(t[0], b),
                                            None if t[1] is None else g.matmul(a, t[1])]),
   shape=arraymath.matmul_shape, rows="sums")
op("transpose", 1, "transpose", callable=True, elementwise=False, arrays=True,
   doc="A' (also transpose(A))", vjp=(lambda g, out, G, a: g.transpose(G),),
   jvp=lambda g, out, t, a: g.transpose(t[0]),
   shape=lambda shapes, args: tuple(reversed(arraymath.matrix(shapes[0], "transpose's input"))))
op("join", (1, None), arraymath.join_value, callable=False, elementwise=False, arrays=True,
   variadic=True,
   doc="[A, B, 1]: columns side by side; a number is a column of that number",
   vjp=_join_vjp, jvp=_join_jvp, shape=arraymath.join_shape, writes_into=True, rows="local")


def _cols_vjp(g, out, G, a, c0, c1):
    """G back in the columns i to j-1 of A's shape, zeros elsewhere."""
    width = g.shape_of(a)[1]
    i, j = int(c0.value), int(c1.value)
    parts = [g.like(g.const(0), g.cols(a, g.const(0), c0))] if i > 0 else []
    parts.append(G)
    if j < width:
        parts.append(g.like(g.const(0), g.cols(a, c1, g.const(width))))
    return parts[0] if len(parts) == 1 else g.join(*parts)


op("cols", 3, lambda xp, G, c0, c1: G[:, int(c0):int(c1)], elementwise=False, arrays=True,
   doc="cols(A, i, j): columns i to j-1 (how [A, B] sends gradients back)",
   notation=([(0, POSTFIX), "[:, ", (1, SUM), ":", (2, SUM), "]"],
             ["\\left[", (0, SUM), "\\right]_{:,\\,", (1, SUM), ":", (2, SUM), "}"]),
   vjp=(_cols_vjp, _zero, _zero), jvp=lambda g, out, t, G, c0, c1: g.cols(t[0], c0, c1),
   shape=arraymath.cols_shape, rows="local")
op("sum", 1, lambda xp, a: xp.sum(a), elementwise=False, arrays=True, doc="the sum of all entries",
   vjp=(lambda g, out, G, a: g.like(G, a),), jvp=lambda g, out, t, a: g.sum(t[0]),
   shape=lambda shapes, args: (), rows="sums")
op("mean", 1, lambda xp, a: xp.mean(a), elementwise=False, arrays=True,
   doc="the mean of all entries", vjp=(lambda g, out, G, a: g.div(g.like(G, a), g.size(a)),),
   jvp=lambda g, out, t, a: g.mean(t[0]), shape=lambda shapes, args: ())
op("like", 2, lambda xp, G, a: xp.broadcast_to(G, xp.shape(a)), elementwise=False, arrays=True,
   doc="like(G, A): G repeated to the shape of A",
   vjp=(lambda g, out, G, a, b: g.sum_to(G, a), _zero),
   jvp=lambda g, out, t, G, a: None if t[0] is None else g.like(t[0], a),
   shape=lambda shapes, args: shapes[1], rows="local")
op("sum_to", 2, arraymath.sum_to, elementwise=False, arrays=True,
   doc="sum_to(G, A): G summed down to the shape of A (undoes broadcasting)",
   vjp=(lambda g, out, G, a, b: g.like(G, a), _zero),
   jvp=lambda g, out, t, G, a: None if t[0] is None else g.sum_to(t[0], a),
   shape=lambda shapes, args: shapes[1], rows="sums")
op("size", 1, lambda xp, a: float(xp.size(a)), elementwise=False, arrays=True,
   doc="the number of entries", vjp=(_zero,), jvp=lambda g, out, t, a: None,
   shape=lambda shapes, args: (), rows="shape")
op("rows", 1, lambda xp, a: float(xp.shape(a)[0]), elementwise=False, arrays=True,
   doc="the number of rows (the batch size m)", vjp=(_zero,), jvp=lambda g, out, t, a: None,
   shape=lambda shapes, args: (), rows="shape")
op("safe", 1, lambda xp, a: xp.maximum(a, arraymath.SAFE_FLOOR),
   lambda g, out, a: g.step(g.sub(a, g.const(arraymath.SAFE_FLOOR))),
   doc="a, kept >= e^-100 (3.7e-44, where cross_entropy clamps its logs) so that dividing "
       "by it stays finite", bends_at=arraymath.SAFE_FLOOR,
   notation=(["max(", (0, SUM), ", ε)"], ["\\max\\left(", (0, SUM), ", \\varepsilon\\right)"]))
op("cross_entropy", 2, arraymath.ce_value, elementwise=False, arrays=True,
   doc="mean over rows of sum(-y*log(p) - (1-y)*log(1-p)); logs clamped at -100",
   vjp=(lambda g, out, G, p, y: g.mul(G, _ce_dp(g, p, y)),
        lambda g, out, G, p, y: g.mul(G, _ce_dy(g, p, y))),
   jvp=lambda g, out, t, p, y: _add_all(g, [
       None if t[0] is None else g.sum(g.mul(t[0], _ce_dp(g, p, y))),
       None if t[1] is None else g.sum(g.mul(t[1], _ce_dy(g, p, y)))]),
   shape=arraymath.cost_shape)
op("mse", 2, arraymath.mse_value, elementwise=False, arrays=True,
   doc="mean over rows of sum((p - y)^2)/2",
   vjp=(lambda g, out, G, p, y: g.mul(G, g.div(g.sub(p, y), g.rows(p))),
        lambda g, out, G, p, y: g.mul(G, g.div(g.sub(y, p), g.rows(p)))),
   jvp=lambda g, out, t, p, y: _add_all(g, [
       None if t[0] is None else g.sum(g.mul(t[0], g.div(g.sub(p, y), g.rows(p)))),
       None if t[1] is None else g.sum(g.mul(t[1], g.div(g.sub(y, p), g.rows(p))))]),
   shape=arraymath.cost_shape)


# -- classifiers: row-wise softmax, and recurrent networks' zero states ---------------------------
op("rowsum", 1, lambda xp, a: xp.sum(a, axis=1, keepdims=True), elementwise=False,
   arrays=True, doc="rowsum(A): each row's sum, a column",
   vjp=(lambda g, out, G, a: g.like(G, a),), jvp=lambda g, out, t, a: g.rowsum(t[0]),
   shape=lambda shapes, args: (arraymath.matrix(shapes[0], "rowsum's input")[0], 1),
   rows="local")
op("softmax", 1, arraymath.softmax_value, elementwise=False, arrays=True,
   latex=r"\operatorname{softmax}",
   doc="softmax(Z): each row of exp(Z) divided by its sum (computed stably)",
   vjp=(lambda g, out, G, z: g.mul(out, g.sub(G, g.rowsum(g.mul(G, out)))),),
   jvp=lambda g, out, t, z: g.mul(out, g.sub(t[0], g.rowsum(g.mul(t[0], out)))),
   shape=arraymath.rowwise_shape, rows="local")
op("log_softmax", 1, arraymath.log_softmax_value, elementwise=False, arrays=True,
   doc="log_softmax(Z): the logarithm of softmax(Z), row by row (computed stably)",
   vjp=(lambda g, out, G, z: g.sub(G, g.mul(g.softmax(z), g.rowsum(G))),),
   jvp=lambda g, out, t, z: g.sub(t[0], g.rowsum(g.mul(g.softmax(z), t[0]))),
   shape=arraymath.rowwise_shape, rows="local")
op("softmax_cross_entropy", 2, arraymath.sce_value, elementwise=False, arrays=True,
   doc="mean over rows of -sum(Y * log_softmax(Z)): logits Z, one-hot targets Y",
   vjp=(lambda g, out, G, z, y: g.mul(G, g.div(g.sub(g.softmax(z), y), g.rows(z))),
        lambda g, out, G, z, y: g.mul(G, g.div(g.neg(g.log_softmax(z)), g.rows(z)))),
   jvp=lambda g, out, t, z, y: _add_all(g, [
       None if t[0] is None else g.sum(g.mul(t[0], g.div(g.sub(g.softmax(z), y), g.rows(z)))),
       None if t[1] is None else g.sum(g.mul(t[1], g.div(g.neg(g.log_softmax(z)),
                                                         g.rows(z))))]),
   shape=arraymath.cost_shape)
op("zeros", 2, lambda xp, rows, k: xp.zeros((int(rows), int(k))), elementwise=False,
   arrays=True, call_arity=(1, 2),
   doc="zeros(k): m rows of k zeros (a recurrent network's first state)",
   notation=(["0"], ["\\mathbf{0}"]), vjp=(_zero, _zero), jvp=lambda g, out, t, r, k: None,
   shape=arraymath.zeros_shape, rows="local")


def _add_all(g, terms):
    terms = [t for t in terms if t is not None]
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else g.add(*terms)


ARRAY_OPS = frozenset(n for n, o in OPS.items() if o.arrays)  # only for network files' arrays

# Names a user may write that build another op: ln(a) is log(a); log(a, b) and pow(a, b) below.
ALIASES = {"ln": "log"}
CONSTANTS = {"pi": math.pi, "e": math.e}


def callable_names() -> list[str]:
    """Every function name an expression may call."""
    return sorted([n for n, o in OPS.items() if o.callable] + list(ALIASES))


def arity_of_call(name: str) -> tuple[int, int]:
    """How many arguments ``name(...)`` takes, as written: the row's ``call_arity`` where a
    call is spelled otherwise than the op (log(a, base), zeros(k)), else its arity."""
    o = OPS[ALIASES.get(name, name)]
    if o.call_arity is not None:
        return o.call_arity
    return (o.arity, o.arity) if isinstance(o.arity, int) else (o.arity[0], o.arity[1] or 10**9)
