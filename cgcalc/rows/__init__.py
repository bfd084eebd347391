"""The one reader of rows: for ``--points``, a network's data rows (inline or in a file) and the
rows ``predict`` reads.

Two kinds of rows, read alike:

- points (expressions): CSV whose header names the variables (other columns are carried
  through), or JSON Lines objects; read as the csv and json modules define them;
- data rows (networks): numbers in column order, separated by commas or spaces, ``->``
  allowed between inputs and targets, ``#`` comments, a header row of names optional.

Input is read in bounded pieces (cgcalc/rows/lines.py) and handed on in chunks, small at first
so the first rows come out while a pipe is still open. Every value is checked once, here
(cgcalc/rows/formats.py): a field that is not a finite number stops the reading with exit
status 2, naming its line and column, after the good rows before it are handed on.
"""

from __future__ import annotations

import re

from .formats import (_data_column, _field_column, csv_chunk, csv_records, data_fields,
                      json_chunk, loads_json, rows_chunk)
from .lines import Block, Chunk, Lines, Stop

__all__ = ["Chunk", "RowReader", "loads_json", "read_all"]

FIRST_CHUNK, MAX_CHUNK = 64, 1 << 20  # bytes of input per chunk: small first, then large
_NAME = re.compile(r"(?!\d)\w+\Z")
def _number(cell):
    """True for a cell that reads as a number (nan and inf included): never a header's."""
    try:
        float(cell)
        return True
    except ValueError:
        return False


_BLANK_LINE = re.compile(r"(?:\A|\n)[ \t\r\f\v]*(?:\n|\Z)")


