"""Powers and functions: ``x^0``, ``x^1``, powers of powers and of products, exact roots of
numbers; ``exp(log(x))``, ``log(exp(x))``, functions of numbers folded where exact."""

from __future__ import annotations

import math
from fractions import Fraction

from .canonical import FLATTEN
from .fold import fold_call, fold_pow, is_int, is_number, not_finite


class Powers:
    def pow(self, base, e):
        b = self.b
        if is_number(e):
            v = e.value
            if v == 0:
                return b.const(1)
            if v == 1:
                return base
            if is_number(base):
                folded = fold_pow(base.value, v)
                if folded is not None:
                    return b.const(folded)
            if is_int(v):
                # (sqrt(-1))^2 is nan, not -1: an undefined power stays one (canonical.py),
                # unless its exponent is an integer ((1/0)^-1 is 0^1, 0 as 1/inf is)
                if base.op == "pow" and (base not in self._undefined or _int_exponent(base)):
                    return self.pow(base.args[0], self.mul([base.args[1], e]))
                if base.op == "mul" and len(base.args) <= FLATTEN and base not in self._written:
                    return self.mul([self.pow(f, e) for f in base.args])
        if is_number(base) and base.value == 1:
            return b.const(1)
        if base.op == "pow" and base.args[1].op == "const" and is_number(e) and \
                base not in self._undefined:
            inner = base.args[1].value
            if isinstance(inner, Fraction) and inner.numerator == 1 and is_int(v * inner):
                # (x^(1/2))^2 = x where defined
                return self.pow(base.args[0], b.const(v * inner))
        made = b.pow(base, e)
        if base.op == "const" and e.op == "const":
            if not_finite("pow", (base.value, e.value)):  # 0^-1, (-1)^(1/2), 2^2000
                self._undefined.add(made)
            return made
        return self._mark(made, (base, e))

    # -- functions -------------------------------------------------------------------------
    def function(self, op, args):
        b = self.b
        a = args[0] if args else None
        # exp(log(-1)) is nan, log(exp(1000)) inf: see canonical.py
        if op == "exp" and a.op == "log" and a not in self._undefined:
            return a.args[0]
        if op == "log" and a.op == "exp" and a not in self._undefined:
            return a.args[0]
        if op == "log" and a.op == "const" and a.value == math.e:
            return b.const(1)
        if all(x.op == "const" for x in args):
            values = [x.value for x in args]
            folded = fold_call(op, values)
            if folded is not None:
                return b.const(folded)
            made = b.make(op, *args)
            if not_finite(op, values):  # log(0), exp(1000); not sin(2), which is only inexact
                self._undefined.add(made)
            return made
        return self._mark(b.make(op, *args), args)


def _int_exponent(power) -> bool:
    """Whether ``power``'s exponent is an integer: then (b^a)^n is b^(a*n) for inf and nan too."""
    e = power.args[1]
    return is_number(e) and is_int(e.value)
