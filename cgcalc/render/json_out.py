"""``--format json``: exactly the contract's keys (and a few more), one document."""

from __future__ import annotations

import json

from .common import expanded_text, json_num, local_text, node_definition, operation_nodes


def document(analysis) -> dict:
    g = analysis.graph
    doc: dict = {"expression": g.program, "output": g.name(g.output) or
                 node_definition(g, g.output)}
    if analysis.point is not None:
        doc["point"] = {k: analysis.point[k] for k in g.variables if k in analysis.point}
        doc["value"] = json_num(analysis.value)
    doc["derivatives"] = {d.key: {"symbolic": d.text, "value": json_num(d.value)}
                          for d in analysis.derivatives()}
    doc["nodes"] = [{"id": g.name(n), "op": n.op, "expr": node_definition(g, n),
                     "value": json_num(analysis.values.get(id(n)))}
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
        doc["reverse"] = {g.name(n): json_num(adj.get(id(n), 0.0)) for n in operation_nodes(g)}
        doc["forward"] = {v: {g.name(n): json_num(t.get(id(n), 0.0))
                              for n in operation_nodes(g)}
                          for v, t in ((v, analysis.tangents(v))
                                       for v in analysis.first_order_vars)}
    return doc


def render(analysis, out):
    # one write: json.dump would write each of its ~50 pieces per node separately
    out.write(json.dumps(document(analysis), indent=2, ensure_ascii=False))
    out.write("\n")
