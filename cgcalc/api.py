"""The Python API: ``cgcalc.function(text)`` -> :class:`Function`.

Values and gradients for many points run on one flat tape of numpy calls (see
``evaluate.Tape``): the function and its reverse-mode adjoints are built once as one graph, with
shared subexpressions computed once, then compiled. Every bad call raises
:class:`cgcalc.CgcalcError` (a ``ValueError``) with the message the command line would print.
A Function pickles as its text, so worker processes (multiprocessing, Dask, Spark) rebuild it.

A Function keeps the tapes it compiled, one per ``wrt``, for the next call: the most recently
used few, together a few times the size of the graph (``TAPES_KEPT``, ``SLOTS_KEPT``), so
memory stays linear in the graph whatever sequence of ``wrt`` a caller asks for.
"""

from __future__ import annotations

import gc
import os
import threading
import weakref
from contextlib import contextmanager

from .errors import CgcalcError


FEW_COLLECTIONS = (100_000, 50, 100)  # gc thresholds while graphs are built (and in the CLI)
# tapes a Function keeps: at most TAPES_KEPT, the most recently used, and together no more
# slots than SLOTS_KEPT per node and edge of the graph (or SLOTS_FLOOR, for a small one); the
# tape of the last call is kept whatever its size. The backward pass adds a product, a sum and
# the connection derivative's nodes per edge: the tapes of the value, of all variables'
# gradient and of one variable's derivative together take at most 7.4 slots per node and edge
# (a chain of acos, the most of the op table: tests/test_api.py), so the three in turn are kept.
TAPES_KEPT = 8
SLOTS_KEPT = 8
SLOTS_FLOOR = 1 << 14


@contextmanager
def few_collections():
    """Building a graph allocates nodes by the hundred thousand, none in reference cycles;
    Python's default collector would scan them again and again (a tenth of the time of a deep
    graph), so while building it runs rarely. The previous thresholds come back after."""
    old = gc.get_threshold()
    gc.set_threshold(*FEW_COLLECTIONS)
    try:
        yield
    finally:
        gc.set_threshold(*old)


