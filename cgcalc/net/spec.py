"""A network file, read: what it declares, its equations, data and training options, each with
the place it was written. The grammar is grammar/net.lark; its expression rules are the
expression language's own (grammar/expr.lark, built by cgcalc/parse.py's callbacks)."""

from __future__ import annotations

from ..errors import CgcalcError, lone_cr_as_lf
from ..parse import Pos, Statement, ToAst, _syntax_error


BIG = 10 ** 18  # any count this large is refused later, with its place


def whole(digits: str) -> int:
    """A size or step as written (digits): too many digits is just too large (BIG), never
    Python's error for turning 4,300 digits into a number."""
    digits = digits.lstrip("0") or "0"  # 0005 is 5
    return int(digits) if len(digits) <= 18 else BIG


class Decl:
    """``input X[2]``, ``param W[3, 2] ~ uniform(-1, 1)``, ``input x[t, 1]``: ``time`` is the
    token ``t`` of a row per time step (None for one row per example)."""

    __slots__ = ("kind", "name", "dims", "init", "time", "line", "column", "width")

    def __init__(self, kind, tok, shape, init=None):
        self.kind, self.name, self.init = kind, tok.value, init
        self.dims, self.time = shape
        self.line, self.column, self.width = tok.line, tok.column, len(tok.value)


class Spec:
    """What a .net file says, with where it says it."""

    def __init__(self):
        self.decls: list[Decl] = []
        self.equations = []
        self.steps = None  # token: T, the number of time steps of a recurrent network
        self.output = None  # token
        self.minimize = None  # token
        self.data_block = None  # token: "{ rows }", read by cgcalc/rows/
        self.data_file = None  # token
        self.options = {}  # name -> (value, token)
        self.trained = False  # a train line was read
        self.twice = None  # (what, token): the first line written twice that may be once


class ToSpec:
    """The net parser's callbacks (rules of grammar/net.lark, children as a list), collecting
    into ``self.spec``; the expression rules arrive namespaced (``expr__add``, ...) and go to
    the expression language's own callbacks (lark's merge_transformers, done on the class)."""

    def __init__(self):
        self.spec = Spec()

    def shape(self, c):
        """(dims, time): ``[t, 2]`` is a row of 2 at each time step (time is the token)."""
        time = c[0] if c[0].type == "NAME" else None
        return tuple(whole(d.value) for d in c[1 if time else 0:]), time

    def signed(self, toks):
        text = "".join(t.value for t in toks)
        return (float(text), toks[0])

    def init(self, c):
        return (c[0], [v for v, _ in c[1:]])

    def input(self, c):
        self.spec.decls.append(Decl("input", c[0], c[1]))

    def target(self, c):
        self.spec.decls.append(Decl("target", c[0], c[1]))

    def param(self, c):
        self.spec.decls.append(Decl("param", c[0], c[1], c[2] if len(c) > 2 else None))

    def step(self, c):
        """The step an equation defines, and where it is written: ``t`` (every step), or a
        state before step 1 by number, ``0``, ``-1``, ``-2``, ... (what ``h[t-k]`` reaches)."""
        if c[0].type == "NAME":
            return c[0].value, c[0]
        if len(c) == 1:
            return whole(c[0].value), c[0]
        minus, digits = c
        return -whole(digits.value), Pos(minus.line, minus.column, "-" + digits.value)

    def equation(self, c):
        tok, _, step, expr = c
        index, where = (None, None) if step is None else step
        self.spec.equations.append(Statement(tok.value, expr, tok, index, where))

    def steps(self, c):
        self._once("steps", c[0])
        self.spec.steps = c[0]

    def output(self, c):
        self._once("output", c[0])
        self.spec.output = c[0]

    def minimize(self, c):
        self._once("minimize", c[0])
        self.spec.minimize = c[0]

    def _once(self, what, tok):
        """A line that may be written once: a second one is an error (raised after parsing)."""
        if getattr(self.spec, what) is not None and self.spec.twice is None:
            self.spec.twice = (what, tok)

    def data(self, c):
        self._data(c[0])
        self.spec.data_block = c[0]

    def _data(self, tok):
        if (self.spec.data_block or self.spec.data_file) and self.spec.twice is None:
            self.spec.twice = ("data", tok)

    def data_file(self, c):
        self._data(c[0])
        self.spec.data_file = c[0]

    def option(self, c):
        tok, value = c
        if tok.value in self.spec.options and self.spec.twice is None:
            self.spec.twice = (f"train option {tok.value}", tok)
        # a number (value, token) or a name (a token)
        self.spec.options[tok.value] = (value[0] if isinstance(value, tuple) else value.value,
                                        tok)
        return tok

    def train(self, options):  # each option is in the spec already
        if self.spec.trained and self.spec.twice is None:
            self.spec.twice = ("train", options[0] if options else None)
        self.spec.trained = True

    def start(self, c):
        return self.spec


for _name, _fn in vars(ToAst).items():
    if not _name.startswith("_") and callable(_fn) and _name != "start":
        setattr(ToSpec, f"expr__{_name}", _fn)
del _name, _fn


def parse_spec(text: str, filename: str) -> Spec:
    from ..grammars import parser

    if not text.strip():
        raise CgcalcError("empty network file", source=text, filename=filename)
    text = lone_cr_as_lf(text)
    p = parser("net", lexer="contextual")
    try:
        spec = p.parse(text, ToSpec)
    except p.errors.UnexpectedInput as u:
        raise _syntax_error(u, p.errors, text, filename) from None
    if spec.twice is not None:
        what, tok = spec.twice
        place = dict(line=tok.line, column=tok.column, width=len(tok.value)) if tok else {}
        raise CgcalcError(f"{what} is given twice", source=text, filename=filename, **place)
    tok = spec.data_file
    if tok is not None and "\0" in tok.value:  # open() and os.stat() would raise ValueError
        raise CgcalcError("the data file's name holds a NUL byte: it cannot name a file",
                          source=text, filename=filename, line=tok.line, column=tok.column,
                          width=len(tok.value))
    return spec
