"""Rows in: the one reader for ``--points``, a network's data rows (inline or in a file) and the
rows ``predict`` reads.

Two kinds of rows, read alike:

- points (expressions): CSV whose header names the variables (other columns are carried
  through), or JSON Lines objects; read as the csv and json modules define them;
- data rows (networks): numbers in column order, separated by commas or spaces, ``->``
  allowed between inputs and targets, ``#`` comments, a header row of names optional.

Input is read in bounded pieces and handed on in chunks (small at first, so the first rows
come out while a pipe is still open); no line may be longer than the CGCALC_MAX_LINE limit.
Every value is checked once, here: a field that is not a finite number stops the reading with
exit status 2, naming its line and column (the good rows before it are handed on first).
"""

from __future__ import annotations

import csv
import json
import re

from .errors import CgcalcError
from .limits import limit

FIRST_CHUNK, MAX_CHUNK = 64, 1 << 20  # bytes of input per chunk: small first, then large
_NAME = re.compile(r"(?!\d)\w+\Z")
_SPACES_OR_COMMAS = re.compile(r"[ \t,]+")
_BLANK_LINE = re.compile(r"(?:\A|\n)[ \t\r\f\v]*(?:\n|\Z)")


class Chunk:
    """Some rows: each needed column's values (numpy arrays), each row's line number, and what
    the writers carry through: the rows as written (``raw``, for CSV) and their fields, or the
    JSON objects."""

    __slots__ = ("columns", "lines", "raw", "_fields", "objects")

    def __init__(self, columns, lines, raw=None, fields=None, objects=None):
        self.columns, self.lines, self.raw = columns, lines, raw
        self._fields, self.objects = fields, objects

    def __len__(self):
        return len(self.lines)

    @property
    def fields(self):
        if self._fields is None and self.raw is not None:  # rows without quotes
            self._fields = [t.split(",") for t in self.raw]
        return self._fields


class _Block:
    """Rows read, not yet converted: line numbers, the rows' text as written (a quoted CSV
    field may hold newlines), and their fields once split (None: split on demand)."""

    __slots__ = ("numbers", "texts", "fields")

    def __init__(self, numbers, texts, fields=None):
        self.numbers, self.texts, self.fields = numbers, texts, fields

    def __len__(self):
        return len(self.texts)

    def head(self, k):
        return _Block(self.numbers[:k], self.texts[:k],
                      None if self.fields is None else self.fields[:k])

    def keep(self, which):
        """The rows whose indices are in ``which`` (a list)."""
        return _Block([self.numbers[i] for i in which], [self.texts[i] for i in which],
                      None if self.fields is None else [self.fields[i] for i in which])


class _Stop(Exception):
    """A bad row: the rows before it (``good``, a block) are handed on, then ``error``."""

    def __init__(self, good, error):
        self.good, self.error = good, error


