"""Points in: CSV with a header naming the variables (other columns are carried through), or
JSON Lines objects; read in chunks so any number of rows streams with flat memory.

A row that cannot be read raises CgcalcError naming its line and column (with the line and a
caret); the good rows before it are handed on first.
"""

from __future__ import annotations

import csv
import json

from .errors import CgcalcError

# bytes of input per chunk: small at first so the first rows come out early, then large
FIRST_CHUNK, MAX_CHUNK = 64, 1 << 20


class Chunk:
    """Some rows: the variables' values as numpy arrays, each row's line number, and what the
    writers carry through (the raw CSV lines, their fields, or the JSON objects)."""

    __slots__ = ("columns", "lines", "raw", "objects", "_fields")

    def __init__(self, columns, lines, raw=None, objects=None):
        self.columns, self.lines, self.raw, self.objects = columns, lines, raw, objects
        self._fields = None

    def __len__(self):
        return len(self.lines)

    @property
    def fields(self):
        if self._fields is None and self.raw is not None:
            self._fields = list(csv.reader(self.raw))
        return self._fields


class _BadRow(Exception):
    def __init__(self, index, error):
        self.index, self.error = index, error


class PointReader:
    """Iterate over :class:`Chunk`s of ``stream`` (binary). ``fmt`` is csv, jsonl or auto;
    ``fixed`` gives values to variables that have no column; ``header=False`` reads rows of
    numbers in the order of ``variables`` (a header row is still recognised and skipped)."""

    def __init__(self, stream, name, variables, *, fmt="auto", fixed=None, header=True):
        self.stream = stream
        self.name = name
        self.variables = list(variables)
        self.fixed = dict(fixed or {})
        self.need = [v for v in self.variables if v not in self.fixed]
        self.fmt = fmt
        self.header = header
        self.columns: list[str] = []
        self.header_text = None
        self.line_no = 0
        self._pending = None
        self._partial = b""
        self.spaces = False

    # -- blocks of lines -----------------------------------------------------------------------
    def _read_block(self, hint):
        """(line numbers, lines) for whole lines of about ``hint`` bytes, None at the end.
        Blank lines are dropped (so a block may be empty)."""
        if self._pending is not None:
            out, self._pending = self._pending, None
            return out
        data = self._take(hint)
        if data is None:
            return None
        first = self.line_no + 1
        try:
            text = data.decode("utf-8-sig" if first == 1 else "utf-8")
        except UnicodeDecodeError:
            self._bad_utf8(data.splitlines(keepends=True), first)
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        self.line_no += len(lines)
        if "\r" in text:
            lines = [ln.rstrip("\r") for ln in lines]
        if self.spaces:
            lines = _commas(lines)
        numbers = range(first, first + len(lines))
        if "" in lines or any(ln.isspace() for ln in lines):
            keep = [i for i, ln in enumerate(lines) if ln.strip()]
            numbers = [first + i for i in keep]
            lines = [lines[i] for i in keep]
        return numbers, lines

    def _take(self, hint):
        """Whole lines of at most about ``hint`` bytes: what has arrived, without waiting for
        more once a line is complete (so rows flow through a slow pipe), None at the end."""
        read = getattr(self.stream, "read1", self.stream.read)
        while True:
            data = read(hint)
            if not data:
                rest, self._partial = self._partial, b""
                return rest or None
            buf = self._partial + data if self._partial else data
            cut = buf.rfind(b"\n")
            if cut < 0:
                self._partial = buf
                hint = max(hint, 1 << 16)
                continue
            self._partial = buf[cut + 1:]
            return buf[:cut + 1]

    def _bad_utf8(self, raws, first):
        for i, raw in enumerate(raws):
            try:
                raw.decode("utf-8-sig" if first + i == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise self._fail(f"invalid UTF-8 (byte 0x{raw[exc.start]:02x})",
                                 raw.decode("utf-8", "replace").rstrip("\r\n"),
                                 exc.start + 1, line=first + i) from None

    def _fail(self, msg, text, column, width=1, line=None, hint=None):
        return CgcalcError(msg, source=text, line=1, column=column, width=width,
                           filename=self.name, hint=hint).at_line(line or self.line_no)

    # -- the header ----------------------------------------------------------------------------
    def _start(self):
        while True:
            block = self._read_block(1)
            if block is None:
                return False
            numbers, lines = block
            if lines:
                break
        line_no, text = numbers[0], lines[0]
        if self.fmt == "auto":
            self.fmt = "jsonl" if text.lstrip().startswith("{") else "csv"
        if not self.header and self.fmt == "csv" and "," not in text and len(text.split()) > 1:
            self.spaces = True
            lines = _commas(lines)
            text = lines[0]
        if self.fmt == "jsonl" or (not self.header and not _is_header(text)):
            self._pending = (numbers, lines)
            self.columns = list(self.variables)
            return True
        self._pending = (numbers[1:], lines[1:]) if len(lines) > 1 else None
        self.header_text = text
        self.columns = [c.strip() for c in next(csv.reader([text]))]
        if not self.header:
            return True
        missing = [v for v in self.need if v not in self.columns]
        if missing:
            raise self._fail(f"the header names no column for {', '.join(map(repr, missing))} "
                             f"(columns: {', '.join(self.columns)})", text, 1, len(text),
                             line=line_no, hint="the first row must name the variables")
        return True

    # -- chunks --------------------------------------------------------------------------------
    def __iter__(self):
        import numpy as np

        if not self._start():
            return
        hint = FIRST_CHUNK
        build = self._csv_chunk if self.fmt == "csv" else self._json_chunk
        while True:
            block = self._read_block(hint)
            if block is None:
                return
            numbers, lines = block
            if not lines:
                continue
            try:
                chunk = build(numbers, lines, np)
            except _BadRow as bad:
                if bad.index:  # the rows before the bad one are good: hand them on, then stop
                    yield build(numbers[:bad.index], lines[:bad.index], np)
                raise bad.error from None
            yield chunk
            hint = min(hint * 4, MAX_CHUNK)

    def _csv_chunk(self, numbers, lines, np):
        n = len(lines)
        if self.header:  # columns by name
            width, use = len(self.columns), [self.columns.index(v) for v in self.need]
        else:  # numbers in the order of the variables
            width, use = len(self.need), list(range(len(self.need)))
        columns = {}
        try:  # numpy's C parser; any fault is found again, slowly, to point at it
            table = np.loadtxt(lines, delimiter=",", quotechar='"', dtype=float, ndmin=2,
                               usecols=use) if use else np.empty((n, 0))
            if table.shape[0] != n or _field_counts_differ(lines, width):
                raise ValueError
            for j, v in enumerate(self.need):
                columns[v] = table[:, j]
        except ValueError:
            columns = self._slow_columns(numbers, lines, width, use, np)
        for v, value in self.fixed.items():
            columns[v] = np.full(n, value)
        return Chunk(columns, numbers, raw=lines)

    def _slow_columns(self, numbers, lines, width, use, np):
        fields = list(csv.reader(lines))
        for i, f in enumerate(fields):
            if len(f) != width:
                raise _BadRow(i, self._fail(
                    f"expected {width} fields ({', '.join(self.columns or self.need)}), "
                    f"got {len(f)}", lines[i], 1, len(lines[i]), line=numbers[i]))
        columns = {}
        for v, k in zip(self.need, use):
            for i, f in enumerate(fields):
                try:
                    float(f[k])
                except ValueError:
                    raise _BadRow(i, self._fail(
                        f"{f[k]!r} is not a number (column {v!r})", lines[i],
                        _field_column(lines[i], k), max(1, len(f[k])), line=numbers[i])) from None
            columns[v] = np.array([f[k] for f in fields], dtype=float)
        return columns

    def _json_chunk(self, numbers, lines, np):
        objects = []
        for i, text in enumerate(lines):
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                raise _BadRow(i, self._fail(f"not JSON: {exc.msg}", text, exc.colno,
                                            line=numbers[i])) from None
            if not isinstance(obj, dict):
                raise _BadRow(i, self._fail("each line must be a JSON object", text, 1,
                                            len(text), line=numbers[i]))
            for v in self.need:
                val = obj.get(v)
                if isinstance(val, bool) or not isinstance(val, (int, float)):
                    col = text.find(f'"{v}"') + 1 or 1
                    what = "missing" if v not in obj else f"{val!r} is not a number"
                    raise _BadRow(i, self._fail(f"{v!r}: {what}", text, col, len(v) + 2,
                                                line=numbers[i]))
            objects.append(obj)
        columns = {v: np.array([o[v] for o in objects], dtype=float) for v in self.need}
        for v, value in self.fixed.items():
            columns[v] = np.full(len(lines), value)
        return Chunk(columns, numbers, objects=objects)


def _commas(lines):
    """Rows like a .net file's data rows (numbers separated by spaces), as CSV."""
    return [",".join(ln.split()) for ln in lines]


def _field_counts_differ(lines, width):
    """True when some line has another number of fields (numpy would not always say)."""
    if any('"' in ln for ln in lines):
        return any(len(f) != width for f in csv.reader(lines))
    return any(ln.count(",") != width - 1 for ln in lines)


def _is_header(text):
    try:
        [float(f) for f in next(csv.reader([text]))]
        return False
    except ValueError:
        return True


def _field_column(text, k):
    """1-based column where CSV field ``k`` starts in ``text`` (commas inside quotes skipped)."""
    field, quoted = 0, False
    for i, ch in enumerate(text):
        if field == k:
            return i + 1
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            field += 1
    return len(text) + 1


def evaluate_stream(reader, tape, variables, writer):
    """Read chunks, run the tape on each (value and derivatives together), hand rows on.

    Returns (rows, rows with nan outputs, line of the first such row)."""
    import numpy as np

    total = bad = 0
    first_bad = None
    for chunk in reader:
        n = len(chunk)
        results = tape.run([chunk.columns[v] for v in variables], block=1 << 14)
        outs = [np.broadcast_to(np.asarray(r, dtype=float), (n,)) for r in results]
        nan_out = np.zeros(n, dtype=bool)
        for o in outs:
            nan_out |= np.isnan(o)
        for v in variables:
            nan_out &= ~np.isnan(chunk.columns[v])
        if nan_out.any():
            bad += int(nan_out.sum())
            if first_bad is None:
                first_bad = chunk.lines[int(np.argmax(nan_out))]
        writer.write(chunk, outs)
        total += n
    writer.close()
    return total, bad, first_bad
