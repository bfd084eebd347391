"""What ``cgcalc train`` shows: the predictions on the training rows, the final cost, the cost
and the size of each param's gradient over training; rich on a terminal, plain and JSON for
scripts; and the progress bar on standard error while it trains."""

from __future__ import annotations

import sys

from .common import console, json_array, json_num, json_text, num, sparkline

ROWS = 40  # training rows shown on the terminal


def _predictions(net, data, result):
    """(X, Y, P, P's column names), P with one row per data row (no columns without an output
    node)."""
    import numpy as np

    X, Y = data
    if result.predictions is None:
        return X, Y, np.empty((len(X), 0)), []
    P = np.asarray(result.predictions).reshape(len(X), -1)
    if net.classifier:  # the class: the largest entry of each row
        return X, Y, np.column_stack([P, P.argmax(axis=1)]), net.output_columns() + ["class"]
    return X, Y, P, net.output_columns()


def accuracy(net, data, result):
    """For a classifier with one-hot targets: the share of rows whose class is the target's."""
    import numpy as np

    X, Y = data
    if not net.classifier or result.predictions is None:
        return None
    P = np.asarray(result.predictions).reshape(len(X), -1)
    if P.shape != Y.shape:
        return None
    return float((P.argmax(axis=1) == Y.argmax(axis=1)).mean())


def document(net, data, result) -> dict:
    doc = {"cost": json_num(result.cost), "epochs": result.epochs,
           "params": {k: json_array(v) for k, v in result.params.items()}}
    if result.predictions is not None:
        doc["predictions"] = json_array(result.predictions)
    share = accuracy(net, data, result)
    if share is not None:
        doc["accuracy"] = share
    doc.update({"history": [json_num(c) for c in result.history],
                "gradient_norms": {p: [json_num(v) for v in vs]
                                   for p, vs in result.grad_norms.items()},
                "history_every": result.every, "interrupted": result.interrupted})
    return doc


def render_json(net, data, result, out):
    out.write(json_text(document(net, data, result)) + "\n")


def render_plain(net, data, result, out):
    X, Y, P, p_cols = _predictions(net, data, result)
    out.write(f"epochs\t{result.epochs}\ncost\t{num(result.cost)}\n")
    share = accuracy(net, data, result)
    if share is not None:
        out.write(f"accuracy\t{share!r}\n")
    out.write("\t".join([*net.column_names(net.inputs), *net.column_names(net.targets),
                         *p_cols]) + "\n")
    for x, y, p in zip(X, Y, P):
        out.write("\t".join(num(v) for v in [*x, *y, *p]) + "\n")


def render_rich(net, data, result, out=None):
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    con = console()
    X, Y, P, p_cols = _predictions(net, data, result)
    con.print(f"[bold]{escape(net.filename)}[/]: {result.epochs:,} epochs"
              + (" [yellow](interrupted)[/]" if result.interrupted else ""))
    t = Table(box=box.SIMPLE_HEAD)
    for c in net.column_names(net.inputs):
        t.add_column(c, justify="right")
    for c in net.column_names(net.targets):
        t.add_column(c, justify="right", style="cyan")
    for c in p_cols:
        t.add_column(c, justify="right", style="green")
    for x, y, p in zip(X[:ROWS], Y[:ROWS], P[:ROWS]):
        t.add_row(*[f"{v:g}" for v in x], *[f"{v:g}" for v in y], *[f"{v:.4f}" for v in p])
    if len(X) > ROWS:
        t.add_row(f"… {len(X) - ROWS:,} more rows", *[""] * (len(t.columns) - 1))
    con.print(t)
    con.print(f"[bold]final cost[/]  {result.cost:.6g}")
    share = accuracy(net, data, result)
    if share is not None:
        con.print(f"[bold]accuracy[/]    {share:.1%} of the training rows in the right class")
    if result.history:
        con.print(f"[bold]cost[/]        {sparkline(result.history)}  "
                  f"{result.history[0]:.3g} → {result.history[-1]:.3g} (log scale)")
    con.print("[bold]gradient size |dC/dθ| over training[/] (a gradient that shrinks toward "
              "zero early in a deep chain of steps is the vanishing gradient)")
    g = Table(box=box.SIMPLE_HEAD)
    g.add_column("param", style="bold magenta")
    g.add_column("over training")
    g.add_column("first", justify="right")
    g.add_column("last", justify="right")
    for p, norms in result.grad_norms.items():
        if norms:
            g.add_row(p, sparkline(norms), f"{norms[0]:.3g}", f"{norms[-1]:.3g}")
    con.print(g)


class Progress:
    """A rich progress bar on standard error: epoch, cost, epochs per second, time left.
    Off when standard error is not a terminal or with --quiet."""

    def __init__(self, total, quiet):
        self.total, self.quiet = total, quiet
        self.bar = None

    def __enter__(self):
        if self.quiet or not sys.stderr.isatty() or not self.total:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn
        from rich.progress import Progress as Bar
        from rich.progress import TextColumn, TimeRemainingColumn

        self.bar = Bar(TextColumn("epoch"), MofNCompleteColumn(), BarColumn(),
                            TextColumn("cost {task.fields[cost]}"),
                            TextColumn("{task.fields[speed]} epochs/s"),
                            TimeRemainingColumn(), console=console(stderr=True),
                            transient=True)
        self.bar.start()
        self.task = self.bar.add_task("train", total=self.total, cost="…", speed="…")
        return self.update

    def update(self, epoch, cost):
        speed = self.bar.tasks[0].speed
        self.bar.update(self.task, completed=epoch, cost=f"{cost:.5g}",
                        speed=f"{speed:,.0f}" if speed else "…")

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False
