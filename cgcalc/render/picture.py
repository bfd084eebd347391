"""The graph as a picture, the way "On chain rule, computational graphs, and backpropagation"
draws it: nodes are operations, arrows carry inputs up to the operations that use them, every
arrow is labelled with its connection derivative, and ``wrt`` marks every arrow on a path from
the output down to that variable.

One neutral :class:`Picture` is built from an expression's analysis or a network's derivation;
``dot``, ``mermaid`` and ``tree`` write it. Every walk is iterative.
"""

from __future__ import annotations

from ..walk import reaching
from .common import (KEEP, listed_note, local_text, node_definition, num, operation_nodes,
                     path_text)

LABEL_MAX = 48


def shorten(text: str, limit: int = LABEL_MAX) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


class Picture:
    def __init__(self):
        self.nodes = []  # (key, label, kind) kind: "var", "op", "output"
        self.edges = []  # (from key, to key, label, on_path)
        self.notes = []  # lines for a caption: paths and their products
        self.root = None


def from_analysis(a, wrt=None) -> Picture:
    g = a.graph
    pic = Picture()
    have_point = a.point is not None
    keys = {}
    for k, n in enumerate(operation_nodes(g)):
        keys[n] = f"n{k}"
        name = g.name(n)
        label = name if n.op == "var" else f"{name} = {node_definition(g, n)}"
        if have_point:
            label += f"\n= {num(a.values.get(n))}"
        kind = "var" if n.op == "var" else ("output" if n is g.output else "op")
        pic.nodes.append((keys[n], label, kind))
    pic.root = keys[g.output]
    reach = reaching(g.order, [g.var_nodes[wrt]]) if wrt else set()
    for e in a.edges():
        label = local_text(a, e)
        if have_point:
            label += f" = {num(a.edge_value(e.out, e.index))}"
        pic.edges.append((keys[e.inp], keys[e.out], label, e.inp in reach))
    if wrt:
        out = g.name(g.output)
        count = a.path_counts().get(wrt, 0)
        paths = a.paths(wrt)
        pic.notes.append(f"{count:,} path{'s' if count != 1 else ''} from {out} down to {wrt}"
                         + listed_note(len(paths), count))
        total = 0.0
        for nodes, _, product in paths:
            line = path_text(g, nodes, KEEP)
            if product is not None:
                total += product
                line += f": product {num(product)}"
            pic.notes.append(line)
        if have_point:
            adj = a.adjoints().get(g.var_nodes[wrt], 0.0)
            if len(paths) < count:
                pic.notes.append(f"sum over the listed paths = {num(total)}; over all paths "
                                 f"(reverse-mode accumulation) = d{out}/d{wrt} = {num(adj)}")
            else:
                pic.notes.append(f"sum over paths = d{out}/d{wrt} = {num(adj)}")
    return pic


def from_net(d, wrt=None) -> Picture:
    from ..arraymath import show
    from ..printer import MATH

    g = d.graph
    pic = Picture()
    keys = {}
    for k, n in enumerate(x for x in g.order if x.op != "const"):
        keys[n] = f"n{k}"
        name = d.name(n)
        shape = show(d.shape(n))
        if n.op == "var":
            label, kind = f"{name}\n[{shape}]", "var"
        else:
            label = f"{name} = {d.definition(n)}\n[{shape}]"
            kind = "output" if n is d.net.cost else "op"
        pic.nodes.append((keys[n], label, kind))
    pic.root = keys[d.net.cost]
    reach = reaching(g.order, [d.net.var_nodes[wrt]]) if wrt else set()
    live = {(e.out, e.index): e for e in d.edges}
    for n in g.order:  # every arrow of the article's figure; data arrows carry no gradient
        for i, a in enumerate(n.args):
            if a.op == "const":
                continue
            e = live.get((n, i))
            label = f"δ{d.name(a)} += {d.backward(e, MATH)}" if e is not None else ""
            pic.edges.append((keys[a], keys[n], label, a in reach))
    if wrt:
        cost = d.net.spec.minimize.value
        listed, count = d.paths(wrt), d.count(wrt)
        pic.notes.append(f"{count:,} path(s) from {cost} down to {wrt}"
                         + listed_note(len(listed), count))
        for nodes, _ in listed:
            pic.notes.append(path_text(d, nodes, KEEP))
        pic.notes.append(f"d{cost}/d{wrt} = {d.gradient_text(wrt, MATH)}")
    return pic


STEP_MARK = "↺"  # an arrow's label that names a time step, not a derivative


