"""Network files: declarations, shapes, data, parameters, training and checking.

A network is one more composite function: its equations build a graph with the same builder,
op table and derivative machinery as any expression; the only new thing is that values are
arrays. Rows of data are the batch: an ``input X[2]`` is an m x 2 matrix, ``m`` the number of
rows, which stays a name (``m``) in the symbolic derivatives.
"""

from __future__ import annotations

import os
from math import prod

from . import ops
from .errors import BAD_INPUT, FAILURE, CgcalcError, suggest
from .graph import Builder, Graph, build, topological
from .parse import Statement, ToAst, _syntax_error

BATCH = "m"
OPTIONS = {"epochs": int, "rate": float, "seed": int}
INITS = {"uniform": 2, "normal": 2}


# -- parsing ---------------------------------------------------------------------------------------

class Decl:
    __slots__ = ("kind", "name", "dims", "init", "line", "column", "width")

    def __init__(self, kind, tok, dims, init=None):
        self.kind, self.name, self.dims, self.init = kind, tok.value, dims, init
        self.line, self.column, self.width = tok.line, tok.column, len(tok.value)


class Spec:
    """What a .net file says, with where it says it."""

    def __init__(self):
        self.decls: list[Decl] = []
        self.equations = []
        self.output = None  # token
        self.minimize = None  # token
        self.rows = []  # (inputs, targets, line)
        self.data_file = None  # token
        self.options = {}  # name -> (value, token)


class ToSpec:
    """The net parser's callbacks (rules of grammar/net.lark, children as a list), collecting
    into ``self.spec``; the expression rules arrive namespaced (``expr__add``, ...) and go to
    the expression language's own callbacks (lark's merge_transformers, done on the class)."""

    def __init__(self):
        self.spec = Spec()

    def shape(self, c):
        return tuple(int(d.value) for d in c)

    def signed(self, toks):
        text = "".join(t.value for t in toks)
        return (float(text), toks[0])

    def init(self, c):
        return (c[0], [v for v, _ in c[1:]])

    def input(self, c):
        self.spec.decls.append(Decl("input", c[0], c[1]))

    def target(self, c):
        self.spec.decls.append(Decl("target", c[0], c[1]))

    def param(self, c):
        self.spec.decls.append(Decl("param", c[0], c[1], c[2] if len(c) > 2 else None))

    def equation(self, c):
        tok, expr = c
        self.spec.equations.append(Statement(tok.value, expr, tok))

    def output(self, c):
        self.spec.output = c[0]

    def minimize(self, c):
        self.spec.minimize = c[0]

    def row(self, items):
        arrow = next(i for i, t in enumerate(items) if not isinstance(t, tuple))
        ins = [v for v, _ in items[:arrow]]
        outs = [v for v, _ in items[arrow + 1:]]
        self.spec.rows.append((ins, outs, items[arrow].line))

    def data(self, rows):  # each row is in the spec already
        return None

    def data_file(self, c):
        self.spec.data_file = c[0]

    def option(self, c):
        tok, value = c
        self.spec.options[tok.value] = (value[0], tok)

    def train(self, options):  # each option is in the spec already
        return None

    def start(self, c):
        return self.spec


for _name, _fn in vars(ToAst).items():
    if not _name.startswith("_") and callable(_fn) and _name != "start":
        setattr(ToSpec, f"expr__{_name}", _fn)
del _name, _fn


def parse_spec(text: str, filename: str) -> Spec:
    from .grammars import parser

    if not text.strip():
        raise CgcalcError("empty network file", source=text, filename=filename)
    p = parser("net", lexer="contextual")
    try:
        return p.parse(text, ToSpec)
    except p.errors.UnexpectedInput as u:
        raise _syntax_error(u, p.errors, text, filename) from None


# -- shapes -----------------------------------------------------------------------------------------

