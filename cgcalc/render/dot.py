"""``--format dot``: the graph for Graphviz (see picture.py): inputs flow up into the
operations, and every arrow carries its connection derivative (and its value at the point)."""

from __future__ import annotations

from .picture import from_analysis, from_net, write_dot


def render(analysis, out, highlight=None):
    """With one variable to differentiate by, its paths are marked, as in ``cgcalc graph``."""
    if highlight is None and len(set(analysis.wrt)) == 1:
        highlight = analysis.wrt[0]
    write_dot(from_analysis(analysis, highlight), out)


def render_net(d, out, highlight=None):
    write_dot(from_net(d, highlight), out)
