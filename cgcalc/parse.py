"""Text -> AST (cgcalc/syntax.py). Every syntax error becomes one :class:`CgcalcError` with line,
column and the source line with a caret.

An expression is parsed by operator precedence (cgcalc/precedence.py) when it can be; anything
else (array syntax, every syntax error) by lark's LALR tables, run by cgcalc/lalr.py with the
callbacks below handed to the parser, so the AST is built bottom-up while parsing, with no
recursion however deep the input nests; lark itself places the errors.
"""

from __future__ import annotations

from .errors import CgcalcError, source_lines

from .syntax import CALL, INDEX, NAME, NUMBER, Pos, Statement, at  # noqa: F401 (re-exported)


def _binary(kind):
    def build(self, c):
        a, op, b = c
        return at(kind, (a, b), op.value, op)
    return build


class ToAst:
    """The parser's callbacks: one method per rule alias of grammar/expr.lark, each given the
    rule's children (tokens and built nodes) as a list. A plain class rather than a lark
    ``Transformer`` with ``v_args``: lark's parser and cgcalc's runner of its tables
    (cgcalc/lalr.py) call it alike, and a parse that succeeds never has to import lark."""

    add = _binary("add")
    sub = _binary("sub")
    mul = _binary("mul")
    div = _binary("div")
    matmul = _binary("matmul")
    pow = _binary("pow")

    def neg(self, c):
        return at("neg", (c[1],), "-", c[0])

    def pos(self, c):
        return c[1]

    def transpose(self, c):
        return at("transpose", (c[0],), "'", c[1])

    def index(self, c):  # h[t-1]: a time step, in recurrent network files
        base, bracket, step = c
        return at(INDEX, (base, step), "[", bracket)

    def number(self, c):
        tok = c[0]
        return at(NUMBER, (), tok.value, tok)

    def name(self, c):
        tok = c[0]
        return at(NAME, (), tok.value, tok)

    def call(self, c):
        tok, args = c
        return at(CALL, tuple(args or ()), tok.value, tok)

    def join(self, c):
        bracket, args = c
        return at("join", tuple(args), "[", bracket)

    def args(self, c):
        return c

    def assign(self, c):
        tok, expr = c
        return Statement(tok.value, expr, tok)

    def bare(self, c):
        expr = c[0]
        return Statement(None, expr, Pos(expr.line, expr.column))

    def start(self, c):
        return c


_HUMAN = {
    "NAME": "a name", "NUMBER": "a number", "LPAR": "'('", "RPAR": "')'", "LSQB": "'['",
    "RSQB": "']'", "COMMA": "','", "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'", "SLASH": "'/'",
    "AT": "'@'", "POW": "'^'", "QUOTE": "\"'\"", "EQUAL": "'='", "_SEP": "';'",
    "_NL": "a new line", "$END": "the end of the input",
}


def _describe_expected(expected) -> str:
    exp = {e.rsplit("__", 1)[-1] for e in expected}  # net.lark's imported terminals: expr__X
    operand = {"NAME", "NUMBER", "LPAR"}
    parts = []
    if operand <= exp:
        parts.append("an expression")
        exp -= operand | {"MINUS", "PLUS", "LSQB"}
    if {"PLUS", "MINUS", "STAR", "SLASH"} <= exp:
        parts.append("an operator")
        exp -= {"PLUS", "MINUS", "STAR", "SLASH", "AT", "POW", "QUOTE"}
    if len(exp) > 1:
        exp -= {"LSQB"}  # after an operand, a time step h[t] is rarely what was meant
    parts += sorted(_HUMAN.get(e, e) for e in exp if e not in ("_NL", "_SEP", "$END"))
    return ", ".join(parts[:-1]) + (" or " if len(parts) > 1 else "") + parts[-1] if parts else ""