class NetBuilder(Builder):
    """A builder that knows shapes: declared leaves have theirs, every other node's follows from
    its op's shape rule. ``rows(A)`` of a batch matrix is the batch size node ``m``."""

    def __init__(self):
        super().__init__()
        self.shapes: dict[int, tuple] = {}
        self.batch = self.var(BATCH)
        self.shapes[id(self.batch)] = ()

    def declare(self, node, shape):
        self.shapes[id(node)] = shape

    def shape_of(self, node):
        s = self.shapes.get(id(node))
        if s is not None:
            return s
        for n in topological([node]):
            if id(n) not in self.shapes:
                self.shapes[id(n)] = infer_shape(n, [self.shapes[id(a)] for a in n.args])
        return self.shapes[id(node)]

    def rows(self, a):
        s = self.shape_of(a)
        if s and s[0] == BATCH:
            return self.batch
        return self.make("rows", a)

    def size(self, a):
        """The number of entries: the product of the dimensions (m for a batch of rows)."""
        dims = self.shape_of(a)
        if not all(isinstance(d, int) or d == BATCH for d in dims):
            return self.make("size", a)
        k = prod(d for d in dims if d != BATCH)
        batches = [self.batch] * sum(d == BATCH for d in dims)
        if not batches:
            return self.const(k)
        return self.mul(self.const(k), *batches) if k != 1 or len(batches) > 1 else batches[0]


def infer_shape(node, arg_shapes):
    if node.op == "const":
        return ()
    if node.op == "var":
        raise ops.ShapeError(f"{node.value!r} has no declared shape")
    o = ops.OPS[node.op]
    if o.shape is not None:
        return o.shape(arg_shapes, node.args)
    return ops.broadcast(*arg_shapes)


# -- the network ------------------------------------------------------------------------------------

