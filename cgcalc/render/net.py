"""Network files on screen and in scripts: the derivation (`diff FILE.net`), training results,
gradient checks. rich on a terminal; plain and JSON for scripts."""

from __future__ import annotations

import json

from ..ops import show
from .common import KEEP, path_text, titled_table


def matrix_text(a, digits=4) -> str:
    """A small array as [[..], ..] with a few significant digits (for the terminal)."""
    import numpy as np

    a = np.asarray(a)
    if a.ndim == 0:
        return f"{float(a):.{digits}g}"
    with np.printoptions(precision=digits, suppress=False, threshold=30, edgeitems=3,
                         linewidth=70):
        return np.array2string(a, separator=", ")


def tolist(a):
    import numpy as np

    a = np.asarray(a, dtype=float)
    return a.tolist() if a.ndim else float(a)


# -- diff FILE.net ------------------------------------------------------------------------------
def diff_document(d) -> dict:
    net, g = d.net, d.graph
    doc = {"expression": net.source, "file": net.filename, "output": net.spec.minimize.value,
           "value": tolist(d.values[id(net.cost)])}
    doc["derivatives"] = {p: {"symbolic": d.gradient_text(p, own_names_only=True),
                              "in_node_names": d.gradient_text(p),
                              "shape": list(net.builder.shape_of(net.var_nodes[p])),
                              "value": tolist(d.grad_values[p])} for p in d.wrt}
    doc["nodes"] = [{"id": d.name(n), "op": n.op, "expr": d.definition(n),
                     "shape": [str(x) if isinstance(x, str) else x for x in d.shape(n)],
                     "value": tolist(d.values[id(n)])}
                    for n in g.order if n.op != "const"]
    doc["edges"] = [{"output": d.name(e.out), "input": d.name(e.inp), "slot": e.index,
                     "symbolic": d.backward(e), "local": d.local(e),
                     "shapes": [show(d.shape(e.out)), show(d.shape(e.inp))],
                     "value": tolist(v)} for e, v in zip(d.edges, d.edge_values)]
    doc["paths"] = {p: {"count": d.count(p),
                        "listed": [{"nodes": [d.name(n) for n in nodes]}
                                   for nodes, _ in d.paths(p)]} for p in d.wrt}
    return doc


def diff_json(d, out):
    out.write(json.dumps(diff_document(d), indent=2, ensure_ascii=False))
    out.write("\n")


def diff_plain(d, out):
    for p in d.wrt:
        out.write(f"d{d.net.spec.minimize.value}/d{p} = {d.gradient_text(p, own_names_only=True)}"
                  f" = {json.dumps(tolist(d.grad_values[p]))}\n")


def diff_csv(d, out):
    """One row per param entry: the gradient of the cost there."""
    import csv

    import numpy as np

    w = csv.writer(out, lineterminator="\n")
    w.writerow(["param", "entry", "value", f"d{d.net.spec.minimize.value}/dparam"])
    for p in d.wrt:
        values, grads = np.asarray(d.params[p]), np.asarray(d.grad_values[p])
        for idx in np.ndindex(grads.shape):
            w.writerow([p, " ".join(map(str, idx)), repr(float(values[idx])),
                        repr(float(grads[idx]))])


def diff_latex(d, out):
    from ..printer import MATH_LATEX, latex_name

    lines = []
    cost = d.net.spec.minimize.value
    for e in reversed(d.edges):
        lines.append(f"{latex_name('δ' + d.name(e.inp))} &\\mathrel{{+}}= "
                     f"{d.backward(e, MATH_LATEX)}")
    for p in d.wrt:
        lines.append(f"\\frac{{\\partial {latex_name(cost)}}}{{\\partial {latex_name(p)}}} &= "
                     f"{d.gradient_text(p, MATH_LATEX)}")
    out.write("\\begin{align}\n" + " \\\\\n".join(lines) + "\n\\end{align}\n")