def parse_program(text: str, filename: str | None = None):
    """Parse ``text`` into a list of :class:`Statement`. Raises CgcalcError on a syntax error."""
    from .grammars import parser
    from .precedence import parse_fast

    if not text.strip() or all(not ln.split("#", 1)[0].strip() for ln in text.splitlines()):
        raise CgcalcError("empty input: nothing to differentiate", source=text,
                          filename=filename)
    stmts = parse_fast(text)
    if stmts is None:  # array syntax, or a syntax error: the tables, and lark for the place
        p = parser("expr")
        try:
            stmts = p.parse(text, ToAst)
        except p.errors.UnexpectedInput as u:
            raise _syntax_error(u, p.errors, text, filename) from None
        except RecursionError:  # pragma: no cover - the LALR parser does not recurse
            raise CgcalcError("input nests too deeply", source=text,
                              filename=filename) from None
    if not stmts:
        raise CgcalcError("empty input: nothing to differentiate", source=text, filename=filename)
    return stmts


def _separated_number(text, line, column):
    """(offset in the line, text) of a number written with '_' between digits (as Python allows:
    ``1_000``) on ``line``, starting before ``column``: what a syntax error there comes from.
    Comments and quoted text are left out."""
    import re

    code = source_lines(text)[line - 1].split("#", 1)[0]
    code = re.sub(r'"[^"]*"?', lambda m: " " * len(m.group()), code)
    number = r"(?<![\w.])[0-9][0-9.]*(?:_[0-9][0-9.]*)*(?:[eE][+-]?[0-9]+(?:_[0-9]+)*)?"
    for m in re.finditer(number, code):
        if "_" in m.group() and m.start() < column:
            return m.start(), m.group()
    return None


def _open_before(text, pos):
    """How many '(' are open at offset ``pos`` of ``text`` (comments left out)."""
    depth = 0
    for line in text[:pos].split("\n"):
        code = line.split("#", 1)[0]
        depth += code.count("(") - code.count(")")
    return depth


def _syntax_error(u, errors, text, filename):
    """The CgcalcError for lark's ``u``; ``errors`` is the lark runtime's module of exceptions."""
    line, column = getattr(u, "line", 1), getattr(u, "column", 1)
    if line is None or line < 1:  # end of input: point just past the last character
        lines = source_lines(text)
        line, column = len(lines), len(lines[-1].rstrip("\r")) + 1
    separated = _separated_number(text, line, column)
    if separated is not None:  # 1_000 reads as 1 and a name _000: say what it is instead
        start, written = separated
        return CgcalcError(f"{written!r} is not a number: write its digits without '_'",
                           source=text, line=line, column=start + 1, width=len(written),
                           filename=filename)
    width = 1
    if isinstance(u, errors.UnexpectedCharacters):
        ch = text[u.pos_in_stream] if u.pos_in_stream < len(text) else ""
        msg = f"unexpected character {ch!r}"
        if ch == "{" and "}" not in text[u.pos_in_stream:]:  # a network's data block
            msg = "this '{' is never closed: a data block ends with '}'"
    elif isinstance(u, errors.UnexpectedToken):
        tok = u.token
        expected = set(getattr(u, "accepts", None) or u.expected)
        if tok.type == "$END":
            lines = source_lines(text)
            line, column = len(lines), len(lines[-1].rstrip()) + 1
            if "RPAR" in expected:
                msg = "missing ')' at the end of the input"
            elif "RSQB" in expected:
                msg = "missing ']' at the end of the input"
            else:
                msg = "unexpected end of the input"
        else:
            line, column = tok.line, tok.column
            width = len(tok.value) or 1
            shown = "a new line" if tok.type == "_NL" else repr(tok.value)
            msg = f"unexpected {shown}"
            if tok.type == "_NL" or tok.type == "_SEP":
                if "RPAR" in expected:
                    msg += "; missing ')'"
            if tok.type == "RPAR" and "RPAR" not in expected:
                if _open_before(text, tok.start_pos) <= 0:  # else: (x +) wants an operand
                    msg += "; no '(' to match it"
            elif tok.type in ("NAME", "NUMBER", "LPAR") and "STAR" in expected:
                msg += "; write '*' to multiply (as in 2*x)"
        desc = _describe_expected(expected)
        if desc and ";" not in msg and "missing" not in msg:
            msg += f"; expected {desc}"
    else:  # pragma: no cover
        msg = "syntax error"
    return CgcalcError(msg, source=text, line=line, column=column, width=width,
                       filename=filename)
