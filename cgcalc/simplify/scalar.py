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

import math
from fractions import Fraction

from ..walk import topological
from .fold import fold_call, fold_pow, is_int, is_number

FLATTEN = 8  # nested sums and products are spread into their parent up to this many terms
EXPAND = FLATTEN // 2  # sums multiplied out to let factors cancel: at most this many terms
SETTLE = 4  # passes over a product's factors (powers of products expose new like factors)
_RANK = {"const": 1, "var": 2, "pow": 3, "mul": 5, "add": 6}  # named constants (pi) first
_NOT_PLAIN = {"const", "pow", "safe", "add"}  # factors that mul() may combine


class Simplifier:
    """``Simplifier(builder)(node)`` -> the canonical node. Results are memoised per node.

    ``atoms`` are nodes to keep opaque: each stands in as a variable, so no rule looks inside it
    (how a connection derivative is shown in the names of the node's inputs). Array-only rules
    live in a subclass (cgcalc/simplify/arrays.py); the hooks they use are marked below."""

    def __init__(self, builder, atoms=()):
        self.b = builder
        self.memo: dict = {}  # node -> its canonical node (nodes hash by identity)
        self.atoms = set(atoms)
        self._expanding = 0  # while multiplying out to cancel, do not factor back
        self._placeholders: dict = {}  # stand-in var -> atom
        self._keys: dict = {}  # node -> its sort key

    # -- the walk --------------------------------------------------------------------------
    def __call__(self, root):
        memo = self.memo
        if root not in memo:
            if root in self.atoms and root.args:
                memo[root] = self._placeholder(root)  # not entered: it stays opaque
            else:
                self._walk(root)
        result = memo[root]
        return self._restore(result) if self._placeholders else result

    def known(self, node):
        """Record ``node``, made by this simplifier's rules, as canonical; return it."""
        self.memo.setdefault(node, node)
        return node

    def _walk(self, root):
        """Post-order from ``root`` (each open node on the stack with an iterator over its
        inputs), making each node canonical once its inputs are; atoms are not entered."""
        memo, atoms, canon = self.memo, self.atoms, self._canon
        stack = [(root, iter(root.args))]
        while stack:
            node, rest = stack[-1]
            for a in rest:
                if a in memo:
                    continue
                if not a.args:
                    memo[a] = a  # numbers and variables are canonical
                elif atoms and a in atoms:
                    memo[a] = self._placeholder(a)
                else:
                    stack.append((a, iter(a.args)))
                    break
            else:
                stack.pop()
                result = canon(node, [memo[a] for a in node.args])
                memo[node] = result
                memo.setdefault(result, result)

    def _placeholder(self, atom):
        """A variable that stands in for ``atom``."""
        ph = self.b.var(f"\0atom{atom.seq}")
        self._placeholders[ph] = atom
        return ph

    def _restore(self, node):
        """The result with each atom back in place of its stand-in."""
        back = self._placeholders
        done: dict = {}
        for n in topological([node]):
            if n in back:
                done[n] = back[n]
            elif n.args:
                args = [done[a] for a in n.args]
                same = all(x is y for x, y in zip(args, n.args))
                done[n] = n if same else self.b.make(n.op, *args)
            else:
                done[n] = n
        return done[node]

    def _canon(self, node, args):
        b, op = self.b, node.op
        if op in ("const", "var"):
            return node
        if op == "add":
            return self.add(args)
        if op == "sub":
            return self.add([args[0], self.mul([b.const(-1), args[1]])])
        if op == "neg":
            return self.mul([b.const(-1), args[0]])
        if op == "mul":
            return self.mul(args)
        if op == "div":
            return self.mul([args[0], self.pow(args[1], b.const(-1))])
        if op == "pow":
            return self.pow(*args)
        if op == "sqrt":
            return self.pow(args[0], b.const(Fraction(1, 2)))
        if args and tuple(args) == node.args and args[0].op not in ("const", "exp", "log"):
            return node  # a function of canonical inputs is canonical: no need to rebuild
        return self.function(op, args)

    # -- sums ------------------------------------------------------------------------------
    def add(self, terms):
        b = self.b
        const = 0
        coeffs: dict = {}  # term without its coefficient -> [that, coefficient]
        for t in self._flatten("add", terms):
            if is_number(t):
                const = const + t.value
                continue
            c, rest = self._split_coeff(t)
            slot = coeffs.get(rest)
            if slot is None:
                coeffs[rest] = [rest, c]
            else:
                slot[1] = slot[1] + c
        out = []
        for rest, c in coeffs.values():
            if c == 0:
                continue
            out.append(rest if c == 1 else self._scaled(c, rest))
        out.sort(key=self._key)
        if const == 0 and 2 <= len(out) <= FLATTEN and not self._expanding:
            common = self._common_factor(out)
            if common is not None:
                return common
        if const != 0 or not out:
            out.insert(0, b.const(const))
        if len(out) == 1:
            return out[0]
        return b.add(*out)

    def _common_factor(self, terms):
        """a*X + b*X -> (a + b)*X when every term has the factor X (a non-number)."""
        def factors(t):
            return t.args if t.op == "mul" else (t,)
        shared = None
        for t in terms:
            ids = {id(f): f for f in factors(t) if not is_number(f)}
            shared = ids if shared is None else {k: v for k, v in shared.items() if k in ids}
            if not shared:
                return None
        rests = []
        for t in terms:
            rest = [f for f in factors(t) if id(f) not in shared]
            rests.append(self.mul(rest) if rest else self.b.const(1))
        return self.mul([*shared.values(), self.add(rests)])

    def _split_coeff(self, t):
        if t.op == "mul" and is_number(t.args[0]):
            rest = t.args[1:]
            return t.args[0].value, rest[0] if len(rest) == 1 else self.b.mul(*rest)
        return 1, t

    def _scaled(self, c, rest):
        b = self.b
        if rest.op == "mul":
            return b.mul(b.const(c), *rest.args)
        return b.mul(b.const(c), rest)

    # -- products --------------------------------------------------------------------------
    def mul(self, factors):
        b = self.b
        flat = self._factors(factors)
        if len(set(flat)) == len(flat) and not any(f.op in _NOT_PLAIN for f in flat):
            # distinct factors, none a number, power or sum: nothing combines or cancels
            if len(flat) == 1:
                return flat[0]
            flat.sort(key=self._key)
            return b.mul(*flat)
        coeff = 1
        pending = flat
        for _ in range(SETTLE):  # powers of products can expose new like factors
            exps: dict = {}  # base -> [base, the factor, its exponents]
            for f in self._flatten("mul", pending):
                if f.op == "const" and is_number(f):
                    coeff = coeff * f.value
                    continue
                if f.op == "pow":
                    base, e = f.args
                else:
                    base, e = f, None  # None: exponent 1, the common case, without a node
                # safe(A) divides like A (they differ only where A < 1e-12), so A/safe(A) is 1
                key = base.args[0] if base.op == "safe" else base
                slot = exps.get(key)
                if slot is None:
                    exps[key] = [base, f, [e]]
                else:
                    if base.op != "safe" and slot[0].op == "safe":
                        slot[0] = base  # remember the plain base, for positive totals
                    slot[1] = None
                    slot[2].append(e)
            if coeff == 0:
                return b.const(0)
            pending, again = [], False
            for base, f, es in exps.values():
                if len(es) == 1 and f is not None:
                    pending.append(f)
                    continue
                total = self.add([b.const(1) if e is None else e for e in es])
                if base.op == "safe" and not (is_number(total) and total.value < 0):
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
        if coeff == 0:
            return b.const(0)
        factors.sort(key=self._key)
        if not factors:
            return b.const(coeff)
        spread = self._cancel_into_sum(coeff, factors)
        if spread is not None:
            return spread
        if coeff == 1:
            return factors[0] if len(factors) == 1 else b.mul(*factors)
        if len(factors) == 1 and factors[0].op == "add" and len(factors[0].args) <= FLATTEN:
            return self.add([self.mul([b.const(coeff), t]) for t in factors[0].args])
        return b.mul(b.const(coeff), *factors)

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
        return min(cap, len(topological([node])))

    # -- powers ----------------------------------------------------------------------------
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

    # -- hooks for the array rules (cgcalc/simplify/arrays.py) -----------------------------
    def _factors(self, factors):
        """The factors of a product, nested products of at most FLATTEN factors spread out."""
        return self._flatten("mul", factors)

    # -- helpers ---------------------------------------------------------------------------
    def _flatten(self, op, items):
        out = []
        for t in items:
            if t.op == op and len(t.args) <= FLATTEN:
                out.extend(t.args)
            else:
                out.append(t)
        return out

    def _key(self, node):
        """The order of terms and factors: numbers, then variables by name, then the rest in
        order of creation; a power sorts beside its base."""
        k = self._keys.get(node)
        if k is None:
            if node.op == "pow":
                base = node.args[0]
                k = (_RANK.get(base.op, 4), base.value if base.op == "var" else "", base.seq, 1)
            else:
                k = (_RANK.get(node.op, 4), node.value if node.op == "var" else "", node.seq, 0)
            self._keys[node] = k
        return k

