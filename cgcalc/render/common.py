"""What several output forms share: number formatting, labels, the node table."""

from __future__ import annotations

import math

from ..printer import to_text


NARROWEST = 40  # columns: rich draws nothing at 0 and fails below ~6 (COLUMNS=0, stty cols 1)


def console(**kw):
    """A rich Console for cgcalc's output (no highlighting of its own), drawn at least
    :data:`NARROWEST` columns wide however narrow the terminal says it is."""
    from rich.console import Console

    con = Console(highlight=False, **kw)
    if con.width < NARROWEST:
        con.width = NARROWEST
    return con


def listed_note(listed: int, count: int) -> str:
    """", k listed" where a listing of paths holds fewer than the ``count`` there are."""
    return f", {listed:,} listed" if listed < count else ""


def num(v) -> str:
    """A float as text that reads back exactly (``repr``), ``nan``/``inf`` spelled out."""
    if v is None:
        return ""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(v)


def json_num(v):
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def json_array(a):
    """An array as nested lists for JSON (a number for a scalar), ``null`` where not finite."""
    import numpy as np

    a = np.asarray(a, dtype=float)
    finite = np.isfinite(a)
    if not finite.all():
        a = a.astype(object)
        a[~finite] = None
    return a.tolist() if a.ndim else a.item()


def json_text(doc, **kw) -> str:
    """One JSON document, valid JSON whatever the values (NaN is never written)."""
    import json

    return json.dumps(doc, ensure_ascii=False, allow_nan=False, **kw)


def matrix_text(a, digits=4) -> str:
    """A small array as [[..], ..] with a few significant digits (for the terminal)."""
    import numpy as np

    a = np.asarray(a)
    if a.ndim == 0:
        return f"{float(a):.{digits}g}"
    with np.printoptions(precision=digits, suppress=False, threshold=30, edgeitems=3,
                         linewidth=70):
        return np.array2string(a, separator=", ")


def derivatives(analysis):
    """The analysis's derivatives, each with its text: a cgcalc expression in the graph's
    variables (statements binding shared parts when it is large), printed once."""
    from ..printer import program_text

    ds = analysis.derivatives()
    if any(d.text is None for d in ds):
        names = analysis.derivative_names()
        reserved = frozenset(analysis.graph.variables)
        for d in ds:
            if d.text is None:
                d.text = program_text(d.node, names=names, reserved=reserved)
    return ds


def node_definition(graph, node) -> str:
    """The node in the names of its inputs: ``sin(v)``."""
    if node.op in ("var", "const"):
        return to_text(node)
    atoms = {a: graph.name(a) for a in node.args if graph.name(a)}
    return to_text(node, atoms)


def operation_nodes(graph):
    """Nodes a user sees: variables and operations (constants appear inside definitions)."""
    return [n for n in graph.order if n.op != "const"]


def edge_label(graph, edge) -> str:
    return f"∂{graph.name(edge.out)}/∂{graph.name(edge.inp)}"


def local_text(analysis, edge) -> str:
    g = analysis.graph
    atoms = {a: g.name(a) for a in edge.out.args if g.name(a)}
    return to_text(analysis.local_form(edge), atoms)


def expanded_text(analysis, edge, cap=160):
    """The connection derivative in the input variables, or None when it would be long."""
    from ..printer import inline_size

    node = analysis.simplifier(edge.rule)
    if inline_size(node, analysis.inline_sizes, cap + 1) > cap:
        return None
    return to_text(node)


KEEP = 6  # nodes (or factors) shown at each end of a long path on screen


def path_text(graph, nodes, keep=None) -> str:
    """``f → u → v → x``; with ``keep``, a long path shows its first and last ``keep`` nodes.
    ``graph`` is anything with ``name(node)``: a Graph, or a network's derivation."""
    return " → ".join(elide([graph.name(n) or to_text(n) for n in nodes], keep))


def elide(items, keep=None, middle=None):
    """The items, or with ``keep`` and more than twice that many, the first and last ``keep`` of
    them around ``middle`` (by default "… N more …")."""
    if keep is None or len(items) <= 2 * keep + 1:
        return items
    return [*items[:keep], middle or f"… {len(items) - 2 * keep:,} more …", *items[-keep:]]


def titled_table(title: str):
    """A rich table of the story, its numbered title above it on one line (the table is at
    least as wide as the title, so a narrow table does not fold it)."""
    from rich import box
    from rich.table import Table

    return Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
                 min_width=len(title))


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values, width=48, log=True):
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
