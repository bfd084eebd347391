"""The terminal display: the chain rule's story, top to bottom.

1. the function and its graph (each node: name, operation, definition, value);
2. the connection derivatives, one per arrow, symbolic and at the point;
3. for each variable, the paths from the output down to it, each with its product, and their sum;
4. the derivative: reverse-mode accumulation and the simplified symbolic form.
"""

from __future__ import annotations

from .common import (KEEP, console, derivatives, edge_label, elide, expanded_text,
                     listed_note, local_text, node_definition, num, operation_nodes, path_text,
                     titled_table)
from .rich_net import render_net  # the same format, for network files

__all__ = ["render", "render_net"]

ROWS = 40  # rows shown per table before "… N more"
TABLES = 10  # variables given a table of paths (and a forward-mode column) each
SHOWN = 2000  # characters of a derivative shown before "…"
SHOWN_PROGRAM = 400  # characters of the program in the heading (all of it: --format plain/json)


def render(analysis, out=None):
    from rich import box
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    con = console()
    g = analysis.graph
    have_point = analysis.point is not None
    out_name = g.name(g.output)

    program = g.program.strip()
    if len(program) > SHOWN_PROGRAM:
        program = f"{program[:SHOWN_PROGRAM]} … ({len(program):,} characters)"
    title = Text(program, style="bold cyan")
    head = Text()
    if have_point:
        pt = ", ".join(f"{k} = {num(v)}" for k, v in analysis.point.items())
        head.append(f"at {pt}:  {out_name} = {num(analysis.value)}")
    con.print(Panel(Group(title, head) if have_point else title, box=box.ROUNDED,
                    title="cgcalc diff", title_align="left", expand=False))

    nodes = operation_nodes(g)
    t = titled_table("1. The graph: every node is an operation")
    t.add_column("node", style="bold magenta")
    t.add_column("op", style="dim")
    t.add_column("definition")
    if have_point:
        t.add_column("value", justify="right", style="green")
    for n in list(reversed(nodes))[:ROWS]:
        row = [g.name(n), n.op, Text(node_definition(g, n))]
        if have_point:
            row.append(num(analysis.values.get(n)))
        t.add_row(*row)
    if len(nodes) > ROWS:
        t.add_row("…", "", f"{len(nodes) - ROWS} more nodes", *([""] if have_point else []))
    con.print(t)

    edges = list(reversed(analysis.edges()))
    t = titled_table("2. Connection derivatives: one per arrow")
    t.add_column("arrow", style="bold magenta")
    t.add_column("in node names")
    t.add_column("in the inputs", style="dim")
    if have_point:
        t.add_column("value", justify="right", style="green")
    for e in edges[:ROWS]:
        label = edge_label(g, e)
        if sum(a is e.inp for a in e.out.args) > 1:
            label += f" (input {e.index + 1})"
        row = [label, Text(local_text(analysis, e)), Text(expanded_text(analysis, e) or "…")]
        if have_point:
            row.append(num(analysis.edge_value(e.out, e.index)))
        t.add_row(*row)
    if len(edges) > ROWS:
        t.add_row("…", f"{len(edges) - ROWS} more arrows", "", *([""] if have_point else []))
    con.print(t)

    counts = analysis.path_counts()
    derivs = {d.key: d for d in derivatives(analysis)}
    adj = analysis.adjoints() if have_point else {}
    variables = analysis.first_order_vars
    for v in variables[:TABLES]:
        paths = analysis.paths(v)
        count = counts.get(v, 0)
        t = titled_table(f"3. Paths from {out_name} down to {v}: {count:,} in all"
                         + listed_note(len(paths), count))
        t.add_column("path")
        t.add_column("product of the connection derivatives")
        if have_point:
            t.add_column("value", justify="right", style="green")
        total = 0.0
        for nodes, slots, product in paths:
            arrows = list(zip(nodes, nodes[1:]))
            factors = " · ".join(elide([f"∂{g.name(a)}/∂{g.name(b)}" for a, b in arrows], KEEP))
            row = [path_text(g, nodes, KEEP), factors]
            if have_point:
                total += product
                row.append(num(product))
            t.add_row(*row)
        if have_point:
            label = "sum over the listed paths" if len(paths) < count else "sum over paths"
            t.add_row("", Text(label, style="bold"), Text(num(total), style="bold green"))
            t.add_row("", Text("reverse-mode accumulation", style="bold"),
                      Text(num(adj.get(g.var_nodes[v], 0.0)), style="bold green"))
        con.print(t)
    if len(variables) > TABLES:
        con.print(Text(f"… the paths down to {len(variables) - TABLES:,} more variables: "
                       f"cgcalc diff --wrt NAME shows them for one, --format json for the others",
                       style="dim"))

    t = titled_table("4. The derivative")
    t.add_column("", style="bold magenta")
    t.add_column("simplified")
    if have_point:
        t.add_column("value", justify="right", style="bold green")
    shown = list(derivs.values())
    for d in shown[:ROWS]:
        row = [d.label.replace("d/", f"d{out_name}/", 1) if len(d.wrt) == 1 else d.label,
               Text(d.text if len(d.text) <= SHOWN else
                    f"{d.text[:SHOWN]} … ({len(d.text):,} characters)")]
        if have_point:
            row.append(num(d.value))
        t.add_row(*row)
    if len(shown) > ROWS:
        t.add_row("…", f"{len(shown) - ROWS:,} more derivatives", *([""] if have_point else []))
    con.print(t)

    if analysis.mode == "forward" and have_point:
        _forward(analysis, con, adj)


def _forward(analysis, con, adj):
    g = analysis.graph
    out_name = g.name(g.output)
    variables = analysis.first_order_vars[:TABLES]  # a column each
    tangents = {v: analysis.tangents(v) for v in variables}
    t = titled_table("Forward mode (d node/d var, inputs up) beside reverse mode "
                     f"(d{out_name}/d node, output down)")
    t.add_column("node", style="bold magenta")
    for v in variables:
        t.add_column(f"d·/d{v}  forward", justify="right")
    t.add_column(f"d{out_name}/d·  reverse", justify="right")
    for n in list(reversed(operation_nodes(g)))[:ROWS]:
        t.add_row(g.name(n), *[num(tangents[v].get(n, 0.0)) for v in variables],
                  num(adj.get(n, 0.0)))
    con.print(t)
