"""Numeric evaluation: one point with ``math`` (numpy is not imported on that path), many points
with numpy through a flat tape compiled once.

The op table writes each value as ``value(xp, *args)``; ``xp`` is ``scalar.SCALAR`` for one point
(Python floats with math), ``scalar.NumpyOnFloats`` for one point with numpy's functions, or the
``numpy`` module for arrays, so all share one definition.
"""

from __future__ import annotations

from functools import partial

from . import ops
from .scalar import SCALAR, as_float, short_number
from .errors import EvaluationError


def describe_failure(exc: Exception) -> str:
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, OverflowError):
        return "the result is too large (overflow)"
    return "a value outside the function's domain"


_INF = float("inf")


def evaluate_point(order, env: dict, values: dict | None = None, where=None, source=None,
                   filename=None, names=None, xp=SCALAR) -> dict:
    """Values of every node in ``order`` (a topological list) at the point ``env`` (name -> float).

    ``values`` (node -> float) may hold values already known; it is filled in and returned.
    ``where``/``source``/``filename``/``names`` place a domain fault in the user's text
    (``names``: node -> name, or a function that gives them, asked only on a fault). The
    functions are Python's math, or those of ``xp`` (numpy's on floats give the tape's numbers;
    a domain fault is then a value that is not finite)."""
    values = {} if values is None else values
    fns: dict = {}  # op -> its function of floats
    number = getattr(xp, "float_type", None) or xp.float64  # the numpy module: its numbers
    for node in order:
        if node in values:
            continue
        op = node.op
        if op == "const":
            try:
                values[node] = number(node.value)
            except OverflowError:  # an exact number past floats: 2^1030 made exact, say
                raise EvaluationError(
                    f"the result is too large (overflow): the number {short_number(node.value)} "
                    "is past what a float holds (about 1.8e308)", source=source,
                    filename=filename) from None
        elif op == "var":
            values[node] = env[node.value]
        else:
            fn = fns.get(op)
            if fn is None:
                fn = fns[op] = ops.OPS[op].bind(xp)
            args = node.args
            try:
                v = number(fn(values[args[0]]) if len(args) == 1 else
                           fn(*[values[a] for a in args]))
                if not -_INF < v < _INF:  # 1e308*10 overflows quietly; exp(1000) raises
                    raise OverflowError
            except (ValueError, ZeroDivisionError, OverflowError) as exc:
                raise _failure(node, exc, [values[a] for a in args], where, source, filename,
                               names) from None
            values[node] = v
    return values


def _failure(node, exc, argvals, where, source, filename, names):
    """The fault in the user's words: what went wrong, at which operation (in the names of its
    inputs), with which inputs; the place (line, column, caret) is the operation's in the text."""
    names = (names() if callable(names) else names) or {}

    def arg(a):
        if a in names:
            return names[a]
        return str(a.value) if a.op == "const" else "(…)"

    o = ops.OPS[node.op]
    args = [arg(a) for a in node.args]
    if o.infix and len(args) == 2:
        text = f"{args[0]} {o.infix} {args[1]}"
    elif o.infix:
        text = f"{o.infix}{args[0]}"
    else:
        text = f"{node.op}({', '.join(args)})"
    label = names.get(node)
    shown = ", ".join(repr(float(v)) for v in argvals)
    msg = (f"{describe_failure(exc)} at {label + ' = ' if label else ''}{text} "
           f"(input{'s' if len(argvals) > 1 else ''} {shown})")
    line = col = None
    width = 1
    if where and node in where:
        line, col, width = where[node]
    err = EvaluationError(msg, source=source, filename=filename, line=line, column=col,
                          width=width)
    err.reason = describe_failure(exc)  # what went wrong alone (a constant's: --at x=0/0)
    return err


# -- many points: a flat tape of numpy calls -----------------------------------------------------

BLOCK = 1 << 14  # points per slice of the tape: measured best in bench/grad.py


