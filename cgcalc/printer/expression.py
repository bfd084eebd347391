"""One expression as text: a walk with an explicit stack of strings to emit and nodes to
print, each node displayed by its op (infix with the table's precedence, calls, products as
fractions, powers), so a 100,000-deep expression prints in linear time."""

from __future__ import annotations

import math
from fractions import Fraction

from .. import ops
from ..ops import ATOM, POSTFIX, POWER, PRODUCT, SUM, UNARY
from .styles import PLAIN, _Style, _const_prec, is_negative

def to_text(root, atoms: dict | None = None, style: _Style = PLAIN) -> str:
    """Print ``root``; nodes whose ids are in ``atoms`` print as those names."""
    atoms = atoms or {}
    out: list[str] = []
    emit = out.append
    stack: list = [(root, SUM, False)]  # strings to emit, and (node, context, negate) to print
    pop, push = stack.pop, stack.extend
    plain = not style.latex and not style.math  # then calls, names and atoms go the short way
    while stack:
        item = pop()
        if item.__class__ is str:
            emit(item)
            continue
        node, ctx, negate = item
        if plain:  # what _display (and _call's one input) gives these, without its lists
            name = atoms.get(node) if atoms else None
            if name is not None:
                emit(style.name(name))
                continue
            op = node.op
            if op == "var":
                emit(style.name(node.value))
                continue
            if op not in _NOT_CALLS and len(node.args) == 1:
                emit(op + "(")
                push((")", (node.args[0], SUM, False)))
                continue
            if op == "mul" and not negate:
                parts = _plain_product(node.args, style)
                if parts is not None:
                    if ctx > PRODUCT:
                        parts = [style.lparen, *parts, style.rparen]
                    parts.reverse()
                    push(parts)
                    continue
        prec, parts = _display(node, negate, atoms, style)
        if prec < ctx:
            parts = [style.lparen, *parts, style.rparen]
        parts.reverse()
        push(parts)
    return "".join(out)


def _n(node, ctx, negate=False):
    return (node, ctx, negate)


def _display(node, negate, atoms, st):
    """(precedence, parts) for one node: parts are strings and child items."""
    if atoms:
        name = atoms.get(node)
        if name is not None:
            return ATOM, [st.name(name)]
    op = node.op
    if op not in _NOT_CALLS:  # sin(a), f(a, b): the common case
        if st.math and ops.OPS[op].notation:
            return ATOM, [p if p.__class__ is str else (node.args[p[0]], p[1], False)
                          for p in ops.OPS[op].notation[st.latex]]
        return ATOM, _call(node, st)
    if op == "const":
        v = -node.value if negate else node.value
        return _const_prec(v), [st.number(v)]
    if op == "var":
        return ATOM, [st.name(node.value)]
    if op == "neg":
        if negate:  # -(-a) is a: one level, the operand's own display
            return _display(node.args[0], False, atoms, st)
        return UNARY, ["-", _n(node.args[0], UNARY)]
    if op in ("add", "sub"):
        return SUM, _sum_parts(node, st, atoms)
    if op == "mul":
        return _product(node, negate, st)
    if op == "div" and st.latex:
        a, b = node.args
        return ATOM, ["\\frac{", _n(a, SUM), "}{", _n(b, SUM), "}"]
    if op == "pow":
        return _power(node, st)
    o = ops.OPS[op]
    if o.infix and len(node.args) == 2:  # the table's operator and precedence: a / b, A @ B
        a, b = node.args
        sym = o.latex if st.latex and o.latex else (o.infix if o.infix != "@" else " @ ")
        # in math notation (δ ⊙ σ') @ W' reads better with the ⊙ product in parentheses
        left = o.prec + 1 if st.math and op == "matmul" and a.op == "mul" else o.prec
        return o.prec, [_n(a, left), sym, _n(b, o.prec + 1)]
    if op == "transpose":
        return POSTFIX, [_n(node.args[0], POSTFIX), "^\\top" if st.latex else "'"]
    if op == "join":
        parts = ["\\left[" if st.latex else "["]
        for i, a in enumerate(node.args):
            if i:
                parts.append(", ")
            parts.append(_n(a, SUM))
        parts.append("\\right]" if st.latex else "]")
        return ATOM, parts
    return ATOM, _call(node, st)


