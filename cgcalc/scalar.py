"""The backend ``xp`` for one point: the op table writes each value as ``value(xp, *args)``, and
for Python floats ``xp`` is :data:`SCALAR` (numpy is not imported on that path); for many points
it is the numpy module itself."""

from __future__ import annotations

import math


class _MathBackend:
    """The backend ``xp`` for one point: the numpy names the table uses, for Python floats
    (numpy is not imported on that path). Names numpy and math share (``cbrt``, ``expm1``, ...)
    come straight from math. Domain faults raise."""

    def __getattr__(self, name):  # asked once per name: then it is an attribute
        fn = getattr(math, name)
        setattr(self, name, fn)
        return fn

    # only where numpy and math spell it differently
    arcsin, arccos, arctan = staticmethod(math.asin), staticmethod(math.acos), staticmethod(math.atan)
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
    def logaddexp(a, b):
        hi, lo = (a, b) if a >= b else (b, a)
        return hi + math.log1p(math.exp(lo - hi))

    @staticmethod
    def add(a, b):
        return a + b

    @staticmethod
    def subtract(a, b):
        return a - b

    @staticmethod
    def multiply(a, b):
        return a * b

    @staticmethod
    def negative(a):
        return -a

    @staticmethod
    def where(c, a, b):
        return a if c else b

    @staticmethod
    def maximum(a, b):
        return a if a >= b or a != a else b


SCALAR = _MathBackend()