def diff_rich(d, out=None):
    from rich.console import Console
    from rich.panel import Panel
    from rich.text import Text

    from ..printer import MATH

    con = Console(highlight=False)
    net = d.net
    cost = net.spec.minimize.value
    con.print(Panel(Text.assemble((net.filename, "bold cyan"), f"   {cost} = ",
                                  (matrix_text(d.values[id(net.cost)], 6), "green")),
                    title="cgcalc diff: backpropagation on the graph", title_align="left",
                    expand=False))
    t = titled_table("1. The graph: layers and operations, with shapes (m rows of data)")
    for c in ("node", "op", "shape", "definition", "value"):
        t.add_column(c, style="bold magenta" if c == "node" else None)
    for n in reversed(d.graph.order):
        if n.op == "const":
            continue
        t.add_row(d.name(n), n.op, show(d.shape(n)), Text(d.definition(n)),
                  Text(matrix_text(d.values[id(n)], 3), style="green"))
    con.print(t)
    rows = [(f"∂{d.name(e.out)}/∂{d.name(e.inp)}",
             f"{show(d.shape(e.out))} ← {show(d.shape(e.inp))}",
             Text(d.local(e, MATH) or "(array op)"),
             Text(f"δ{d.name(e.inp)} += {d.backward(e, MATH)}")) for e in reversed(d.edges)]
    legend = "⊙ elementwise, ' transpose, δX = dC/dX"
    if any("ε" in row[3].plain for row in rows):
        legend += ", max(p, ε) keeps p ≥ ε = 1e-12"
    t = titled_table(f"2. Connection derivatives ({legend})")
    for c in ("arrow", "shapes", "local derivative", "what flows back"):
        t.add_column(c, style="bold magenta" if c == "arrow" else None)
    for row in rows:
        t.add_row(*row)
    con.print(t)
    for p in d.wrt:
        paths = d.paths(p)
        con.print(Text(f"3. Paths from {cost} down to {p}: {d.count(p):,}", style="bold"))
        for nodes, _ in paths:
            con.print("   " + path_text(d, nodes, KEEP))
        con.print()
    t = titled_table("4. The gradients, composed along the paths and simplified")
    t.add_column("", style="bold magenta")
    t.add_column("symbolic")
    t.add_column("value at the params", style="green")
    for p in d.wrt:
        t.add_row(f"d{cost}/d{p}", Text(d.gradient_text(p, MATH)),
                  matrix_text(d.grad_values[p]))
    con.print(t)


# -- train ---------------------------------------------------------------------------------------
def predictions_table(net, result):
    import numpy as np

    from ..net import predict

    X, Y = net.load_data()
    P = predict(net, result.params, X)
    return X, Y, np.asarray(P)


def train_document(net, result):
    X, Y, P = predictions_table(net, result)
    return {"cost": result.cost, "epochs": result.epochs,
            "params": {k: tolist(v) for k, v in result.params.items()},
            "predictions": tolist(P), "history": result.history,
            "gradient_norms": result.grad_norms, "history_every": result.every,
            "interrupted": result.interrupted}


def train_json(net, result, out):
    out.write(json.dumps(train_document(net, result)) + "\n")


def train_plain(net, result, out):
    X, Y, P = predictions_table(net, result)
    out.write(f"epochs\t{result.epochs}\ncost\t{result.cost!r}\n")
    out.write("\t".join([*net.column_names(net.inputs), *net.column_names(net.targets),
                         *[f"{c}_pred" for c in net.column_names(net.targets)]]) + "\n")
    for x, y, p in zip(X, Y, P):
        out.write("\t".join(repr(float(v)) for v in [*x, *y, *p]) + "\n")


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values, width=48, log=True):
    import math

    vals = [v for v in values if v == v]
    if not vals:
        return ""
    if len(vals) > width:
        step = len(vals) / width
        vals = [vals[int(i * step)] for i in range(width)]
    if log and min(vals) > 0:
        vals = [math.log10(v) for v in vals]
    lo, hi = min(vals), max(vals)
    span = hi - lo or 1.0
    return "".join(SPARK[min(7, int((v - lo) / span * 7.999))] for v in vals)


