"""The Python API: ``cgcalc.function(text)`` -> :class:`Function`.

Values and gradients for many points run on one flat tape of numpy calls (see
``evaluate.Tape``): the function and its reverse-mode adjoints are built once as one graph, with
shared subexpressions computed once, then compiled.
"""

from __future__ import annotations

from .errors import CgcalcError

BLOCK = 1 << 14  # points per slice of the tape: measured best in bench/grad.py


class Function:
    def __init__(self, text: str, filename: str | None = None):
        from .graph import parse

        self.graph = parse(text, filename)
        self.text = text
        self._tapes: dict = {}

    @property
    def variables(self) -> tuple[str, ...]:
        return self.graph.variables

    def __repr__(self):
        return f"cgcalc.function({self.text!r})"

    def tape(self, wrt=None):
        """The compiled tape computing [value, d/dwrt...] (cached per wrt tuple)."""
        from .derive import compile_outputs, derivative_outputs

        wrt = tuple(self.variables if wrt is None else wrt)
        tape = self._tapes.get(wrt)
        if tape is None:
            tape = compile_outputs(self.graph, derivative_outputs(self.graph, wrt))
            self._tapes[wrt] = tape
        return tape

    def _inputs(self, kw):
        import numpy as np

        missing = [v for v in self.variables if v not in kw]
        if missing:
            raise CgcalcError(f"no value for {', '.join(map(repr, missing))} "
                              f"(variables: {', '.join(self.variables)})")
        extra = [k for k in kw if k not in self.variables]
        if extra:
            raise CgcalcError(f"{', '.join(map(repr, extra))} not a variable "
                              f"(variables: {', '.join(self.variables)})")
        arrays = [np.asarray(kw[v], dtype=float) for v in self.variables]
        scalar = all(a.ndim == 0 for a in arrays)
        if arrays:
            arrays = list(np.broadcast_arrays(*arrays))
        return arrays, scalar

    def _run(self, wrt, kw):
        import numpy as np

        arrays, scalar = self._inputs(kw)
        shape = arrays[0].shape if arrays else ()
        flat = [a.ravel() for a in arrays]
        results = self.tape(wrt).run(flat, block=BLOCK)
        out = []
        for r in results:
            r = np.broadcast_to(np.asarray(r, dtype=float), (flat[0].size,) if flat else ())
            out.append(float(r.reshape(shape)) if scalar else np.array(r).reshape(shape))
        return out

    def value(self, **kw):
        """The function at the given points (floats or numpy arrays, broadcast together)."""
        return self._run((), kw)[0]

    def grad(self, wrt=None, **kw):
        """{variable: derivative} at the given points (all variables unless ``wrt`` names some)."""
        names = tuple(self.variables if wrt is None else wrt)
        for n in names:
            if n not in self.variables:
                raise CgcalcError(f"{n!r} is not a variable (variables: "
                                  f"{', '.join(self.variables)})")
        res = self._run(names, kw)
        return dict(zip(names, res[1:]))

    def value_and_grad(self, wrt=None, **kw):
        names = tuple(self.variables if wrt is None else wrt)
        res = self._run(names, kw)
        return res[0], dict(zip(names, res[1:]))
