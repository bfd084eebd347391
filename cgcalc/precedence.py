"""The common case of grammar/expr.lark, parsed by operator precedence: numbers, names, calls,
parentheses, ``+ - * / ^ **``, unary signs, ``name =`` and separators. Generated programs are
big (a sum over every data point, a function nested 100,000 deep), and this loop parses them
about three times faster than the LALR tables (cgcalc/lalr.py), into the same AST.

It is the shunting-yard algorithm, with explicit stacks: an operand stack of built nodes and an
operator stack of pending operators and open parentheses, so nesting depth costs stack entries,
never recursion. It knows only the expression grammar's valid programs without array syntax
(``@``, ``'``, ``[ ]``): for anything else, including every syntax error, it gives up (None) and
the LALR tables parse, and lark names the place of an error. tests/test_precedence.py checks
that whatever it parses, it parses exactly as the tables do, token positions included.

What it builds is up to its caller: by default the AST (cgcalc/syntax.py), or, through
``make`` and ``statement``, anything else built bottom-up in the same order (cgcalc/graph.py
builds graph nodes directly, without an AST in between).
"""

from __future__ import annotations

import re

from .syntax import CALL, NAME, NUMBER, NUMBER_TEXT, Ast, Pos, Statement

# grammar/expr.lark's terminals: each piece of the text is the blanks it ignores, then one token
# (blanks at the very end match nothing: they are ignored too). Which terminal a token is, its
# first character says (:data:`_FIRST`); for a first character outside ASCII, :data:`_KIND`.
# A name and the ``(`` after it are one piece, read at once: a call opens (``sin(``).
_NAME = r"(?!\d)\w+"
_NUMBER = NUMBER_TEXT
_PIECE = re.compile(rf"([ \t\f\r]*)({_NAME}(?:[ \t\f\r]*\()?|[(),=;]|\*\*|[-+*/^]|{_NUMBER}"
                    r"|\r?\n|#[^\n]*|\\[ \t]*\r?\n|[^ \t\f\r])")
_KIND = re.compile(rf"(?:(?P<name>{_NAME})|(?P<number>{_NUMBER})|(?P<other>.))\Z", re.DOTALL)
_LETTERS = "_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_FIRST = {**{c: "name" for c in _LETTERS}, **{c: "number" for c in "0123456789."},
          **{c: c for c in "(),=;"}, **{c: "op" for c in "-+*/^"},
          "\n": "nl", "#": "comment", "\\": "cont"}

# binary operators: (precedence, kind); unary signs are 3, so -x^2 is -(x^2) and -a*b is (-a)*b
_BINARY = {"+": (1, "add"), "-": (1, "sub"), "*": (2, "mul"), "/": (2, "div"),
           "^": (4, "pow"), "**": (4, "pow")}
_UNARY = 3
_COUNTED = {"comment", "nl", "cont", "(", ")", "number"}  # kinds checked before parsing: they
# move the line or the depth, or are no token at all ("." alone)
_OPEN, _CALL = "(", "call"  # operator-stack markers (precedence 0: nothing pops past them)


def _statement(stmts):
    """The default statement maker: each :class:`Statement` appended to ``stmts``."""
    def statement(name, expr):
        if name is None:
            stmts.append(Statement(None, expr, Pos(expr.line, expr.column)))
        else:
            stmts.append(Statement(name[0], expr, Pos(name[1], name[2], name[0])))
    return statement