class Tape:
    """A topological list compiled once into steps of numpy calls over numbered slots.

    ``run(inputs)`` evaluates every requested output for arrays of points; it is what the Python
    API, ``--points`` and training use. Compiling picks the direct numpy function for each op
    (``a - b`` rather than ``a + (-1)*b``, ``x*x`` for ``x^2``), drops steps nothing needs, and
    frees each slot after its last use, so memory follows the widest point of the graph.

    Variables named in ``static`` (training data) make every step that depends only on them
    computed once by :meth:`prepare`; :meth:`run_prepared` then runs the rest. ``functions``
    (op name -> a function of the op's inputs, taking ``out=`` where it has ``writes_into``)
    takes the place of ops' own functions (training's tanh: ``net/backprop.py``); not of the
    ops the tape writes its own way (``_SPECIAL``). ``rows`` names the nodes whose first axis
    is a batch's rows: a training run then goes a block of rows at a time (cgcalc/rowblocks.py).
    """

    def __init__(self, order, outputs, variables, static=(), functions=None, rows=()):
        import numpy as np
        from operator import itemgetter

        self.np = np
        n_slots = self.n_slots = len(order)
        slot = {n: i for i, n in enumerate(order)}
        self.variables = tuple(variables)
        var_index = {v: k for k, v in enumerate(self.variables)}
        self.outputs = [slot[o] for o in outputs]
        # keep only what an output needs: one pass from the outputs down, each needed step
        # compiled on the way, so an input its function skips is not needed for it (a - b is
        # stored as a + (-1)*b and runs as subtract(a, b): (-1)*b is not computed)
        needed = [False] * n_slots
        for i in self.outputs:
            needed[i] = True
        compiled: dict = {}
        bound = dict(functions or {})  # op -> its numpy function
        if not bound.keys() <= ops.OPS.keys() - _SPECIAL:
            raise ValueError("no op's function to replace: "
                             f"{sorted(bound.keys() - (ops.OPS.keys() - _SPECIAL))}")
        for i in range(n_slots - 1, -1, -1):
            if needed[i] and order[i].op not in ("var", "const"):
                fn, args = compiled[i] = _compiled(np, order[i], slot, bound)
                for a in args:
                    needed[a] = True
        # one pass up: each needed step's function and inputs, what depends on data alone,
        # and where each slot is used last
        static = set(static)
        fixed = [False] * n_slots  # depends only on constants and static variables
        last_use = [-1] * n_slots
        plan = []
        self.var_slots, self.static_var_slots, self.consts = [], [], []
        for i, n in enumerate(order):
            if not needed[i]:
                continue
            op = n.op
            if op == "var":
                fixed[i] = n.value in static
                (self.static_var_slots if fixed[i] else self.var_slots).append(
                    (i, var_index[n.value]))
                continue
            if op == "const":
                fixed[i] = True
                self.consts.append((i, as_float(n.value)))
                continue
            fn, args = compiled[i]
            fixed[i] = all(fixed[a] for a in args)
            for a in args:
                last_use[a] = i
            plan.append((i, fn, args))
        kept = set(self.outputs)
        self.row_slots = frozenset(slot[n] for n in rows if n in slot)
        # each step's input slots and how it treats the batch's rows (the table's ``rows``)
        self.step_args, self.step_rules = {}, {}
        self.static_steps, self.steps = [], []
        # numpy calls a run makes, a step that stands for two nodes (A' @ G and its transpose,
        # the columns of a product) counted as the two steps they would be: what training
        # weighs against writing the step out as float code
        self.calls = 0
        inside: set = set()  # nodes computed inside such steps (once each, however many use them)
        for i, fn, args in plan:
            free = tuple({a for a in args if last_use[a] == i and not fixed[a]
                          and a not in kept})
            step = (fn, i, itemgetter(*args), len(args) == 1, free)
            (self.static_steps if fixed[i] else self.steps).append(step)
            self.step_args[i], self.step_rules[i] = args, ops.OPS[order[i].op].rows
            if not fixed[i]:
                self.calls += 1
                if getattr(fn, "takes_input", False):  # the node's input is computed inside
                    inner = slot[order[i].args[0]]
                    if not needed[inner] and inner not in inside and \
                            not all(fixed[a] for a in fn.input_slots(args)):
                        inside.add(inner)  # a step of its own otherwise, which nothing else
                        self.calls += 1    # needed (and not one prepare() would run)

    def prepare(self, inputs):
        """The slots that depend only on constants and static variables, filled in once."""
        np = self.np
        mem: list = [None] * self.n_slots
        for i, v in self.consts:
            mem[i] = v
        for i, k in self.static_var_slots:
            mem[i] = inputs[k]
        with np.errstate(all="ignore"):
            _execute(self.static_steps, mem)
        return mem

    def run_prepared(self, template, inputs, buffers=None):
        """Run the steps that depend on ``inputs``. With ``buffers`` (a dict kept by the caller
        between runs of the same shapes, as in training), a tape that knows its batch's rows
        (``rows``) runs whole the first time, and from then on a block of rows at a time
        (cgcalc/rowblocks.py: the plan is kept in ``buffers["blocks"]``, False where blocks do
        not suit, or once a block's step has failed). Otherwise each step writes into the
        array it made last time instead of a new one: large arrays then skip the allocator's
        fresh pages (measured in bench/train.py), and large steps run in bands of rows on
        every core when the BLAS is set aside (cgcalc/parallel.py). The outputs are only valid
        until the next such run."""
        mem = template.copy()
        for i, k in self.var_slots:
            mem[i] = inputs[k]
        plan = buffers.get("blocks") if buffers is not None and self.row_slots else None
        if plan:
            try:
                with self.np.errstate(all="ignore"):
                    return plan.run(mem)
            except (ValueError, TypeError):  # a step that would not fill a block's array:
                buffers["blocks"] = False     # whole runs from now on, as the first was
                mem = template.copy()
                for i, k in self.var_slots:
                    mem[i] = inputs[k]
        with self.np.errstate(all="ignore"):
            if buffers is None:
                _execute(self.steps, mem)
            else:
                _execute_into(self.steps, mem, buffers, self.np)
        if plan is None and buffers is not None and self.row_slots:
            # sized by this whole run, later runs go a block of rows at a time
            from .rowblocks import plan as blocks_of

            plan = buffers["blocks"] = blocks_of(self, mem, self.np) or False
            if plan:  # the whole run's arrays are not needed again
                for k in [k for k in buffers if k != "blocks"]:
                    del buffers[k]
        return [mem[o] for o in self.outputs]

    def run(self, inputs, block=None, threads=None):
        """``inputs``: one array (or float) per variable, in ``variables`` order.

        With ``block``, 1-d inputs are evaluated a slice at a time so intermediates stay in
        cache, the slices shared among at most ``threads`` threads (by default, and at most,
        the cores this process may use: cgcalc/parallel.py; numpy lets go of the interpreter
        inside each call, so the cores work at once). The results are the same, bit for bit."""
        from . import parallel

        np = self.np
        n = max((np.size(a) for a in inputs), default=0)
        if not (block and n > block and all(np.ndim(a) <= 1 for a in inputs)):
            return self._run(inputs)
        starts = range(0, n, block)
        outs = [np.empty(n) for _ in self.outputs]  # every output is a float per point

        def one(start):
            part = [a[start:start + block] if np.ndim(a) else a for a in inputs]
            for o, r in zip(outs, self._run(part)):
                o[start:start + block] = r

        # on Ctrl-C the slices not started are dropped
        parallel.share(one, starts, min(threads or parallel.cores(), len(starts)))
        return outs

    def _run(self, inputs):
        return self.run_prepared(self.prepare(inputs), inputs)