class RowReader:
    """Iterate over the :class:`Chunk`\\ s of ``stream`` (binary).

    ``names``: for points, the variables, found by name in the header (``fixed`` gives values
    to those without a column); for data rows (``data=True``), the columns in order, and
    ``split`` the number of inputs and targets that ``->`` separates. ``first_line`` numbers
    the lines of a stream that starts inside a file (a data block)."""

    def __init__(self, stream, name, names, *, data=False, fmt="auto", fixed=None, split=None,
                 first_line=1):
        self.stream, self.name = stream, name
        self.names = list(names)
        self.data = data
        self.fmt = "rows" if data else fmt
        self.fixed = dict(fixed or {})
        self.need = [v for v in self.names if v not in self.fixed]
        self.split = split
        self.columns: list[str] = []  # the input's columns, as its header names them
        self.header_text = None
        self.line_no = first_line - 1
        self.max_line = limit("CGCALC_MAX_LINE")
        self._partial = b""
        self._carry = None  # (first line, texts) of a quoted CSV field open at a block's end
        self._pending = None  # a block read ahead (the rows after the header)
        self._error_after = None  # a fault found while reading ahead, raised in turn

    # -- lines, in bounded pieces ----------------------------------------------------------
    def _read_lines(self, hint):
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
            text = text.replace("\r\n", "\n")
        texts = text.split("\n")
        if texts[-1] == "":
            texts.pop()
        self.line_no += len(texts)
        return first, texts

    def _take(self, hint):
        """Whole lines of at most about ``hint`` bytes: what has arrived, without waiting for
        more once a line is complete (so rows flow through a slow pipe), None at the end."""
        read = getattr(self.stream, "read1", None) or self.stream.read
        while True:
            data = read(hint)
            if not data:
                rest, self._partial = self._partial, b""
                return rest or None
            buf = self._partial + data if self._partial else data
            cut = buf.rfind(b"\n")
            if cut < 0:
                if len(buf) > self.max_line:
                    raise self._too_long(self.line_no + 1)
                self._partial = buf
                hint = max(hint, 1 << 16)
                continue
            self._partial = buf[cut + 1:]
            if len(self._partial) > self.max_line:
                raise self._too_long(self.line_no + buf.count(b"\n", 0, cut + 1) + 1)
            return buf[:cut + 1]

    def _too_long(self, line):
        return CgcalcError(f"line {line} is longer than {self.max_line:,} bytes (the limit for "
                           f"one row)", filename=self.name,
                           hint="rows end with a newline; raise the limit with CGCALC_MAX_LINE")

    def _bad_utf8(self, data, first):
        for i, raw in enumerate(data.split(b"\n")):
            try:
                raw.decode("utf-8-sig" if first + i == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise self._fail(f"invalid UTF-8 (byte 0x{raw[exc.start]:02x})",
                                 raw.decode("utf-8", "replace").rstrip("\r"), exc.start + 1,
                                 line=first + i) from None

    def _fail(self, msg, text, column, width=1, line=None, hint=None):
        return CgcalcError(msg, source=text.split("\n")[0], line=1, column=column, width=width,
                           filename=self.name, hint=hint).at_line(line or self.line_no)

    # -- rows ----------------------------------------------------------------------------
    def _block(self, hint):
        """The next rows as a :class:`_Block` (perhaps empty), None at the end. CSV records are
        read as the csv module does; JSON and data rows are one a line. Blank lines (and data
        rows' comment lines) are skipped."""
        if self._pending is not None:
            out, self._pending = self._pending, None
            return out
        got = self._read_lines(hint)
        if got is None:
            if self._carry is not None:
                first, texts = self._carry
                raise self._fail("a quoted field is not closed before the end of the input",
                                 texts[0], texts[0].find('"') + 1, line=first)
            return None
        first, texts = got
        if self.fmt == "csv" and self._carry is not None:
            first, texts = self._carry[0], self._carry[1] + texts
            self._carry = None
        numbers = range(first, first + len(texts))
        quoted = self.fmt == "csv" and any('"' in t for t in texts)
        if quoted:
            if sum(t.count('"') for t in texts) % 2:  # a quoted field runs on: read more
                if sum(len(t) for t in texts) > self.max_line:
                    raise self._too_long(first)
                self._carry = (first, texts)
                return _Block([], [])
            return self._csv_records(first, texts)
        block = _Block(numbers, texts)
        if self.fmt == "rows":  # comment lines are blank too
            if any("#" in t for t in texts) or _BLANK_LINE.search("\n".join(texts)):
                block = block.keep([i for i, t in enumerate(texts)
                                    if t.split("#", 1)[0].strip()])
        elif _BLANK_LINE.search("\n".join(texts)):
            block = block.keep([i for i, t in enumerate(texts) if t.strip()])
        return block

    def _csv_records(self, first, texts):
        """Lines with quotes, read by the csv module: a record may span lines."""
        numbers, raws, fields = [], [], []
        lines = [t + "\n" for t in texts]
        reader = csv.reader(lines, strict=True)
        done = 0  # physical lines consumed
        while True:
            start = done
            try:
                row = next(reader)
            except StopIteration:
                return _Block(numbers, raws, fields)
            except csv.Error as exc:
                at = min(reader.line_num, len(texts)) - 1
                raise _Stop(_Block(numbers, raws, fields), self._fail(
                    f"bad CSV: {exc}", texts[at], 1, len(texts[at]) or 1,
                    line=first + at)) from None
            done = reader.line_num
            if row:
                numbers.append(first + start)
                raws.append("".join(lines[start:done])[:-1])
                fields.append(row)

    # -- the header ----------------------------------------------------------------------
    def _start(self):
        """Read up to the first row; take the header (required for points, optional for data
        rows: a row of names). False for an input without rows."""
        while True:
            block = self._block(1)
            if block is None:
                return False
            if len(block):
                break
        if self.fmt == "auto":
            self.fmt = "jsonl" if block.texts[0].lstrip().startswith("{") else "csv"
            if self.fmt == "csv" and any('"' in t for t in block.texts):
                block = self._quoted_first(block)  # the first rows again, as CSV
        line, text = block.numbers[0], block.texts[0]
        if self.fmt == "jsonl":
            self._pending = block
            self.columns = list(self.names)
            return True
        rest = block.keep(list(range(1, len(block))))
        if self.data:
            cells = self._data_fields(line, text)
            if not all(_NAME.match(c) for c in cells):
                self._pending = block  # no header: the first row is data
                self.columns = list(self.names)
                return True
            if len(cells) != len(self.names):
                raise self._fail(f"the header names {len(cells)} columns; the rows have "
                                 f"{len(self.names)} ({', '.join(self.names)})", text, 1,
                                 len(text), line=line)
            self.columns, self.header_text = cells, text
            self._pending = rest
            return True
        fields = block.fields[0] if block.fields is not None else text.split(",")
        self.header_text = text
        self.columns = [c.strip() for c in fields]
        missing = [v for v in self.need if v not in self.columns]
        if missing:
            raise self._fail(f"the header names no column for {', '.join(map(repr, missing))} "
                             f"(columns: {', '.join(self.columns)})", text, 1, len(text),
                             line=line, hint="the first row must name the variables")
        for v in self.need:
            if self.columns.count(v) > 1:
                second = [i for i, c in enumerate(self.columns) if c == v][1]
                raise self._fail(f"two columns are named {v!r}: which is the variable?", text,
                                 _field_column(text, second), len(v), line=line)
        self._pending = rest
        return True

    def _quoted_first(self, block):
        first, texts = block.numbers[0], list(block.texts)
        while sum(t.count('"') for t in texts) % 2:
            got = self._read_lines(1 << 16)
            if got is None:
                raise self._fail("a quoted field is not closed before the end of the input",
                                 texts[0], texts[0].find('"') + 1, line=first)
            texts += got[1]
            if sum(len(t) for t in texts) > self.max_line:
                raise self._too_long(first)
        try:
            return self._csv_records(first, texts)
        except _Stop as stop:
            if len(stop.good):
                self._error_after = stop.error
                return stop.good
            raise stop.error from None

    # -- chunks --------------------------------------------------------------------------
    def __iter__(self):
        import numpy as np

        if not self._start():
            return
        hint = FIRST_CHUNK
        build = {"csv": self._csv_chunk, "jsonl": self._json_chunk, "rows": self._rows_chunk}[
            self.fmt]
        while True:
            error = None
            try:
                block = self._block(hint)
            except _Stop as stop:
                block, error = stop.good, stop.error
            if block is None:
                return
            chunk = None
            while len(block):
                try:
                    chunk = build(block, np)
                    break
                except _Stop as stop:  # the rows before the first bad one are handed on
                    block, error = stop.good, stop.error
            if chunk is not None:
                yield chunk
            if error is None:
                error, self._error_after = self._error_after, None
            if error is not None:
                raise error
            hint = min(hint * 4, MAX_CHUNK)

    def _numbers(self, block, columns, np):
        """{column: float array} for ``columns`` (name, field index), every value checked: a
        field that is not a finite number stops the reading at its row."""
        out, bad = {}, None  # bad: (row index, error) of the first bad field
        cells_by_column = list(zip(*block.fields)) if len(block) else []
        for name, k in columns:
            cells = cells_by_column[k]
            try:
                values = np.array(cells, dtype=float)
            except ValueError:
                values = None
            if values is not None and np.isfinite(values).all():
                out[name] = values
                continue
            for i, c in enumerate(cells[:bad[0] if bad else None]):
                problem = _not_finite(c)
                if problem:
                    text = block.texts[i]
                    bad = (i, self._fail(f"{c.strip()!r} is {problem} (column {name!r})", text,
                                         self._cell_column(text, k), max(1, len(c.strip())),
                                         line=block.numbers[i]))
                    break
        if bad is not None:
            raise _Stop(block.head(bad[0]), bad[1])
        return out

    def _cell_column(self, text, k):
        return _field_column(text, k) if self.fmt == "csv" else _data_column(text, k)

    def _csv_chunk(self, block, np):
        width = len(self.columns)
        use = [(v, self.columns.index(v)) for v in self.need]
        columns = None
        if block.fields is None:  # no quotes: fields are what the commas separate
            if all(t.count(",") == width - 1 for t in block.texts):
                columns = self._fast_columns(block, use, np)
            else:
                block.fields = [t.split(",") for t in block.texts]
        if columns is None:
            for i, fields in enumerate(block.fields):
                if len(fields) != width:
                    raise _Stop(block.head(i), self._fail(
                        f"expected {width} fields ({', '.join(self.columns)}), got "
                        f"{len(fields)}", block.texts[i], 1, len(block.texts[i]) or 1,
                        line=block.numbers[i]))
            columns = self._numbers(block, use, np)
        self._add_fixed(columns, len(block), np)
        return Chunk(columns, block.numbers, raw=block.texts, fields=block.fields)

    def _fast_columns(self, block, use, np):
        """The needed columns by numpy's C parser, or None when some field is not a finite
        number (the careful path then finds it and says where)."""
        if not use:
            return {}
        try:
            table = np.loadtxt(block.texts, delimiter=",", dtype=float, ndmin=2,
                               usecols=[k for _, k in use], comments=None, quotechar=None)
        except ValueError:
            table = None
        if table is None or table.shape[0] != len(block) or not np.isfinite(table).all():
            block.fields = [t.split(",") for t in block.texts]
            return None
        return {v: table[:, j] for j, (v, _) in enumerate(use)}

    def _json_chunk(self, block, np):
        objects = []
        for i, text in enumerate(block.texts):
            line = block.numbers[i]
            try:
                obj = loads_json(text)
            except json.JSONDecodeError as exc:
                raise _Stop(block.head(i), self._fail(f"not JSON: {exc.msg}", text, exc.colno,
                                                      line=line)) from None
            except (ValueError, RecursionError) as exc:
                what = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                raise _Stop(block.head(i), self._fail(f"not JSON: {what}", text, 1,
                                                      line=line)) from None
            if not isinstance(obj, dict):
                raise _Stop(block.head(i), self._fail("each line must be a JSON object", text,
                                                      1, len(text), line=line))
            for v in self.need:
                val = obj.get(v)
                problem = None
                if v not in obj:
                    problem = "missing"
                elif isinstance(val, bool) or not isinstance(val, (int, float)):
                    problem = f"{json.dumps(val)[:40]} is not a number"
                elif isinstance(val, int) and abs(val) >= 2 ** 1024:
                    problem = "too large for a float"
                if problem:
                    col = text.find(json.dumps(v)) + 1 or 1
                    raise _Stop(block.head(i), self._fail(f"{v!r}: {problem}", text, col,
                                                          len(json.dumps(v)), line=line))
            objects.append(obj)
        columns = {v: np.array([o[v] for o in objects], dtype=float) for v in self.need}
        self._add_fixed(columns, len(block), np)
        return Chunk(columns, block.numbers, objects=objects)

    def _data_fields(self, line, text, split=None):
        """The fields of a data row; with ``split`` (inputs, targets), a row with ``->`` must
        have that many on each side."""
        body = text.split("#", 1)[0]
        if "->" in body:
            left, _, right = body.partition("->")
            if "->" in right:
                raise self._fail("a row has one '->', between inputs and targets", text,
                                 body.rindex("->") + 1, 2, line=line)
            ins, outs = _cells(left), _cells(right)
            if split and (len(ins), len(outs)) != tuple(split):
                raise self._fail(f"the row has {len(ins)} -> {len(outs)} numbers; the network "
                                 f"takes {split[0]} -> {split[1]}", text, 1, len(text),
                                 line=line)
            return ins + outs
        return _cells(body)

    def _rows_chunk(self, block, np):
        width = len(self.names)
        fields = []
        for i, text in enumerate(block.texts):
            try:
                row = self._data_fields(block.numbers[i], text, self.split)
            except CgcalcError as exc:
                raise _Stop(block.head(i), exc) from None
            if len(row) != width:
                raise _Stop(block.head(i), self._fail(
                    f"expected {width} numbers in a row ({', '.join(self.names)}), got "
                    f"{len(row)}", text, 1, len(text), line=block.numbers[i]))
            fields.append(row)
        block.fields = fields
        columns = self._numbers(block, [(v, k) for k, v in enumerate(self.names)], np)
        return Chunk(columns, block.numbers, fields=fields)

    def _add_fixed(self, columns, n, np):
        for v, value in self.fixed.items():
            columns[v] = np.full(n, value)


def _cells(text):
    text = text.strip()
    return _SPACES_OR_COMMAS.split(text) if text else []


def _not_finite(cell):
    """Why ``cell`` is not a finite number, or None when it is one."""
    try:
        v = float(cell)
    except ValueError:
        return "not a number"
    if v != v:
        return "not a number"
    if v in (float("inf"), float("-inf")):
        return "too large for a float" if "inf" not in cell.lower() else "not a finite number"
    return None


def loads_json(text):
    """json.loads, with every number finite: NaN, Infinity and 1e400 are refused (ValueError),
    so nothing read can write JSON that is not JSON."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)


def _no_constant(name):
    raise ValueError(f"{name} is not a finite number")


def _finite_float(text):
    v = float(text)
    if v in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is too large for a float")
    return v


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


def _data_column(text, k):
    """1-based column where field ``k`` of a data row starts."""
    body = text.split("#", 1)[0].replace("->", "  ")
    for i, m in enumerate(re.finditer(r"[^ \t,]+", body)):
        if i == k:
            return m.start() + 1
    return 1


def read_all(reader, what="the data"):
    """Every row of ``reader`` as one table (rows x the reader's names), refused before it grows
    past the CGCALC_MAX_ENTRIES limit."""
    import numpy as np

    from .limits import check_entries

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