# ops that do not print as name(args): leaves, operators, and the ones with a notation of their own
_NOT_CALLS = {"const", "var", "neg", "add", "sub", "mul", "div", "pow", "transpose", "join",
              *(name for name, o in ops.OPS.items() if o.infix)}


def _call(node, st):
    args = node.args
    if not st.latex:
        if len(args) == 1:
            return [node.op + "(", (args[0], SUM, False), ")"]
        parts = [node.op + "("]
    else:
        o = ops.OPS[node.op]
        if node.op == "sqrt":
            return ["\\sqrt{", _n(args[0], SUM), "}"]
        if node.op == "abs":
            return ["\\left|", _n(args[0], SUM), "\\right|"]
        name = node.op.replace("_", "\\_")  # sum_to: an underscore, not a subscript
        parts = [(o.latex or f"\\operatorname{{{name}}}") + "\\left("]
    for i, a in enumerate(args):
        if i:
            parts.append(", ")
        parts.append(_n(a, SUM))
    parts.append(st.rparen if st.latex else ")")
    return parts


def _sum_parts(node, st, atoms=None):
    """A term that prints with a leading minus is written after `` - ``, its sign dropped; a
    term printed as a name (``atoms``) keeps its sign in the name, so it is never one."""
    def negative(t):
        return is_negative(t) and not (atoms and t in atoms)

    if node.op == "sub":
        terms = [(node.args[0], False), (node.args[1], True)]
    else:
        terms = [(a, False) for a in node.args]
        if negative(terms[0][0]):  # -2 + 2*x reads better as 2*x - 2
            for i, (t, _) in enumerate(terms):
                if not negative(t):
                    terms.insert(0, terms.pop(i))
                    break
    parts = []
    for i, (t, minus) in enumerate(terms):
        neg = negative(t)
        if minus:
            # a - t: a negative t prints as a + |t|
            sign, negate = (" + ", True) if neg else (" - ", False)
        else:
            sign, negate = (" - ", True) if neg else (" + ", False)
        if i == 0:
            parts.append("-" if sign == " - " else "")
            parts.append(_n(t, PRODUCT if negate or minus else SUM, negate))
        else:
            parts.append(sign)
            parts.append(_n(t, PRODUCT if (sign == " - ") else SUM, negate))
    return parts


def _factor_split(args):
    """numerator and denominator factors of a product; negative constant powers go below."""
    num, den = [], []
    for a in args:
        if a.op == "pow" and a.args[1].op == "const" and _negative_number(a.args[1].value):
            den.append((a.args[0], -a.args[1].value))
        else:
            num.append(a)
    return num, den


def _negative_number(v):
    return not (isinstance(v, float) and math.isnan(v)) and v < 0


def _unbracketed(factor):
    """Whether a factor that is itself a product goes in without brackets: a*(b*c) reads as
    a*b*c (the simplifier nests long products); a*(-b*c) keeps them."""
    return factor.op == "mul" and not is_negative(factor) and not _two_numbers(factor)


_NAMED = frozenset(ops.CONSTANTS.values())  # pi and e: symbols, not numbers


def _two_numbers(factor) -> bool:
    """Whether ``factor`` is a product of two numbers or more: one the simplifier left as
    written because they overflow (1e308*10), which keeps its brackets after another factor,
    negative or not: 0*(1e308*10) is nan, 0*1e308*10 reads back as 0."""
    if factor.op != "mul":
        return False
    found = False
    for a in factor.args:
        if a.op == "const" and not (isinstance(a.value, float) and a.value in _NAMED):
            if found:
                return True
            found = True
    return False


def _plain_product(args, st):
    """The parts :func:`_product` gives a product of plain factors (no number and no power:
    no coefficient, nothing under a fraction bar), without its lists; None for any other."""
    for a in args:
        if a.op == "const" or a.op == "pow":
            return None
    parts = []
    for i, a in enumerate(args):
        if i:
            parts.append(st.times)
        if i == 0:
            ctx = PRODUCT
        elif a.op != "mul":
            ctx = UNARY
        else:  # (_unbracketed, each test once)
            ctx = POWER if _two_numbers(a) else UNARY if is_negative(a) else PRODUCT
        parts.append((a, ctx, False))
    return parts