def _execute_into(steps, mem, buffers, np):
    from . import parallel

    bands, products = parallel.bands() > 1, parallel.product_bands() > 1
    run: list = []  # steps that run in bands, waiting to run together (see _run)
    for step in steps:
        fn, out, get, single, free = step
        buf = buffers.get(out)
        if buf is not None:  # only steps that fill a given array have one (below)
            args = (get(mem),) if single else get(mem)
            cut = parallel.how_cut(fn, np)
            is_mm = cut == "product"
            if cut and (products if is_mm else bands) and \
                    parallel.worth_bands(args, buf, is_mm, fn if is_mm else None):
                if run and not _joins(run, args, buf, is_mm, np, parallel):
                    _run(run, mem, buffers)
                    args = (get(mem),) if single else get(mem)  # made again if it fell back
                run.append((fn, args, buf, is_mm, step))
                mem[out] = buf  # filled when the run runs; read by later steps of the run only
                continue
            if run:
                _run(run, mem, buffers)
                args = (get(mem),) if single else get(mem)
            try:
                mem[out] = fn(*args, out=buf)
                continue
            except (ValueError, TypeError):
                buffers.pop(out, None)
        elif run:
            _run(run, mem, buffers)
        r = fn(get(mem)) if single else fn(*get(mem))
        mem[out] = r
        if parallel.fills(fn, np) and getattr(r, "ndim", 0) and \
                (r.size > 4096 or parallel.how_cut(fn, np) == "product"):
            buffers[out] = r  # a ufunc, or a value that fills a given array (see _ProductCols)
    if run:
        _run(run, mem, buffers)


