"""Output forms. The one dispatch from a format's name to the module that writes it: each of
those modules has ``render(analysis, out)`` for an expression's derivative and
``render_net(derivation, out)`` for a network's. rich is imported only when a terminal display is
asked for."""

from __future__ import annotations

import importlib
import sys
from contextlib import contextmanager

# --format of `cgcalc diff` -> the module that writes it
DIFF = {"rich": "rich", "plain": "plain", "json": "json_out", "csv": "csv_out",
        "latex": "latex", "dot": "dot"}
FORMATS = ("auto", *DIFF)


def diff(result, fmt: str, out, net=False) -> None:
    """Write ``result`` (an Analysis, or with ``net`` a NetDerivation) in format ``fmt``."""
    module = importlib.import_module(f".{DIFF[fmt]}", __name__)
    if not net and result.point is not None:
        result.derivatives()  # a derivative without a value at the point fails every form alike
    with exact_counts():
        (module.render_net if net else module.render)(result, out)


@contextmanager
def exact_counts():
    """Path counts are exact integers however large (3^16000 has 7,634 digits); Python refuses
    to write integers over 4,300 digits as text unless asked (a limit for reading them, which
    stays on for everything read)."""
    get = getattr(sys, "get_int_max_str_digits", None)
    if get is None:
        yield
        return
    old = get()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(old)
