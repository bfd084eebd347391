"""``--format csv`` for one point: a header (inputs, value, d/dx, ...) and one row."""

from __future__ import annotations

import csv

from .common import derivatives, num


def render(analysis, out):
    w = csv.writer(out, lineterminator="\n")
    derivs = derivatives(analysis)
    if analysis.point is None:
        w.writerow(["derivative", "symbolic"])
        for d in derivs:
            w.writerow([d.label, d.text])
        return
    g = analysis.graph
    w.writerow([*g.variables, "value", *[d.label for d in derivs]])
    w.writerow([*[num(analysis.point[v]) for v in g.variables], num(analysis.value),
                *[num(d.value) for d in derivs]])


def render_net(d, out):
    """One row per param entry: the gradient of the cost there."""
    import numpy as np

    w = csv.writer(out, lineterminator="\n")
    w.writerow(["param", "entry", "value", f"d{d.net.cost_name}/dparam"])
    for p in d.wrt:
        values, grads = np.asarray(d.params[p]), np.asarray(d.grad_values[p])
        for idx in np.ndindex(grads.shape):
            w.writerow([p, " ".join(map(str, idx)), num(values[idx]),
                        num(grads[idx])])
