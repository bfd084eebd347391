"""The backends ``xp`` for one point: the op table writes each value as ``value(xp, *args)``; for
Python floats ``xp`` is :data:`SCALAR` (math: numpy is not imported on that path) or
:class:`NumpyOnFloats` (numpy's functions, so the numbers are those of an array); for many
points it is the numpy module itself."""

from __future__ import annotations

import math


def short_number(v) -> str:
    """A long exact number, shortly: its first digits and how many there are."""
    text = str(v)
    return text if len(text) <= 24 else f"{text[:12]}… ({len(text.lstrip('-'))} digits)"


def as_float(v) -> float:
    """An exact number (int, Fraction) or a float as a float; one past the floats' range (an
    integer of 400 digits, which exact arithmetic can make) is infinite, as numpy makes it."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


class _MathBackend:
    """The backend ``xp`` for one point: the numpy names the table uses, for Python floats
    (numpy is not imported on that path). Names numpy and math share (``cbrt``, ``expm1``, ...)
    come straight from math. Domain faults raise."""

    overflow_raises = True  # exp(1000) raises, numpy's gives inf (the op table may ask)
    float_type = float  # what a value is

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


class NumpyOnFloats:
    """The backend for one point whose numbers must be numpy's, bit for bit (what a batch of
    points gives), at the speed of Python floats: each of numpy's functions is called on a
    float and its result made a float again; ``+ - * /`` and negation are Python's own, which
    round as numpy does (IEEE 754), only division by zero raises instead of giving inf."""

    overflow_raises = False
    float_type = float

    def __init__(self, np):
        self._np = np

    def __getattr__(self, name):  # asked once per name: then it is an attribute
        fn = getattr(self._np, name)

        def on_floats(*args):
            return float(fn(*args))
        setattr(self, name, on_floats)
        return on_floats

    add, subtract = staticmethod(_MathBackend.add), staticmethod(_MathBackend.subtract)
    multiply, divide = staticmethod(_MathBackend.multiply), staticmethod(_MathBackend.divide)
    negative = staticmethod(_MathBackend.negative)
