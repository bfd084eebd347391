"""Backpropagation through time, told: what `cgcalc diff` shows of a recurrent network.

The unrolled graph has T copies of each time-indexed equation; the story needs one. So the
time-indexed equations are built once more as a *step*: ``h[t]`` from stand-ins for what the
step reaches back to (``h[t-1]``, ``x[t]``) and the params. Reverse accumulation on that step,
from the adjoint of each state at step t (``δh[t]``, flowing in whole), gives

- the recurrence of the states' gradients: ``δh[t-1] += (δh[t] ⊙ (1 - h[t]^2)) @ Wh'``;
- each param's gradient as a sum over the steps: ``Σ_t h[t-1]' @ (δh[t] ⊙ (1 - h[t]^2))``.

From the unrolled graph itself come what flows into the states from outside the steps (the
cost's part, ``δh[T] = ...``), the exact number of paths back through time, and how much each
step adds to each param's gradient (its size at each t: vanishing or exploding gradients).
"""

from __future__ import annotations

from ..derive import Adjoints, edges, vjp
from ..graph import build_expr
from ..printer import PLAIN, to_text
from ..simplify import ArraySimplifier
from ..walk import accumulate, topological
from . import backprop
from .model import BATCH, NetBuilder
from .unroll import TimeScope

_LATE = 10 ** 9  # the step a template is built at: far from every real step, so offsets show


class Step:
    """The time-indexed equations built once, at a symbolic step t."""

    def __init__(self, net):
        rec = net.recurrence
        b = self.builder = NetBuilder()
        self.names: dict = {}  # node -> "h[t]", "x[t]", "h[t-1]", "Wh", ...
        self.nodes: dict = {}  # "h" -> the node of h[t]
        declared = {}
        for name, node in net.var_nodes.items():
            if name == BATCH:
                declared[name] = b.batch
                continue
            declared[name] = b.var(name)
            b.declare(declared[name], net.builder.shape_of(node))
            self.names[declared[name]] = name
        for name, node in net.graph.bound.items():  # static equations, as names
            declared[name] = v = b.var(name)
            b.declare(v, net.builder.shape_of(node))
            self.names[v] = name
        self.shapes = {n: net.builder.shape_of(rec.nodes[(n, 1)]) for n in rec.names}
        scope = _StepScope(self, rec, b, declared)
        where: dict = {}
        for name in rec.names:
            node = build_expr(rec.templates[name].expr, scope, where)
            self.nodes[name] = node
            self.names.setdefault(node, f"{name}[t]")
        self.order = topological(list(self.nodes.values()))

    def stand_in(self, label, shape):
        b = self.builder
        v = b.var(label)
        b.declare(v, shape)
        self.names[v] = label
        return v


class _StepScope(TimeScope):
    """A time scope at the symbolic step t: ``h[t-1]`` is a stand-in named so."""

    def __init__(self, step, rec, b, declared):
        super().__init__(rec, b, {}, {}, declared, _no_place, [])
        self.step = step
        self.t = _LATE

    def name(self, ast):
        if ast.text == "t":
            return self.step.stand_in("t", ())
        return super().name(ast)

    def build_whole(self, ast, where):
        base, index = ast.args
        s = self._step(index)
        label = f"t{s - _LATE:+d}".replace("+0", "") if s > _LATE // 2 else \
            ("T" if s == self.rec.steps else str(s))
        name = base.text
        if name in self.rec.sequences:
            _, width = self.rec.sequences[name]
            return self.step.stand_in(f"{name}[{label}]", (BATCH, width))
        if label == "t":
            return self.step.nodes[name]
        return self.step.stand_in(f"{name}[{label}]", self.step.shapes[name])


def _no_place(msg, ast, hint=None):  # the file was checked when it was unrolled
    raise AssertionError(msg)  # pragma: no cover


class _Cut(Adjoints):
    """Reverse accumulation that stops at the states it starts from: each carries its whole adjoint,
    so nothing is added into it from the step's other equations."""

    def __init__(self, builder, simp, seeded):
        super().__init__(builder, simp)
        self.seeded = seeded

    def edge(self, node, i, g):
        return None if node.args[i] in self.seeded else super().edge(node, i, g)


