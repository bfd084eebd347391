"""Powers and functions: ``x^0``, ``x^1``, powers of powers and of products, exact roots of
numbers; ``exp(log(x))``, ``log(exp(x))``, functions of numbers folded where exact."""

from __future__ import annotations

import math
from fractions import Fraction

from .canonical import FLATTEN
from .fold import fold_call, fold_pow, is_int, is_number


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
                if base.op == "pow":
                    return self.pow(base.args[0], self.mul([base.args[1], e]))
                if base.op == "mul" and len(base.args) <= FLATTEN:
                    return self.mul([self.pow(f, e) for f in base.args])
        if is_number(base) and base.value == 1:
            return b.const(1)
        if base.op == "pow" and base.args[1].op == "const" and is_number(e):
            inner = base.args[1].value
            if isinstance(inner, Fraction) and inner.numerator == 1 and is_int(v * inner):
                # (x^(1/2))^2 = x where defined
                return self.pow(base.args[0], b.const(v * inner))
        return b.pow(base, e)

    # -- functions -------------------------------------------------------------------------
    def function(self, op, args):
        b = self.b
        a = args[0] if args else None
        if op == "exp" and a.op == "log":
            return a.args[0]
        if op == "log" and a.op == "exp":
            return a.args[0]
        if op == "log" and a.op == "const" and a.value == math.e:
            return b.const(1)
        if all(x.op == "const" for x in args):
            folded = fold_call(op, [x.value for x in args])
            if folded is not None:
                return b.const(folded)
        return b.make(op, *args)