def from_steps(d, wrt=None) -> Picture:
    """A recurrent network rolled up: its time-indexed equations once, the arrow from a state
    back into its own equation marked with how far back it reaches (t-1), and the equations
    outside the steps (the cost) fed by the step they use (T)."""
    from ..arraymath import show
    from ..net.model import BATCH
    from ..printer import MATH, to_text

    tt = d.through_time
    step, names = tt.step, tt._names
    rec = d.net.recurrence
    pic = Picture()
    keys = {}
    states = {f"{name}[t]": node for name, node in step.nodes.items()}

    def key_of(node):
        label = names.get(node, "")
        if "[t-" in label:  # a stand-in for an earlier step: the state itself
            node = states.get(label.split("[")[0] + "[t]", node)
        if node not in keys:
            keys[node] = f"n{len(keys)}"
            shape = show(step.builder.shape_of(node))
            name = names.get(node) or node.op
            if node.op == "var":
                pic.nodes.append((keys[node], f"{name}\n[{shape}]", "var"))
            else:
                atoms = {a: label for a, label in tt._labels.items() if a is not node}
                pic.nodes.append((keys[node], f"{name} = {to_text(node, atoms)}\n[{shape}]",
                                  "op"))
        return keys[node]

    for n in step.order:
        if n.op == "const":
            continue
        key_of(n)
        for i, a in enumerate(n.args):
            if a.op == "const" or (a.op == "var" and a.value == BATCH):
                continue
            label = names.get(a, "")
            back = f"{STEP_MARK} {label[label.index('[') + 1:-1]}" if "[t-" in label else ""
            on = wrt is not None and (names.get(a) == wrt or back != "")
            pic.edges.append((key_of(a), key_of(n), back, on))
    # outside the steps: the unrolled graph's other nodes, fed by the states they use
    state_of = {node: (f"{name}[t]", s) for (name, s), node in rec.nodes.items() if s >= 1}
    in_step = set(step.order)
    outside = [n for n in d.graph.order if n.op != "const" and n not in rec.step_of
               and n not in state_of and not (n.op == "var" and n.value == BATCH)
               and "[" not in (d.name(n) or "")]
    okeys = {}
    for n in outside:
        if n.op == "var" and n.value in d.net.param_names and n in in_step:
            continue
        okeys[n] = f"o{len(okeys)}"
        shape = show(d.shape(n))
        kind = "var" if n.op == "var" else ("output" if n is d.net.cost else "op")
        text = d.name(n) if n.op == "var" else f"{d.name(n)} = {d.definition(n)}"
        pic.nodes.append((okeys[n], f"{text}\n[{shape}]", kind))
    for n in outside:
        if n not in okeys:
            continue
        for a in n.args:
            if a in okeys:
                pic.edges.append((okeys[a], okeys[n], "", False))
            elif a in state_of:
                state, s = state_of[a]
                pic.edges.append((key_of(states[state]), okeys[n],
                                  f"{STEP_MARK} {'T' if s == rec.steps else s}", False))
    pic.root = okeys.get(d.net.cost) or next(iter(keys.values()))
    pic.notes.append(f"one step t of T = {rec.steps}; an arrow marked t-1 carries the state "
                     f"from the step before (cgcalc graph --unroll draws all {rec.steps})")
    if wrt:
        pic.notes.append(f"{d.count(wrt):,} path(s) back through time from "
                         f"{d.net.cost_name} down to {wrt}")
        if wrt in tt.sums:
            pic.notes.append(f"d{d.net.cost_name}/d{wrt} = Σ_t {tt.text(tt.sums[wrt], MATH)}")
    return pic


# -- writers -----------------------------------------------------------------------------------------
def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


PLACE_OVER = 600  # nodes: a larger picture is drawn where write_dot(placed=True) puts it


def write_dot(pic: Picture, out, placed=False):
    """The picture in Graphviz's DOT language, for dot to lay out. With ``placed`` every node
    gets its place here instead (``pos``, for ``dot -Kneato -n2``), and the arrows go without
    their labels: dot's own layout, and its placing of arrow labels, grow faster than the
    graph (a 3,000-node chain took 30 s), these steps grow with it."""
    w = out.write
    w("digraph cgcalc {\n  rankdir=BT;\n  node [shape=box, style=rounded, fontname=Helvetica];\n"
      "  edge [fontname=Helvetica, fontsize=10];\n")
    notes = pic.notes
    if placed:
        w("  splines=false;\n")
        notes = [f"{len(pic.nodes):,} nodes: arrow labels left out (over {PLACE_OVER:,}); "
                 f"--format dot has them", *notes]
    if notes:
        caption = "\n".join(shorten(x, 90) for x in notes[:24])
        w(f"  labelloc=t;\n  label={_q(caption)};\n")
    where = _places(pic) if placed else {}
    for key, label, kind in pic.nodes:
        style = {"var": ", shape=ellipse", "output": ", penwidth=2"}.get(kind, "")
        lines = "\n".join(shorten(x) for x in label.split("\n"))
        if placed:
            style += f', pos="{where[key][0]},{where[key][1]}!"'
        w(f"  {key} [label={_q(lines)}{style}];\n")
    for src, dst, label, on in pic.edges:
        style = ", color=red, penwidth=2" if on else (
            "" if label else ", color=gray, style=dashed")
        if placed:
            w(f"  {src} -> {dst} [{style[2:]}];\n")
            continue
        if on:
            style += ", fontcolor=red"
        w(f"  {src} -> {dst} [label={_q(shorten(label))}{style}];\n")
    w("}\n")


