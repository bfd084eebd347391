"""The rules that only arrays need (network files): the canonical forms of
cgcalc/simplify/scalar.py, plus

- ``like(s, A)*B`` is ``s*B`` for a scalar ``s`` and ``B`` of ``A``'s shape (numpy broadcasts s);
- scalars leave linear array ops: ``A @ (B/m)`` is ``(A @ B)/m``, ``A @ (P/m - y/m)`` is
  ``(A @ (P - y))/m``;
- ``(A')'`` is ``A``;
- zeros vanish: ``zeros @ A``, ``zeros * A`` are zeros of their shape, and a sum drops a zeros
  term (a recurrent network's first state ``h[0] = zeros(k)``).

Shapes come from the ``shape_of`` function handed in (a network's builder knows them)."""

from __future__ import annotations

from .fold import is_number
from .scalar import Simplifier

# array ops that are linear in these inputs (scalar factors can move outside)
LINEAR = {"matmul": (0, 1), "transpose": (0,), "cols": (0,), "sum": (0,), "like": (0,),
          "sum_to": (0,), "mean": (0,)}


class ArraySimplifier(Simplifier):
    ONE_MORE = False  # factors of a product go through _factors below (broadcasts undone)

    def __init__(self, builder, shape_of, atoms=()):
        super().__init__(builder, atoms)
        self.shape_of = shape_of
        self.declare = builder.declare

    def _placeholder(self, atom):
        ph = super()._placeholder(atom)
        self.declare(ph, self.shape_of(atom))  # the stand-in has the atom's shape
        return ph

    def _factors(self, factors):
        flat = super()._factors(factors)
        for f in flat:
            if f.op == "like":
                return self._unbroadcast(flat)
        return flat

    def function(self, op, args):
        if op == "transpose" and args[0].op == "transpose":
            return args[0].args[0]
        if op == "matmul" and any(_zero(a) for a in args):
            zero = self._zeros((self.shape_of(args[0])[0], self.shape_of(args[1])[1]))
            if zero is not None:
                return zero
        if op in LINEAR:
            pulled = self._pull_scalars(op, args)
            if pulled is not None:
                return pulled
        return super().function(op, args)

    def add(self, terms):
        zeros = [t for t in terms if _zero(t)]
        if zeros and len(zeros) < len(terms):
            rest = [t for t in terms if not _zero(t)]
            shapes = [self.shape_of(t) for t in rest]
            if any(self.shape_of(z) not in shapes for z in zeros):
                return super().add(terms)  # a zeros term that broadcasts the others: keep it
            return self._shaped(super().add(rest), rest)
        return self._shaped(super().add(terms), terms)

    def divides_like(self, safe) -> bool:
        """safe(P) and safe(1 - P) divide like P and 1 - P for a probability P (a sigmoid's or
        a softmax's: cross_entropy's derivative (P - y)/(safe(P) safe(1 - P)) meets the
        sigmoid's P (1 - P)): they differ only below e^-100, where cross_entropy clamps its
        logs. Never for a safe of anything else: Q*Q/safe(Q) is not Q where Q < 0."""
        a = safe.args[0]
        a = _one_minus(a) or a
        a = self._placeholders.get(a, a)  # a name of the file stands in as a variable
        return a.op in _PROBABILITIES

    def mul(self, factors):
        if any(_zero(f) for f in factors):
            from ..arraymath import ShapeError, broadcast

            try:
                zero = self._zeros(broadcast(*[self.shape_of(f) for f in factors]))
            except ShapeError:
                zero = None
            if zero is not None:
                return zero
        return self._shaped(super().mul(factors), factors)

    def _shaped(self, node, parts):
        """A sum or product of arrays that came to a number (``0*A``, ``A - A``) as that
        number in their shape: zeros(rows, k) for 0, like(c, A) for another, so that what it
        feeds (a matrix product, a join) keeps its shapes (a scalar there was an internal
        error)."""
        if node.op != "const":
            return node
        from ..arraymath import ShapeError, broadcast

        try:
            shape = broadcast(*[self.shape_of(p) for p in parts])
        except ShapeError:
            return node
        if shape == ():
            return node
        if node.value == 0:
            zero = self._zeros(shape)
            if zero is not None:
                return zero
        full = next((p for p in parts if self.shape_of(p) == shape), None)
        return node if full is None else self.b.like(node, full)

    def _zeros(self, shape):
        """The node zeros(rows, k) of ``shape``, or None for a shape it cannot have."""
        if len(shape) != 2 or not isinstance(shape[1], int):
            return None
        b = self.b
        rows = shape[0]
        if isinstance(rows, int):
            return b.node("zeros", b.const(rows), b.const(shape[1]))
        batch = getattr(b, "batch", None)
        return None if batch is None or batch.value != rows else \
            b.node("zeros", batch, b.const(shape[1]))

    def _unbroadcast(self, flat):
        """like(s, A)*B is s*B when s is a scalar and B has A's shape: numpy broadcasts s (how
        the adjoint of sum(...)/m meets the next factor, so backprop's (L3 - y)/m shows)."""
        shape_of = self.shape_of
        out = []
        for i, f in enumerate(flat):
            if f.op == "like" and shape_of(f.args[0]) == () and any(
                    j != i and g.op != "like" and shape_of(g) == shape_of(f)
                    for j, g in enumerate(flat)):
                out += self._flatten("mul", [f.args[0]])
            else:
                out.append(f)
        return out

    def _pull_scalars(self, op, args):
        """Linear array ops commute with scalar factors: A @ (B/m) is (A @ B)/m."""
        b = self.b
        scalars, new_args, changed = [], list(args), False
        for k in LINEAR[op]:
            a = args[k]
            if a.op == "add":  # A @ (P/m - y/m) is (A @ (P - y))/m
                split = self._common_scalars(a.args)
                if split is not None:
                    scalars += split[0]
                    new_args[k] = split[1]
                    changed = True
                continue
            if a.op != "mul":
                continue
            keep = [f for f in a.args if not self._scalar(f)]
            if len(keep) == len(a.args) or not keep:
                continue
            scalars += [f for f in a.args if self._scalar(f)]
            new_args[k] = keep[0] if len(keep) == 1 else b.mul(*keep)
            changed = True
        if not changed:
            return None
        return self.mul([*scalars, self.function(op, new_args)])

    def _common_scalars(self, terms):
        """(scalars, sum) with the sum of ``terms`` = the product of the scalars and the new sum:
        the scalar factors every term has, and a coefficient they share up to sign (2*P - 2*y
        is 2*(P - y)); None when there are none."""
        b = self.b
        coeffs, factor_lists = [], []
        for t in terms:
            c, rest = self._split_coeff(t)
            if is_number(rest):
                return None  # a constant term
            coeffs.append(c)
            factor_lists.append(rest.args if rest.op == "mul" else (rest,))
        common = [f for f in factor_lists[0]
                  if self._scalar(f) and all(f in fs for fs in factor_lists[1:])]
        size = {abs(c) for c in coeffs}
        k = size.pop() if len(size) == 1 else 1
        if k == 1 and not common:
            return None
        new_terms = [self.mul([b.const(1 if c > 0 else -1) if k != 1 else b.const(c),
                               *(f for f in fs if f not in common)])
                     for c, fs in zip(coeffs, factor_lists)]
        return [b.const(k), *common] if k != 1 else common, self.add(new_terms)

    def _scalar(self, f):
        return is_number(f) or self.shape_of(f) == () and (
            f.op == "var" or f.op == "pow" and f.args[0].op == "var")


_PROBABILITIES = {"sigmoid", "softmax"}  # ops whose values lie in [0, 1]


def _one_minus(node):
    """P where ``node`` is 1 - P in canonical form (1 + (-1)*P), else None."""
    if node.op != "add" or len(node.args) != 2:
        return None
    one, term = node.args
    if not (is_number(one) and one.value == 1 and term.op == "mul" and len(term.args) == 2):
        return None
    minus, p = term.args
    return p if is_number(minus) and minus.value == -1 else None


def _zero(node):
    """zeros(...), or its transpose."""
    return node.op == "zeros" or (node.op == "transpose" and node.args[0].op == "zeros")
