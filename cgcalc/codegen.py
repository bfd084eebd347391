"""Straight-line Python for a graph: statements named after the graph's nodes, each shared
subexpression computed once, an operation used once (and short) written into its user.
The one code generator: ``cgcalc export`` writes a graph of arrays through it in the syntax of
the library chosen (cgcalc/export/backends.py), and training's compiled step
(cgcalc/net/scalar_step.py) a graph of single numbers in Python's own arithmetic.

A node is anything with ``op``, ``args`` and ``value`` (a graph's nodes; the step's entries).
A template per op gives its syntax: a format string over the inputs ({0}, {1}, ...; {all} for
every input joined by the op's operator). The order of operations is the graph's: an input
after the first that is itself a sum (a product) is put in parentheses, so ``a + (b - c)`` is
computed as written, the same numbers as the graph's.

What reaches the generated source is built here, never copied from the user: names are checked
Python identifiers (others are replaced), numbers are written by ``repr`` of a float or int.
A caller may give the text of some nodes itself (``numbers``: cgcalc export computes every
constant part of a graph beforehand, cgcalc/export/module.py).
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from fractions import Fraction

from .scalar import as_float, short_number

_FIELD = re.compile(r"\{(\w+)(?::([^}]*))?\}")
_NOT_WORD = re.compile(r"\W+")


class Namer:
    """Python identifiers for nodes: the node's own name when it is one (θ1 stays θ1, h[3]
    becomes h_3), else t1, t2, ...; never a keyword, a reserved name, or one taken twice."""

    def __init__(self, reserved=()):
        self.taken = set(reserved)
        self.of: dict = {}
        self._k = 0

    def name(self, node, wanted=None, exact=False) -> str:
        """``exact``: ``wanted`` as it is when Python takes it as a name (a user's parameter:
        ``y_`` stays ``y_``, ``match`` stays ``match``), else made an identifier."""
        got = self.of.get(node)
        if got is not None:
            return got
        if wanted and exact and is_parameter(wanted):
            ident = wanted
        else:
            ident = _identifier(wanted) if wanted else None
        if ident is None or ident in self.taken:
            base = ident
            if base is not None:
                k = 2
                while f"{base}_{k}" in self.taken:
                    k += 1
                ident = f"{base}_{k}"
            else:
                while True:
                    self._k += 1
                    ident = f"t{self._k}"
                    if ident not in self.taken:
                        break
        self.taken.add(ident)
        self.of[node] = ident
        return ident


def is_parameter(text) -> bool:
    """Whether Python takes ``text`` as a parameter's name, as it is: an identifier, not a
    keyword (soft keywords such as ``match`` are names), and already in the NFKC form Python
    reads identifiers in (``x²`` would be read as ``x2``)."""
    return (text.isidentifier() and not keyword.iskeyword(text)
            and unicodedata.normalize("NFKC", text) == text)


def _identifier(text):
    # Python reads identifiers in NFKC form (ﬁ is fi): compare and write them so
    ident = _NOT_WORD.sub("_", unicodedata.normalize("NFKC", text)).strip("_") or None
    if ident is None:
        return None
    if ident[0].isdigit():
        ident = "v" + ident
    if not ident.isidentifier() or keyword.iskeyword(ident) or keyword.issoftkeyword(ident):
        return None
    return ident


class PastFloats(ValueError):
    """An exact number that no float holds (2^1030, say): written as inf, the code would lose
    its sign and size (x^(2^1030 - 1) at -1 would be +inf). ``shown``: the constant part that
    comes to such a number, as text, where no exact number is at hand (exp(1000))."""

    def __init__(self, value=None, shown=None):
        what = f"the number {short_number(value)}" if shown is None else f"the constant {shown}"
        super().__init__(f"{what} is past what a float holds (about 1.8e308)")


def literal(value) -> str:
    """A number as Python source: an int, or a float's repr (pi as 3.141592653589793).
    Raises PastFloats for an exact number past the floats' range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, Fraction) or isinstance(value, int) and value.bit_length() > 1023:
        exact, value = value, as_float(value)
        if value in (float("inf"), float("-inf")):
            raise PastFloats(exact)
    if isinstance(value, float):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) \
            else f"float({repr(str(value))})"
    return repr(value)


# Python's own operators, the same in every library and on floats
OPERATORS = {"add": "{all: + }", "mul": "{all: * }", "sub": "{0} - {1}", "div": "{0} / {1}",
             "neg": "-{0}"}

INLINE = 72  # characters of an expression a single-use operation may be written into
# Python's precedence, loosest first; a name, number, call or subscript is an atom
SUM, PRODUCT, UNARY, POWER, ATOM = range(5)
_PREC = {"add": SUM, "sub": SUM, "mul": PRODUCT, "div": PRODUCT, "matmul": PRODUCT,
         "neg": UNARY, "pow": POWER}