def _product(node, negate, st):
    args = list(node.args)
    coeff = 1
    if args and args[0].op == "const":
        coeff = args.pop(0).value
    if negate:
        coeff = -coeff
    num, den = _factor_split(args)
    sign = ""
    if _negative_number(coeff):
        sign, coeff = "-", -coeff
    top_coeff, bottom_coeff = coeff, 1
    if isinstance(coeff, Fraction):
        top_coeff, bottom_coeff = coeff.numerator, coeff.denominator
    numer_items: list = []
    if top_coeff != 1:
        numer_items.append(("c", top_coeff))
    numer_items += [("n", a) for a in num]
    denom_items: list = []
    if bottom_coeff != 1:
        denom_items.append(("c", bottom_coeff))
    denom_items += [("p", b, e) for b, e in den]

    def factor_parts(item, ctx):
        if item[0] == "c":
            return [st.number(item[1])]
        if item[0] == "n":
            return [_n(item[1], ctx)]
        _, base, e = item
        if e == 1:
            return [_n(base, ctx)]
        if e == Fraction(1, 2):
            return ["\\sqrt{" if st.latex else "sqrt(", _n(base, SUM), "}" if st.latex else ")"]
        if st.latex:
            return ["{", _n(base, POSTFIX), "}^{", st.number(e), "}"]
        return [_n(base, POSTFIX), "^", _wrap_exp(st.number(e), e)]

    def join(items, ctx_first, ctx_rest):
        out = []
        for i, it in enumerate(items):
            if i:  # LaTeX multiplies by juxtaposition (2 x \cos(x)), except before a number
                out.append((" \\cdot " if it[0] == "c" else " ") if st.juxtapose else st.times)
            ctx = ctx_first if i == 0 else ctx_rest
            if it[0] == "n" and _unbracketed(it[1]):
                ctx = PRODUCT
            elif i and it[0] != "c" and _two_numbers(it[1]):
                ctx = POWER  # in brackets
            out += factor_parts(it, ctx)
        return out

    if not denom_items:
        if len(numer_items) == 1 and not sign and numer_items[0][0] == "n":
            return PRODUCT, [_n(numer_items[0][1], PRODUCT)]
        body = join(numer_items or [("c", 1)], PRODUCT, UNARY)
        return PRODUCT, ([sign] if sign else []) + body
    top = join(numer_items or [("c", 1)], PRODUCT, UNARY)
    if st.latex:
        bottom = join(denom_items, PRODUCT, UNARY)
        return (UNARY if sign else ATOM), [sign, "\\frac{", *top, "}{", *bottom, "}"]
    if len(denom_items) == 1:
        bottom = factor_parts(denom_items[0], UNARY)
    else:
        bottom = ["(", *join(denom_items, PRODUCT, UNARY), ")"]
    return PRODUCT, [sign, *top, "/", *bottom]


def _wrap_exp(text, e):
    return f"({text})" if isinstance(e, Fraction) or _negative_number(e) else text


def _power(node, st):
    base, e = node.args
    if e.op == "const":
        v = e.value
        if v == Fraction(1, 2):
            if st.latex:
                return ATOM, ["\\sqrt{", _n(base, SUM), "}"]
            return ATOM, ["sqrt(", _n(base, SUM), ")"]
        if _negative_number(v):
            return _product_of_reciprocal(base, -v, st)
    if st.latex:
        return POWER, ["{", _n(base, POSTFIX), "}^{", _n(e, SUM), "}"]
    return POWER, [_n(base, POSTFIX), "^", _n(e, UNARY)]


def _product_of_reciprocal(base, e, st):
    if st.latex:
        if e == 1:
            inner = [_n(base, SUM)]
        elif e == Fraction(1, 2):
            inner = ["\\sqrt{", _n(base, SUM), "}"]
        else:
            inner = ["{", _n(base, POSTFIX), "}^{", st.number(e), "}"]
        return ATOM, ["\\frac{1}{", *inner, "}"]
    if e == 1:
        return PRODUCT, ["1/", _n(base, UNARY)]
    if e == Fraction(1, 2):
        return PRODUCT, ["1/sqrt(", _n(base, SUM), ")"]
    return PRODUCT, ["1/", _n(base, POSTFIX), "^", _wrap_exp(st.number(e), e)]
