"""The three kinds of rows, each read from a :class:`Block` into a :class:`Chunk` of checked
numbers: CSV records (the csv module's rules; numpy's C parser when no field is quoted), JSON
Lines objects, and data rows (numbers separated by commas or spaces, ``->`` between inputs and
targets). A field that is not a finite number raises :class:`Stop` with the rows before it."""

from __future__ import annotations

import csv
import json
import re

from ..errors import CgcalcError
from .lines import Block, Chunk, Stop

_SEPARATOR = re.compile(r"[ \t]*,[ \t]*|[ \t]+")  # of a data row's fields: a comma, or blanks
_SPACES_OR_COMMAS = re.compile(r"[ \t,]+")  # the same where no two commas are adjacent
_TWO_COMMAS = re.compile(r",[ \t]*,")  # (blanks aside): in a block, or not, at C speed


def csv_records(r, first, texts):
    """Lines with quotes, read by the csv module itself: a quoted field may hold commas,
    quotes and newlines (blank lines too), so a record may run past the lines read; the lines
    it needs are read on while the record stays within CGCALC_MAX_LINE bytes (the limit for
    one row, however many lines it takes)."""
    csv.field_size_limit(r.lines.max_line)
    most = r.lines.max_line
    lines = list(texts)
    pos = size = 0  # size: bytes of the record being read, its newlines included

    def feed():
        nonlocal pos, size
        while True:
            if pos < len(lines):
                line = lines[pos]
                size += (len(line) if line.isascii() else len(line.encode("utf-8"))) + 1
                if size > most + 1:  # the last line's newline ends the row: not counted
                    raise _RowTooLong
                pos += 1
                yield line + "\n"
                continue
            got = r.lines.read(1 << 16)  # a quoted field runs on past the lines read
            if got is None:
                return
            lines.extend(got[1])

    reader = csv.reader(feed(), strict=True)
    numbers, raws, fields = [], [], []
    while pos < len(lines):
        start, size = pos, 0
        try:
            row = next(reader)
        except StopIteration:
            break
        except (_RowTooLong, CgcalcError) as exc:  # the limit, in this record or one line
            error = exc if isinstance(exc, CgcalcError) else r.lines.too_long(
                first + start, quoted=True)
            raise Stop(Block(numbers, raws, fields), error) from None
        except csv.Error as exc:
            text = lines[start]  # (the csv module's field limit is never met: the bytes
            # of a record are counted above, and a field has no more characters than those)
            quote = text.find('"') + 1 or 1
            msg = ("a quoted field is not closed before the end of the input"
                   if "unexpected end of data" in str(exc) else f"not CSV: {exc}")
            raise Stop(Block(numbers, raws, fields), r.lines.fail(
                msg, text, quote, line=first + start)) from None
        if row:
            numbers.append(first + start)
            raws.append("\n".join(lines[start:pos]))
            fields.append(row)
    return Block(numbers, raws, fields)


class _RowTooLong(Exception):
    """A CSV record grew past the limit for one row while the csv module read it."""


def numbers(r, block, columns, np):
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
        if values is not None and np.isfinite(values).all() and _plain("".join(cells)):
            out[name] = values
            continue
        for i, c in enumerate(cells[:bad[0] if bad else None]):
            problem = _not_finite(c)
            if problem:
                text = block.texts[i]
                msg = f"{_quoted(c.strip())} is {problem} (column {name!r})"
                bad = (i, r.lines.fail(msg, text, cell_column(r, text, k),
                                       max(1, len(c.strip())), line=block.numbers[i]))
                break
        else:  # nothing wrong after all (a no-break space around a number, say)
            if values is not None:
                out[name] = values
    if bad is not None:
        raise Stop(block.head(bad[0]), bad[1])
    return out


def cell_column(r, text, k):
    return _field_column(text, k) if r.fmt == "csv" else _data_column(text, k)


def csv_chunk(r, block, np):
    width = len(r.columns)
    use = r.use
    columns = None
    if block.fields is None:  # no quotes: fields are what the commas separate
        if all(t.count(",") == width - 1 for t in block.texts):
            columns = fast_columns(r, block, use, np)
        else:
            block.fields = [t.split(",") for t in block.texts]
    if columns is None:
        for i, fields in enumerate(block.fields):
            if len(fields) != width:
                raise Stop(block.head(i), r.lines.fail(
                    f"expected {width} fields ({', '.join(r.columns)}), got "
                    f"{len(fields)}", block.texts[i], 1, len(block.texts[i]) or 1,
                    line=block.numbers[i]))
        columns = numbers(r, block, use, np)
    add_fixed(r, columns, len(block), np)
    return Chunk(columns, block.numbers, raw=block.texts, fields=block.fields, texts=block.texts)


