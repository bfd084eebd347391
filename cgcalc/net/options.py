"""Training options: the names a train line (and `cgcalc train`'s flags) may set, their kinds,
bounds and defaults, and the one check every value goes through."""

from __future__ import annotations

import math

from ..errors import CgcalcError, suggest

# train-line options (each also a flag of `cgcalc train`): name -> (kind, allowed, default);
# kind is int, float or a tuple of the names allowed; allowed is a bound for numbers
OPTIONS = {
    "epochs": (int, ">= 0", 1000),
    "rate": (float, "> 0", 0.1),
    "seed": (int, ">= 0", 0),
    "batch": (int, ">= 1", None),  # rows per step; default all rows
    "optimizer": (("sgd", "momentum", "adam"), None, "sgd"),
    "beta": (float, "in [0, 1)", 0.9),  # momentum
    "beta1": (float, "in [0, 1)", 0.9),  # adam
    "beta2": (float, "in [0, 1)", 0.999),
    "eps": (float, "> 0", 1e-8),
}


def defaults() -> dict:
    return {name: default for name, (_, _, default) in OPTIONS.items()}


def option(name, value, fail=None, tok=None, flag=None):
    """A training option's value, checked: from the train line (``fail(msg, tok)`` places the
    error) or from a command-line ``flag`` such as ``--rate``."""
    label = flag or f"train option {name}"

    def bad(msg):
        return fail(msg, tok) if fail is not None and tok is not None else CgcalcError(msg)

    if name not in OPTIONS:
        near = suggest(name, OPTIONS)
        raise bad(f"unknown train option {name!r} ({', '.join(OPTIONS)})"
                  + (f"; did you mean {near}?" if near else ""))
    kind, allowed, _ = OPTIONS[name]
    if isinstance(kind, tuple):
        if value not in kind:
            raise bad(f"{label} is one of {', '.join(kind)}, not {value!r}")
        return value
    if isinstance(value, str) or (isinstance(value, float) and not math.isfinite(value)):
        raise bad(f"{label} must be a finite number, not {value!r}")
    ok = {">= 0": value >= 0, "> 0": value > 0, ">= 1": value >= 1,
          "in [0, 1)": 0 <= value < 1}[allowed]
    if not ok or (kind is int and value != int(value)):
        what = "a whole number" if kind is int else "a number"
        raise bad(f"{label} must be {what} {allowed}, not {value:g}")
    return kind(value)
