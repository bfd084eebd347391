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
"""

from __future__ import annotations

import re

from .syntax import CALL, NAME, NUMBER, Ast, Pos, Statement

# grammar/expr.lark's terminals, in one pattern, each after the blanks it ignores (blanks at the
# very end match nothing: the search passes over them, and they are ignored too)
_TOKEN = re.compile(r"""[ \t\f\r]*(?:
    (?P<name>(?!\d)\w+)
  | (?P<punct>[(),=;])
  | (?P<op>\*\*|[-+*/^])
  | (?P<number>(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)
  | (?P<nl>\r?\n)
  | (?P<comment>\#[^\n]*)
  | (?P<cont>\\[ \t]*\r?\n)
  | (?P<other>[^ \t\f\r]))""", re.VERBOSE | re.DOTALL)

# binary operators: (precedence, kind); unary signs are 3, so -x^2 is -(x^2) and -a*b is (-a)*b
_BINARY = {"+": (1, "add"), "-": (1, "sub"), "*": (2, "mul"), "/": (2, "div"),
           "^": (4, "pow"), "**": (4, "pow")}
_UNARY = 3
_OPEN, _CALL = "(", "call"  # operator-stack markers (precedence 0: nothing pops past them)


def _tokens(text):
    """(kind, text, line, column) of each token the parser sees, or None for a character outside
    the fast path. Newlines inside ( ) continue the statement, as grammars.py's postlexer does."""
    out = []
    append = out.append
    line, line_start, depth = 1, 0, 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "comment":
            continue
        start = m.start(kind)
        if kind == "nl" or kind == "cont":
            if kind == "nl" and not depth:
                append((";", "\n", line, start - line_start + 1))
            line += 1
            line_start = m.end()
            continue
        value = m.group(kind)
        if kind == "punct":
            kind = value
            if value == "(":
                depth += 1
            elif value == ")":
                depth = depth - 1 if depth else 0
        elif kind == "other":
            return None
        append((kind, value, line, start - line_start + 1))
    return out


def parse_fast(text: str):
    """The statements of ``text`` as the LALR parser would build them, or None where this
    parser does not know the input (then the tables decide)."""
    toks = _tokens(text)
    if toks is None:
        return None
    toks.append((";", "", 0, 0))  # the end ends the last statement
    stmts = []
    out: list = []  # operands: built Ast nodes
    pending: list = []  # operators: (precedence, kind, text, line, column) or a marker
    expect = True  # an operand comes next (else an operator, a ')' or ',' or the end)
    name = None  # the statement's "name =", as (text, line, column)
    first = True  # no token of this statement seen yet
    i, n = 0, len(toks)
    while i < n:
        kind, value, line, col = toks[i]
        i += 1
        if expect:
            if kind == "number":
                out.append(Ast(NUMBER, (), value, line, col, len(value)))
                expect = False
            elif kind == "name":
                nxt = toks[i][0]
                if nxt == "(":
                    i += 1
                    if toks[i][0] == ")":  # f(): no arguments
                        i += 1
                        out.append(Ast(CALL, (), value, line, col, len(value)))
                        expect = False
                    else:
                        pending.append((0, _CALL, value, line, col, len(out)))
                elif nxt == "=" and first:
                    name = (value, line, col)
                    i += 1
                else:
                    out.append(Ast(NAME, (), value, line, col, len(value)))
                    expect = False
            elif kind == "(":
                pending.append((0, _OPEN))
            elif kind == "op" and (value == "-" or value == "+"):
                pending.append((_UNARY, "neg" if value == "-" else "pos", value, line, col))
            elif kind == ";" and first and name is None:
                continue  # an empty statement
            else:
                return None
            first = False
            continue
        if kind == "op":
            prec, op = _BINARY[value]
            if prec != 4:  # left-associative: reduce what binds as tightly or tighter
                while pending and pending[-1][0] >= prec:
                    _reduce(pending.pop(), out)
            pending.append((prec, op, value, line, col))
            expect = True
        elif kind == ")" or kind == ",":
            while pending and pending[-1][0]:
                _reduce(pending.pop(), out)
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
                args = tuple(out[base:])
                del out[base:]
                out.append(Ast(CALL, args, marker[2], marker[3], marker[4], len(marker[2])))
        elif kind == ";":
            while pending and pending[-1][0]:
                _reduce(pending.pop(), out)
            if pending or len(out) != 1:
                return None
            expr = out.pop()
            if name is None:
                stmts.append(Statement(None, expr, Pos(expr.line, expr.column)))
            else:
                stmts.append(Statement(name[0], expr, Pos(name[1], name[2], name[0])))
            expect, first, name = True, True, None
        else:
            return None
    return stmts


def _reduce(entry, out):
    prec, kind, value, line, col = entry
    if prec == _UNARY:
        if kind == "neg":
            out[-1] = Ast("neg", (out[-1],), "-", line, col, 1)
        return  # +a is a itself
    b = out.pop()
    out[-1] = Ast(kind, (out[-1], b), value, line, col, len(value))
