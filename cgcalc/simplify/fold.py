"""Numbers in canonical forms: which constants are plain numbers, and folding operations on
them (integers and fractions stay exact; pi and e stay symbols unless a float is involved)."""

from __future__ import annotations

import math
from fractions import Fraction

from .. import ops
from ..scalar import SCALAR, as_float

NAMED = tuple(ops.CONSTANTS.values())  # constants that print as names: they stay symbols


def is_number(node) -> bool:
    """A plain number (named constants like pi are symbols here)."""
    return node.op == "const" and not (isinstance(node.value, float) and node.value in NAMED)


def finite(v) -> bool:
    """False for a float that overflowed (inf) or is nan: such a constant is never made."""
    return not isinstance(v, float) or math.isfinite(v)


def is_int(v) -> bool:
    return isinstance(v, int) or (isinstance(v, Fraction) and v.denominator == 1)


def fold_pow(a, v):
    try:
        if is_int(v) and isinstance(a, (int, Fraction)):
            v = int(v)
            if abs(v) > 64 or (a != 0 and abs(v) * math.log2(abs(a) + 1) > 256):
                return None
            if v < 0:
                return None if a == 0 else Fraction(1) / Fraction(a) ** -v
            return a ** v
        if isinstance(v, Fraction) and isinstance(a, (int, Fraction)) and a >= 0:
            # exact roots only: 4^(1/2) = 2
            root = _exact_root(Fraction(a), v.denominator)
            if root is not None:
                return fold_pow(root, v.numerator)
            return None
        if isinstance(a, float) or isinstance(v, float):
            r = math.pow(float(a), float(v))
            return r
    except (ValueError, OverflowError, ZeroDivisionError):
        return None
    return None


def _exact_root(q: Fraction, n: int):
    def iroot(k):
        r = round(k ** (1.0 / n)) if k < 2**52 else None
        if r is None:
            return None
        for c in (r - 1, r, r + 1):
            if c >= 0 and c ** n == k:
                return c
        return None
    p, d = iroot(q.numerator), iroot(q.denominator)
    if p is None or d is None:
        return None
    return Fraction(p, d)


def fold_call(op, values):
    """Fold f(constants) when a float is involved (not pi or e alone) or the result is exact."""
    o = ops.OPS[op]
    if o.arrays:
        return None
    try:
        r = o.bind(SCALAR)(*[float(v) for v in values])
    except (ValueError, OverflowError, ZeroDivisionError, TypeError):
        return None
    r = float(r)
    if math.isnan(r) or math.isinf(r):
        return None
    if r.is_integer() and abs(r) < 2**53:
        return int(r)
    if any(isinstance(v, float) and v not in NAMED for v in values):
        return r
    return None


def not_finite(op, values) -> bool:
    """Whether ``op`` of the constants ``values`` has no finite value (0^-1, log(0),
    (-1)^(1/2), exp(1000)): one point's evaluation of it raises or gives inf or nan. The folds
    above leave such a call unfolded, and they leave sin(2) and 2^(1/2) unfolded too (not
    exact), so whether a constant node failed to fold says nothing: only its value does."""
    o = ops.OPS[op]
    if o.arrays:
        return False
    try:
        r = o.bind(SCALAR)(*[as_float(v) for v in values])
    except (ValueError, OverflowError, ZeroDivisionError):
        return True
    return not math.isfinite(r)