def fast_columns(r, block, use, np):
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


def json_chunk(r, block, np):
    objects = []
    for i, text in enumerate(block.texts):
        line = block.numbers[i]
        try:
            obj = loads_json(text)
        except json.JSONDecodeError as exc:
            raise Stop(block.head(i), r.lines.fail(f"not JSON: {exc.msg}", text, exc.colno,
                                                  line=line)) from None
        except JsonProblem as exc:
            _, col = exc.place(text) or (1, 1)
            raise Stop(block.head(i), r.lines.fail(str(exc), text, col, len(exc.token),
                                                  line=line)) from None
        except (ValueError, RecursionError) as exc:
            what = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise Stop(block.head(i), r.lines.fail(f"not JSON: {what}", text, 1,
                                                  line=line)) from None
        if not isinstance(obj, dict):
            raise Stop(block.head(i), r.lines.fail("each line must be a JSON object", text,
                                                  1, len(text), line=line))
        for v in r.need:
            val = obj.get(v)
            problem = None
            if v not in obj:
                problem = "missing"
            elif isinstance(val, bool) or not isinstance(val, (int, float)):
                problem = f"{json.dumps(val)[:40]} is not a number"
            elif isinstance(val, int) and not fits_float(val):
                problem = "too large for a float"
            if problem:
                col = text.find(json.dumps(v)) + 1 or 1
                raise Stop(block.head(i), r.lines.fail(f"{v!r}: {problem}", text, col,
                                                      len(json.dumps(v)), line=line))
        if r.taken_keys and not r.taken_keys.keys().isdisjoint(obj):
            key = next(k for k in obj if k in r.taken_keys)
            token = json.dumps(key, ensure_ascii=False)
            at = re.search(re.escape(token) + r"\s*:", text)  # the key, not a value like it
            raise Stop(block.head(i), r.lines.fail(
                f"the key {token[:60]} has the name of {r.taken_keys[key]}", text,
                at.start() + 1 if at else 1, len(token), line=line,
                hint=r.rename_hint(key, "key")))
        objects.append(obj)
    columns = {v: np.array([o[v] for o in objects], dtype=float) for v in r.need}
    add_fixed(r, columns, len(block), np)
    return Chunk(columns, block.numbers, objects=objects, texts=block.texts)


def data_fields(r, line, text, split=None, careful=True):
    """The fields of a data row; with ``split`` (inputs, targets), a row with ``->`` must
    have that many on each side; where the reader drops targets (``predict``'s rows, written
    as a data block's), they are checked as numbers and left out. A field between two commas,
    or before or after them, that is empty is refused (never skipped: the numbers after it
    would move a column); not ``careful``: no two commas are adjacent in it (a comma first or
    last still gives an empty field, split either way)."""
    body = text.split("#", 1)[0]
    if "->" in body:
        left, _, right = body.partition("->")
        if "->" in right:
            raise r.lines.fail("a row has one '->', between inputs and targets", text,
                             body.rindex("->") + 1, 2, line=line)
        ins, outs = _cells(left, careful), _cells(right, careful)
        if "" in ins or "" in outs:
            _empty_field(r, line, text)
        if split and (len(ins), len(outs)) != tuple(split[:2]):
            raise r.lines.fail(f"the row has {len(ins)} -> {len(outs)} numbers; the network "
                             f"takes {split[0]} -> {split[1]}", text, 1, len(text),
                             line=line)
        if r.drop_targets:
            _numbers_only(r, line, text, outs, len(ins))
            return ins
        return ins + outs
    cells = _cells(body, careful)
    if "" in cells:
        _empty_field(r, line, text)
    return cells


def _numbers_only(r, line, text, cells, before):
    """Refuse the first of ``cells`` (the fields after ``before`` others) that is not a
    finite number, pointing at it."""
    for k, cell in enumerate(cells, start=before):
        problem = _not_finite(cell)
        if problem:
            raise r.lines.fail(f"{_quoted(cell.strip())} is {problem} (a target, after '->')",
                               text, _data_column(text, k), max(1, len(cell.strip())),
                               line=line)


def _empty_field(r, line, text):
    """Refuse the first empty field of a data row, pointing at its comma."""
    spans = _data_spans(text)
    k = next(k for k, (_, cell) in enumerate(spans) if not cell)
    at = spans[k][0]
    if at < len(text) and text[at] == ",":
        before = text[:at].split("->")[-1]
        where = "between two commas" if before.strip() else "before this comma"
    else:  # after the last comma: the caret on it
        at = text.rindex(",", 0, at)
        where = "after this comma"
    name = f" (column {r.names[k]!r})" if k < len(r.names) else ""
    raise r.lines.fail(f"an empty field{name}: no number {where}", text, at + 1, line=line,
                       hint="each comma separates two numbers")


