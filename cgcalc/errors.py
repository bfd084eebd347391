"""The one error type the library raises, and how it points at the place of a fault.

The library never prints and never exits: it raises a :class:`CgcalcError` that carries the place
(file name, line, column, the source text) and the exit status; ``cli.py`` alone turns it into a
message on standard error and that status.
"""

from __future__ import annotations

BAD_INPUT = 2  # usage, syntax, unknown names, shapes, unreadable files
FAILURE = 1  # a run that failed for another reason: domain errors, checks out of tolerance, NaN


class CgcalcError(Exception):
    """A fault with a place. ``line``/``column`` are 1-based; ``width`` is the caret's length."""

    status = BAD_INPUT

    def __init__(self, message, *, source=None, line=None, column=None, width=1,
                 filename=None, hint=None, status=None):
        super().__init__(message)
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        self.width = max(1, width or 1)
        self.filename = filename
        self.hint = hint
        if status is not None:
            self.status = status
        self.line_offset = 0  # source holds only this line of a longer input

    def at_line(self, line):
        """The fault is on ``line`` of a file whose one line is ``source``."""
        self.line_offset = line - 1
        return self

    def render(self) -> str:
        """``error: <where>: <message>``, then the source line and a caret under the fault."""
        where = ""
        shown_line = None if self.line is None else self.line + self.line_offset
        if self.line is not None:
            name = self.filename or "<input>"
            where = f"{name}:{shown_line}:{self.column}: "
        elif self.filename:
            where = f"{self.filename}: "
        lines = [f"error: {where}{self.message}"]
        if self.line is not None and self.source is not None:
            text_lines = self.source.splitlines() or [""]
            if 1 <= self.line <= len(text_lines):
                text = text_lines[self.line - 1].replace("\t", " ")
                # a very long line is shown as a window around the column
                col = self.column or 1
                start = max(0, col - 60) if len(text) > 100 else 0
                shown = text[start:start + 100]
                prefix = "…" if start else ""
                suffix = "…" if start + 100 < len(text) else ""
                gutter = f"{shown_line} | "
                lines.append(f"  {gutter}{prefix}{shown}{suffix}")
                pad = " " * (len(gutter) + len(prefix) + col - 1 - start)
                lines.append(f"  {pad}{'^' * min(self.width, max(1, len(shown) - (col - 1 - start)))}")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


class EvaluationError(CgcalcError):
    """A value outside a function's domain at the point (log of a negative, division by zero)."""

    status = FAILURE


def suggest(name: str, choices) -> str | None:
    """The nearest known name, for "did you mean ...?" (difflib is imported only on this path)."""
    import difflib

    found = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None
