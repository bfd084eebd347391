"""The numbers and shapes of the array operations of network files, and a faster tanh.

``cgcalc/ops.py`` holds the table; the array rows' numeric values (written against a backend
``xp``, numpy here) and their shape rules are long enough to live here, below it. Shapes are
tuples whose dims are ints or a name (the batch size m); a rule raises ShapeError and its
caller adds the place.
"""

from __future__ import annotations

import math

LOG_FLOOR = -100.0  # cross_entropy's logs are clamped here (as torch's BCELoss does)
# safe(a) keeps a at least this: e^LOG_FLOOR, so that cross_entropy's derivative, which divides
# by safe(p) and safe(1 - p), is the derivative of its value wherever that value is not clamped
# (at 1e-12 it was P/1e-12 of it for P between 3.7e-44 and 1e-12), and log(safe(p)) is the
# value's own clamped log
SAFE_FLOOR = math.exp(LOG_FLOOR)


class ShapeError(ValueError):
    """A shape rule's complaint; the caller adds the place."""


def show(shape) -> str:
    return "scalar" if not shape else "x".join(str(d) for d in shape)


def broadcast(*shapes):
    """numpy broadcasting of shapes whose dims are ints or a name (the batch size m)."""
    n = max((len(s) for s in shapes), default=0)
    out = []
    for k in range(n):
        dims = {s[len(s) - n + k] for s in shapes if len(s) - n + k >= 0} - {1}
        if len(dims) > 1:
            raise ShapeError("shapes " + " and ".join(show(s) for s in shapes) +
                             " do not broadcast")
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def matrix(shape, what):
    if len(shape) != 2:
        raise ShapeError(f"{what} must be a matrix, not {show(shape)}")
    return shape


def matmul_shape(shapes, args):
    (a, b), (c, d) = matrix(shapes[0], "the left side of @"), matrix(shapes[1],
                                                                      "the right side of @")
    if b != c:
        raise ShapeError(f"{show(shapes[0])} @ {show(shapes[1])}: inner sizes {b} and {c} differ")
    return (a, d)


def join_shape(shapes, args):
    rows = {s[0] for s in shapes if s}
    if len(rows) != 1 or any(len(s) not in (0, 2) for s in shapes):
        raise ShapeError("[...] joins matrices with the same number of rows, and numbers; got "
                         + ", ".join(show(s) for s in shapes))
    cols = 0
    for s in shapes:
        if isinstance(cols, int) and isinstance(s[1] if s else 1, int):
            cols += s[1] if s else 1
        else:
            cols = f"{cols}+{s[1] if s else 1}"
    return (rows.pop(), cols)


def cost_shape(shapes, args):
    if shapes[0] != shapes[1]:
        raise ShapeError(f"prediction {show(shapes[0])} and target {show(shapes[1])} differ")
    return ()


def join_value(xp, *args, out=None):
    rows, total = 0, 0
    for a in args:
        nd = getattr(a, "ndim", 0)
        total += a.shape[1] if nd == 2 else 1
        if nd:
            rows = a.shape[0]
    if out is None or out.shape != (rows, total):
        out = xp.empty((rows, total))
    col = 0
    for a in args:
        nd = getattr(a, "ndim", 0)
        if nd == 2:
            w = a.shape[1]
            out[:, col:col + w] = a
        else:
            w = 1
            out[:, col] = a
        col += w
    return out


def sum_to(xp, G, a):
    shape = xp.shape(a)
    G = xp.asarray(G)
    if G.ndim < len(shape):  # a number for G (the simplifier's 0 for a zero adjoint: the
        # derivative of sign or step): nothing was broadcast, it stays as it is, with a's axes
        G = G.reshape((1,) * (len(shape) - G.ndim) + G.shape)
    while G.ndim > len(shape):
        G = G.sum(axis=0)
    for k, d in enumerate(shape):
        if d == 1 and G.shape[k] != 1:
            G = G.sum(axis=k, keepdims=True)
    return G


def ce_value(xp, p, y):
    logp = xp.maximum(xp.log(p), LOG_FLOOR)
    log1mp = xp.maximum(xp.log(1 - p), LOG_FLOOR)
    rows = p.shape[0] if xp.ndim(p) else 1
    return -xp.sum(y * logp + (1 - y) * log1mp) / rows


def mse_value(xp, p, y):
    rows = p.shape[0] if xp.ndim(p) else 1
    return xp.sum((p - y) ** 2) / 2 / rows


