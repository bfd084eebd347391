"""``--format latex``: the article's notation, an ``align`` block of the definitions, the connection
derivatives, the chain rule as a sum over paths of products, and the simplified result."""

from __future__ import annotations

from ..printer import LATEX, MATH_LATEX, latex_name, program_text, to_text
from .common import KEEP, elide, num, operation_nodes


def _partial(top, bottom):
    return f"\\frac{{\\partial {latex_name(top)}}}{{\\partial {latex_name(bottom)}}}"


def render(analysis, out, max_terms=8):
    g = analysis.graph
    lines, gaps = [], set()  # gaps: the lines after which a little space sets groups apart
    for n in operation_nodes(g):
        if n.op == "var":
            continue
        atoms = {a: g.name(a) for a in n.args if g.name(a)}
        lines.append(f"{latex_name(g.name(n))} &= {to_text(n, atoms, LATEX)}")
    gaps.add(len(lines) - 1)
    have_point = analysis.point is not None
    for e in analysis.edges():
        atoms = {a: g.name(a) for a in e.out.args if g.name(a)}
        text = to_text(analysis.local_form(e), atoms, LATEX)
        row = f"{_partial(g.name(e.out), g.name(e.inp))} &= {text}"
        if len(e.out.args) > 1 and sum(a is e.inp for a in e.out.args) > 1:
            row += f" \\quad \\text{{(input {e.index + 1})}}"
        if have_point:
            row += f" = {num(analysis.edge_value(e.out, e.index))}"
        lines.append(row)
    gaps.add(len(lines) - 1)
    out_name = g.name(g.output)
    counts = analysis.path_counts()
    reserved = frozenset(g.variables)
    for d in analysis.derivatives():
        if len(d.wrt) == 1:
            v = d.wrt[0]
            paths = analysis.paths(v)
            terms = []
            for nodes, slots, _ in paths[:max_terms]:
                factors = [_partial(g.name(a), g.name(b)) for a, b in zip(nodes, nodes[1:])]
                terms.append(" ".join(elide(factors, KEEP, middle="\\cdots")))
            more = counts.get(v, 0) - len(terms)
            if more > 0:
                terms.append(f"\\dots\\ (\\text{{{more:,} more path{'s' if more > 1 else ''}}})")
            chain = " + ".join(terms)
            lines.append(f"{_partial(out_name, v)} &= {chain or '0'}")
            lead = "&= "
        else:
            lead = "\\frac{\\partial^" + str(len(d.wrt)) + " " + latex_name(out_name) + "}{" + \
                " ".join(f"\\partial {latex_name(v)}" for v in d.wrt) + "} &= "
        text = program_text(d.node, reserved=reserved, style=LATEX)
        if " \\\\\n" in text:  # statements: show the result line, definitions after
            *defs, last = text.split(" \\\\\n")
            lines.append(f"{lead}{last}" + (f" = {num(d.value)}" if d.value is not None else ""))
            lines.extend(defs)
        else:
            lines.append(f"{lead}{text}" + (f" = {num(d.value)}" if d.value is not None else ""))
    body = "".join(line + (" \\\\[4pt]\n" if i in gaps else " \\\\\n")
                   for i, line in enumerate(lines[:-1]))
    out.write("\\begin{align}\n" + body + lines[-1] + "\n\\end{align}\n")


def render_net(d, out):
    """The derivation as the article writes it: δ for the adjoints, ⊙ for elementwise products;
    for a recurrent network, one step t and each gradient as a sum over the steps."""
    tt = d.through_time
    src = d if tt is None else tt
    lines = []
    cost = d.net.cost_name
    for e in reversed(src.edges):
        lines.append(f"{latex_name('δ' + src.name(e.inp))} &\\mathrel{{+}}= "
                     f"{src.backward(e, MATH_LATEX)}")
    for p in d.wrt:
        if tt is not None and p in tt.sums:
            text = f"\\sum_{{t=1}}^{{{tt.steps}}} {tt.text(tt.sums[p], MATH_LATEX)}"
        else:
            text = d.gradient_text(p, MATH_LATEX)
        lines.append(f"\\frac{{\\partial {latex_name(cost)}}}{{\\partial {latex_name(p)}}} &= "
                     f"{text}")
    if tt is not None:
        for label, node in tt.recurrence:
            lines.append(f"{latex_name(label)} &\\mathrel{{+}}= {tt.text(node, MATH_LATEX)}")
    out.write("\\begin{align}\n" + " \\\\\n".join(lines) + "\n\\end{align}\n")