def train_rich(net, result, out=None):
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    con = Console(highlight=False)
    X, Y, P = predictions_table(net, result)
    con.print(f"[bold]{escape(net.filename)}[/]: {result.epochs:,} epochs"
              + (" [yellow](interrupted)[/]" if result.interrupted else ""))
    t = Table(box=box.SIMPLE_HEAD)
    for c in net.column_names(net.inputs):
        t.add_column(c, justify="right")
    for c in net.column_names(net.targets):
        t.add_column(c, justify="right", style="cyan")
    for c in net.column_names(net.targets):
        t.add_column(f"{net.output_name} ({c})", justify="right", style="green")
    for x, y, p in zip(X[:40], Y[:40], P[:40]):
        t.add_row(*[f"{v:g}" for v in x], *[f"{v:g}" for v in y], *[f"{v:.4f}" for v in p])
    if len(X) > 40:
        t.add_row("…", *[""] * (len(net.column_names(net.inputs)) + 2 * len(net.column_names(net.targets)) - 1))
    con.print(t)
    con.print(f"[bold]final cost[/]  {result.cost:.6g}")
    if result.history:
        con.print(f"[bold]cost[/]        {sparkline(result.history)}  "
                  f"{result.history[0]:.3g} → {result.history[-1]:.3g} (log scale)")
    con.print("[bold]gradient size |dC/dθ| over training[/] (colah's lens on vanishing "
              "gradients)")
    g = Table(box=box.SIMPLE_HEAD)
    g.add_column("param", style="bold magenta")
    g.add_column("over training")
    g.add_column("first", justify="right")
    g.add_column("last", justify="right")
    for p, norms in result.grad_norms.items():
        if norms:
            g.add_row(p, sparkline(norms), f"{norms[0]:.3g}", f"{norms[-1]:.3g}")
    con.print(g)


# -- check ---------------------------------------------------------------------------------------
def check_summary(rows, rel_tol, fd_tol):
    """Per param: the worst disagreements; and whether all are within tolerance."""
    worst = {}
    ok = True
    for p, idx, rev, fwd, num in rows:
        scale = max(1.0, abs(rev))
        e_f = abs(rev - fwd) / scale
        e_n = abs(rev - num) / scale
        ok &= e_f <= rel_tol and e_n <= fd_tol
        w = worst.get(p)
        if w is None or max(e_f, e_n) > max(w[4], w[5]):
            worst[p] = (p, idx, rev, fwd, e_f, e_n, num)
    return list(worst.values()), ok


def check_render(rows, fmt, out, rel_tol, fd_tol):
    worst, ok = check_summary(rows, rel_tol, fd_tol)
    if fmt == "json":
        doc = {"ok": ok, "checked": len(rows),
               "tolerance": {"forward": rel_tol, "finite_differences": fd_tol},
               "worst": [{"param": p, "index": list(i), "reverse": r, "forward": f,
                          "numeric": n, "error_forward": ef, "error_numeric": en}
                         for p, i, r, f, ef, en, n in worst]}
        out.write(json.dumps(doc) + "\n")
        return ok
    if fmt == "rich":
        from rich.console import Console

        t = titled_table(f"gradient check: {len(rows)} entries, reverse mode against forward "
                         "mode and central differences")
        for c in ("param", "worst entry", "reverse", "forward", "numeric", "rel. err fwd",
                  "rel. err num"):
            t.add_column(c, justify="left" if c == "param" else "right")
        for p, i, r, f, ef, en, n in worst:
            t.add_row(p, str(list(i)), f"{r:.10g}", f"{f:.10g}", f"{n:.10g}", f"{ef:.1e}",
                      f"{en:.1e}", style=None if ef <= rel_tol and en <= fd_tol else "red")
        con = Console(highlight=False)
        con.print(t)
        con.print("[bold green]ok[/]" if ok else "[bold red]out of tolerance[/]")
        return ok
    out.write("param\tentry\treverse\tforward\tnumeric\terr_forward\terr_numeric\n")
    for p, i, r, f, ef, en, n in worst:
        out.write(f"{p}\t{list(i)}\t{r!r}\t{f!r}\t{n!r}\t{ef:.3e}\t{en:.3e}\n")
    out.write("ok\n" if ok else "out of tolerance\n")
    return ok
