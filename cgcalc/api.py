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
import sys
import threading
import weakref
from contextlib import contextmanager

from .errors import CgcalcError
from .limits import limit


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
# dimensions an array may have: numpy's functions broadcast at most 32 (its arrays may have 64)
MAX_DIMS = 32


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
                if isinstance(wrt, (bytes, bytearray, memoryview)):  # numbers, read one by one
                    raise TypeError
                names = tuple(wrt)
            except TypeError:
                raise CgcalcError(
                    f"wrt is a variable's name or a list of names, not {wrt!r}",
                    hint="a variable named wrt is given by position, in the order of "
                         ".variables" if "wrt" in self._known else None) from None
        for n in names:
            if not isinstance(n, str) or n not in self._known:
                raise CgcalcError(f"{n!r} is not a variable (variables: "
                                  f"{', '.join(self.variables) or 'none'})")
        return tuple(str(n) for n in names)  # (numpy's strings are str too: the keys are str)

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
        """The values as float arrays broadcast together, and whether all are single numbers;
        CgcalcError for a value that is not numbers (see :func:`_array`), shapes that do not
        broadcast, or more points than CGCALC_MAX_ENTRIES (each result has one per point)."""
        import numpy as np

        most = limit("CGCALC_MAX_ENTRIES")
        arrays = [_array(v, x, np, most) for v, x in zip(self.variables, values)]
        scalar = all(a.ndim == 0 for a in arrays)
        if arrays:
            try:
                arrays = list(np.broadcast_arrays(*arrays))  # views: nothing allocated yet
            except ValueError:
                shapes = ", ".join(f"{v} {a.shape}" for v, a in zip(self.variables, arrays))
                raise CgcalcError(f"the values' shapes do not broadcast together: "
                                  f"{shapes}") from None
            shape = arrays[0].shape
            count = _count(shape)
            if count > most:
                raise CgcalcError(f"the values broadcast together have shape {shape} "
                                  f"({count:,} points), more than the limit of {most:,} "
                                  "entries", hint="raise it with the environment variable "
                                  "CGCALC_MAX_ENTRIES if the memory is there")
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


def _count(shape):
    """Entries of an array of ``shape``, as a Python int (numpy's product would overflow)."""
    count = 1
    for d in shape:
        count *= d
    return count


def _shown(value):
    """``value`` as Python writes it, on one line and cut short (a long list, a number of
    5,000 digits, which Python refuses to write whole), or its type's name where its repr
    fails."""
    import reprlib

    r = reprlib.Repr()
    r.maxstring = r.maxlong = r.maxother = 60
    try:
        return " ".join(r.repr(value).split())
    except Exception:
        return f"<{type(value).__name__}>"


def _array(name, value, np, most):
    """``value`` as a float array, or CgcalcError naming ``name``: a number, or (nested)
    lists, tuples and arrays of them, all rows the same length, at most MAX_DIMS dimensions
    and ``most`` entries; real numbers only (Python's, numpy's, also in an array of objects),
    no complex numbers, strings, dates or records, none too large for a float; no bytes
    (a bytearray would read as the numbers of its bytes) and no masked array (its mask would
    be dropped, and the entries under it computed)."""
    if isinstance(value, (bytes, bytearray)) or \
            isinstance(value, memoryview) and value.format in ("B", "b", "c"):
        raise CgcalcError(f"{name}: {_shown(value)} is bytes, not a number or an array of "
                          f"numbers")
    ma = sys.modules.get("numpy.ma")  # (not imported: no value is a masked array)
    if ma is not None and isinstance(value, ma.MaskedArray):
        raise CgcalcError(f"{name}: a masked array (its mask would be lost): give "
                          f"value.filled(np.nan) or value.compressed()")
    try:
        a = np.asarray(value)
    except Exception as exc:  # ragged or too deeply nested lists; an object that fails
        depth = _depth(value, np)
        if depth > MAX_DIMS:
            deep = depth if depth <= 2 * MAX_DIMS else f"more than {2 * MAX_DIMS}"
            raise CgcalcError(f"{name}: lists nested {deep} deep, more than the {MAX_DIMS} "
                              f"dimensions numpy computes with") from None
        if isinstance(value, (list, tuple)) and isinstance(exc, ValueError):
            raise CgcalcError(f"{name}: the lists are ragged (rows of different "
                              f"lengths)") from None
        raise CgcalcError(f"{name}: {_shown(value)} cannot be read as an array of numbers "
                          f"({type(exc).__name__}: {exc})") from exc
    if a.ndim > MAX_DIMS:
        raise CgcalcError(f"{name}: an array of {a.ndim} dimensions, more than the {MAX_DIMS} "
                          f"numpy computes with")
    if a.size > most:
        raise CgcalcError(f"{name}: an array of {a.size:,} entries, more than the limit of "
                          f"{most:,}", hint="raise it with the environment variable "
                          "CGCALC_MAX_ENTRIES if the memory is there")
    kind = a.dtype.kind
    if kind in "biu" or kind == "f" and a.dtype.itemsize <= 8:
        return a.astype(float, copy=False)
    if kind == "f":
        try:
            with np.errstate(over="raise"):  # a long double past a float's range
                return a.astype(float, copy=False)
        except FloatingPointError:
            raise _too_large(name, value) from None
    if kind == "c" or kind == "O" and any(isinstance(x, (complex, np.complexfloating))
                                          for x in a.flat):
        raise CgcalcError(f"{name}: complex numbers are not supported (real values only)")
    if kind == "O" and _all_real(a, np):  # [2**70], a column of objects
        try:
            return a.astype(float)
        except OverflowError:
            raise _too_large(name, value) from None
    raise CgcalcError(f"{name}: {_shown(value)} is not a number or an array of numbers")


def _too_large(name, value):
    return CgcalcError(f"{name}: a number too large for a float (past about 1.8e308) in "
                       f"{_shown(value)}")


def _all_real(a, np):
    """Whether every entry of ``a``, an array of objects, is a real number: Python's (a
    Fraction too) or numpy's (a bool too, as arrays of bools are taken); not a string, None, a
    list, a Decimal (whose float may be inf or fail), a time span (numpy's are integers)."""
    from fractions import Fraction

    real = (int, float, Fraction, np.integer, np.floating, np.bool_)
    span = np.timedelta64
    return all(isinstance(x, real) and not isinstance(x, span) for x in a.flat)


def _depth(value, np):
    """How deep lists are nested, along their first entries, an array there adding its
    dimensions; the walk ends past 2 * MAX_DIMS (numpy's own limit: a list that holds itself)."""
    depth = 0
    while depth <= 2 * MAX_DIMS:
        if not (isinstance(value, (list, tuple)) and value):
            return depth + (value.ndim if isinstance(value, np.ndarray) else 0)
        try:
            value, depth = value[0], depth + 1
        except Exception:  # a list of a class of its own, whose items fail
            return depth
    return depth