class Network:
    """A loaded .net file: its graph, declarations, data and training options."""

    def __init__(self, text: str, filename: str):
        self.source, self.filename = text, filename
        self.spec = spec = parse_spec(text, filename)
        b = self.builder = NetBuilder()
        self.decls = {}
        declared = {}
        for d in spec.decls:
            if d.name in self.decls or d.name == BATCH:
                raise self._fail(f"{d.name!r} is declared twice" if d.name != BATCH else
                                 f"{BATCH!r} is the number of data rows; use another name", d)
            node = b.var(d.name)
            shape = (BATCH, *d.dims) if d.kind in ("input", "target") else d.dims
            if d.kind in ("input", "target") and len(shape) > 2:
                raise self._fail("an input or target is a row of numbers: one size, as in "
                                 "X[2]", d)
            if d.kind == "param" and d.init is not None:
                self._check_init(d)
            b.declare(node, shape)
            self.decls[d.name] = d
            declared[d.name] = node
        self.params = [d.name for d in spec.decls if d.kind == "param"]
        self.inputs = [d.name for d in spec.decls if d.kind == "input"]
        self.targets = [d.name for d in spec.decls if d.kind == "target"]
        if not self.params:
            raise CgcalcError("the network declares no param: nothing to train", source=text,
                              filename=filename)
        if not spec.equations:
            raise CgcalcError("the network has no equations", source=text, filename=filename)
        if spec.minimize is None:
            raise CgcalcError("missing 'minimize NAME': which node is the cost?", source=text,
                              filename=filename, line=len(text.splitlines()), column=1,
                              hint="add a line such as: minimize C")
        for eq in spec.equations:
            if eq.name == BATCH:
                raise self._fail(f"{BATCH!r} is the number of data rows; use another name", eq)
        # equations may use m, the number of data rows, as the derivatives print it: /m
        self.graph = build(spec.equations, source=text, filename=filename, builder=b,
                           declared={**declared, BATCH: b.batch}, arrays=True)
        bound = self.graph.bound
        self.cost = self._named(spec.minimize, bound, declared)
        self.output = self._named(spec.output, bound, declared) if spec.output else self.cost
        self.output_name = spec.output.value if spec.output else spec.minimize.value
        self.var_nodes = {n: declared[n] for n in declared}
        self.var_nodes[BATCH] = b.batch
        self._check_shapes()
        if b.shape_of(self.cost) != ():
            raise self._fail(f"the cost {spec.minimize.value!r} must be a number, not "
                             f"{ops.show(b.shape_of(self.cost))}; use sum, mean or a cost "
                             f"function", spec.minimize)
        # the graph the derivatives are taken on ends at the cost
        first = self.graph
        self.graph = Graph(b, self.cost, source=text, filename=filename, names=first.user_names,
                           where=first.where, variables=first.variables,
                           output_name=spec.minimize.value)
        self.graph.bound = first.bound
        for name, node in self.var_nodes.items():
            self.graph.names[id(node)] = name
        self.options = self._options()
        self.data = None  # (inputs, targets) arrays, loaded on demand

    # -- checks -------------------------------------------------------------------------------
    def _fail(self, msg, where, hint=None, status=BAD_INPUT):
        return CgcalcError(msg, source=self.source, filename=self.filename,
                           line=where.line, column=where.column,
                           width=getattr(where, "width", None) or len(getattr(where, "value", "")
                                                                       or " "),
                           hint=hint, status=status)

    def _check_init(self, d):
        kind, args = d.init
        if kind.value not in INITS:
            near = suggest(kind.value, INITS)
            raise CgcalcError(f"unknown initialiser {kind.value!r} (uniform(a, b) or "
                              f"normal(mean, std))", source=self.source, filename=self.filename,
                              line=kind.line, column=kind.column, width=len(kind.value),
                              hint=f"did you mean {near}?" if near else None)
        if len(args) != INITS[kind.value]:
            raise CgcalcError(f"{kind.value}() takes {INITS[kind.value]} numbers, got "
                              f"{len(args)}", source=self.source, filename=self.filename,
                              line=kind.line, column=kind.column, width=len(kind.value))

    def _named(self, tok, bound, declared):
        node = bound.get(tok.value) or declared.get(tok.value)
        if node is None:
            near = suggest(tok.value, list(bound) + list(declared))
            raise self._fail(f"unknown name {tok.value!r}", tok,
                             hint=f"did you mean {near}?" if near else None)
        return node

    def _check_shapes(self):
        """Every node's shape, in order; the first mismatch names both shapes and the place."""
        b = self.builder
        order = topological([self.cost, self.output])
        where = self.graph.where
        for n in order:
            if id(n) in b.shapes:
                continue
            try:
                b.shapes[id(n)] = infer_shape(n, [b.shapes[id(a)] for a in n.args])
            except ops.ShapeError as exc:
                line, col, width = where.get(id(n), (1, 1, 1))
                eq = _statement_text(self.source, line)
                hint = f"in the equation: {eq}" if eq else None
                raise CgcalcError(f"shape mismatch: {exc}", source=self.source,
                                  filename=self.filename, line=line, column=col, width=width,
                                  hint=hint) from None

    def _options(self):
        opts = {"epochs": 1000, "rate": 0.1, "seed": 0}
        for name, (value, tok) in self.spec.options.items():
            if name not in OPTIONS:
                near = suggest(name, OPTIONS)
                raise self._fail(f"unknown train option {name!r} (epochs, rate, seed)", tok,
                                 hint=f"did you mean {near}?" if near else None)
            kind = OPTIONS[name]
            if kind is int and (value != int(value) or value < 0):
                raise self._fail(f"train option {name} must be a whole number >= 0", tok)
            if name == "rate" and not value > 0:
                raise self._fail("train option rate must be > 0", tok)
            opts[name] = kind(value)
        return opts

    # -- shapes of things -----------------------------------------------------------------------
    def shape(self, name):
        return self.builder.shape_of(self.var_nodes[name])

    def width(self, names):
        return sum(prod(self.shape(n)[1:]) for n in names)

    # -- data -------------------------------------------------------------------------------------
    def load_data(self):
        import numpy as np

        if self.data is not None:
            return self.data
        n_in, n_out = self.width(self.inputs), self.width(self.targets)
        if self.spec.data_file is not None:
            rows = self._read_data_file(n_in + n_out)
        else:
            rows = []
            for ins, outs, line in self.spec.rows:
                if len(ins) != n_in or len(outs) != n_out:
                    raise CgcalcError(
                        f"data row has {len(ins)} -> {len(outs)} numbers; the network takes "
                        f"{n_in} -> {n_out} ({', '.join(self.inputs)} -> "
                        f"{', '.join(self.targets)})", source=self.source, filename=self.filename,
                        line=line, column=1, width=len(self.source.splitlines()[line - 1]))
                rows.append(ins + outs)
        if not rows:
            raise CgcalcError("the network has no data rows: add data { ... } or "
                              "data \"rows.csv\"", source=self.source, filename=self.filename)
        table = np.array(rows, dtype=float)
        self.data = (table[:, :n_in], table[:, n_in:])
        return self.data

    def use_rows(self, stream, name):
        """Take the data rows (inputs, then targets) from a stream instead of the file: numbers
        separated by commas or spaces, ``->`` allowed between inputs and targets, a header row
        optional."""
        import numpy as np

        from .points import PointReader

        n_in = self.width(self.inputs)
        cols = self.column_names(self.inputs) + self.column_names(self.targets)
        reader = PointReader(_without_arrows(stream), name, cols, header=False)
        chunks = list(reader)
        if not chunks:
            raise CgcalcError(f"no data rows in {name}", filename=name)
        table = np.vstack([np.column_stack([c.columns[k] for k in cols]) for c in chunks])
        self.data = (table[:, :n_in], table[:, n_in:])

    def _read_data_file(self, width):
        tok = self.spec.data_file
        rel = tok.value.strip('"')
        base = os.path.dirname(os.path.abspath(self.filename)) if self.filename else "."
        path = os.path.join(base, rel)
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise self._fail(f"cannot read data file {rel!r}: {exc.strerror}", tok) from None
        from .inputs import decode

        text = decode(raw, path)
        rows = []
        for k, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            cells = [c.strip() for c in line.split(",")]
            try:
                values = [float(c) for c in cells]
            except ValueError:
                if not rows and k == _first_content_line(text):
                    continue  # a header row
                bad = next(c for c in cells if not _is_float(c))
                raise CgcalcError(f"{bad!r} is not a number", source=text, filename=path,
                                  line=k, column=line.find(bad) + 1, width=len(bad)) from None
            if len(values) != width:
                raise CgcalcError(f"expected {width} numbers per row (inputs, then targets), "
                                  f"got {len(values)}", source=text, filename=path, line=k,
                                  column=1, width=len(line))
            rows.append(values)
        return rows

    def column_names(self, names):
        """One name per column: X for a one-column X, else X1, X2, ..."""
        out = []
        for n in names:
            k = self.width([n])
            out += [n] if k == 1 else [f"{n}{i + 1}" for i in range(k)]
        return out

    def split(self, names, table):
        """Columns of a data table -> {name: m x k array}, for the inputs or the targets."""
        out, start = {}, 0
        for n in names:
            k = prod(self.shape(n)[1:])
            out[n] = table[:, start:start + k]
            start += k
        return out

    # -- parameters -----------------------------------------------------------------------------
    def initial_params(self, seed=None):
        """One numpy.random.default_rng(seed) draws every param in the order declared."""
        import numpy as np

        rng = np.random.default_rng(self.options["seed"] if seed is None else seed)
        out = {}
        for name in self.params:
            d = self.decls[name]
            kind, args = ("uniform", [-1.0, 1.0]) if d.init is None else (d.init[0].value,
                                                                          d.init[1])
            if kind == "uniform":
                out[name] = rng.uniform(args[0], args[1], size=d.dims)
            else:
                out[name] = rng.normal(args[0], args[1], size=d.dims)
        return out

    def load_params(self, path):
        import json

        import numpy as np

        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise CgcalcError(f"cannot read params file: {exc.strerror}", filename=path) from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CgcalcError(f"params file is not JSON: {exc.msg}", source=text, filename=path,
                              line=exc.lineno, column=exc.colno) from None
        if not isinstance(doc, dict):
            raise CgcalcError("params file must be a JSON object of arrays", filename=path)
        missing = [p for p in self.params if p not in doc]
        if missing:
            raise CgcalcError(f"params file has no {', '.join(map(repr, missing))}",
                              filename=path)
        out = {}
        for name in self.params:
            try:
                arr = np.array(doc[name], dtype=float)
            except (ValueError, TypeError):
                raise CgcalcError(f"{name!r} is not an array of numbers", filename=path) from None
            want = self.decls[name].dims
            if arr.shape != tuple(want):
                raise CgcalcError(f"{name!r} has shape {ops.show(arr.shape)} in the params "
                                  f"file, but the network declares {ops.show(want)}",
                                  filename=path)
            out[name] = arr
        return out

    @staticmethod
    def save_params(params, path):
        """Atomically: a temporary file beside the target, then a rename."""
        import json
        import tempfile

        folder = os.path.dirname(os.path.abspath(path))
        doc = {k: v.tolist() for k, v in params.items()}
        try:
            fd, tmp = tempfile.mkstemp(prefix=".cgcalc-", suffix=".json", dir=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(doc) + "\n")
            os.replace(tmp, path)
        except OSError as exc:
            raise CgcalcError(f"cannot write params file: {exc.strerror}", filename=path,
                              status=FAILURE) from None

    # -- compiled forms ---------------------------------------------------------------------------
    def variables(self):
        return [*self.inputs, *self.targets, *self.params, BATCH]

    def env(self, params, table=None):
        """Values for every leaf, in :meth:`variables` order."""
        if table is None:
            X, Y = self.load_data()
        else:
            X, Y = table
        ins, tgs = self.split(self.inputs, X), self.split(self.targets, Y)
        values = {**ins, **tgs, **params, BATCH: float(X.shape[0])}
        return [values[v] for v in self.variables()]

    def simplifier(self):
        from .simplify import Simplifier

        atoms = {id(n) for n in self.graph.bound.values()} | \
            {id(n) for n in self.var_nodes.values()}
        return Simplifier(self.builder, atoms - {id(self.cost)})

    def gradients(self, simplified=True):
        """{param: node} for dC/dparam: the backward pass on the graph, then simplified (the
        seed's cancellations happen here, which is also what keeps them finite)."""
        from .derive import reverse_symbolic

        g = self.graph
        nodes = reverse_symbolic(self.builder, g.order, self.cost,
                                 [self.var_nodes[p] for p in self.params])
        if simplified:
            s = self.simplifier()
            nodes = [s(n) for n in nodes]
        return dict(zip(self.params, nodes))

    def tape(self, outputs, static=False):
        """``outputs`` compiled; with ``static``, what depends on the data alone (the bias
        columns, transposes of inputs, 1/m) is computed once per data set, not per run."""
        from .evaluate import Tape

        data = (*self.inputs, *self.targets, BATCH) if static else ()
        return Tape(topological(outputs), outputs, self.variables(), static=data)

    def train_tapes(self):
        """(cost and gradients, gradients alone): the second runs on most epochs."""
        grads = [self.gradients()[p] for p in self.params]
        return self.tape([self.cost, *grads], static=True), self.tape(grads, static=True)

    def predict_tape(self):
        return self.tape([self.output])