class ThroughTime:
    """Everything `diff` shows of a recurrent network's backpropagation through time."""

    def __init__(self, d):
        import numpy as np

        net, rec = d.net, d.net.recurrence
        self.steps = rec.steps
        step = self.step = Step(net)
        b = step.builder
        seeds = {}
        for name, node in step.nodes.items():
            delta = step.stand_in(f"δ{name}[t]", step.shapes[name])
            seeds[node] = delta
        atoms = set(step.names) | set(seeds.values())
        simp = ArraySimplifier(b, b.shape_of, atoms)
        adj = accumulate(step.order, seeds, _Cut(b, simp, set(seeds)))
        names = step.names
        # the recurrence: what step t sends back to earlier steps
        self.recurrence = [(f"δ{label}", adj[v]) for v, label in names.items()
                           if "[t-" in label and v in adj and label.split("[")[0] in step.nodes]
        # within the step: what a state gets from the step's later equations (h[t] from P[t])
        for name, node in step.nodes.items():
            terms = [vjp(b, n, i, adj[n]) for n in step.order if n in adj and n not in seeds
                     for i, a in enumerate(n.args) if a is node]
            terms += [vjp(b, n, i, seeds[n]) for n in seeds for i, a in enumerate(n.args)
                      if a is node]
            if terms:
                total = terms[0] if len(terms) == 1 else b.add(*terms)
                self.recurrence.append((f"δ{name}[t]", simp(total)))
        self.sums = {p: adj[v] for v, p in names.items() if p in net.param_names and v in adj}
        # from the unrolled graph: what flows into each state from outside the steps
        ub = net.builder
        step_of = rec.step_of
        inflow = {}
        for e in d.edges:
            if step_of.get(e.out) is None and e.inp in d.state_steps:
                inflow.setdefault(e.inp, []).append(e)
        self.inflow = []
        for state, es in inflow.items():
            terms = [vjp(ub, e.out, e.index, d.adjoint(e.out)) for e in es]
            node = terms[0] if len(terms) == 1 else ub.add(*terms)
            self.inflow.append((f"δ{d.name(state)}", d.simplify(node)))
        # each step's part of each param's gradient, and its size
        per_step = {p: np.zeros(self.steps) for p in d.wrt}
        totals: dict = {}
        for e, value in zip(d.edges, d.edge_values):
            t = step_of.get(e.out)
            p = d.name(e.inp)
            if t is not None and e.inp.op == "var" and p in per_step:
                key = (p, t)
                totals[key] = totals.get(key, 0) + np.asarray(value)
        self.parts = {p: [np.zeros(d.net.shape(p)) for _ in range(self.steps)]
                      for p in d.wrt if p in self.sums}  # each step's part of each gradient
        for (p, t), value in totals.items():
            per_step[p][t - 1] = float(np.sqrt(np.sum(np.square(value))))
            if p in self.parts:
                self.parts[p][t - 1] = np.broadcast_to(value, d.net.shape(p))
        self.per_step = {p: v.tolist() for p, v in per_step.items() if p in self.sums}
        self._names = names
        self._d = d
        self._labels = dict(names)  # the names a reader knows, for definitions
        k = 0
        for n in step.order:  # the step's other operations: n1, n2, ...
            if n not in names and n.op not in ("const", "var"):
                k += 1
                names[n] = f"n{k}"
        sources = [v for v in step.order if v.op == "var" and v.value != BATCH]
        self.edges = edges(b, step.order, sources)
        self._texts = backprop.EdgeTexts(step.builder, names)

    def local(self, edge, style=None):
        return self._texts.local(edge, style)

    def backward(self, edge, style=None):
        return self._texts.backward(edge, style)

    def name(self, node):
        return self._names.get(node)

    def text(self, node, style=None):
        """A node of the step in its names (h[t], h[t-1], δh[t], x[t], the params)."""
        return to_text(node, self._labels, style or PLAIN)

    def document(self):
        """The story as JSON: the recurrence, the sums over steps, the inflow, the sizes."""
        d = self._d
        return {"steps": self.steps,
                "recurrence": [{"adjoint": label, "plus": self.text(node)}
                               for label, node in self.recurrence],
                "sums": {p: self.text(node) for p, node in self.sums.items()},
                "inflow": [{"adjoint": label, "symbolic": d.names_text(node)}
                           for label, node in self.inflow]}

    def rows(self):
        """One row per time-indexed equation, not T: (name, op, shape, definition, the value
        at the last step)."""
        d, step = self._d, self.step
        rec = d.net.recurrence
        out = []
        for name, node in step.nodes.items():
            atoms = {a: label for a, label in self._labels.items() if a is not node}
            last = rec.nodes[(name, self.steps)]
            out.append((f"{name}[t]", node.op, step.shapes[name], to_text(node, atoms),
                        d.values[last]))
        return out
