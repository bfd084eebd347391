"""Input read in bounded pieces: whole lines of about the size asked for, decoded and numbered,
what has arrived handed on without waiting for more (rows flow through a slow pipe); a line
longer than the CGCALC_MAX_LINE limit is refused, not read whole. A line ends at LF, CRLF or
a CR alone (old Mac files), as in Python's universal newlines, and is numbered so. And the
containers the row formats pass along: blocks of rows not yet converted, chunks of converted
ones."""

from __future__ import annotations

import re

from ..errors import CgcalcError
from ..limits import limit


_LINE_END = re.compile(rb"\r\n|\r|\n")


class Chunk:
    """Some rows: each needed column's values (numpy arrays), each row's line number, and what
    the writers carry through: the rows as written (``raw``, for CSV) and their fields, or the
    JSON objects; ``texts``, each row's text as read, to quote one in an error."""

    __slots__ = ("columns", "lines", "raw", "_fields", "objects", "texts")

    def __init__(self, columns, lines, raw=None, fields=None, objects=None, texts=None):
        self.columns, self.lines, self.raw = columns, lines, raw
        self._fields, self.objects, self.texts = fields, objects, texts

    def __len__(self):
        return len(self.lines)

    @property
    def fields(self):
        if self._fields is None and self.raw is not None:  # rows without quotes
            self._fields = [t.split(",") for t in self.raw]
        return self._fields


class Block:
    """Rows read, not yet converted: line numbers, the rows' text as written (a quoted CSV
    field may hold newlines), and their fields once split (None: split on demand)."""

    __slots__ = ("numbers", "texts", "fields")

    def __init__(self, numbers, texts, fields=None):
        self.numbers, self.texts, self.fields = numbers, texts, fields

    def __len__(self):
        return len(self.texts)

    def head(self, k):
        return Block(self.numbers[:k], self.texts[:k],
                      None if self.fields is None else self.fields[:k])

    def keep(self, which):
        """The rows whose indices are in ``which`` (a list)."""
        return Block([self.numbers[i] for i in which], [self.texts[i] for i in which],
                      None if self.fields is None else [self.fields[i] for i in which])


class Stop(Exception):
    """A bad row: the rows before it (``good``, a block) are handed on, then ``error``."""

    def __init__(self, good, error):
        self.good, self.error = good, error



class Lines:
    """The lines of a binary ``stream`` named ``name`` (its first line numbered
    ``first_line``): :meth:`read` gives the next whole lines, :meth:`fail` an error placed on one
    of them."""

    def __init__(self, stream, name, first_line=1):
        self.stream, self.name = stream, name
        self.line_no = first_line - 1
        self.max_line = limit("CGCALC_MAX_LINE")
        self._partial = b""
        self._long = None  # the pattern of a line past the limit (made when first needed)
        self._refuse = False  # the next line is past the limit: refused on the next read
        self._after_cr = False  # the last piece ended in CR: a LF first in the next ends it too

    def read(self, hint):
        """(number of the first line, [texts]) for the whole lines of about ``hint`` bytes,
        None at the end."""
        data = self._take(hint)
        if data is None:
            return None
        first = self.line_no + 1
        try:
            text = data.decode("utf-8-sig" if first == 1 else "utf-8")
        except UnicodeDecodeError:
            self._bad_utf8(data, first)
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        texts = text.split("\n")
        if texts[-1] == "":
            texts.pop()
        self.line_no += len(texts)
        return first, texts

    def _take(self, hint):
        """Whole lines of at most about ``hint`` bytes: what has arrived, without waiting for
        more once a line is complete (so rows flow through a slow pipe), None at the end. A long
        line is gathered in pieces and joined once (linear in its length)."""
        if self._refuse or len(self._partial) > self.max_line:  # the lines before it went on
            raise self.too_long(self.line_no + 1)
        read = getattr(self.stream, "read1", None) or self.stream.read
        pieces, size = ([self._partial], len(self._partial)) if self._partial else ([], 0)
        self._partial = b""
        while True:
            data = self._read(read, hint)
            if not data:
                return b"".join(pieces) or None
            cut = max(data.rfind(b"\n"), data.rfind(b"\r"))
            if cut < 0:
                pieces.append(data)
                size += len(data)
                if size > self.max_line:
                    raise self.too_long(self.line_no + 1)
                hint = min(max(hint * 2, 1 << 16), 1 << 22)
                continue
            pieces.append(data[:cut + 1])
            self._partial = data[cut + 1:]  # past the limit already: refused on the next read
            self._after_cr = cut == len(data) - 1 and data[cut] == 13  # (CR)
            whole = b"".join(pieces)
            return self._before_long(whole) if len(whole) > self.max_line else whole

    def _read(self, read, hint):
        """The next piece, the LF of a CRLF split between two pieces left out."""
        while True:
            try:
                data = read(hint)
            except OSError as exc:
                what = "standard input" if self.name == "<stdin>" else self.name
                raise CgcalcError(f"cannot read {what}: {exc.strerror or exc}",
                                  filename=None) from None
            if self._after_cr and data:
                self._after_cr = False
                if data[:1] == b"\n":
                    data = data[1:]
                    if not data:
                        continue
            return data

    def _before_long(self, whole):
        """The lines of ``whole`` before one past the limit (found at C speed), which is kept
        to be refused on the next read; all of them where there is none."""
        if self._long is None:
            self._long = re.compile(rb"[^\r\n]{%d}" % (self.max_line + 1))
        found = self._long.search(whole)
        if found is None:
            return whole
        at = found.start()
        start = max(whole.rfind(b"\n", 0, at), whole.rfind(b"\r", 0, at)) + 1
        if start == 0:
            raise self.too_long(self.line_no + 1)
        self._partial = whole[start:] + self._partial
        self._refuse = True
        return whole[:start]

    def too_long(self, line, quoted=False):
        """The row at ``line`` is past the limit; ``quoted``: a CSV record whose quoted field
        runs on over several lines."""
        if quoted:
            return CgcalcError(f"the row at line {line} is longer than {self.max_line:,} bytes "
                               f"(the limit for one row)", filename=self.name,
                               hint="a quoted field runs on, newlines and all, to its closing "
                                    "quote; raise the limit with CGCALC_MAX_LINE")
        return CgcalcError(f"line {line} is longer than {self.max_line:,} bytes (the limit for "
                           f"one row)", filename=self.name,
                           hint="rows end with a newline; raise the limit with CGCALC_MAX_LINE")

    def _bad_utf8(self, data, first):
        for i, raw in enumerate(_LINE_END.split(data)):
            try:
                raw.decode("utf-8-sig" if first + i == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise self.fail(f"invalid UTF-8 (byte 0x{raw[exc.start]:02x})",
                                 raw.decode("utf-8", "replace"), exc.start + 1,
                                 line=first + i) from None

    def fail(self, msg, text, column, width=1, line=None, hint=None):
        return CgcalcError(msg, source=text.split("\n")[0], line=1, column=column, width=width,
                           filename=self.name, hint=hint).at_line(line or self.line_no)
