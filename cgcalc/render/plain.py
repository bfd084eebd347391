"""``d/dx = <symbolic> = <value>``: one line per derivative, for scripts and pipes."""

from .common import derivatives, json_array, json_text, num


def render(analysis, out):
    for d in derivatives(analysis):
        line = f"{d.label} = {d.text}"
        if d.value is not None:
            line += f" = {num(d.value)}"
        out.write(line + "\n")
    if analysis.mode == "forward":
        _forward_table(analysis, out)


def _forward_table(analysis, out):
    g = analysis.graph
    adj = analysis.adjoints()
    variables = analysis.first_order_vars
    tangents = {v: analysis.tangents(v) for v in variables}
    out.write("node\tvalue\t" + "\t".join(f"d(node)/d{v}" for v in variables)
              + f"\td{g.name(g.output)}/d(node)\n")
    for n in g.order:
        if n.op == "const":
            continue
        cells = [g.name(n), num(analysis.values.get(n))]
        cells += [num(tangents[v].get(n, 0.0)) for v in variables]
        cells.append(num(adj.get(n, 0.0)))
        out.write("\t".join(cells) + "\n")


def render_net(d, out):
    """``dC/dtheta = <symbolic> = <value as JSON>``: one line per param."""
    for p in d.wrt:
        out.write(f"d{d.net.cost_name}/d{p} = {d.gradient_text(p, own_names_only=True)}"
                  f" = {json_text(json_array(d.grad_values[p]))}\n")
