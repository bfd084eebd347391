"""The library's errors, and how they point at the place of a fault.

The library never prints and never exits: it raises a :class:`CgcalcError` (a ``ValueError``; its
subclass :class:`EvaluationError` for a value outside a function's domain) that carries the place
(file name, line, column, the source text) and the exit status; ``cli.py`` alone turns it into a
message on standard error and that status. ``str(error)`` is that message without ``error: ``.
"""

from __future__ import annotations

BAD_INPUT = 2  # usage, syntax, unknown names, shapes, unreadable files
FAILURE = 1  # a run that failed for another reason: domain errors, checks out of tolerance, NaN
MESSAGE_MAX = 400  # characters of a message; the middle of a longer one is left out


def lone_cr_as_lf(text: str) -> str:
    """``text`` with each CR that ends a line alone (an old Mac file, or text so written) read
    as LF: LF, CRLF and a lone CR each end a line, in a file, an argument or the API's text
    alike, and the lines (and their numbers) are the same (one character for another)."""
    if "\r" not in text:
        return text
    import re

    return re.sub(r"\r(?!\n)", "\n", text)


def source_lines(text: str) -> list[str]:
    r"""The lines of ``text`` as the lexer counts them: split at newlines alone (str.splitlines
    would also break at form feeds, \x85 and \u2028, and then name lines the lexer does not),
    a final newline ending the last line; a line keeps a "\r" before its newline."""
    return (text[:-1] if text.endswith("\n") else text).split("\n")


class CgcalcError(ValueError):
    """A fault with a place. ``line``/``column`` are 1-based; ``width`` is the caret's length."""

    status = BAD_INPUT

    def __init__(self, message, *, source=None, line=None, column=None, width=1,
                 filename=None, hint=None, status=None):
        if len(message) > MESSAGE_MAX:  # a value quoted in full could be megabytes long
            half = MESSAGE_MAX // 2
            message = f"{message[:half]} … {message[-half:]}"
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
        self._one_line = False  # source holds only the faulty line of a longer input

    def at_line(self, line):
        """The fault is on ``line`` of an input of which ``source`` holds that one line."""
        self.line, self._one_line = line, True
        return self

    def render(self, prefix="error: ") -> str:
        """``error: <where>: <message>``, then the source line and a caret under the fault."""
        where = ""
        if self.line is not None:
            where = f"{self.filename or '<input>'}:{self.line}:{self.column}: "
        elif self.filename:
            where = f"{self.filename}: "
        lines = [f"{prefix}{where}{self.message}"]
        text = self._source_line()
        if text is not None:
            # a very long line is shown as a window around the column
            col = self.column or 1
            start = max(0, col - 60) if len(text) > 100 else 0
            shown = text[start:start + 100]
            before = "…" if start else ""
            after = "…" if start + 100 < len(text) else ""
            gutter = f"{self.line} | "
            lines.append(f"  {gutter}{before}{shown}{after}")
            pad = " " * (len(gutter) + len(before) + col - 1 - start)
            lines.append(f"  {pad}{'^' * min(self.width, max(1, len(shown) - (col - 1 - start)))}")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def _source_line(self):
        """The faulty line as the lexer counts lines (by newlines alone), control characters
        shown as '?' so that no byte of the input reaches the terminal as a command, and lone
        surrogates (bytes that were not UTF-8, or a Python string's own) as '?' so that the
        message can be printed and the caret stays under its character."""
        if self.line is None or self.source is None:
            return None
        if self._one_line:
            text = self.source
        else:
            all_lines = source_lines(self.source)
            if not 1 <= self.line <= len(all_lines):
                return None
            text = all_lines[self.line - 1]
        text = text.rstrip("\r\n").replace("\t", " ")
        return "".join("?" if (ch < " " or "\x7f" <= ch < "\xa0" or ch in "\u2028\u2029" or
                               "\ud800" <= ch <= "\udfff") else ch for ch in text)

    def __str__(self) -> str:
        return self.render(prefix="")


class EvaluationError(CgcalcError):
    """A value outside a function's domain at the point (log of a negative, division by zero)."""

    status = FAILURE


def suggest(name: str, choices) -> str | None:
    """The nearest known name, for "did you mean ...?" (difflib is imported only on this path)."""
    import difflib

    found = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None
