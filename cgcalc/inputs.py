"""What the user hands the commands, read and checked: expression text or a file or standard
input, ``--at`` points, ``--wrt`` names. Everything wrong raises CgcalcError with its place."""

from __future__ import annotations

import os
import re
import stat

from .errors import CgcalcError, lone_cr_as_lf, suggest
from .files import names_closed_stdin, read_bytes
from .syntax import NUMBER_TEXT


FILE_SUFFIXES = (".net", ".cg", ".txt", ".expr", ".csv", ".json")


def read_source(arg: str, network=False) -> tuple[str, str]:
    """(text, display name) for an expression argument: ``-`` reads standard input, a path that
    exists is read as a file, anything else is the expression itself. For a command that takes
    only a network (``network``), a directory is refused, not read as a name."""
    if arg == "-":
        return decode(read_bytes("-", "input"), "<stdin>"), "<stdin>"
    plain = len(arg) < 4096 and "\n" not in arg and "\0" not in arg
    if plain and names_closed_stdin(arg):  # /dev/stdin with nothing behind it: refused
        return decode(read_bytes(arg), arg), arg
    if network and plain and os.path.isdir(arg):
        raise CgcalcError(f"cannot read {arg}: it is a directory, not a network file")
    if plain and (arg.startswith(_PATH_STARTS) or arg.endswith(_PATH_ENDS)):  # ./d, d/: paths
        if os.path.isdir(arg):
            raise CgcalcError(f"cannot read {arg}: it is a directory, not a file")
        if not os.path.exists(arg):
            raise CgcalcError(f"no such file: {arg}", filename=arg,
                              hint="an argument that is not a file is read as an expression; "
                                   "this one can only be a path")
    looks_like_path = arg.endswith(FILE_SUFFIXES)  # a "/" may be a division: not a clue
    if plain and looks_like_path and not os.path.exists(arg):
        raise CgcalcError(f"no such file: {arg}", filename=arg,
                          hint="an argument that is not a file is read as an expression; "
                          "this one looks like a file name")
    if plain and (looks_like_path or (os.path.exists(arg) and not os.path.isdir(arg))):
        return decode(read_bytes(arg), arg), arg  # a file, a pipe, /dev/stdin: bounded
    return arg, "<expr>"


_PATH_STARTS = ("/", "./", "../", "~", ".\\", "..\\")  # how only a path begins, never an expression
_PATH_ENDS = ("/", "/.", "/..")  # how only a path ends
_TAKEN: dict = {}  # this run's: what is read once -> (how it is named, its readers)


def stdin_once(given):
    """Standard input, or any pipe, is read for one thing at most: ``given`` holds (name, value)
    for each argument that names something to read. Standard input is ``-`` or another name of
    what it is, unless that is a regular file (``/dev/stdin``, ``/dev/fd/0``: a file
    redirected in is opened anew from its start by each name); another pipe or socket counts
    by itself. What the run reads later (a network's data file) is checked with
    :func:`read_once_too`."""
    _TAKEN.clear()
    for name, value in given:
        if isinstance(value, str):
            read_once_too(name, value, check=False)
    for key, (what, names) in _TAKEN.items():
        if len(names) > 1:
            raise _given_twice(what, names)


def read_once_too(name, value, check=True):
    """One more argument, ``name``, reads ``value`` (a path): refused, as by
    :func:`stdin_once`, when that is standard input or a pipe an argument of the command line
    reads too. Only :func:`stdin_once` (``check`` False) records what is read: a later reader
    (a network's data file) is checked against the command line's, never kept for the next
    run in the same process."""
    key = _read_once(value)
    if key is None:
        return
    what, names = _TAKEN.get(key) or ("standard input" if key == "-" else
                                      f"the {'socket' if stat.S_ISSOCK(key[2]) else 'pipe'}"
                                      f" {value}", [])
    if not check:
        _TAKEN[key] = (what, [*names, name])
    elif names and name not in names:
        raise _given_twice(what, [*names, name])


def _given_twice(what, names):
    both = "both " if len(names) == 2 else ""
    return CgcalcError(f"{what} is given for {both}{', '.join(names[:-1])} and {names[-1]}",
                       hint="it can be read once: give all but one a file")


def _read_once(value):
    """``-`` for standard input (by any name), (device, inode, mode) for another pipe, socket or
    terminal, None for what can be read again (or is not a file: an expression, say)."""
    if value == "-":
        return "-"
    if not 0 < len(value) < 4096 or "\0" in value or "\n" in value:
        return None
    try:
        st = os.stat(value)  # a FIFO is not opened by this
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
        return None
    try:
        own = os.fstat(0)
        if (own.st_dev, own.st_ino) == (st.st_dev, st.st_ino):
            return "-"
    except OSError:  # no standard input at all
        pass
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode):
        return (st.st_dev, st.st_ino, st.st_mode)
    return None  # /dev/null, /dev/zero: each read is what the first was