class _without_arrows:
    """A binary stream with each ``->`` read as a space (rows written like data rows)."""

    def __init__(self, stream):
        self.stream = stream

    def read1(self, n=-1):
        read = getattr(self.stream, "read1", self.stream.read)
        return read(n).replace(b"->", b"  ")

    read = read1


def _statement_text(source, line):
    lines = source.splitlines()
    return lines[line - 1].split("#")[0].strip() if 1 <= line <= len(lines) else ""


def _is_float(c):
    try:
        float(c)
        return True
    except ValueError:
        return False


def _first_content_line(text):
    for k, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            return k
    return 0


# -- training -----------------------------------------------------------------------------------------

class TrainResult:
    def __init__(self, params, cost, epochs, history, grad_norms, interrupted, every):
        self.params, self.cost, self.epochs = params, cost, epochs
        self.history, self.grad_norms = history, grad_norms
        self.interrupted, self.every = interrupted, every


def train(net: Network, params, epochs, rate, progress=None):
    """Full-batch gradient descent, ``param -= rate * dC/dparam``, on one compiled tape.

    ``progress(epoch, cost)`` is called every so often. Ctrl-C ends the loop and returns what was
    reached (``interrupted``); a cost that is not finite raises (exit status 1) naming the epoch.
    """
    import numpy as np

    full, grads_only = net.train_tapes()
    env = net.env(params)
    names = net.variables()
    slots = [names.index(p) for p in net.params]
    current = {p: np.array(params[p], dtype=float) for p in net.params}
    for p, k in zip(net.params, slots):
        env[k] = current[p]
    full_data, grads_data = full.prepare(env), grads_only.prepare(env)
    buffers: dict | None = {}  # arrays reused from epoch to epoch
    full_buffers: dict = {}
    every = max(1, epochs // 200)
    history, norms = [], {p: [] for p in net.params}
    cost = float("nan")
    done = 0
    interrupted = False
    arrays = [current[p] for p in net.params]  # updated in place: env holds the same arrays
    try:
        for epoch in range(1, epochs + 1):
            watch = epoch % every == 0 or epoch == 1
            if watch:  # the cost too, for the history and to stop on NaN
                out = full.run_prepared(full_data, env, full_buffers)
                cost, grads = float(out[0]), out[1:]
                if not np.isfinite(cost):
                    raise CgcalcError(f"training diverged: the cost is {cost} at epoch {epoch} "
                                      f"(try a smaller --rate)", status=FAILURE)
                history.append(cost)
                for p, grad in zip(net.params, grads):
                    norms[p].append(float(np.sqrt(np.sum(np.square(grad)))))
            else:
                grads = grads_only.run_prepared(grads_data, env, buffers)
                if not buffers:  # nothing large enough to be worth keeping: plain runs
                    buffers = None
            for value, grad in zip(arrays, grads):
                value -= rate * grad
            done = epoch
            if watch and progress is not None:
                progress(epoch, cost)
    except KeyboardInterrupt:
        interrupted = True
    final = float(full.run_prepared(full_data, env)[0])
    if not np.isfinite(final):
        raise CgcalcError(f"training diverged: the cost is {final} after epoch {done} "
                          f"(try a smaller --rate)", status=FAILURE)
    return TrainResult(current, final, done, history, norms, interrupted, every)


def predict_columns(net: Network, params, chunk, columns):
    """The output node's columns for a chunk of input rows (``columns`` in input order)."""
    import numpy as np

    X = np.column_stack([chunk.columns[c] for c in columns])
    P = predict(net, params, X).reshape(X.shape[0], -1)
    return [P[:, k] for k in range(P.shape[1])]


def predict(net: Network, params, X):
    import numpy as np

    tape = net.predict_tape()
    Y = np.zeros((X.shape[0], net.width(net.targets)))
    return np.asarray(tape.run(net.env(params, (X, Y)))[0])


# -- checking gradients ---------------------------------------------------------------------------------

def check(net: Network, params, h=1e-6):
    """For every param entry: reverse mode, forward mode and a central difference of the cost.
    Returns rows (param, index, reverse, forward, numeric)."""
    import numpy as np

    from .derive import forward_symbolic

    b = net.builder
    env = net.env(params)
    names = net.variables()
    reverse = dict(zip(net.params, net.tape([*net.gradients().values()]).run(env)))
    cost_tape = net.tape([net.cost])
    order = net.graph.order
    rows = []
    for p in net.params:
        seed = b.var(f"d_{p}")
        b.declare(seed, b.shape_of(net.var_nodes[p]))
        tan = forward_symbolic(b, order, {id(net.var_nodes[p]): seed})
        t_node = tan.get(id(net.cost), b.const(0))
        from .evaluate import Tape

        t_tape = Tape(topological([t_node]), [t_node], [*names, f"d_{p}"])
        k = names.index(p)
        base = np.array(params[p], dtype=float)
        for idx in np.ndindex(base.shape):
            e = np.zeros_like(base)
            e[idx] = 1.0
            forward = float(t_tape.run([*env, e])[0])
            plus, minus = base.copy(), base.copy()
            plus[idx] += h
            minus[idx] -= h
            env_p, env_m = list(env), list(env)
            env_p[k], env_m[k] = plus, minus
            numeric = (float(cost_tape.run(env_p)[0]) - float(cost_tape.run(env_m)[0])) / (2 * h)
            rows.append((p, idx, float(np.asarray(reverse[p])[idx]), forward, numeric))
    return rows


# -- the seed's derivation, done by the tool: what `cgcalc diff FILE.net` shows ------------------------

class NetDerivation:
    """Nodes with shapes and values, every connection (its local derivative for elementwise ops,
    its backward rule in terms of the adjoint δ flowing in), the paths from the cost to each
    param, and the composed gradients simplified, all at given param values."""

    def __init__(self, net: Network, params, wrt=None, max_paths=20):
        import numpy as np

        from .derive import edges as graph_edges
        from .derive import path_counts, reverse_symbolic, vjp

        self.net, self.params, self.max_paths = net, params, max_paths
        self.wrt = list(wrt or net.params)
        g, b = net.graph, net.builder
        self.graph = g
        self.names = {**{id(n): k for k, n in g.bound.items()},
                      **{id(n): k for k, n in net.var_nodes.items()}}
        for n in g.order:
            if id(n) not in self.names and n.op != "const":
                self.names[id(n)] = g.names.get(id(n))
        self.edges = graph_edges(g, sources={id(net.var_nodes[p]) for p in net.params})
        adj: dict = {}
        grads = reverse_symbolic(b, g.order, net.cost, [net.var_nodes[p] for p in self.wrt],
                                 adjoints=adj)
        self.adjoint_nodes = adj
        contributions = [vjp(b, e.out, e.index, adj[id(e.out)]) for e in self.edges]
        outs = [*g.order, *grads, *contributions]
        values = net.tape(outs).run(net.env(params))
        k = len(g.order)
        self.values = {id(n): np.asarray(v) for n, v in zip(g.order, values[:k])}
        self.grad_values = dict(zip(self.wrt, [np.asarray(v) for v in values[k:k + len(grads)]]))
        self.edge_values = [np.asarray(v) for v in values[k + len(grads):]]
        simp = net.simplifier()
        self.gradients = {p: simp(gnode) for p, gnode in zip(self.wrt, grads)}
        self.counts = path_counts(g.order, net.cost)

    def name(self, node):
        return self.names.get(id(node))

    def shape(self, node):
        return self.net.builder.shape_of(node)

    def definition(self, node):
        from .printer import to_text

        atoms = {id(a): self.name(a) for a in node.args if self.name(a)}
        return to_text(node, atoms)

    def local(self, edge, style=None):
        """The elementwise connection derivative (None for array ops)."""
        from .derive import connection
        from .simplify import Simplifier

        if not ops.OPS[edge.out.op].elementwise:
            return None
        atoms = {id(a) for a in edge.out.args} | {id(edge.out)}
        node = Simplifier(self.net.builder, atoms)(connection(self.net.builder, edge.out,
                                                              edge.index))
        names = {id(a): self.name(a) for a in edge.out.args if self.name(a)}
        names[id(edge.out)] = self.name(edge.out)  # sigmoid'(z) reads as L3 (1 - L3)
        return self._print(node, names, style)

    def backward(self, edge, style=None):
        """δ(input) from this connection, in terms of δ(output)."""
        from .derive import vjp
        from .simplify import Simplifier

        b = self.net.builder
        out_name = self.name(edge.out)
        delta = b.var(f"δ{out_name}")
        b.declare(delta, self.shape(edge.out))
        node = vjp(b, edge.out, edge.index, delta)
        atoms = {id(a) for a in edge.out.args} | {id(delta), id(edge.out)}
        node = Simplifier(b, atoms)(node)
        names = {id(a): self.name(a) for a in edge.out.args if self.name(a)}
        names[id(delta)] = f"δ{out_name}"
        names[id(edge.out)] = out_name
        return self._print(node, names, style)

    @staticmethod
    def _print(node, names, style):
        """``style``: the printer's PLAIN (cgcalc syntax, the default), MATH or MATH_LATEX."""
        from .printer import PLAIN, to_text

        return to_text(node, names, style or PLAIN)

    def paths(self, param):
        from .derive import list_paths

        g = self.graph
        return list_paths(g.order, self.net.cost, self.net.var_nodes[param], self.max_paths)

    def count(self, param):
        return self.counts.get(id(self.net.var_nodes[param]), 0)

    def gradient_text(self, param, style=None, own_names_only=False):
        """The simplified gradient; ``own_names_only`` keeps just the file's names (inputs,
        params, equations), so the text stands on its own as an expression in them."""
        names = self.names
        if own_names_only:
            own = {*self.net.graph.bound, *self.net.var_nodes}
            names = {k: v for k, v in names.items() if v in own}
        return self._print(self.gradients[param], names, style)
