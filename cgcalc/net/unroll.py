"""Recurrent networks, unrolled through time: a file with ``steps T`` and equations indexed by
the time step (``h[t] = tanh(x[t] @ Wx + h[t-1] @ Wh + b)``) becomes one graph, one copy of each
time-indexed equation per step, the params shared by every copy. Everything after this
(derivatives, training, pictures) sees an ordinary graph; backpropagation through time is the
chain rule on it, as "On chain rule, computational graphs, and backpropagation" promises.

- ``x[t]`` of an ``input x[t, f]`` is the m x f slice of the data row at step t (a row holds
  the inputs step by step);
- ``h[t-k]`` reaches k steps back; the states before step 1 come from equations without ``t``
  above the steps (``h[0] = zeros(4)``, and ``h[-1] = ...`` ... ``h[1-k] = ...`` for
  ``h[t-k]``); ``h[T]`` is the last step; ``t`` and ``T`` are numbers too;
- ``sum_t(E)`` and ``mean_t(E)`` add (average) E over t = 1..T.

The unrolled nodes are named ``h[1]``, ``h[2]``, ...; :attr:`Recurrence.step_of` tells which
step built each node, so displays can fold the T copies back into one row.
"""

from __future__ import annotations

from ..errors import CgcalcError
from ..graph import Program, Scope, build_expr
from ..parse import CALL, INDEX, NAME, NUMBER
from .spec import BIG, whole

OVER_TIME = {"sum_t": "sum", "mean_t": "mean"}


class Recurrence:
    """What the unrolling made: T, the time-indexed names, each step's nodes."""

    def __init__(self, steps):
        self.steps = steps
        self.names: list[str] = []  # time-indexed equations, in file order
        self.sequences: dict = {}  # a time input or target -> (its node, width per step)
        self.nodes: dict = {}  # (name, step) -> node; steps <= 0 are the initial states
        self.step_of: dict = {}  # node -> the step whose equations built it
        self.templates: dict = {}  # name -> its equation (a Statement)
        self.step_names: dict = {}  # "h[3]", "x[2]" -> its node
        self.written: set = set()  # (name, step) of every state the file gives (h[0] = ...)


def unroll(spec, declared, builder, source, filename, steps) -> tuple[Program, Recurrence]:
    """Build the equations of a recurrent network: static ones before the first time-indexed
    equation, then the time-indexed ones for t = 1..T, then the static ones after them."""
    rec = Recurrence(steps)
    for d in spec.decls:
        if d.time is not None:
            rec.sequences[d.name] = (declared[d.name], d.dims[0])
    indexed = [eq for eq in spec.equations if eq.index == "t"]
    rec.names = list(dict.fromkeys(eq.name for eq in indexed))
    rec.templates = {eq.name: eq for eq in indexed}
    rec.written = {(eq.name, eq.index) for eq in spec.equations if isinstance(eq.index, int)}

    def fail(msg, where, hint=None):
        return CgcalcError(msg, source=source, filename=filename, line=where.line,
                           column=where.column, width=getattr(where, "width", 1), hint=hint)

    for eq in spec.equations:
        if eq.index is not None and eq.index != "t" and not isinstance(eq.index, int):
            raise fail(f"{eq.name}[{eq.index}] = ...: an equation defines step t (every step) "
                       f"or a number (a state before step 1)", eq.index_token)
        if isinstance(eq.index, int) and eq.index >= 1:
            raise fail(f"{eq.name}[{eq.index}] = ...: only the states before step 1 are given "
                       f"by number (h[0] = ...); steps 1..T come from {eq.name}[t] = ...",
                       eq.index_token)
    seen = set()
    for eq in indexed:
        if eq.name in seen:
            raise fail(f"{eq.name}[t] is defined twice", eq)
        seen.add(eq.name)
    bound, names, where, variables = {}, {}, {}, []
    scope = TimeScope(rec, builder, bound, {s.name: s for s in spec.equations if s.name},
                      declared, fail, variables)
    first = next((k for k, eq in enumerate(spec.equations) if eq.index == "t"), None)
    before = spec.equations if first is None else spec.equations[:first]
    after = [] if first is None else [eq for eq in spec.equations[first:] if eq.index != "t"]
    for eq in before:
        _static(eq, scope, bound, names, where, rec, fail)
    for t in range(1, steps + 1):
        scope.t = t
        for eq in indexed:
            start = builder.count()
            node = build_expr(eq.expr, scope, where)
            rec.nodes[(eq.name, t)] = node
            if node not in names and node.op not in ("var", "const"):
                names[node] = f"{eq.name}[{t}]"
            rec.step_of.update((n, t) for n in builder.made_since(start))
    scope.t = None
    for eq in after:
        _static(eq, scope, bound, names, where, rec, fail)
    for node, name in scope.step_names.items():
        names.setdefault(node, name)
    rec.step_names = {name: node for node, name in names.items() if "[" in name}
    return Program(bound, names, where, variables, None, None), rec