def decode(data: bytes, name: str) -> str:
    """A file's text: UTF-8 (a byte-order mark dropped), lines ended by LF, CRLF or a CR alone
    (old Mac files: each such CR read as LF, so the lines and their numbers are the file's)."""
    if isinstance(data, str):
        return data
    try:
        return lone_cr_as_lf(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        text = data.decode("utf-8", errors="replace")
        raise CgcalcError(f"invalid UTF-8 (byte 0x{data[exc.start]:02x})", source=text,
                          line=line, column=col, filename=name) from None


# a number as the expression language writes one (with a sign), or inf and nan, which are
# numbers that are not finite (refused as such)
_PLAIN_NUMBER = re.compile(rf"[+-]?(?:{NUMBER_TEXT}|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|"
                           r"[nN][aA][nN])")  # (not IGNORECASE: it takes ı for i)
_NOT_ONE_EXPRESSION = re.compile(r"[;=#\n\r]")  # statements, a comment: a program, not a value
_WHOLE = re.compile(r"[+-]?[0-9]+")


def written_plainly(text: str, whole=False) -> bool:
    """Whether ``text`` (blanks around it aside) is a number as cgcalc reads them everywhere:
    ASCII digits, no ``1_000``; inf and nan too, unless ``whole``."""
    return (_WHOLE if whole else _PLAIN_NUMBER).fullmatch(text.strip()) is not None


def parse_number(text: str):
    """(a float, None) from ``1.5``, ``-2``, ``1e-3``, ``pi/2``, ``sqrt(2)``: a number written
    plainly (not as Python also reads them: ``1_000``, other scripts' digits) or one constant
    expression, evaluated by cgcalc itself (never ``eval``). (None, None) when it is not a
    constant; (None, why) for a constant that cannot be computed (``2^1030``: too large;
    ``0/0``)."""
    if _PLAIN_NUMBER.fullmatch(text):
        return float(text), None
    if _NOT_ONE_EXPRESSION.search(text):
        return None, None
    from .graph import parse
    from .evaluate import evaluate_point

    try:
        g = parse(text)
    except CgcalcError:
        return None, None
    if g.variables:
        return None, None
    try:
        return evaluate_point(g.order, {})[g.output], None
    except CgcalcError as exc:
        return None, getattr(exc, "reason", exc.message)


def parse_assignments(options, option="--at", variables=()) -> dict[str, float]:
    """``--at x=1,y=2`` (repeatable) -> {"x": 1.0, "y": 2.0}, with each fault pointed at."""
    point: dict[str, float] = {}
    known = frozenset(variables)  # a name is looked up once per assignment: 10^5 of them is fine
    for raw in options:
        pos = 0
        for part in raw.split(","):
            start = pos
            pos += len(part) + 1
            lead = len(part) - len(part.lstrip())
            item = part.strip()

            def fail(msg, offset=0, width=None, hint=None):
                return CgcalcError(msg, source=f"{option} {raw}", line=1,
                                   column=len(option) + 2 + start + lead + offset,
                                   width=width or max(1, len(item) - offset), filename=option,
                                   hint=hint)

            if not item:
                raise fail("empty assignment; write NAME=VALUE", width=1)
            if "=" not in item:
                raise fail(f"{item!r} is not NAME=VALUE")
            name, value = (s.strip() for s in item.split("=", 1))
            if known and name not in known:
                near = suggest(name, variables)
                raise fail(f"{name!r} is not an input variable "
                           f"(inputs: {', '.join(variables)})", width=len(name),
                           hint=f"did you mean {near}?" if near else None)
            v, why = parse_number(value)
            off = item.index("=") + 1 + (len(item.split("=", 1)[1]) -
                                         len(item.split("=", 1)[1].lstrip()))
            if v is None:
                raise fail(f"{value!r} cannot be computed: {why}" if why else
                           f"{value!r} is not a number", offset=off)
            if v != v or v in (float("inf"), float("-inf")):
                raise fail(f"{value!r} is not a finite number", offset=off)
            if name in point:
                raise fail(f"{name!r} is given twice", width=len(name))
            point[name] = v
    return point


def check_wrt(wrt, graph, option="--wrt"):
    """The variables to differentiate by, each an input of the graph; default all of them."""
    if not graph.variables:
        from .evaluate import evaluate_point

        try:
            value = repr(evaluate_point(graph.order, {})[graph.output])
        except CgcalcError as exc:  # 1/0: not a number either
            value = f"not a number: {exc.message}"
        first = graph.source.splitlines()[0] if graph.source.strip() else " "
        raise CgcalcError(f"nothing to differentiate: no input variables (the value is "
                          f"{value})", source=graph.source, filename=graph.filename, line=1,
                          column=1, width=len(first))
    if not wrt:
        return list(graph.variables)
    known = frozenset(graph.variables)
    for name in wrt:
        if name not in known:
            near = suggest(name, graph.variables)
            inputs = ", ".join(graph.variables) or "none"
            raise CgcalcError(f"{name!r} is not an input variable (inputs: {inputs})",
                              source=f"{option} {name}", line=1, column=len(option) + 2,
                              width=len(name), filename=option,
                              hint=f"did you mean {near}?" if near else None)
    return list(wrt)


def check_point(point, graph):
    """Every input variable needs a value; the error points at the variable in the text."""
    for v, node in graph.var_nodes.items():
        if v not in point:
            line = col = None
            width = len(v)
            if node in graph.where:
                line, col, width = graph.where[node]
            raise CgcalcError(f"{v!r} has no value; give one with --at {v}=VALUE",
                              source=graph.source, filename=graph.filename, line=line,
                              column=col, width=width)
    return {v: point[v] for v in graph.variables}

