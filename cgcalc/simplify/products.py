"""Products: like factors collect into powers (``x*x^2`` is ``x^3``), so common factors cancel
(``a*b/a`` is ``b``); numbers multiply exactly; and a product holding a sum whose terms divide
by its other factors is multiplied out when that is shorter, so backpropagation's
``(L3 - y)/(L3*(1 - L3)) * L3*(1 - L3)`` becomes ``L3 - y``."""

from __future__ import annotations

from bisect import bisect

from ..walk import reach_size
from .canonical import FLATTEN
from .fold import finite, is_number

EXPAND = FLATTEN // 2  # sums multiplied out to let factors cancel: at most this many terms
SETTLE = 4  # passes over a product's factors (powers of products expose new like factors)
_NOT_PLAIN = {"const", "pow", "safe", "add"}  # factors that mul() may combine


class Products:
    ONE_MORE = True  # a factor may join a product by its key (_one_more); not if _factors differs

    def mul(self, factors):
        b = self.b
        if len(factors) == 2 and factors[0] in self._plain:  # backpropagation's step
            one_more = self._one_more(*factors)
            if one_more is not None:
                return one_more
        flat = self._factors(factors)
        if len(set(flat)) == len(flat) and not any(f.op in _NOT_PLAIN for f in flat):
            # distinct factors, none a number, power or sum: nothing combines or cancels
            if len(flat) == 1:
                return flat[0]
            flat.sort(key=self._key)
            product = b.mul(*flat)
            if self._undefined:
                self._mark(product, flat)
            if len(flat) <= FLATTEN:  # one more factor may be put in its place (_one_more)
                self._plain[product] = [self._key(f) for f in flat]
            return product
        coeff = 1
        pending = flat
        undefined = self._undefined
        kept = False  # an undefined factor met: 0 times it is not 0 (0*inf is nan)
        for _ in range(SETTLE):  # powers of products can expose new like factors
            exps: dict = {}  # base -> [base, the factor, its exponents]
            for f in self._flatten("mul", pending):
                if f.op == "const" and is_number(f):
                    coeff = coeff * f.value
                    continue
                if undefined and f in undefined:
                    base, e = f, None  # whole: log(0)/log(0) is nan, not 1 (canonical.py)
                    kept = True
                elif f.op == "pow":
                    base, e = f.args
                else:
                    base, e = f, None  # None: exponent 1, the common case, without a node
                # where safe(A) divides like A, A/safe(A) is 1
                key = base.args[0] if base.op == "safe" and self.divides_like(base) else base
                slot = exps.get(key)
                if slot is None:
                    exps[key] = [base, f, [e]]
                else:
                    if base.op != "safe" and slot[0].op == "safe":
                        slot[0] = base  # remember the plain base, for positive totals
                    slot[1] = None
                    slot[2].append(e)
            if coeff == 0 and not kept:
                return b.const(0)
            if not finite(coeff):
                made = b.mul(*flat)  # 1e308 * 10: left as written, never a constant inf
                undefined.add(made)
                self._written.add(made)
                return made
            pending, again = [], False
            for base, f, es in exps.values():
                if len(es) == 1 and f is not None:
                    pending.append(f)
                    continue
                total = self.add([b.const(1) if e is None else e for e in es])
                if base.op == "safe" and self.divides_like(base) and \
                        not (is_number(total) and total.value < 0):
                    base = base.args[0]
                p = self.pow(base, total)
                if p.op == "const" and is_number(p):
                    coeff = coeff * p.value
                    continue
                again = again or p.op == "mul"
                pending.append(p)
            if not again:
                break
        factors = pending
        if coeff == 0 and not kept:
            return b.const(0)
        factors.sort(key=self._key)
        if not factors:
            return b.const(coeff)
        if kept:  # nothing cancels with an undefined factor: spreading over sums only lengthens
            if coeff == 1:
                return factors[0] if len(factors) == 1 else self._mark(b.mul(*factors), factors)
            return self._mark(b.mul(b.const(coeff), *factors), factors)
        spread = self._cancel_into_sum(coeff, factors)
        if spread is not None:
            return spread
        if coeff == 1:
            return factors[0] if len(factors) == 1 else self._mark(b.mul(*factors), factors)
        if len(factors) == 1 and factors[0].op == "add" and len(factors[0].args) <= FLATTEN:
            return self.add([self.mul([b.const(coeff), t]) for t in factors[0].args])
        return self._mark(b.mul(b.const(coeff), *factors), factors)

    def divides_like(self, safe) -> bool:
        """Whether ``safe`` (safe(A)) may be taken for A in a product: never here. They differ
        where A < e^-100, which a user's own safe(x) may mean (x = -2); a network's
        probabilities differ there only where its cost is clamped (cgcalc/simplify/arrays.py)."""
        return False

    def times(self, a, c):
        """``a * c`` for canonical ``a`` and ``c``, canonical: ``known(mul([a, c]))``, the step of
        backpropagation (an adjoint times a connection derivative), with its common cases
        first: a factor 1, and a product that takes one more factor in its place."""
        if c.op == "const" and c.value == 1:
            return a
        if a.op == "const" and a.value == 1:
            return c
        made = self._one_more(a, c)
        if made is None:
            made = self.mul([a, c])
        return self.known(made)

    def _one_more(self, product, factor):
        """``product * factor`` where ``product`` is one this simplifier made of distinct plain
        factors (their sort keys kept in ``_plain``): what :meth:`mul` makes of them, the
        factor put in its place by its key, without sorting them all again; None where the
        general way may differ (another product, the factor not plain or already there, or a
        product to spread)."""
        keys = self._plain.get(product)
        if keys is None or not self.ONE_MORE:
            return None
        args = product.args  # at most FLATTEN: only those are kept in _plain
        if factor.op in _NOT_PLAIN or factor in args or (
                factor.op == "mul" and len(factor.args) <= FLATTEN):
            return None
        key = self._key(factor)
        i = bisect(keys, key)
        made = self.b.mul(*args[:i], factor, *args[i:])
        if self._undefined:
            self._mark(made, (product, factor))
        if len(args) < FLATTEN:
            self._plain[made] = [*keys[:i], key, *keys[i:]]
        return made

    def _cancel_into_sum(self, coeff, factors):
        """coeff * S * rest where S is a sum some of whose terms divide by a factor in rest:
        multiply rest into each term so the factors cancel, and keep it only if it is shorter."""
        if len(factors) < 2:
            return None
        sums = [f for f in factors if f.op == "add" and len(f.args) <= FLATTEN]
        if not sums:
            return None
        others = {id(f.args[0] if f.op == "pow" else f) for f in factors if f.op != "add"}
        for s in sums:
            denominators = set()
            for t in s.args:
                for f in (t.args if t.op == "mul" else (t,)):
                    if f.op == "pow" and f.args[1].op == "const" and f.args[1].value < 0:
                        denominators.add(id(f.args[0]))
            if not denominators & (others | {id(f) for f in factors if f is not s}):
                continue
            rest = [f for f in factors if f is not s]
            if coeff != 1:
                rest.insert(0, self.b.const(coeff))
            self._expanding += 1
            try:
                terms = [self._expand(self.mul([t, *rest])) for t in s.args]
                result = self.add(terms)
            finally:
                self._expanding -= 1
            before = sum(self.size(f) for f in factors)
            if self.size(result) < before:
                return result
        return None

    def _expand(self, node):
        """Multiply out a product with small sums in it (only what the cancelling needs)."""
        if node.op != "mul":
            return node
        sums = [f for f in node.args if f.op == "add" and len(f.args) <= EXPAND]
        if not sums:
            return node
        s = sums[0]
        rest = [f for f in node.args if f is not s]
        return self.add([self.mul([t, *rest]) for t in s.args])

    def size(self, node, cap=200):
        return reach_size(node, cap)


    # -- a hook for the array rules (cgcalc/simplify/arrays.py) ------------------------------
    def _factors(self, factors):
        """The factors of a product, nested products of at most FLATTEN factors spread out."""
        return self._flatten("mul", factors)