def _static(eq, scope, bound, names, where, rec, fail):
    """A static equation (``P = ...``) or a state before step 1 (``h[0] = ...``)."""
    node = build_expr(eq.expr, scope, where)
    if isinstance(eq.index, int):
        if eq.name not in rec.templates:
            raise fail(f"{eq.name}[{eq.index}] is a state of no time-indexed equation "
                       f"({eq.name}[t] = ... is not in the file)", eq)
        if (eq.name, eq.index) in rec.nodes:
            raise fail(f"{eq.name}[{eq.index}] is given twice", eq)
        rec.nodes[(eq.name, eq.index)] = node
        if node.op not in ("var", "const"):
            names.setdefault(node, f"{eq.name}[{eq.index}]")
        return
    if eq.name in bound or eq.name in rec.templates:
        raise fail(f"{eq.name!r} is bound twice", eq)
    bound[eq.name] = node
    if node not in names and node.op not in ("var", "const"):
        names[node] = eq.name


class TimeScope(Scope):
    """Names in a recurrent network: ``t`` and ``T`` are numbers, a sequence must be indexed,
    ``h[t-1]`` is the node of an earlier step, ``sum_t(E)`` builds E at every step."""

    def __init__(self, rec, b, bound, all_bound, declared, fail, first_seen):
        super().__init__(b, bound, all_bound, declared, True, fail, first_seen, set())
        self.rec = rec
        self.step_names: dict = {}  # x[t]'s slices -> "x[3]"
        self.t = None  # the step being built; None in a static equation
        self.over_time = False  # inside sum_t/mean_t: t is bound

    def whole(self, ast):
        return ast.kind == INDEX or (ast.kind == CALL and ast.text in OVER_TIME)

    def name(self, ast):
        name = ast.text
        if name == "t":
            if self.t is None:
                raise self.fail("t is the time step: it has a value only in a time-indexed "
                                "equation (h[t] = ...) or inside sum_t(...) and mean_t(...)",
                                ast)
            return self.b.const(self.t)
        if name == "T":
            return self.b.const(self.rec.steps)
        if name in self.rec.sequences or name in self.rec.templates:
            raise self.fail(f"{name} has a value at each step: write {name}[t], {name}[t-1] or "
                            f"{name}[T]", ast)
        return super().name(ast)

    def build_whole(self, ast, where):
        if ast.kind == CALL:
            return self._over_time(ast, where)
        base, step = ast.args
        if base.kind != NAME:
            raise self.fail("[...] picks a time step of a name: h[t-1], x[t]", ast)
        s = self._step(step)
        rec, name = self.rec, base.text
        if name in rec.sequences:
            node, width = rec.sequences[name]
            if not 1 <= s <= rec.steps:
                raise self.fail(f"{_at(name, s)}: the data has steps 1 to {rec.steps}", base)
            b = self.b
            piece = b.cols(node, b.const((s - 1) * width), b.const(s * width))
            self.step_names.setdefault(piece, f"{name}[{s}]")
            return piece
        if name not in rec.templates:
            raise self.fail(f"{name} is not indexed by time (only {', '.join(rec.names) or 'no'}"
                            f" equations and sequence inputs are)", base)
        if self.t is not None and s > self.t:
            raise self.fail(f"{name}[{_step_text(s - self.t)}] reaches into the future: step t "
                            f"may use steps t, t-1, ... of the equations before it", base)
        if s > rec.steps:
            raise self.fail(f"{_at(name, s)} is past the last step: {name} has steps 1 to T = "
                            f"{rec.steps}", base)
        node = rec.nodes.get((name, s))
        if node is None:
            if s <= -BIG // 10:
                raise self.fail(f"{_at(name, s)} has no value: the state before step 1 is "
                                f"{name}[0], {name}[-1], ...", base)
            if s <= 0:
                raise self.fail(self._no_state(name, s), base)
            raise self.fail(f"{name}[t] is used before its equation (write it above this one)",
                            base)
        return node

    def _no_state(self, name, s):
        """Why ``name[s]`` (s <= 0) has no value, and what to write: the equations of the states
        before step 1 that this use reaches and the file does not give (``h[t-2]`` reaches
        ``h[-1]`` and ``h[0]``), or, for a state given below the steps, where it must go."""
        written = self.rec.written
        above = (f"{name}[t] = ..." if self.t is not None and not self.over_time else
                 "this equation")
        if (name, s) in written:
            return (f"{name}[{s}] = ... is written below {above}: equations are built in the "
                    f"order of the file, so give the states before step 1 above it")
        last = s if self.t is None else min(0, s - self.t + self.rec.steps)

        def missing(j):  # a state this use reaches that no equation gives
            return (name, j) not in written

        states = [s]  # the first two, then "..." and the last (h[t-k] reaches k states)
        j = s + 1
        while j <= last and len(states) < 2:
            states += [j] if missing(j) else []
            j += 1
        end = next((k for k in range(last, states[-1], -1) if missing(k)), None)
        if end is not None:
            between = next((k for k in range(states[-1] + 1, end) if missing(k)), None)
            states += [end] if between is None else ["...", end]
        text = ", ".join(x if x == "..." else f"{name}[{x}] = ..." for x in states)
        many = len(states) > 1
        return (f"{name}[{s}] has no value: add {'equations' if many else 'an equation'} "
                f"{text} above {above} (the state{'s' if many else ''} before step 1)")

    def _over_time(self, ast, where):
        if len(ast.args) != 1:
            raise self.fail(f"{ast.text}(E) takes one argument", ast)
        if self.t is not None or self.over_time:
            raise self.fail(f"{ast.text}(...) adds over every step: it is for a static "
                            f"equation, not inside a time-indexed one or another sum", ast)
        self.over_time = True
        try:
            terms = []
            for t in range(1, self.rec.steps + 1):
                self.t = t
                terms.append(build_expr(ast.args[0], self, where))
        finally:
            self.t, self.over_time = None, False
        b = self.b
        total = terms[0] if len(terms) == 1 else b.add(*terms)
        return total if OVER_TIME[ast.text] == "sum" else b.div(total, b.const(len(terms)))

    def _step(self, ast):
        """The step an index means: a whole number from t, T, numbers, + and - (no
        recursion: a stack, however the index nests)."""
        values, stack = [], [(ast, False)]
        while stack:
            node, done = stack.pop()
            if not done and node.args:
                stack.append((node, True))
                stack.extend((a, False) for a in reversed(node.args))
                continue
            kind, args = node.kind, [values.pop() for _ in node.args][::-1]
            if kind == NUMBER and node.text.isdigit():
                values.append(whole(node.text))
            elif kind == NAME and node.text in ("t", "T"):
                if node.text == "t" and self.t is None:
                    raise self.fail("t has a value only in a time-indexed equation (h[t] = ...)"
                                    " or inside sum_t(...) and mean_t(...)", node)
                values.append(self.t if node.text == "t" else self.rec.steps)
            elif kind in ("add", "sub") and len(args) == 2:
                values.append(args[0] + args[1] if kind == "add" else args[0] - args[1])
            elif kind == "neg":
                values.append(-args[0])
            else:
                raise self.fail("a time step is t, T, a whole number, or t - k, T - k", node)
        return values[0]


def _at(name, s):
    """``h[3]`` as a message names it; a step of 18 digits or more is not shown as a number
    (one written with more than 18 was counted as spec.BIG, which it is not)."""
    if abs(s) < BIG // 10:
        return f"{name}[{s}]"
    return f"{name}[...] (a step {'before 0' if s < 0 else 'past T'} by 18 digits or more)"


def _step_text(k):
    return f"t+{k}" if k > 0 else f"t{k}"