class RowReader:
    """Iterate over the :class:`Chunk`\\ s of ``stream`` (binary).

    ``names``: for points, the variables, found by name in the header (``fixed`` gives values
    to those without a column); for data rows (``data=True``), the columns in order, and
    ``split`` the number of inputs and targets that ``->`` separates (``drop_targets``: the
    targets are checked and left out, the columns are the inputs'); ``named_in_order``: their
    header row, if any, must be those names in that order (rows read by place and shown by
    name). ``first_line`` numbers the lines of a stream that starts inside a file (a data
    block)."""

    def __init__(self, stream, name, names, *, data=False, fmt="auto", fixed=None, split=None,
                 drop_targets=False, first_line=1, named_in_order=False):
        self.name = name
        self.names = list(names)
        self.data = data
        self.fmt = "rows" if data else fmt
        self.fixed = dict(fixed or {})
        self.need = [v for v in self.names if v not in self.fixed]
        self.split = split
        self.drop_targets = drop_targets
        self.named_in_order = named_in_order
        self.columns: list[str] = []  # the input's columns, as its header names them
        self.use: list = []  # CSV: (variable, the place of its column) for each one read
        self.header_text = None
        self.lines = Lines(stream, name, first_line)
        self._pending = None  # a block read ahead (the rows after the header)
        self._after = None  # a fault found reading ahead: raised after the rows before it
        # a name no input column or key may have -> why: a variable given a value (its
        # column would be shown and not used), or a column the run writes (see writes)
        self.taken: dict = dict.fromkeys(self.fixed, "a variable given a value by --at: "
                                                     "which is meant?")
        self.taken_keys = self.taken  # of a JSON Lines object (see writes)
        self.by_name = True  # see writes

    def writes(self, labels, *, keys_carried=True, by_name=True):
        """The columns the run writes after the input's (value, d/dx, ...). Every output
        repeats a CSV input's columns; ``keys_carried``: it repeats a JSON Lines object's other
        keys too (else only the variables); ``by_name``: its rows are keyed by name (JSON),
        where a name holds one value. A column or key that the output would hide is refused:
        one named as a written column, and under ``by_name`` a column named twice."""
        why = f"a column cgcalc writes ({', '.join(labels)}): what it holds would be lost"
        self.taken.update(dict.fromkeys(labels, why))
        self.taken_keys = {k: v for k, v in self.taken.items()
                           if keys_carried or k in self.fixed or k in self.names}
        self.by_name = by_name

    def rename_hint(self, name, what):
        """What to do about an input ``what`` (column, key) named ``name`` that is refused."""
        return (f"drop the {what} or the --at value" if name in self.fixed else
                f"rename the variable and its {what}" if name in self.names else
                f"rename the {what}")

    # -- rows ----------------------------------------------------------------------------
    def _block(self, hint):
        """The next rows as a :class:`Block` (perhaps empty), None at the end. CSV records are
        read as the csv module does; JSON and data rows are one a line. Blank lines (and data
        rows' comment lines) are skipped; before the format is known, nothing is."""
        if self._pending is not None:
            out, self._pending = self._pending, None
            return out
        got = self.lines.read(hint)
        if got is None:
            return None
        return self._rows(*got)

    def _rows(self, first, texts):
        if self.fmt == "auto":
            return Block(range(first, first + len(texts)), texts)
        if self.fmt == "csv" and any('"' in t for t in texts):
            return csv_records(self, first, texts)
        block = Block(range(first, first + len(texts)), texts)
        if self.fmt == "rows":  # comment lines are blank too
            if any("#" in t for t in texts) or _BLANK_LINE.search("\n".join(texts)):
                block = block.keep([i for i, t in enumerate(texts)
                                    if t.split("#", 1)[0].strip()])
        elif _BLANK_LINE.search("\n".join(texts)):
            block = block.keep([i for i, t in enumerate(texts) if t.strip()])
        return block

    # -- the header ----------------------------------------------------------------------
    def _first_rows(self):
        """The first block with a row in it (None for an input without rows); the first line
        that is not blank decides the format when it is not given."""
        while True:
            block = self._block(1)
            if block is None:
                return None
            if self.fmt == "auto":
                lead = next((i for i, t in enumerate(block.texts) if t.strip()), None)
                if lead is None:
                    continue
                first, texts = block.numbers[lead], block.texts[lead:]
                self.fmt = "jsonl" if texts[0].lstrip().startswith("{") else "csv"
                block = self._rows(first, texts)
            if len(block):
                return block

    def _start(self):
        """Read up to the first row; take the header (required for points, optional for data
        rows: a row of names). False for an input without rows."""
        try:
            block = self._first_rows()
        except Stop as stop:  # a fault in the first rows read: the good ones first
            if not len(stop.good):
                raise stop.error from None
            block, self._after = stop.good, stop.error
        if block is None:
            return False
        line, text = block.numbers[0], block.texts[0]
        if self.fmt == "jsonl":
            self._pending = block
            self.columns = list(self.names)
            return True
        rest = block.keep(list(range(1, len(block))))
        if self.data:
            cells = data_fields(self, line, text)
            if not all(_NAME.match(c) and not _number(c) for c in cells):
                self._pending = block  # no header: the first row is data
                self.columns = list(self.names)
                return True
            if len(cells) != len(self.names):
                raise self.lines.fail(f"the header names {len(cells)} columns; the rows have "
                                      f"{len(self.names)} ({', '.join(self.names)})", text, 1,
                                      len(text), line=line)
            self._names_in_order(cells, line, text)
            self.columns, self.header_text = cells, text
            self._pending = rest
            return True
        fields = block.fields[0] if block.fields is not None else text.split(",")
        self.header_text, self.header_fields = text, fields
        self.columns = [c.strip() for c in fields]
        index: dict = {}  # a column's name -> its first place (looked up, never searched for)
        for k, c in enumerate(self.columns):
            index.setdefault(c, k)
        missing = [v for v in self.need if v not in index]
        if missing:
            raise self.lines.fail(f"the header names no column for "
                                  f"{', '.join(map(repr, missing))} (columns: "
                                  f"{', '.join(self.columns)})", text, 1, len(text), line=line,
                                  hint="the first row must name the variables")
        if len(index) < len(self.columns) or not self.taken.keys().isdisjoint(index):
            self._hidden(index, line, text)
        self.use = [(v, index[v]) for v in self.need]
        self._pending = rest
        return True

    def _hidden(self, index, line, text):
        """Refuse the first column of the header that another would hide in the output: one
        named as a column the run writes, or as a column before it."""
        for k, c in enumerate(self.columns):
            if c in self.taken:
                msg = f"the column {c!r} has the name of {self.taken[c]}"
                hint = self.rename_hint(c, "column")
            elif index[c] != k and (c in self.need or self.by_name):
                msg, hint = f"two columns are named {c!r}", \
                    "name each column once (a row written as JSON keeps one value a name)"
                if c in self.need:
                    msg, hint = f"{msg}: which is the variable?", None
            else:
                continue
            field = self.header_fields[k]
            column = _field_column(text, k) + len(field) - len(field.lstrip())
            raise self.lines.fail(msg, text, column, max(1, len(c)), line=line, hint=hint)

    def _names_in_order(self, cells, line, text):
        """A header row of data rows read by place names each column as it is read: with
        ``named_in_order``, by its very name; else (a network's data file, whose header may
        label its columns its own way: ``x1`` for ``X1``) no column has the name of another
        one (letter case aside: ``y,X1,X2`` for X1, X2, y would read y as X1)."""
        if self.named_in_order:
            k = next((k for k, (c, v) in enumerate(zip(cells, self.names)) if c != v), None)
        else:
            place = {v.casefold(): k for k, v in reversed(list(enumerate(self.names)))}
            k = next((k for k, c in enumerate(cells)
                      if place.get(c.casefold(), k) != k or
                      c.casefold() in (d.casefold() for d in cells[:k])), None)
        if k is not None:
            listed = ", ".join(self.names)
            raise self.lines.fail(f"the header names {cells[k]!r} where {self.names[k]!r} is "
                                  f"expected: the columns are read in order ({listed})", text,
                                  _data_column(text, k), len(cells[k]), line=line,
                                  hint="a header row is optional; one names the columns in "
                                       "that order")

    # -- chunks --------------------------------------------------------------------------
    def __iter__(self):
        import numpy as np

        if not self._start():
            return
        hint = FIRST_CHUNK
        build = {"csv": csv_chunk, "jsonl": json_chunk, "rows": rows_chunk}[self.fmt]
        while True:
            error = None
            try:
                block = self._block(hint)
            except Stop as stop:
                block, error = stop.good, stop.error
            if block is None:
                return
            chunk = None
            while len(block):
                try:
                    chunk = build(self, block, np)
                    break
                except Stop as stop:  # the rows before the first bad one are handed on
                    block, error = stop.good, stop.error
            if chunk is not None:
                yield chunk
            if error is None:
                error, self._after = self._after, None
            if error is not None:
                raise error
            hint = min(hint * 4, MAX_CHUNK)


def read_all(reader, what="the data"):
    """Every row of ``reader`` as one table (rows x the reader's names), refused before it grows
    past the CGCALC_MAX_ENTRIES limit."""
    import numpy as np

    from ..limits import check_entries

    parts, count = [], 0
    width = max(1, len(reader.names))
    for chunk in reader:
        count += len(chunk) * width
        check_entries(count, what, filename=reader.name)
        parts.append(np.column_stack([chunk.columns[v] for v in reader.names])
                     if len(chunk) else np.empty((0, len(reader.names))))
    if not parts:
        return np.empty((0, len(reader.names)))
    return np.vstack(parts)
