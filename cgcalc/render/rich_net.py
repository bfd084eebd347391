"""The terminal display of a network's derivation: backpropagation on its graph, told the way
"On chain rule, computational graphs, and backpropagation" tells it.

1. the graph: each layer and operation with its shape and value;
2. the connection derivatives: each arrow's local derivative and what flows back through it;
3. the paths from the cost down to each param, counted exactly;
4. the gradients, composed along the paths and simplified;
5. for a recurrent network, backpropagation through time: the recurrence of the states'
   gradients, what flows in from the cost, and how much each step adds to each gradient.

A recurrent network shows its time-indexed equations once (``h[t]``), not once per step.
"""

from __future__ import annotations

from ..arraymath import show
from ..printer import MATH
from .common import (KEEP, console, listed_note, matrix_text, path_text, sparkline,
                     titled_table)

import re

ROWS = 40  # rows shown per table before "… N more"
_STEP = re.compile(r"\[\d+\]")  # h[3], x[2]: a step of a time-indexed name
INFLOW = 3  # steps shown of what flows in from outside the steps


def render_net(d, out=None):
    from rich.panel import Panel
    from rich.text import Text

    con = console()
    net, tt = d.net, d.through_time
    cost = net.cost_name
    title = "cgcalc diff: backpropagation on the graph" if tt is None else \
        f"cgcalc diff: backpropagation through time, T = {tt.steps}"
    con.print(Panel(Text.assemble((net.filename, "bold cyan"), f"   {cost} = ",
                                  (matrix_text(d.values[net.cost], 6), "green")),
                    title=title, title_align="left", expand=False))
    con.print(_nodes(d, tt, Text))
    con.print(_connections(d if tt is None else tt, Text))
    for p in d.wrt:
        listed, count = d.paths(p), d.count(p)
        con.print(Text(f"3. Paths from {cost} down to {p}"
                       + (" back through time" if tt is not None else "")
                       + f": {count:,}"
                       + listed_note(len(listed), count)
                       + (" (a bound for all params together)" if d.cut(p) else ""),
                       style="bold"))
        shown = listed[:ROWS // 4] if tt is not None else listed
        for nodes, _ in shown:
            con.print(Text("   " + path_text(d, nodes, KEEP)))
        if len(shown) < len(listed):
            con.print(Text(f"   … {len(listed) - len(shown):,} more listed (--format json lists "
                           f"them)", style="dim"))
        con.print()
    t = titled_table("4. The gradients, composed along the paths and simplified")
    t.add_column("", style="bold magenta")
    t.add_column("symbolic")
    t.add_column("value at the params", style="green")
    for p in d.wrt:
        if tt is not None and p in tt.sums:
            text = f"Σ_t {tt.text(tt.sums[p], MATH)}   (t = 1..{tt.steps})"
        else:
            text = d.gradient_text(p, MATH)
        t.add_row(Text(f"d{cost}/d{p}"), Text(_cut(text)), matrix_text(d.grad_values[p]))
    con.print(t)
    if tt is not None:
        _through_time(con, d, tt, Text)


def _nodes(d, tt, Text):
    t = titled_table("1. The graph: layers and operations, with shapes (m rows of data)")
    for c in ("node", "op", "shape", "definition", "value" if tt is None else "value (t = T)"):
        t.add_column(c, style="bold magenta" if c == "node" else None)
    if tt is not None:  # one row per time-indexed equation, then the rest of the graph
        for name, op, shape, text, value in reversed(tt.rows()):
            t.add_row(Text(name), op, show(shape), Text(text), Text(matrix_text(value, 3),
                                                                   style="green"))
        step_of = d.net.recurrence.step_of
        nodes = [n for n in reversed(d.graph.order) if n.op != "const" and n not in step_of
                 and "[" not in (d.name(n) or "")]
    else:
        nodes = [n for n in reversed(d.graph.order) if n.op != "const"]
    shown, seen = 0, {}
    for n in nodes:
        text = d.definition(n)
        if tt is not None:  # the same term at every step (mean_t(...)): one row, counted
            key = (n.op, _STEP.sub("[t]", text))
            if key in seen:
                seen[key][0] += 1
                continue
            seen[key] = [1, t.row_count]
        if shown == ROWS:
            continue
        shown += 1
        t.add_row(Text(d.name(n)), n.op, show(d.shape(n)), Text(_cut(text)),
                  Text(matrix_text(d.values[n], 3), style="green"))
    hidden = len(nodes) - shown - sum(count - 1 for count, _ in seen.values())
    if hidden > 0:
        t.add_row("…", "", "", f"{hidden:,} more nodes", "")
    for (op, text), (count, row) in seen.items():
        if count > 1:  # the row stands for the term at every step
            t.columns[3]._cells[row] = Text(f"{text}   (× {count}: t = 1..{count})")
    return t


def _connections(src, Text):
    """``src``: the derivation, or for a recurrent network the step of its time-indexed
    equations (each arrow once, not once per step)."""
    shape = src.step.builder.shape_of if hasattr(src, "step") else src.shape
    rows = [(Text(f"∂{src.name(e.out)}/∂{src.name(e.inp)}"),
             f"{show(shape(e.out))} ← {show(shape(e.inp))}",
             Text(src.local(e, MATH) or "(array op)"),
             Text(_cut(f"δ{src.name(e.inp)} += {src.backward(e, MATH)}")))
            for e in list(reversed(src.edges))[:ROWS]]
    legend = "⊙ elementwise, ' transpose, δX = dC/dX"
    if any("ε" in row[3].plain for row in rows):
        legend += ", max(p, ε) keeps p ≥ ε = e^-100"
    if hasattr(src, "step"):
        legend += "; one step t of the T"
    t = titled_table(f"2. Connection derivatives ({legend})")
    for c in ("arrow", "shapes", "local derivative", "what flows back"):
        t.add_column(c, style="bold magenta" if c == "arrow" else None)
    for row in rows:
        t.add_row(*row)
    if len(src.edges) > ROWS:
        t.add_row("…", "", f"{len(src.edges) - ROWS:,} more arrows", "")
    return t


def _through_time(con, d, tt, Text):
    con.print(Text(f"5. Backpropagation through time, for t = T, …, 1 (T = {tt.steps})",
                   style="bold"))
    con.print(Text("   the states' gradients, step by step back (each δ flows in whole):",
                   style="dim"))
    for label, node in tt.recurrence:
        con.print(Text(f"   {label} += {_cut(tt.text(node, MATH))}"))
    if tt.inflow:
        con.print(Text("   what flows in from the cost, outside the steps:", style="dim"))
        shown = tt.inflow if len(tt.inflow) <= INFLOW else [tt.inflow[0], None, tt.inflow[-1]]
        for item in shown:
            if item is None:
                con.print(Text(f"   … ({len(tt.inflow) - 2} more steps alike)"))
                continue
            label, node = item
            con.print(Text(f"   {label} = {_cut(d.names_text(node, MATH))}"))
    if tt.per_step:
        t = titled_table("   How much each step adds to each gradient: |part at t|, t = 1..T "
                         "(vanishing or exploding gradients show here)")
        t.add_column("param", style="bold magenta")
        t.add_column("t = 1 … T")
        t.add_column("first", justify="right")
        t.add_column("last", justify="right")
        for p, norms in tt.per_step.items():
            t.add_row(Text(p), sparkline(norms, width=64, log=False), f"{norms[0]:.3g}",
                      f"{norms[-1]:.3g}")
        con.print(t)


SHOWN = 2000  # characters of a formula shown before "…"


def _cut(text):
    return text if len(text) <= SHOWN else f"{text[:SHOWN]} … ({len(text):,} characters)"
