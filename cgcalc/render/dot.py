"""``--format dot``: the graph for Graphviz, drawn as the seed draws it: inputs flow up into the
operations, and every arrow carries its connection derivative (and its value at the point)."""

from __future__ import annotations

from ..printer import to_text
from .common import local_text, num, operation_nodes

LABEL_MAX = 40


def _q(s: str) -> str:
    s = s if len(s) <= LABEL_MAX else s[:LABEL_MAX - 1] + "…"
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render(analysis, out, highlight=None):
    g = analysis.graph
    have_point = analysis.point is not None
    on_path: set = set()
    if highlight:
        for nodes, slots, _ in analysis.paths(highlight):
            for n, i in zip(nodes, slots):
                on_path.add((id(n), i))
    w = out.write
    w("digraph cgcalc {\n  rankdir=BT;\n  node [shape=box, style=rounded, fontname=Helvetica];\n"
      "  edge [fontname=Helvetica, fontsize=10];\n")
    ids = {}
    for k, n in enumerate(operation_nodes(g)):
        ids[id(n)] = f"n{k}"
        name = g.name(n)
        if n.op == "var":
            label = name
            shape = ", shape=ellipse"
        else:
            atoms = {id(a): g.name(a) for a in n.args if g.name(a)}
            label = f"{name} = {to_text(n, atoms)}"
            shape = ", penwidth=2" if n is g.output else ""
        if have_point:
            label += f"\n= {num(analysis.values.get(id(n)))}"
        w(f"  {ids[id(n)]} [label={_q(label)}{shape}];\n")
    for e in analysis.edges():
        label = local_text(analysis, e)
        if have_point:
            label += f" = {num(analysis.edge_value(e.out, e.index))}"
        style = ", color=red, penwidth=2, fontcolor=red" if (id(e.out), e.index) in on_path else ""
        w(f"  {ids[id(e.inp)]} -> {ids[id(e.out)]} [label={_q(label)}{style}];\n")
    w("}\n")


def render_net(d, out, highlight=None):
    """The layer-level graph of a network file: shapes on the nodes, the backward rule on each
    arrow; ``highlight`` (a param) marks the paths from the cost down to it."""
    from ..ops import show

    g = d.graph
    on_path = set()
    if highlight:
        for nodes, slots in d.paths(highlight):
            on_path.update(zip(map(id, nodes), slots))
    w = out.write
    w("digraph cgcalc {\n  rankdir=BT;\n  node [shape=box, style=rounded, fontname=Helvetica];\n"
      "  edge [fontname=Helvetica, fontsize=10];\n")
    ids = {}
    for k, n in enumerate(x for x in g.order if x.op != "const"):
        ids[id(n)] = f"n{k}"
        name = d.name(n)
        label = f"{name} [{show(d.shape(n))}]" if n.op == "var" else \
            f"{name} = {d.definition(n)}\n[{show(d.shape(n))}]"
        shape = ", shape=ellipse" if n.op == "var" else ""
        w(f"  {ids[id(n)]} [label={_q(label)}{shape}];\n")
    for e in d.edges:
        style = ", color=red, penwidth=2, fontcolor=red" if (id(e.out), e.index) in on_path \
            else ""
        w(f"  {ids[id(e.inp)]} -> {ids[id(e.out)]} [label={_q(d.backward(e))}{style}];\n")
    w("}\n")