def _places(pic: Picture) -> dict:
    """key -> (x, y) in points: each node one row above the highest of its inputs (inputs at
    the bottom, as dot draws it), side by side within a row, each as wide as its label. One
    pass in the picture's order, inputs first (an arrow back, as an RNN's t-1, is not
    followed)."""
    inputs: dict = {}
    for src, dst, _, _ in pic.edges:
        inputs.setdefault(dst, []).append(src)
    row, right, height = {}, {}, {}
    where = {}
    for key, label, _ in pic.nodes:
        r = 1 + max((row[a] for a in inputs.get(key, ()) if a in row), default=-1)
        row[key] = r
        lines = [shorten(x) for x in label.split("\n")]
        width = max(54, 7 * max(map(len, lines)) + 20)
        x = right.get(r, 0) + width // 2
        right[r] = x + width // 2 + 18
        height[r] = max(height.get(r, 0), 18 * len(lines) + 18)
        where[key] = x
    y, top = {}, 0
    for r in range(len(height)):
        y[r] = top + height[r] // 2
        top += height[r] + 36
    return {key: (x, y[row[key]]) for key, x in where.items()}


def _mq(s: str) -> str:
    s = shorten(s).replace('"', "#quot;").replace("\n", "<br/>")
    return f'"{s}"'


def write_mermaid(pic: Picture, out):
    w = out.write
    w("flowchart BT\n")
    for key, label, kind in pic.nodes:
        text = "<br/>".join(shorten(x) for x in label.split("\n"))
        text = text.replace('"', "#quot;")
        w(f'  {key}(["{text}"])\n' if kind == "var" else f'  {key}["{text}"]\n')
    marked = []
    for k, (src, dst, label, on) in enumerate(pic.edges):
        w(f"  {src} -->|{_mq(label)}| {dst}\n" if label else f"  {src} -.-> {dst}\n")
        if on:
            marked.append(str(k))
    if marked:
        w(f"  linkStyle {','.join(marked)} stroke:red,stroke-width:3px\n")
    for key, _, kind in pic.nodes:
        if kind == "output":
            w(f"  style {key} stroke-width:3px\n")


TREE_DEPTH = 60  # deeper levels would indent past any screen


def write_tree(pic: Picture, console):
    """The output at the root, each node's inputs below it, the arrow's derivative beside each
    input; a node with several consumers is drawn once and then referred to."""
    from rich.text import Text
    from rich.tree import Tree

    label = {k: lab for k, lab, _ in pic.nodes}
    kind = {k: kd for k, _, kd in pic.nodes}
    inputs: dict = {}
    for src, dst, lab, on in pic.edges:
        inputs.setdefault(dst, []).append((src, lab, on))
    consumers: dict = {}
    for src, dst, _, _ in pic.edges:
        consumers[src] = consumers.get(src, 0) + 1

    def name(key):
        return label[key].split("\n")[0].split(" = ")[0]

    def node_text(key, edge_label=None, on=False, seen=False, consumer=None):
        t = Text()
        if edge_label and edge_label.startswith(STEP_MARK):  # a rolled-up step: at t-1, at T
            t.append(f"{edge_label}  ", style="red bold" if on else "yellow")
        elif edge_label:
            t.append(f"∂{name(consumer)}/∂{name(key)} = {shorten(edge_label, 60)}  ",
                     style="red bold" if on else "yellow")
        first = label[key].split("\n")
        t.append(first[0], style="bold magenta" if kind[key] != "var" else "bold cyan")
        if len(first) > 1:
            t.append("  " + " ".join(first[1:]), style="green")
        if seen:
            t.append("  (shared: shown above)", style="dim")
        elif consumers.get(key, 0) > 1:
            t.append(f"  (used {consumers[key]} times)", style="dim")
        return t

    root = Tree(node_text(pic.root), guide_style="dim")
    shown = {pic.root}
    # preorder, as it reads top to bottom: a node is drawn in full where it first appears
    stack = [(root, pic.root, src, lab, on, 1)
             for src, lab, on in reversed(inputs.get(pic.root, []))]
    cut = 0
    while stack:
        parent, consumer, key, lab, on, depth = stack.pop()
        seen = key in shown and bool(inputs.get(key))
        branch = parent.add(node_text(key, lab, on, seen, consumer))
        if seen:
            continue
        shown.add(key)
        if depth >= TREE_DEPTH and inputs.get(key):
            branch.add(Text("… deeper levels not drawn (see --format dot)", style="dim"))
            cut += 1
            continue
        stack.extend((branch, key, src, l2, on2, depth + 1)
                     for src, l2, on2 in reversed(inputs.get(key, [])))
    console.print(root)
    for line in pic.notes:
        console.print(Text(line, style="bold"))