def cols_shape(shapes, args):
    a = matrix(shapes[0], "cols' first input")
    bounds = []
    for node, what in ((args[1], "start"), (args[2], "end")):
        v = node.value if node.op == "const" else None
        if v is None or v != int(v):
            raise ShapeError(f"cols(A, i, j) takes whole numbers for i and j; its {what} is "
                             f"not one")
        bounds.append(int(v))
    i, j = bounds
    if not 0 <= i <= j or (isinstance(a[1], int) and j > a[1]):
        raise ShapeError(f"cols(A, {i}, {j}) needs 0 <= {i} <= {j} <= {a[1]}, the columns of A")
    return (a[0], j - i)


# tanh(a)/a - 1 in powers of a^2 (the Taylor series of tanh): enough of it below SERIES_BELOW
_TANH_TERMS = (-1 / 3, 2 / 15, -17 / 315, 62 / 2835, -1382 / 155925)
SERIES_BELOW = 0.05


def tanh_from_exp(x, out=None):
    """tanh of a float array, elementwise: (e - 1)/(e + 1) with e = exp(2x) (x clipped to +-20,
    where tanh is 1.0 to the last bit), and its Taylor series where |x| < SERIES_BELOW, where
    e - 1 would lose digits. Within 10 units in the last place of numpy's tanh (9 measured),
    at most 1 on the series, on the 2-core development machine (tests/test_arraymath.py allow
    2 more: numpy's own tanh is not the same on every CPU); faster than numpy's float64 tanh
    where that is 2-3x its exp (AVX2 without AVX-512): bench/tanh.py.

    Each number's formula depends on the number alone. The numbers below SERIES_BELOW are
    gathered and computed apart when they are at most 3 in 8, else the others are; the rest
    are computed in place. That changes no bits, so any cut of the rows into bands gives the
    whole array's numbers. ``out`` may be ``x``. 15-30 numpy calls: worth it on large arrays
    only (training's tapes choose by size: cgcalc/net/backprop.py)."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    if out is None or np.may_share_memory(x, out):  # out is scratch below, read after x
        result = tanh_from_exp(x, np.empty(x.shape))
        if out is None:
            return result[()] if x.ndim == 0 else result
        out[...] = result
        return out
    small = np.less(np.abs(x, out=out), SERIES_BELOW)
    # the exp form in place costs an exp for each number, the series in place a dozen cheap
    # passes: the series in place from 3 in 8 below (bench/tanh.py)
    series_apart = 8 * np.count_nonzero(small) <= 3 * small.size
    gathered = np.flatnonzero(small if series_apart else ~small)
    apart = np.take(x, gathered)
    if series_apart:
        _exp_form(x, out, np.empty(x.shape))
        if gathered.size:
            np.put(out, gathered, _series(apart, apart))
    else:
        _series(x, out, np.empty(x.shape))
        if gathered.size:
            np.put(out, gathered, _exp_form(apart, apart))
    return out


def _exp_form(x, out, scratch=None):
    """(e - 1)/(e + 1), e = exp(2x), into ``out`` (which may be ``x``)."""
    import numpy as np

    e = np.clip(x, -20.0, 20.0, out=scratch)
    np.multiply(e, 2.0, out=e)
    np.exp(e, out=e)
    np.add(e, 1.0, out=out)
    np.subtract(e, 1.0, out=e)
    return np.divide(e, out, out=out)


def _series(a, out, scratch=None):
    """a + a*s*(c1 + s*(c2 + ...)), s = a^2, signed as ``a`` (-0.0 stays -0.0), into ``out``
    (which may be ``a``): to the last bit or one off where |a| < SERIES_BELOW."""
    import numpy as np

    # s of a subnormal is 0, harmless; on numbers past SERIES_BELOW (the series computed in
    # place over all, those then overwritten) it may overflow: no warning for those
    with np.errstate(all="ignore"):
        s = np.multiply(a, a, out=scratch)
        p = np.multiply(s, _TANH_TERMS[-1], out=None if out is a else out)
        for c in _TANH_TERMS[-2::-1]:
            p += c
            p *= s
        p *= a
        p += a
    return np.copysign(p, a, out=out)


def rows_max(xp, a):
    return xp.max(a, axis=1, keepdims=True)


def softmax_value(xp, a):
    e = xp.exp(a - rows_max(xp, a))
    return e / xp.sum(e, axis=1, keepdims=True)


def log_softmax_value(xp, a):
    shifted = a - rows_max(xp, a)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))


def sce_value(xp, z, y):
    rows = z.shape[0] if xp.ndim(z) else 1
    return -xp.sum(y * log_softmax_value(xp, z)) / rows


def rowwise_shape(shapes, args):
    return matrix(shapes[0], "a row-wise function's input")


def zeros_shape(shapes, args):
    rows, k = args
    if k.op != "const" or k.value != int(k.value) or k.value < 1:
        raise ShapeError("zeros(k) takes a whole number of columns k >= 1")
    if rows.op == "const":
        return (int(rows.value), int(k.value))
    return (rows.value, int(k.value))  # the batch: m rows
