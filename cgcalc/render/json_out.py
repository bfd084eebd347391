"""``--format json``: the documented keys (README: diff --format json) and a few more, one
document."""

from __future__ import annotations

from ..arraymath import show
from .common import (derivatives, expanded_text, json_array, json_num, json_text, local_text,
                     node_definition, operation_nodes)


def document(analysis) -> dict:
    g = analysis.graph
    doc: dict = {"expression": g.program, "output": g.name(g.output) or
                 node_definition(g, g.output)}
    if analysis.point is not None:
        doc["point"] = {k: analysis.point[k] for k in g.variables if k in analysis.point}
        doc["value"] = json_num(analysis.value)
    doc["derivatives"] = {d.key: {"symbolic": d.text, "value": json_num(d.value)}
                          for d in derivatives(analysis)}
    doc["nodes"] = [{"id": g.name(n), "op": n.op, "expr": node_definition(g, n),
                     "value": json_num(analysis.values.get(n))}
                    for n in operation_nodes(g)]
    have_point = analysis.point is not None
    doc["edges"] = [{"output": g.name(e.out), "input": g.name(e.inp), "slot": e.index,
                     "symbolic": local_text(analysis, e),
                     "expanded": expanded_text(analysis, e),
                     "value": json_num(analysis.edge_value(e.out, e.index)) if have_point
                     else None}
                    for e in analysis.edges()]
    counts = analysis.path_counts()
    paths = {}
    for v in analysis.first_order_vars:
        listed = [{"nodes": [g.name(n) for n in nodes], "slots": slots,
                   "product": json_num(product)}
                  for nodes, slots, product in analysis.paths(v)]
        paths[v] = {"count": counts.get(v, 0), "listed": listed}
    doc["paths"] = paths
    if analysis.mode == "forward" and have_point:
        adj = analysis.adjoints()
        doc["reverse"] = {g.name(n): json_num(adj.get(n, 0.0)) for n in operation_nodes(g)}
        doc["forward"] = {v: {g.name(n): json_num(t.get(n, 0.0))
                              for n in operation_nodes(g)}
                          for v, t in ((v, analysis.tangents(v))
                                       for v in analysis.first_order_vars)}
    return doc


def render(analysis, out):
    # one write: json.dump would write each of its ~50 pieces per node separately
    out.write(json_text(document(analysis), indent=2) + "\n")


def net_document(d) -> dict:
    net, g = d.net, d.graph
    doc = {"expression": net.source, "file": net.filename, "output": net.cost_name,
           "value": json_array(d.values[net.cost])}
    doc["derivatives"] = {p: {"symbolic": d.gradient_text(p, own_names_only=True),
                              "in_node_names": d.gradient_text(p),
                              "shape": list(net.builder.shape_of(net.var_nodes[p])),
                              "value": json_array(d.grad_values[p])} for p in d.wrt}
    doc["nodes"] = [{"id": d.name(n), "op": n.op, "expr": d.definition(n),
                     "shape": [str(x) if isinstance(x, str) else x for x in d.shape(n)],
                     "value": json_array(d.values[n])}
                    for n in g.order if n.op != "const"]
    doc["edges"] = [{"output": d.name(e.out), "input": d.name(e.inp), "slot": e.index,
                     "symbolic": d.backward(e), "local": d.local(e),
                     "shapes": [show(d.shape(e.out)), show(d.shape(e.inp))],
                     "value": json_array(v)} for e, v in zip(d.edges, d.edge_values)]
    doc["paths"] = {p: {"count": d.count(p),
                        "listed": [{"nodes": [d.name(n) for n in nodes]}
                                   for nodes, _ in d.paths(p)]} for p in d.wrt}
    tt = d.through_time
    if tt is not None:  # a recurrent network: each step's part of each gradient, and the story
        doc["through_time"] = {p: [json_num(v) for v in norms]
                               for p, norms in tt.per_step.items()}
        doc["backpropagation_through_time"] = tt.document()
    return doc


def render_net(d, out):
    out.write(json_text(net_document(d), indent=2) + "\n")
