"""Sums: like terms collect (``x + 2*x`` is ``3*x``), constants add exactly, zeros go, and a
factor common to every term comes out (``a*X + b*X`` is ``(a + b)*X``)."""

from __future__ import annotations

from .canonical import FLATTEN
from .fold import finite, is_number


class Sums:
    def add(self, terms):
        b = self.b
        const = 0
        coeffs: dict = {}  # term without its coefficient -> [that, coefficient]
        undefined = self._undefined
        for t in self._flatten("add", terms):
            if is_number(t):
                const = const + t.value
                continue
            if undefined and t in undefined:
                c, rest = 1, t  # whole: log(0) - log(0) is nan, 2*log(0) - log(0) too
            else:
                c, rest = self._split_coeff(t)
            slot = coeffs.get(rest)
            if slot is None:
                coeffs[rest] = [rest, c]
            else:
                slot[1] = slot[1] + c
        if not finite(const) or not all(finite(c) for _, c in coeffs.values()):
            made = b.add(*self._flatten("add", terms))  # 1e308 + 1e308: left as written
            undefined.add(made)
            self._written.add(made)
            return made
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
        return self._mark(b.add(*out), out)

    def _common_factor(self, terms):
        """a*X + b*X -> (a + b)*X when every term has the factor X (a non-number)."""
        def factors(t):
            return t.args if t.op == "mul" else (t,)
        shared = None
        undefined = self._undefined
        for t in terms:
            if undefined and t in undefined:
                return None  # not taken apart (canonical.py): x*log(0) + y*log(0) is nan at y = 0
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
        if rest in self._undefined:
            return self.mul([b.const(c), rest])  # u + u is 2*u; u may be 2*log(0): 4*log(0)
        if rest.op == "mul":
            return b.mul(b.const(c), *rest.args)
        return b.mul(b.const(c), rest)