def _joins(run, args, out, matmul, np, parallel):
    """Whether a step may run in the same bands as ``run``: its rows are theirs, and what it
    reads whole is none of their outputs (those are only complete after the run)."""
    if out.shape[0] != run[0][2].shape[0]:
        return False
    return not any(np.may_share_memory(a, r[2]) for a in parallel.whole_inputs(args, out, matmul)
                   if getattr(a, "ndim", 0) for r in run)


def _run(run, mem, buffers):
    """Run the waiting steps in bands, each band all of them on its rows (the cores meet once
    for the run); on a fault, each on its own again without buffers, as a step would."""
    from . import parallel

    try:
        parallel.run_in_bands([(fn, args, buf, is_mm) for fn, args, buf, is_mm, _ in run])
    except (ValueError, TypeError):
        for fn, args, buf, is_mm, (_, out, get, single, _) in run:
            buffers.pop(out, None)
            mem[out] = fn(get(mem)) if single else fn(*get(mem))
    run.clear()


def _execute(steps, mem):
    for fn, out, get, single, free in steps:
        mem[out] = fn(get(mem)) if single else fn(*get(mem))
        for s in free:
            mem[s] = None


_SPECIAL = {"add", "mul", "pow", "cols", "matmul"}  # ops _compiled writes cheaper for some shapes


def _minus_one(node):
    return node.op == "const" and node.value == -1


def _compiled(np, n, slot, bound):
    """(function, input slots) for node ``n``: the op's own numpy function, or a cheaper one
    for the shapes the simplifier leaves (``a + (-1)*b``, ``x^2``, ``x^-1``, ``(-1)*x``).
    ``bound`` caches each op's function (and holds the tape's replacements)."""
    op, args = n.op, n.args
    if op not in _SPECIAL:
        fn = bound.get(op)
        if fn is None:
            fn = bound[op] = ops.OPS[op].bind(np)
        return fn, tuple([slot[a] for a in args])
    if op == "add" and len(args) == 2:
        a, b = args
        if b.op == "mul" and len(b.args) == 2 and _minus_one(b.args[0]):
            return np.subtract, (slot[a], slot[b.args[1]])
        return np.add, (slot[a], slot[b])
    if op == "mul" and len(args) == 2:
        if _minus_one(args[0]):
            return np.negative, (slot[args[1]],)
        return np.multiply, (slot[args[0]], slot[args[1]])
    if op == "pow" and args[1].op == "const":
        if args[1].value == 2:
            return np.square, (slot[args[0]],)
        if args[1].value == -1:
            # numpy's divide, on numbers too: a step of constants runs on Python numbers,
            # where 1.0/0 raises ZeroDivisionError; inf at 0, as everywhere else
            return partial(np.divide, 1.0), (slot[args[0]],)
    if op == "matmul" and args[0].op == "transpose":
        return _TransposedProduct(np), (slot[args[0].args[0]], slot[args[1]])
    if op == "cols" and args[0].op == "matmul":
        a, b = args[0].args
        return _ProductCols(np, int(args[1].value), int(args[2].value)), (slot[a], slot[b])
    if op in ("add", "mul"):  # three or more inputs: one pass of binary ufunc calls
        return (_sum if op == "add" else _product), tuple(slot[a] for a in args)
    return ops.OPS[op].bind(np), tuple(slot[a] for a in args)


class _ProductCols:
    """``cols(A @ B, i, j)`` run as ``A @ B[:, i:j]``: only the columns kept are multiplied out
    (a gradient sent back through a join ``[H, 1]`` drops the ones' column), into an array of
    their own, which later elementwise steps read much faster than a slice of a wider one; the
    same numbers up to rounding (the BLAS may order a narrower product's sums its own way).
    With an inner size of 1 it is a broadcast multiply, each product added to 0.0 as the BLAS's
    sums start (so -0.0 comes out 0.0, as from the matrix product): the same bits, at half the
    time (bench/train.py). ``A`` and ``B`` are matrices (the shape rules of ``@`` and ``cols``)."""

    writes_into = True  # takes out=, row by row
    bands = "product"  # cut into bands as a matrix product is: its left factor's rows
    takes_input = True  # the product (the node's input) is computed here
    __name__ = "matmul_columns"  # (as a ufunc's, in profiles)

    def __init__(self, np, i, j):
        self.np, self.i, self.j = np, i, j
        self.cut_key = ("columns", i, j)  # (cgcalc/parallel.py: one answer for every such step)

    @staticmethod
    def input_slots(args):
        return args  # the product's factors

    def __call__(self, a, b, out=None):
        np = self.np
        b = b[:, self.i:self.j]
        if a.shape[1] == 1:
            r = np.multiply(a, b, out=out)
            return np.add(r, 0.0, out=r)
        return np.matmul(a, b, out=out)