class Function:
    def __init__(self, text: str, filename: str | None = None):
        from .graph import parse

        if not isinstance(text, str):
            raise CgcalcError(f"cgcalc.function takes the program's text, a str, not "
                              f"{type(text).__name__}")
        self.text, self.filename = text, filename
        with few_collections():
            self.graph = parse(text, filename)
        self._known = frozenset(self.graph.variables)
        self._tapes: dict = {}  # wrt -> its compiled tape, the least recently used first
        self._last = None  # (wrt, tape) of the last call: the same wrt again takes no lock
        self._lock = threading.Lock()  # guards _tapes, and the graph's builder while compiling
        self._budget = None  # the slots the tapes kept may have in all (see SLOTS_KEPT)
        _FUNCTIONS.add(self)
        self._pointwise = None  # whether one point may take the backward pass on numbers

    def __reduce__(self):  # pickled as its text; the graph and tapes are rebuilt on arrival
        return (Function, (self.text, self.filename))

    @property
    def variables(self) -> tuple[str, ...]:
        return self.graph.variables

    def __repr__(self):
        return f"cgcalc.function({self.text!r})"

    def _names(self, wrt):
        """The variables to differentiate by: all, one name, or a list of names."""
        if wrt is None:
            return self.variables
        if isinstance(wrt, str):
            names = (wrt,)
        else:
            try:
                names = tuple(wrt)
            except TypeError:
                raise CgcalcError(f"wrt is a variable's name or a list of names, not "
                                  f"{wrt!r}") from None
        for n in names:
            if not isinstance(n, str) or n not in self._known:
                raise CgcalcError(f"{n!r} is not a variable (variables: "
                                  f"{', '.join(self.variables) or 'none'})")
        return names

    def tape(self, wrt=None):
        """The compiled tape computing [value, d/dwrt...]: the one kept for this wrt, if any,
        else compiled and kept (see TAPES_KEPT). Threads may call it at once: compiling adds
        nodes to the graph's builder, one thread at a time."""
        wrt = self._names(wrt)
        last = self._last
        if last is not None and (last[0] is wrt or last[0] == wrt):
            return last[1]  # the common case: the same wrt as the last call
        with self._lock:
            tape = self._tapes.pop(wrt, None)
            if tape is None:
                from .derive import compile_outputs, derivative_outputs

                with few_collections():
                    tape = compile_outputs(self.graph, derivative_outputs(self.graph, wrt))
                self._tapes[wrt] = tape
                self._forget()
            else:
                self._tapes[wrt] = tape  # the most recently used last
            self._last = (wrt, tape)
        return tape

    def _forget(self):
        """Drop the least recently used tapes past TAPES_KEPT, or past SLOTS_KEPT slots per
        node and edge of the graph in all; never the last one used."""
        tapes = self._tapes
        budget = self._budget
        if budget is None:
            order = self.graph.order
            size = len(order) + sum(len(n.args) for n in order)
            budget = self._budget = max(SLOTS_KEPT * size, SLOTS_FLOOR)
        slots = sum(t.n_slots for t in tapes.values())
        while len(tapes) > 1 and (len(tapes) > TAPES_KEPT or slots > budget):
            slots -= tapes.pop(next(iter(tapes))).n_slots

    def _named(self, args, kw):
        """Values given in order (``f.value(1, 2)``) are the variables' in ``variables`` order."""
        if not args:
            return kw
        if len(args) > len(self.variables):
            raise CgcalcError(f"{len(args)} values for {len(self.variables)} variables "
                              f"({', '.join(self.variables) or 'none'})")
        named = dict(zip(self.variables, args))
        twice = [k for k in kw if k in named]
        if twice:
            raise CgcalcError(f"{', '.join(map(repr, twice))} given twice (in order and by name)")
        return {**named, **kw}

    def _values(self, kw):
        """The variables' values, in order; CgcalcError for a name that is not a variable or
        a variable without a value."""
        known = self._known
        extra = [k for k in kw if k not in known]
        if extra:
            raise CgcalcError(f"{', '.join(map(repr, extra))} not a variable "
                              f"(variables: {', '.join(self.variables) or 'none'})")
        missing = [v for v in self.variables if v not in kw]
        if missing:
            raise CgcalcError(f"no value for {', '.join(map(repr, missing))} "
                              f"(variables: {', '.join(self.variables)})")
        return [kw[v] for v in self.variables]

    def _inputs(self, values):
        import numpy as np

        arrays = [_array(v, x, np) for v, x in zip(self.variables, values)]
        scalar = all(a.ndim == 0 for a in arrays)
        if arrays:
            try:
                arrays = list(np.broadcast_arrays(*arrays))
            except ValueError:
                shapes = ", ".join(f"{v} {a.shape}" for v, a in zip(self.variables, arrays))
                raise CgcalcError(f"the values' shapes do not broadcast together: "
                                  f"{shapes}") from None
        return arrays, scalar

    def _run(self, wrt, kw):
        import numpy as np

        from .evaluate import BLOCK

        values = self._values(kw)
        plain = all(type(v) is float or type(v) is int for v in values)  # one point, as is
        if plain:
            done = self._at_point(wrt, values)
            if done is not None:
                return done
        arrays, scalar = self._inputs(values)
        if scalar and not plain:
            done = self._at_point(wrt, arrays)
            if done is not None:
                return done
        tape = self.tape(wrt)
        shape = arrays[0].shape if arrays else ()
        try:
            flat = [a.ravel() for a in arrays]
            results = tape.run(flat, block=BLOCK)
        except MemoryError:  # numpy's, for an array larger than the memory it can have
            raise CgcalcError(f"the values broadcast together have shape {shape} "
                              f"({arrays[0].size:,} points): too many for this machine's "
                              f"memory") from None
        if scalar:  # one point: each result is a number or an array of one
            return [float(r) if isinstance(r, float) else float(np.ravel(r)[0]) for r in results]
        out = []
        size = (flat[0].size,) if flat else ()
        taken = {_address(x) for x in flat}  # the tape's results are fresh arrays or these
        for r in results:
            a = np.asarray(r, dtype=float)
            if a.shape != size or _address(a) in taken:
                # a number, the caller's own array, or one given already (exp(x) is its own
                # derivative): a copy of its own
                a = np.array(np.broadcast_to(a, size))
            taken.add(_address(a))
            out.append(a.reshape(shape))  # else the tape's fresh array itself, not copied
        return out

    def _at_point(self, wrt, numbers):
        """[value, d/dwrt...] at one point by a backward pass on numbers: no derivative graph
        built, no tape compiled (what one point of a big graph costs most), numpy's functions
        on single numbers, so the numbers are the tape's. None where a number is not finite on
        the way (inf, nan, a domain fault): the tape then gives numpy's inf or nan."""
        import math

        from .derive import gradient_at

        if self._pointwise is None:
            from .ops import OPS

            self._pointwise = all(OPS[n.op].elementwise for n in self.graph.order)
        if not self._pointwise:
            return None
        try:
            point = {v: float(a) for v, a in zip(self.variables, numbers)}
            with few_collections():
                value, grads = gradient_at(self.graph, wrt, point)
        except (CgcalcError, ArithmeticError, ValueError):
            return None
        results = [value, *grads]
        return results if all(map(math.isfinite, results)) else None

    def value(self, /, *args, **kw):  # (/: a variable may be named self)
        """The function at the given points (floats or numpy arrays, broadcast together), by
        name (``x=...``) or in the order of :attr:`variables`."""
        return self._run((), self._named(args, kw))[0]

    def grad(self, /, *args, wrt=None, **kw):
        """{variable: derivative} at the given points (all variables unless ``wrt`` names some)."""
        names = self._names(wrt)
        res = self._run(names, self._named(args, kw))
        return dict(zip(names, res[1:]))

    def value_and_grad(self, /, *args, wrt=None, **kw):
        names = self._names(wrt)
        res = self._run(names, self._named(args, kw))
        return res[0], dict(zip(names, res[1:]))


_FUNCTIONS: weakref.WeakSet = weakref.WeakSet()  # every live Function, for _after_fork


def _after_fork():
    """A child forked while a thread of the parent compiled a tape would find that Function's
    lock held for ever (the thread is not in the child): each gets a new one."""
    for f in list(_FUNCTIONS):
        f._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _address(a):
    """Where an array's numbers start in memory."""
    return a.__array_interface__["data"][0]


def _array(name, value, np):
    """``value`` as a float array, or CgcalcError: numbers, or (nested) lists and arrays of
    them, all rows the same length; no strings, no complex numbers."""
    try:
        a = np.asarray(value)
    except ValueError:  # ragged nested lists
        raise CgcalcError(f"{name}: the lists are ragged (rows of different lengths)") from None
    if a.dtype.kind in "biuf":
        return a.astype(float, copy=False)
    if a.dtype.kind == "c":
        raise CgcalcError(f"{name}: complex numbers are not supported (real values only)")
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise CgcalcError(f"{name}: {shown} is not a number or an array of numbers")
