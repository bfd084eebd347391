"""``--format csv`` for one point: a header (inputs, value, d/dx, ...) and one row."""

from __future__ import annotations

import csv

from .common import num


def render(analysis, out):
    w = csv.writer(out, lineterminator="\n")
    derivs = analysis.derivatives()
    if analysis.point is None:
        w.writerow(["derivative", "symbolic"])
        for d in derivs:
            w.writerow([d.label, d.text])
        return
    g = analysis.graph
    w.writerow([*g.variables, "value", *[d.label for d in derivs]])
    w.writerow([*[num(analysis.point[v]) for v in g.variables], num(analysis.value),
                *[num(d.value) for d in derivs]])
