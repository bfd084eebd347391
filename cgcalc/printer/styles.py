"""How printed things look: numbers, names (Greek letters and subscripts in LaTeX), and the
four styles of the printer: cgcalc syntax (plain), LaTeX, and the reading notation of network
derivations in a terminal and in LaTeX."""

from __future__ import annotations

import math
from fractions import Fraction

from ..ops import ATOM, CONSTANTS, PRODUCT, UNARY

_NAMED_CONSTANTS = {value: name for name, value in CONSTANTS.items()}


def format_number(v, latex=False) -> str:
    if isinstance(v, float):
        if v in _NAMED_CONSTANTS:
            name = _NAMED_CONSTANTS[v]
            return "\\pi" if latex and name == "pi" else name
        if math.isnan(v) or math.isinf(v):
            text = "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
            return text if latex else f"({text})"
        text = repr(v)
        if latex and "e" in text:
            m, ex = text.split("e")
            return f"{m} \\cdot 10^{{{int(ex)}}}"
        return text
    if isinstance(v, Fraction):
        if latex:
            sign = "-" if v < 0 else ""
            return f"{sign}\\frac{{{abs(v.numerator)}}}{{{v.denominator}}}"
        return f"{v.numerator}/{v.denominator}"
    return str(v)


def _const_prec(v) -> int:
    if isinstance(v, Fraction):
        return PRODUCT
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return ATOM
    return UNARY if v < 0 else ATOM


def is_negative(node) -> bool:
    """True when the node prints with a leading minus that a sum can turn into ``-``."""
    if node.op == "const":
        v = node.value
        return not (isinstance(v, float) and math.isnan(v)) and v < 0
    if node.op == "neg":
        return True
    if node.op == "mul" and node.args and node.args[0].op == "const":
        return node.args[0].value < 0
    return False


_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu",
    "ξ": "xi", "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau", "φ": "phi", "χ": "chi",
    "ψ": "psi", "ω": "omega", "Δ": "Delta", "Θ": "Theta", "Σ": "Sigma", "Φ": "Phi",
    "Ω": "Omega", "Γ": "Gamma", "Λ": "Lambda",
}
_GREEK_NAMES = set(_GREEK.values())


def latex_name(name: str) -> str:
    """theta1 -> \\theta_{1}, θ1 -> \\theta_{1}, L3 -> L_{3}, x_y -> x_{y};
    δL3 (an adjoint) -> \\delta_{L_{3}}."""
    if name.startswith("δ") and len(name) > 1:  # the adjoint of a node, in backprop's notation
        return f"\\delta_{{{latex_name(name[1:])}}}"
    if name.endswith("]") and "[" in name:  # a time step: h[t-1] is h_{t-1}
        base, step = name[:-1].split("[", 1)
        inner = latex_name(base)
        return f"{inner}_{{{step}}}" if "_" not in inner else f"{inner}\\left[{step}\\right]"
    base, sub = name, ""
    if "_" in name.strip("_"):
        base, sub = name.split("_", 1)
    else:
        i = len(name)
        while i > 0 and name[i - 1].isdigit():
            i -= 1
        if 0 < i < len(name):
            base, sub = name[:i], name[i:]
    if base in _GREEK:
        base = "\\" + _GREEK[base]
    elif base in _GREEK_NAMES:
        base = "\\" + base
    elif len(base) > 1:
        base = f"\\mathrm{{{base}}}"
    base = base.replace("_", "\\_")
    return f"{base}_{{{sub}}}" if sub else base


class _Style:
    latex = False
    math = False  # ops in their notation for reading (A[:, 0:2]), not in cgcalc syntax
    juxtapose = False  # products as 2 x \cos(x) (LaTeX of scalars), else joined by ``times``
    lparen, rparen = "(", ")"
    times = "*"

    def name(self, s):
        return s

    def number(self, v):
        return format_number(v)


class _Latex(_Style):
    latex = True
    math = True
    juxtapose = True
    lparen, rparen = "\\left(", "\\right)"
    times = " \\cdot "

    def name(self, s):
        return latex_name(s)

    def number(self, v):
        return format_number(v, latex=True)


class _Math(_Style):
    """For reading in a terminal (network derivations): ``⊙`` for elementwise products and the
    ops' own notation. Not cgcalc syntax."""

    math = True
    times = " ⊙ "


class _MathLatex(_Latex):
    """LaTeX of network derivations: elementwise products as backpropagation writes them, with
    ``\\odot`` (juxtaposition would read as the matrix product)."""

    juxtapose = False
    times = " \\odot "


PLAIN, LATEX, MATH, MATH_LATEX = _Style(), _Latex(), _Math(), _MathLatex()
