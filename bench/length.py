"""Is the printed symbolic derivative as short as SymPy's? Token counts over a table of
expressions (names, numbers, operators and parentheses each count one; `**` is one token).

    python3 bench/length.py [-v]

Needs sympy (the test extra). Prints the mean ratio cgcalc/SymPy and the worst cases.
"""

from __future__ import annotations

import re
import sys

EXPRESSIONS = [
    "exp(sin(x^2))", "sin(x)*cos(x) + sin(x)", "x^3 - 2*x + 1", "x/(1 + x^2)", "log(x^2 + 1)",
    "sqrt(1 + x^2)", "atan(x) + asin(x/3)", "tanh(x)^2", "exp(-x^2/2)", "x^x", "sigmoid(x)",
    "softplus(x)", "cosh(x)*sinh(x)", "1/x + 1/x^2", "sin(x*y) + y^2", "exp(x*y)/(x + y)",
    "(x + y)^3", "x^2*y^3", "sin(x)^2 + cos(x)^2", "exp(x)*sin(x)", "log(sin(x))",
    "sqrt(x)*log(x)", "x*exp(-x)", "(x^2 + 1)/(x^2 - 1)", "tan(x)", "sin(cos(tan(x)))",
    "exp(exp(x))", "x^5 + 3*x^4 - x^2", "1/(1 + exp(-x))", "log(1 + exp(x))",
    "x*sin(1/x)", "atan(y/x)", "sqrt(x^2 + y^2)", "x*y*z", "exp(-(x^2 + y^2))",
    "sin(x + y)*cos(x - y)", "log(x*y)", "x^2*sin(x)*exp(x)", "(sin(x) + cos(x))^2",
    "1/sqrt(x)", "x^(1/3)", "asin(sqrt(x))", "cosh(x)^2 - sinh(x)^2", "exp(sin(x)*cos(y))",
    "tanh(w*x + b)", "sigmoid(w*x + b)", "(x - 1)^2 + (y - 2)^2", "log(x)/x", "x^2/(1 + x)",
    "y1 = x*x + sin(x); y2 = y1*y1 + sin(y1); y2", "v = x^2; u = sin(v); f = exp(u)",
    "a = sin(x)*y; b = a^2 + x; b*a", "exp(x)/(1 + exp(x))", "2*x*y + y^2*x",
]

TOKEN = re.compile(r"\*\*|[A-Za-z_]\w*|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+|\S")


def tokens(text: str) -> int:
    return len(TOKEN.findall(text))


def main():
    import sympy as sp

    from cgcalc.derive import Analysis
    from cgcalc.graph import parse
    from cgcalc.render.common import derivatives

    verbose = "-v" in sys.argv
    names = {"sigmoid": lambda a: 1 / (1 + sp.exp(-a)),
             "softplus": lambda a: sp.log(1 + sp.exp(a))}
    ratios = []
    rows = []
    for text in EXPRESSIONS:
        g = parse(text)
        # SymPy gets the same function with statements substituted in
        body = text
        if ";" in text:
            *stmts, last = [s.strip() for s in text.split(";")]
            env = {}
            for s in stmts:
                k, v = s.split("=")
                env[k.strip()] = sp.sympify(v.replace("^", "**"), locals={**names, **env})
            last = last.split("=")[-1]
            expr = sp.sympify(last.replace("^", "**"), locals={**names, **env})
        else:
            expr = sp.sympify(body.replace("^", "**"), locals=names)
        for d in derivatives(Analysis(g, list(g.variables))):
            ours = tokens(d.text)
            theirs = tokens(str(sp.diff(expr, sp.Symbol(d.wrt[0]))))
            ratios.append(ours / theirs)
            rows.append((ours / theirs, text, d.wrt[0], d.text,
                         str(sp.diff(expr, sp.Symbol(d.wrt[0])))))
    mean = sum(ratios) / len(ratios)
    print(f"{len(EXPRESSIONS)} expressions, {len(ratios)} derivatives")
    print(f"mean tokens cgcalc / SymPy: {mean:.3f}   (<= 1 means no longer than SymPy)")
    print(f"shorter: {sum(r < 1 for r in ratios)}, equal: {sum(r == 1 for r in ratios)}, "
          f"longer: {sum(r > 1 for r in ratios)}")
    rows.sort(reverse=True)
    print("\nlongest relative to SymPy:")
    for r, text, v, ours, theirs in rows[: (len(rows) if verbose else 8)]:
        print(f"  {r:.2f}  d/d{v} {text}\n        cgcalc: {ours}\n        sympy:  {theirs}")


if __name__ == "__main__":
    main()