def rows_chunk(r, block, np):
    width = len(r.names)
    fields = []
    careful = _TWO_COMMAS.search("\n".join(block.texts)) is not None
    for i, text in enumerate(block.texts):
        try:
            row = data_fields(r, block.numbers[i], text, r.split, careful)
        except CgcalcError as exc:
            raise Stop(block.head(i), exc) from None
        if len(row) != width:
            raise Stop(block.head(i), r.lines.fail(
                f"expected {width} numbers in a row ({', '.join(r.names)}), got "
                f"{len(row)}", text, 1, len(text), line=block.numbers[i]))
        fields.append(row)
    block.fields = fields
    columns = numbers(r, block, [(v, k) for k, v in enumerate(r.names)], np)
    return Chunk(columns, block.numbers, fields=fields, texts=block.texts)


def add_fixed(r, columns, n, np):
    for v, value in r.fixed.items():
        columns[v] = np.full(n, value)


def _cells(text, careful=True):
    """The fields of a part of a data row: an empty one where a comma has no number before
    or after it (not ``careful``: no two commas are adjacent)."""
    text = text.strip()
    if not text:
        return []
    return (_SEPARATOR if careful else _SPACES_OR_COMMAS).split(text)


def _quoted(cell, most=40):
    """A field as a message quotes it: repr, its middle left out when long."""
    return repr(cell) if len(cell) <= most else repr(cell[:most // 2]) + "…" + repr(cell[-8:])


def fits_float(n) -> bool:
    """False for an int past the largest float (2^1024 - 1 rounds to infinity)."""
    try:
        float(n)
        return True
    except OverflowError:
        return False


def _plain(text):
    """False when ``text`` holds what float() reads and a plain number never has: ``_``
    between digits, or a character past ASCII (a digit of another script, ``١``); the
    whitespace float() strips around a number may be anything. At C speed over a whole
    column, so only a column where it is False is looked at cell by cell."""
    return text.isascii() and "_" not in text


def _not_finite(cell):
    """Why ``cell`` is not a finite number, or None when it is one."""
    if not _plain(cell.strip()):
        return "not a number"
    try:
        v = float(cell)
    except ValueError:
        return "not a number"
    if v != v:
        return "not a number"
    if v in (float("inf"), float("-inf")):
        return "too large for a float" if "inf" not in cell.lower() else "not a finite number"
    return None


class JsonProblem(ValueError):
    """A value JSON allows and cgcalc does not; ``token`` (its text, the ``count``-th time it
    appears) lets the caller point at it."""

    def __init__(self, message, token, count=1):
        super().__init__(message)
        self.token, self.count = token, count

    def place(self, text):
        """(line, column) of the token in ``text``, or None."""
        at = -1
        for _ in range(self.count):
            at = text.find(self.token, at + 1)
            if at < 0:
                return None
        return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1


def loads_json(text):
    """json.loads, with every number finite (NaN, Infinity, 1e400 and integers past the
    largest float are refused, so nothing read can write JSON that is not JSON) and every key
    once: JsonProblem otherwise."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float,
                      parse_int=_finite_int, object_pairs_hook=_once)


def _once(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            token = json.dumps(key, ensure_ascii=False)
            raise JsonProblem(f"the key {token[:60]} is given twice", token, 2)
        out[key] = value
    return out


def _no_constant(name):
    raise JsonProblem(f"{name} is not a finite number", name)


def _finite_float(text):
    v = float(text)
    if v in (float("inf"), float("-inf")):
        shown = text if len(text) <= 40 else f"{text[:20]}… ({len(text)} characters)"
        raise JsonProblem(f"{shown} is too large for a float", text)
    return v


def _finite_int(text):
    if len(text) > 400 or not fits_float(int(text)):
        shown = text if len(text) <= 40 else f"{text[:20]}… ({len(text)} digits)"
        raise JsonProblem(f"{shown} is too large for a float", text)
    return int(text)


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
    spans = _data_spans(text)
    return spans[k][0] + 1 if k < len(spans) else 1


def _data_spans(text):
    """(offset in ``text``, field) of each field of a data row, as :func:`data_fields` splits
    it."""
    body = text.split("#", 1)[0]
    parts = [(0, body)]
    if "->" in body:
        arrow = body.index("->")
        parts = [(0, body[:arrow]), (arrow + 2, body[arrow + 2:])]
    out = []
    for start, part in parts:
        stripped = part.strip()
        if not stripped:
            continue
        pos, start = 0, start + len(part) - len(part.lstrip())
        for m in _SEPARATOR.finditer(stripped):
            out.append((start + pos, stripped[pos:m.start()]))
            pos = m.end()
        out.append((start + pos, stripped[pos:]))
    return out