class _TransposedProduct:
    """``A' @ G`` (a weight's gradient: the inner size is the batch's rows) as the sum of two
    halves of the rows, ``A[:h]' @ G[:h] + A[h:]' @ G[h:]``, one per core where the BLAS is set
    aside (cgcalc/parallel.py); each half reads its own rows of both factors, where bands of the
    output's rows would each read all of them (bench/train.py: 2-64-64-1's middle weights,
    3.6 ms whole, 2.5 ms in halves). Whether and where it is cut depends on the shapes alone, so
    the numbers are the same on however many cores cgcalc uses (the BLAS's own thread count
    aside, which changes the last bits of any product). ``A`` and ``G`` are matrices."""

    writes_into = True  # takes out=, but not row by row: the output's rows are not the inputs'
    bands = None  # never cut into bands of rows
    takes_input = True  # the transpose (the node's input) is computed here
    __name__ = "matmul_halves"
    # multiply-adds below WORK, or fewer entries than FEW (a vector: [H, 1]' @ d for one output;
    # a 3 x 64 first layer's weights), and it runs whole: halves on two cores do not shorten a
    # pass over memory, and one after the other (minibatches) they cost an add more (measured
    # on 2-64-64-1's three weights, and on 65 x 64 at 128 and 256 rows)
    WORK, FEW = 1 << 22, 1024

    def __init__(self, np):
        self.np = np

    @staticmethod
    def input_slots(args):
        return args[:1]  # the transpose's input

    def in_blocks(self, a, g, out=None):
        """One block's share: its rows of ``A' @ G``, whole (cgcalc/rowblocks.py)."""
        return self.np.matmul(a.T, g, out=out)

    in_blocks.writes_into = True

    def __call__(self, a, g, out=None):
        from . import parallel

        np = self.np
        k, p, q = a.shape[0], a.shape[1], g.shape[1]
        if k * p * q < self.WORK or p * q < self.FEW or k < 2 * parallel.ALIGN:
            return np.matmul(a.T, g, out=out)
        h = k // 2 // parallel.ALIGN * parallel.ALIGN
        first = np.empty((p, q)) if out is None else out
        second = []
        state = np.geterr()  # numpy's error state is each thread's own: the caller's, in both

        def half(j):
            with np.errstate(**state):
                if j == 0:
                    np.matmul(a[:h].T, g[:h], out=first)
                else:
                    second.append(np.matmul(a[h:].T, g[h:]))

        parallel.share(half, (0, 1), min(2, parallel.product_bands()))
        return np.add(first, second[0], out=first)


def _sum(*xs):
    r = xs[0] + xs[1]
    for x in xs[2:]:
        r = r + x
    return r


def _product(*xs):
    r = xs[0] * xs[1]
    for x in xs[2:]:
        r = r * x
    return r


def run_rows(reader, tape, variables, writer, block=BLOCK):
    """Read chunks of points, run the tape on each (value and derivatives together), hand the
    rows on to ``writer``. Returns (rows, rows with an output that is not a finite number, line
    of the first such row)."""
    import numpy as np

    total = bad = 0
    first_bad = None
    for chunk in reader:
        n = len(chunk)
        results = tape.run([chunk.columns[v] for v in variables], block=block)
        outs = [np.broadcast_to(np.asarray(r, dtype=float), (n,)) for r in results]
        nan_out = np.zeros(n, dtype=bool)  # nan (outside a domain) or inf (too large)
        for o in outs:
            nan_out |= ~np.isfinite(o)
        if nan_out.any():
            bad += int(nan_out.sum())
            if first_bad is None:
                first_bad = chunk.lines[int(np.argmax(nan_out))]
        writer.write(chunk, outs)
        total += n
    writer.close()
    return total, bad, first_bad
