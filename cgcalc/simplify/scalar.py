"""Algebraic simplification of graphs: a canonical form built on the same hash-consed nodes.

Canonical nodes use only ``const``, ``var``, n-ary ``add`` and ``mul``, ``pow`` and functions:
``a - b`` is ``a + (-1)*b``, ``a / b`` is ``a * b^-1``, ``sqrt(a)`` is ``a^(1/2)``. On the way:

- constants fold (integers and fractions stay exact; ``pi`` and ``e`` stay symbols);
- identities: ``x + 0``, ``1*x``, ``0*x``, ``x^1``, ``x^0``, ``exp(log(x))``, ``log(exp(x))``;
- like terms collect (``x + 2*x`` is ``3*x``) and like factors collect (``x*x^2`` is ``x^3``),
  so common factors cancel (``a*b/a`` is ``b``);
- a product that holds a sum whose terms divide by the product's other factors is multiplied
  out, so backpropagation's ``(L3 - y)/(L3*(1 - L3)) * L3*(1 - L3)`` becomes ``L3 - y``.

Because equal canonical forms are the same node, "like" is an identity test. The walk is
iterative; nested sums and products are flattened only up to ``FLATTEN`` terms, which keeps a
20,000-deep chain linear instead of quadratic.
"""

from __future__ import annotations

from .canonical import FLATTEN, Canonical
from .powers import Powers
from .products import Products
from .sums import Sums

__all__ = ["FLATTEN", "Simplifier"]


class Simplifier(Canonical, Sums, Products, Powers):
    """``Simplifier(builder, atoms)(node)`` -> the canonical node: the walk of
    cgcalc/simplify/canonical.py with the rules of sums, products, powers and functions."""