def statements(order, namer, wanted, templates, keep=(), arrays=True, numbers=None):
    """``name = expression`` lines for the operations of ``order`` (topological). An operation
    used once, not named by the user and short is written into its user's expression; the
    others (shared ones computed once, named ones, ``keep``: the results) get a line.
    ``wanted`` gives the names to prefer (node -> text); variables take their own names.
    ``arrays``: a number given to a function is made an array of the library (torch needs
    it), else written as it is. ``numbers``: node -> its text, for nodes whose number the caller
    computed (constants, and parts made of constants only): written as that text, or as a
    line of their own when named or kept. Returns the lines and each node's text (its name,
    or its expression)."""
    uses: dict = {}
    for n in order:
        for a in n.args:
            uses[a] = uses.get(a, 0) + 1
    keep = set(keep)
    lines, text = [], {}
    numbers = numbers or {}
    for n in order:
        number = numbers.get(n)
        if number is not None:
            if n.op != "const" and (n in keep or n in wanted):
                target = namer.name(n, wanted.get(n))
                lines.append(f"{target} = {number}")
                text[n] = (target, ATOM)
            else:
                text[n] = (number, UNARY if number.startswith("-") else ATOM)
            continue
        if n.op == "const":
            v = literal(n.value)
            text[n] = (v, UNARY if v.startswith("-") else ATOM)
            continue
        if n.op == "var":
            text[n] = (namer.name(n, wanted.get(n) or n.value), ATOM)
            continue
        body = expression(n, text, templates, arrays, numbers)
        if n in keep or n in wanted or uses.get(n, 0) != 1 or len(body[0]) > INLINE:
            target = namer.name(n, wanted.get(n))
            lines.append(f"{target} = {body[0]}")
            text[n] = (target, ATOM)
        else:
            text[n] = body
    return lines, {n: t for n, (t, _) in text.items()}


def expression(node, text, templates, arrays=True, numbers=()):
    """(source, precedence) of the op's template filled with its inputs, with the canonical
    forms read back, each the same number: a + (-1)*b is a - b, (-1)*a is -a, x^(-1) is
    1 / x, x^2 is x * x."""
    op, args = node.op, node.args

    def operand(a, least):
        t, prec = text[a]
        return t if prec >= least else f"({t})"

    if op == "add" and len(args) == 2 and _negated(args[1]):
        rest = _product([text[a] for a in args[1].args[1:]])
        return f"{operand(args[0], SUM)} - {rest if len(args[1].args) == 2 else f'({rest})'}", SUM
    if op == "mul" and len(args) >= 2 and args[0].op == "const" and args[0].value == -1:
        body = _product([text[a] for a in args[1:]])
        if len(args) > 2 or text[args[1]][1] < UNARY:
            body = f"({body})"
        return "-" + body, UNARY
    if op == "pow" and args[1].op == "const" and args[1].value == -1:
        return f"1 / {operand(args[0], PRODUCT + 1)}", PRODUCT
    if op == "pow" and args[1].op == "const" and args[1].value == 2 and text[args[0]][1] == ATOM:
        return f"{text[args[0]][0]} * {text[args[0]][0]}", PRODUCT
    prec = _PREC.get(op, ATOM)
    if op in ("add", "mul"):  # left to right: an input after the first of the same level in ()
        # (and a first one too, in a product, when it is another op: (1 / m) * x, (A @ B) * c)
        shown = [operand(a, prec + 1 if k or op == "mul" and a.op != op else prec)
                 for k, a in enumerate(args)]
    elif op in ("sub", "div", "matmul"):
        shown = [operand(args[0], prec), operand(args[1], prec + 1)]
    elif op == "pow":
        shown = [operand(args[0], ATOM), operand(args[1], UNARY)]
    elif op in ("neg", "transpose", "cols", "rows"):
        shown = [operand(args[0], UNARY if op == "neg" else ATOM)] + \
            [text[a][0] for a in args[1:]]
    else:  # a function: a number given to it is an array of the library (torch needs it)
        array = templates.get("array", "_array({0})")
        shown = [array.format(text[a][0]) if arrays and (a.op == "const" or a in numbers) and
                 op not in _PLAIN_NUMBERS else text[a][0] for a in args]

    def fill(m):
        field, spec = m.group(1), m.group(2)
        if field == "all":
            return spec.join(shown)
        k = int(field)
        if spec == "int":
            return str(int(args[k].value))
        return shown[k]

    return _FIELD.sub(fill, templates[op]), prec


_PLAIN_NUMBERS = {"cols", "zeros", "join", "like"}  # take Python numbers as they are


def _product(factors):
    """(text, precedence) factors multiplied left to right, as one product's text."""
    return " * ".join(t if k == 0 and prec >= PRODUCT or prec > PRODUCT else f"({t})"
                      for k, (t, prec) in enumerate(factors))


def _negated(node):
    return node.op == "mul" and node.args[0].op == "const" and node.args[0].value == -1
