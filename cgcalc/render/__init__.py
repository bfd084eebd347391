"""Output forms. The one dispatch from a format's name to the module that writes it: each of
those modules has ``render(analysis, out)`` for an expression's derivative and
``render_net(derivation, out)`` for a network's. rich is imported only when a terminal display is
asked for."""

from __future__ import annotations

import importlib

# --format of `cgcalc diff` -> the module that writes it
DIFF = {"rich": "rich", "plain": "plain", "json": "json_out", "csv": "csv_out",
        "latex": "latex", "dot": "dot"}
FORMATS = ("auto", *DIFF)


def diff(result, fmt: str, out, net=False) -> None:
    """Write ``result`` (an Analysis, or with ``net`` a NetDerivation) in format ``fmt``."""
    module = importlib.import_module(f".{DIFF[fmt]}", __name__)
    (module.render_net if net else module.render)(result, out)
