"""The AST: what parsing a program gives. :class:`Ast` is one expression node as written,
:class:`Statement` one ``name = expr`` (or bare ``expr``); both keep where they were written,
for error messages. cgcalc/parse.py makes them (through lark's tables or, for the common case,
cgcalc/precedence.py); cgcalc/graph.py builds them into nodes."""

from __future__ import annotations

# AST kinds are the op names of cgcalc/ops.py for operators, plus these four.
NUMBER, NAME, CALL, INDEX = "number", "name", "call", "index"

# how a number is written (grammar/expr.lark's NUMBER): ASCII digits, a point, an exponent
NUMBER_TEXT = r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"


class Ast:
    """One expression node as written, with where it was written (``line``, ``column``, ``width``)."""

    __slots__ = ("kind", "args", "text", "line", "column", "width")

    def __init__(self, kind, args, text, line, column, width):
        self.kind = kind
        self.args = args
        self.text = text  # the name, the number's spelling, or the operator
        self.line = line
        self.column = column
        self.width = width

    def __repr__(self):
        return f"Ast({self.kind}, {self.text!r}, {len(self.args)} args)"


def at(kind, args, text, tok) -> Ast:
    """The Ast written at token ``tok`` (anything with ``line``, ``column`` and ``value``)."""
    return Ast(kind, args, text, tok.line, tok.column, len(tok.value) if tok.value else 1)


class Statement:
    """``name = expr`` (or a bare ``expr``); in a recurrent network ``index`` is the step the
    equation defines: "t" for ``h[t] = ...``, a number for ``h[0] = ...``, else None."""

    __slots__ = ("name", "expr", "line", "column", "width", "index", "index_token")

    def __init__(self, name, expr, tok, index=None, index_token=None):
        self.name = name
        self.expr = expr
        self.index, self.index_token = index, index_token
        self.line, self.column = tok.line, tok.column
        self.width = len(tok.value) if name else 1


class Pos:
    """A place in the text, where no token is at hand (a bare statement starts at its expr)."""

    __slots__ = ("line", "column", "value")

    def __init__(self, line, column, value=""):
        self.line, self.column, self.value = line, column, value
