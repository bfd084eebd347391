"""A network as a graph with shapes: the declarations become leaves of known shape, the equations
build the graph (once) with the expression language's builder and op table, and every node's
shape follows from its op's shape rule. Rows of data are the batch: an ``input X[2]`` is an
m x 2 matrix, and ``m``, the number of rows, stays a name in the symbolic derivatives.

Nothing here reads a file or runs the graph: cgcalc/net/data.py reads rows, params.py makes and
reads params, backprop.py and train.py run it.
"""

from __future__ import annotations

import math
from math import prod

from .. import arraymath, ops
from ..errors import BAD_INPUT, CgcalcError, source_lines, suggest
from ..graph import Builder, Graph, bind
from ..limits import check_entries
from ..walk import topological
from .options import defaults, option
from .spec import parse_spec, whole
from .unroll import unroll

BATCH = "m"
INITS = {"uniform": 2, "normal": 2}
CLASSES = ("softmax", "log_softmax", "softmax_cross_entropy")  # row-wise, over the classes


def _rows(b, a):
    """rows(A): for a matrix of the batch, the name m."""
    s = b.shape_of(a)
    return b.batch if s and s[0] == BATCH else b.node("rows", a)


def _size(b, a):
    """size(A): the number of entries, the product of the dimensions (m for a batch)."""
    dims = b.shape_of(a)
    if not all(isinstance(d, int) or d == BATCH for d in dims):
        return b.node("size", a)
    k = prod(d for d in dims if d != BATCH)
    batches = [b.batch] * sum(d == BATCH for d in dims)
    if not batches:
        return b.const(k)
    return b.mul(b.const(k), *batches) if k != 1 or len(batches) > 1 else batches[0]


def _zeros(b, *args):
    """zeros(k): m rows of k zeros (as written); zeros(m, k) (as it prints)."""
    return b.node("zeros", b.batch, *args) if len(args) == 1 else b.node("zeros", *args)


class NetBuilder(Builder):
    """A builder that knows shapes: declared leaves have theirs, every other node's follows from
    its op's shape rule."""

    MAKERS = {"rows": _rows, "size": _size, "zeros": _zeros}

    def __init__(self):
        super().__init__()
        self.shapes: dict = {}  # node -> shape
        self.batch = self.var(BATCH)
        self.shapes[self.batch] = ()

    def declare(self, node, shape):
        self.shapes[node] = shape

    def shape_of(self, node):
        s = self.shapes.get(node)
        if s is not None:
            return s
        shapes = self.shapes
        for n in topological([node], skip=shapes):
            shapes[n] = infer_shape(n, [shapes[a] for a in n.args])
        return shapes[node]


def infer_shape(node, arg_shapes):
    if node.op == "const":
        return ()
    if node.op == "var":
        raise arraymath.ShapeError(f"{node.value!r} has no declared shape")
    o = ops.OPS[node.op]
    if o.shape is not None:
        return o.shape(arg_shapes, node.args)
    return arraymath.broadcast(*arg_shapes)


