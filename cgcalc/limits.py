"""The sizes cgcalc refuses before it allocates, so that memory stays bounded whatever the input.

Each is checked where the size first becomes known (a line being read, a declared shape, a data
table), with a message that names the limit and how to raise it: the environment variable of
the limit, or for array sizes the ``--max-entries`` option of the network commands.
"""

from __future__ import annotations

import os

from .errors import CgcalcError

DEFAULTS = {
    # entries in one array (a param, the data table, a node's value for the whole batch):
    # 50 million float64 entries are 400 MB
    "CGCALC_MAX_ENTRIES": 50_000_000,
    # bytes in one line of input (a CSV record, a JSON line, a data row): a stream without
    # newlines is refused at this size instead of being read whole
    "CGCALC_MAX_LINE": 16 << 20,
    # bytes of a program, a network file or a params file
    "CGCALC_MAX_SOURCE": 64 << 20,
    # bytes of address space Graphviz's dot may take drawing a picture (svg, png): a graph of
    # 20,000 terms took 4 GB
    "CGCALC_MAX_GRAPHVIZ": 4 << 30,
}
_override: dict = {}  # set by command-line options (--max-entries)


def limit(name: str) -> int:
    """The limit ``name`` (a key of DEFAULTS): an option's value, else the environment's, else
    the default."""
    if name in _override:
        return _override[name]
    text = os.environ.get(name)
    if not text:
        return DEFAULTS[name]
    digits = text.strip().replace("_", "")
    if not (digits.isascii() and digits.isdigit()) or text.strip().startswith("_"):
        # (int() would also take other scripts' digits: ١٠ for 10)
        raise CgcalcError(f"{name}={text!r} is not a whole number (digits 0-9)")
    value = int(digits)
    if value < 1:
        raise CgcalcError(f"{name} must be at least 1, not {value}")
    return value


def set_limit(name: str, value: int) -> None:
    _override[name] = value


def reset() -> None:
    """Forget the options' limits (each run of the command line sets its own)."""
    _override.clear()


def check_entries(count, what, **place):
    """Refuse an array of ``count`` entries above the limit, naming ``what`` and the place."""
    most = limit("CGCALC_MAX_ENTRIES")
    if count > most:
        raise CgcalcError(f"{what} would have {count:,} entries, more than the limit of "
                          f"{most:,}", hint="raise it with --max-entries N (or the environment "
                          "variable CGCALC_MAX_ENTRIES) if the memory is there", **place)