def parse_fast(text: str, make=Ast, statement=None):
    """The statements of ``text`` as the LALR parser would build them, or None where this
    parser does not know the input (then the tables decide).

    ``make(kind, args, text, line, column, width)`` builds each expression node from the ones
    built for its inputs, in post-order (inputs first, left to right), as the tables' AST would
    be built; ``statement(name, expr)`` takes each statement as it ends (``name`` is None or
    (text, line, column)). By default they build the AST, and the statements are returned;
    given a ``statement``, the list returned is empty (None still means "not known here").

    Tokens are read and parsed in one loop. A name and the ``(`` after it, blanks between, are
    one piece that opens a call (``sin(``). Any other name where an operand is due waits for
    the next token (``held``): ``(`` after a line break or a backslash makes it a call, ``=``
    at the start of a statement its name. Newlines inside ( ) continue the statement, as
    grammars.py's postlexer does."""
    stmts: list = []
    if statement is None:
        statement = _statement(stmts)
    out: list = []  # operands: what make built
    pending: list = []  # operators: (precedence, kind, text, line, column) or a marker
    expect = True  # an operand comes next (else an operator, a ')' or ',' or the end)
    name = None  # the statement's "name =", as (text, line, column)
    first = True  # no token of this statement seen yet
    held = None  # a name read where an operand was due: (text, line, column, it was first)
    opened = False  # the last token opened a call: a ')' now closes f()
    line, line_start, depth, pos = 1, 0, 0, 0
    kind_of = _FIRST.get
    callees: dict = {}  # a call's piece ("sin(", "f (") -> the function's name
    pieces = _PIECE.findall(text)
    pieces.append(("", ";"))  # the end ends the last statement
    for blanks, value in pieces:
        start = pos + len(blanks)
        pos = start + len(value)
        ln, col = line, start - line_start + 1
        kind = kind_of(value[0])
        if kind is None:  # outside ASCII: a name, a number in other digits, or no token
            # only a name's piece is longer than one character and ends with "("
            kind = "name" if value[-1] == "(" and len(value) > 1 else \
                _KIND.match(value).lastgroup
            if kind == "other":
                return None
        elif kind in _COUNTED:  # names and operators, most of a program, skip these checks
            if kind == "comment":
                continue
            elif kind == "nl" or kind == "cont":
                if kind == "cont" and len(value) == 1:
                    return None  # a backslash, not before a newline
                line += 1
                line_start = pos
                if kind == "cont" or depth:
                    continue
                kind = ";"  # a newline ends the statement: a ';' on the line it ends
            elif kind == "(":
                depth += 1
            elif kind == ")":
                depth = depth - 1 if depth else 0
            elif kind == "number" and value == ".":
                return None
        if held is not None:
            h_text, h_line, h_col, h_first = held
            held = None
            if kind == "(":
                pending.append((0, _CALL, h_text, h_line, h_col, len(out)))
                opened = True
                continue
            if kind == "=" and h_first:
                name = (h_text, h_line, h_col)
                continue
            out.append(make(NAME, (), h_text, h_line, h_col, len(h_text)))
            expect = False
        if expect:
            if kind == "number":
                out.append(make(NUMBER, (), value, ln, col, len(value)))
                expect = False
            elif kind == "name":
                if value[-1] == "(":  # a call opens: its name, then "(" (blanks between)
                    depth += 1
                    callee = callees.get(value)
                    if callee is None:
                        callee = callees[value] = value[:-1].rstrip(" \t\f\r")
                    pending.append((0, _CALL, callee, ln, col, len(out)))
                    first, opened = False, True
                    continue
                held = (value, ln, col, first)
            elif kind == "(":
                pending.append((0, _OPEN))
            elif kind == "op" and (value == "-" or value == "+"):
                pending.append((_UNARY, "neg" if value == "-" else "pos", value, ln, col))
            elif kind == ")" and opened:  # f(): no arguments
                marker = pending.pop()
                out.append(make(CALL, (), marker[2], marker[3], marker[4], len(marker[2])))
                expect = False
            elif kind == ";" and first and name is None:
                continue  # an empty statement
            else:
                return None
            first = opened = False
            continue
        if kind == "op":
            prec, op = _BINARY[value]
            if prec != 4:  # left-associative: reduce what binds as tightly or tighter
                while pending and pending[-1][0] >= prec:
                    _reduce(pending.pop(), out, make)
            pending.append((prec, op, value, ln, col))
            expect = True
        elif kind == ")" or kind == ",":
            while pending and pending[-1][0]:
                _reduce(pending.pop(), out, make)
            if not pending:
                return None
            marker = pending[-1]
            if marker[1] == _OPEN:
                if kind == ",":
                    return None
                pending.pop()
            elif kind == ",":
                expect = True
            else:
                pending.pop()
                base = marker[5]
                if base == len(out) - 1:  # one argument, the common case
                    args = (out.pop(),)
                else:
                    args = tuple(out[base:])
                    del out[base:]
                out.append(make(CALL, args, marker[2], marker[3], marker[4], len(marker[2])))
        elif kind == ";":
            while pending and pending[-1][0]:
                _reduce(pending.pop(), out, make)
            if pending or len(out) != 1:
                return None
            statement(name, out.pop())
            expect, first, name = True, True, None
        else:
            return None
    return stmts


def _reduce(entry, out, make):
    prec, kind, value, line, col = entry
    if prec == _UNARY:
        if kind == "neg":
            out[-1] = make("neg", (out[-1],), "-", line, col, 1)
        return  # +a is a itself
    b = out.pop()
    out[-1] = make(kind, (out[-1], b), value, line, col, len(value))