class Network:
    """A network file, built: declarations, the graph ending at the cost, the output node, the
    training options; ``source`` and ``filename`` place every error."""

    def __init__(self, text: str, filename: str):
        self.source, self.filename = text, filename
        self.spec = spec = parse_spec(text, filename)
        b = self.builder = NetBuilder()
        self.decls = {}
        declared = {}
        self.steps = self._steps()
        for d in spec.decls:
            self._declare(d, declared)
        self.params = [d.name for d in spec.decls if d.kind == "param"]
        self.param_names = frozenset(self.params)  # is this name a param: looked up, not searched
        self.inputs = [d.name for d in spec.decls if d.kind == "input"]
        self.targets = [d.name for d in spec.decls if d.kind == "target"]
        if not self.params:
            raise CgcalcError("the network declares no param: nothing to train", source=text,
                              filename=filename)
        if not spec.equations:
            raise CgcalcError("the network has no equations", source=text, filename=filename)
        if spec.minimize is None:
            raise CgcalcError("missing 'minimize NAME': which node is the cost?", source=text,
                              filename=filename, line=len(source_lines(text)), column=1,
                              hint="add a line such as: minimize C")
        for eq in spec.equations:
            if eq.name == BATCH:
                raise self._fail(f"{BATCH!r} is the number of data rows; use another name", eq)
        # equations may use m, the number of data rows, as the derivatives print it: /m
        self.recurrence = None
        if self.steps:
            program, self.recurrence = unroll(spec, {**declared, BATCH: b.batch}, b, text,
                                              filename, self.steps)
        else:
            program = bind(spec.equations, source=text, filename=filename, builder=b,
                           declared={**declared, BATCH: b.batch}, arrays=True)
        self.cost = self._named(spec.minimize, program.bound, declared)
        self.output = (self._named(spec.output, program.bound, declared, output=True)
                       if spec.output else None)
        self.output_name = spec.output.value if spec.output else None
        # a classifier: its output is a softmax (predictions add the class of each row)
        self.classifier = self.output is not None and self.output.op == "softmax"
        self.cost_name = spec.minimize.value
        self.var_nodes = {**declared, BATCH: b.batch}
        self._check_shapes(program.where)
        if b.shape_of(self.cost) != ():
            raise self._fail(f"the cost {self.cost_name!r} must be a number, not "
                             f"{arraymath.show(b.shape_of(self.cost))}; use sum, mean or a cost "
                             f"function", spec.minimize)
        out_shape = b.shape_of(self.output) if self.output is not None else None
        if out_shape is not None and (len(out_shape) != 2 or out_shape[0] != BATCH):
            # (predictions are a row per data row, the output's columns beside the inputs)
            raise self._fail(f"the output {self.output_name!r} must have a row per data row "
                             f"(m x k), not {arraymath.show(out_shape)}", spec.output,
                             hint="output names what the network predicts for each row, "
                                  "such as its last layer")
        # the graph the derivatives are taken on ends at the cost
        self.graph = Graph(b, self.cost, source=text, filename=filename, names=program.names,
                           where=program.where, variables=program.variables,
                           output_name=self.cost_name, bound=program.bound)
        for name, node in self.var_nodes.items():
            self.graph.names[node] = name
        self._check_classes(program.where)
        self.options = {**defaults(), **{name: option(name, value, self._fail, tok)
                                         for name, (value, tok) in spec.options.items()}}

    # -- declarations and checks ----------------------------------------------------------------
    def _declare(self, d, declared):
        if d.name in self.decls or d.name == BATCH:
            raise self._fail(f"{d.name!r} is declared twice" if d.name != BATCH else
                             f"{BATCH!r} is the number of data rows; use another name", d)
        if d.name in ops.CONSTANTS or d.name in ops.OPS or d.name in ops.ALIASES:
            what = "constant" if d.name in ops.CONSTANTS else "function"
            raise self._fail(f"{d.name!r} is a {what} name and cannot be declared", d)
        if d.kind in ("input", "target") and len(d.dims) > 1:
            raise self._fail("an input or target is a row of numbers: one size, as in X[2] "
                             "(or x[t, 2] for a sequence)", d)
        if d.time is not None and (d.time.value != "t" or d.kind == "param"):
            raise self._fail("only an input or target may be a sequence, declared [t, size]"
                             if d.time.value == "t" else
                             f"a size is a whole number (or t, for a sequence), not "
                             f"{d.time.value!r}", d.time)
        if d.time is not None and self.spec.steps is None:
            raise self._fail(f"{d.name}[t, ...] is a sequence: the file needs a 'steps T' line",
                             d.time)
        if any(k == 0 for k in d.dims):
            raise self._fail(f"{d.name!r} has a dimension of size 0", d)
        check_entries(prod(d.dims), f"the {d.kind} {d.name!r}", source=self.source,
                      filename=self.filename, line=d.line, column=d.column, width=d.width)
        if d.kind == "param" and d.init is not None:
            self._check_init(d)
        node = self.builder.var(d.name)
        if d.time is not None:  # a sequence: the data row holds its steps one after another
            shape = (BATCH, self.steps * d.dims[0])
        else:
            shape = (BATCH, *d.dims) if d.kind in ("input", "target") else d.dims
        self.builder.declare(node, shape)
        self.decls[d.name] = d
        declared[d.name] = node

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
            raise self._fail(f"unknown initialiser {kind.value!r} (uniform(a, b) or "
                             f"normal(mean, std))", kind,
                             hint=f"did you mean {near}?" if near else None)
        if len(args) != INITS[kind.value]:
            raise self._fail(f"{kind.value}() takes {INITS[kind.value]} numbers, got "
                             f"{len(args)}", kind)
        if not all(math.isfinite(a) for a in args):
            raise self._fail(f"{kind.value}() takes finite numbers", kind)
        if kind.value == "uniform" and args[0] > args[1]:
            raise self._fail(f"uniform(a, b) needs a <= b, not {args[0]:g} > {args[1]:g}", kind)
        if kind.value == "normal" and args[1] < 0:
            raise self._fail(f"normal(mean, std) needs std >= 0, not {args[1]:g}", kind)
        # what is drawn stays a float: the range's width, or the mean and 10 stds beside it
        # (a normal draw beyond 10 stds has a chance of 1e-23)
        reach = args[1] - args[0] if kind.value == "uniform" else abs(args[0]) + 10 * args[1]
        if not math.isfinite(reach):
            raise self._fail(f"{kind.value}({args[0]:g}, {args[1]:g}) draws numbers past what a "
                             f"float holds (about 1.8e308)", kind,
                             hint="the range (or the mean and 10 stds) must stay within it")

    def _steps(self):
        """T of a recurrent network (its 'steps T' line), or 0 for a feed-forward one."""
        tok = self.spec.steps
        timed = [eq for eq in self.spec.equations if eq.index is not None]
        if tok is None:
            if timed:
                raise self._fail(f"{timed[0].name}[{timed[0].index}] = ...: a time-indexed "
                                 f"equation needs a 'steps T' line", timed[0])
            return 0
        steps = whole(tok.value)
        if steps < 1:
            raise self._fail("steps T needs at least one step", tok)
        if steps > 100_000:
            raise self._fail("steps T: at most 100,000 steps", tok)
        return steps

    def _named(self, tok, bound, declared, output=False):
        """The node of the name in an 'output' or 'minimize' line; a time-indexed output is
        its steps side by side (m x T*k: one column per step)."""
        rec = self.recurrence
        if rec is not None and tok.value in rec.templates:
            if not output:
                raise self._fail(f"{tok.value} has a value at each step: the cost is one number "
                                 f"(sum_t(...) or mean_t(...) adds the steps)", tok)
            steps = [rec.nodes[(tok.value, t)] for t in range(1, rec.steps + 1)]
            return steps[0] if len(steps) == 1 else self.builder.join(*steps)
        node = bound.get(tok.value) or declared.get(tok.value)
        if node is None:
            near = suggest(tok.value, list(bound) + list(declared))
            raise self._fail(f"unknown name {tok.value!r}", tok,
                             hint=f"did you mean {near}?" if near else None)
        return node

    def _check_shapes(self, where):
        """Every node's shape, in order; the first mismatch names both shapes and the place."""
        b = self.builder
        roots = [self.cost] + ([self.output] if self.output is not None else [])
        for n in topological(roots, skip=b.shapes):
            try:
                b.shapes[n] = infer_shape(n, [b.shapes[a] for a in n.args])
            except arraymath.ShapeError as exc:
                line, col, width = where.get(n, (1, 1, 1))
                eq = _statement_text(self.source, line)
                raise CgcalcError(f"shape mismatch: {exc}", source=self.source,
                                  filename=self.filename, line=line, column=col, width=width,
                                  hint=f"in the equation: {eq}" if eq else None) from None
            fixed = prod(d for d in b.shapes[n] if isinstance(d, int))
            if fixed > 1:
                line, col, width = where.get(n, (1, 1, 1))
                check_entries(fixed, "a row of this node", source=self.source,
                              filename=self.filename, line=line, column=col, width=width)

    def _check_classes(self, where):
        """A softmax of one column is 1 on every row (its cross-entropy 0 whatever the params,
        its class always the first): a classifier needs two classes or more. The targets of
        softmax_cross_entropy are the rows of a declared target or input (or one step of
        one, ``y[t]``): those rows are checked to be distributions as they are read, which
        its derivative ``(softmax(Z) - Y)/m`` needs (of ``2*Y`` it would be wrong)."""
        roots = [self.cost] + ([self.output] if self.output is not None else [])
        declared = {self.var_nodes[v] for v in self.inputs + self.targets}
        for n in topological(roots):
            if n.op == "softmax_cross_entropy" and not declared_rows(n.args[1], declared):
                line, col, width = where.get(n, (1, 1, 1))
                raise CgcalcError("softmax_cross_entropy takes its targets as declared (a "
                                  "target or input, or one step of one): rows made by an "
                                  "expression are not known to be distributions, which its "
                                  "derivative (softmax(Z) - Y)/m needs", source=self.source,
                                  filename=self.filename, line=line, column=col, width=width,
                                  hint="write the cost out: -sum(T * log_softmax(Z))/m")
            if n.op in CLASSES and self.builder.shape_of(n.args[0])[-1] == 1:
                line, col, width = where.get(n, (1, 1, 1))
                raise CgcalcError(f"{n.op} over one column: a classifier needs at least 2 "
                                  f"classes, one column each (with one column, softmax is 1 "
                                  f"on every row)", source=self.source, filename=self.filename,
                                  line=line, column=col, width=width,
                                  hint="for two classes in one column, use sigmoid and "
                                       "cross_entropy")

    # -- columns and shapes ---------------------------------------------------------------------
    def shape(self, name):
        return self.builder.shape_of(self.var_nodes[name])

    def width(self, names):
        return sum(prod(self.shape(n)[1:]) for n in names)

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

    def output_columns(self):
        """The output node's column names in predictions: L3, or L31, L32, ... for several."""
        k = prod(self.builder.shape_of(self.output)[1:])
        return [self.output_name] if k == 1 else [f"{self.output_name}{i + 1}"
                                                  for i in range(k)]

    def variables(self):
        """The graph's leaves, in the order the tapes take their values."""
        return [*self.inputs, *self.targets, *self.params, BATCH]

    def env(self, params, data):
        """Values for every leaf, in :meth:`variables` order, from params and (X, Y)."""
        X, Y = data
        values = {**self.split(self.inputs, X), **self.split(self.targets, Y), **params,
                  BATCH: float(X.shape[0])}
        return [values[v] for v in self.variables()]


def _statement_text(source, line):
    lines = source_lines(source)
    return lines[line - 1].split("#")[0].strip() if 1 <= line <= len(lines) else ""


def declared_rows(node, declared):
    """(the declared node, slice of its columns) where ``node`` is a declared row (one of
    ``declared``: the whole of it) or one step of one (``y[t]``, a slice of whole columns);
    else None."""
    if node in declared:
        return node, slice(None)
    if node.op == "cols" and node.args[0] in declared and all(
            a.op == "const" and a.value == int(a.value) for a in node.args[1:]):
        return node.args[0], slice(int(node.args[1].value), int(node.args[2].value))
    return None
