"""One module per output form. Each exposes ``render(analysis, out)``; ``rich`` is imported only
when a terminal display is asked for."""

from __future__ import annotations

import importlib

FORMATS = ("rich", "plain", "json", "csv", "latex", "dot")


def renderer(fmt: str):
    return importlib.import_module(f".{fmt}_out" if fmt in ("json", "csv") else f".{fmt}",
                                   __name__).render
