"""Graph -> text, in cgcalc's own syntax (plain) or LaTeX. Iterative, so a 100,000-deep
expression prints; linear in the size of what it prints.

Every plain string printed is a valid cgcalc expression. Sums with negative terms print with
``-``, negative powers as division, ``x^(1/2)`` as ``sqrt(x)``. Nodes listed in ``atoms`` print as
their names: that is how a connection derivative prints "in node names", and how large derivatives
print as statements (``a = ...; b = ...; expr``) instead of exponentially long text.
"""

from .expression import to_text
from .program import inline_size, program_text
from .styles import LATEX, MATH, MATH_LATEX, PLAIN, format_number, is_negative, latex_name

__all__ = ["LATEX", "MATH", "MATH_LATEX", "PLAIN", "format_number", "inline_size",
           "is_negative", "latex_name", "program_text", "to_text"]
