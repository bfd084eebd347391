"""Algebraic simplification: canonical forms built on the same hash-consed nodes.

``Simplifier`` (cgcalc/simplify/scalar.py) holds the rules of scalar algebra; ``ArraySimplifier``
(cgcalc/simplify/arrays.py) adds the few that only arrays need; cgcalc/simplify/fold.py folds
numbers."""

from .arrays import ArraySimplifier
from .scalar import FLATTEN, Simplifier

__all__ = ["ArraySimplifier", "FLATTEN", "Simplifier"]
