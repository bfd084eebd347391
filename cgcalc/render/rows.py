"""Rows out, one per input point, in input order: CSV (also what plain means for rows: what a
pipeline reading CSV expects), JSON Lines or a rich table. Each writer gets chunks of inputs
(cgcalc/rows/) and their computed columns."""

from __future__ import annotations

import csv
import json
import math
import re


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # to a terminal: never as they are


def _visible(text):
    """``text`` for the terminal: its control characters (an escape sequence in a carried cell
    would move the cursor, retitle the window, ...) written as \\x1b."""
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _texts(arr):
    """Shortest round-trip text of each float (repr), done by the list's own C-level repr."""
    if not len(arr):
        return []
    return repr(arr.tolist())[1:-1].split(", ")


def _row_texts(outs):
    """"v1,v2,..." per row, by the list repr in C (the shortest round-trip text of each); a
    column of whole numbers (a class) as whole numbers."""
    import numpy as np

    if len(outs[0]) == 0:
        return []
    if any(o.dtype.kind in "iu" for o in outs):
        return [",".join(row) for row in zip(*[_texts(o) for o in outs])]
    text = repr(np.column_stack(outs).tolist())
    return text[2:-2].replace(", ", ",").split("],[")


class _Base:
    def __init__(self, out, reader, labels, variables):
        self.out = out
        self.reader = reader
        self.labels = labels  # "value", "d/dx", ...
        self.variables = variables
        self.started = False

    # what a writer repeats of the input (RowReader.writes): every CSV column; a JSON Lines
    # object's keys other than the variables, or not; and whether a row is keyed by name
    KEYS_CARRIED = False
    BY_NAME = False

    def input_columns(self):
        return self.reader.columns if self.reader.fmt != "jsonl" else list(self.variables)

    def input_fields(self, chunk):
        if chunk.fields is not None:
            return chunk.fields
        return list(zip(*[_texts(chunk.columns[v]) for v in self.variables]))

    def close(self):
        self.out.flush()


class CsvRows(_Base):
    def header(self):
        if self.started:
            return
        self.started = True
        header = self.reader.header_text if self.reader.fmt == "csv" else None
        if header is not None:  # the user's header line as written, then ours
            self.out.write(",".join([header, *self.labels]) + "\n")
        else:
            csv.writer(self.out, lineterminator="\n").writerow(
                [*self.input_columns(), *self.labels])

    def close(self):  # a header and no rows still gets its header
        if self.reader.columns:
            self.header()
        super().close()

    def write(self, chunk, outs):
        w = csv.writer(self.out, lineterminator="\n")
        self.header()
        if chunk.raw is not None:  # CSV in: each input line as it was, then the results
            self.out.write("\n".join(map(",".join, zip(chunk.raw, _row_texts(outs)))) + "\n")
            self.out.flush()
            return
        cols = [_texts(o) for o in outs]
        w.writerows([*f, *vals] for f, vals in zip(self.input_fields(chunk), zip(*cols)))
        self.out.flush()


class JsonRows(_Base):
    KEYS_CARRIED = BY_NAME = True

    def write(self, chunk, outs):
        lists = [o.tolist() for o in outs]
        lines = []
        if chunk.objects is not None:
            base = chunk.objects
        else:
            cols = self.input_columns()
            num = set(self.variables)
            base = [{c: (float(x) if c in num else x) for c, x in zip(cols, f)}
                    for f in self.input_fields(chunk)]
        for obj, vals in zip(base, zip(*lists)):
            row = dict(obj)
            for label, v in zip(self.labels, vals):
                row[label] = v if math.isfinite(v) else None
            lines.append(json.dumps(row, ensure_ascii=False, allow_nan=False))
        text = "\n".join(lines)
        if not text.isascii():  # a lone surrogate read from a JSON string is written escaped
            text = _SURROGATE.sub(_escaped, text)
        self.out.write(text + "\n")
        self.out.flush()


_SURROGATE = re.compile("[\ud800-\udfff]")  # alone: JSON read makes a pair one character


def _escaped(m):
    """A surrogate as JSON writes it in a string, ``\\udXXX``: no encoding writes it raw."""
    return f"\\u{ord(m.group()):04x}"


class RichRows(_Base):
    """A table on the terminal, streamed: the header once (bold), then each chunk's rows with
    their columns right-aligned, the computed ones green. The columns widen as wider values
    come; rows are written as text (a rich table per chunk cost ~1 ms a row), the header as a
    rich Text: what the input names, ``[red]`` or ``:smile:``, is shown as written."""

    def write(self, chunk, outs):
        from .common import console

        con = console(file=self.out)
        names = [_visible(n) for n in (*self.input_columns(), *self.labels)]
        cols = [list(map(_visible, c)) for c in zip(*self.input_fields(chunk))] \
            if len(chunk) else [[] for _ in self.input_columns()]
        cols += [_texts(o) for o in outs]
        widths = getattr(self, "widths", [len(n) for n in names])
        self.widths = widths = [max(w, *(len(v) for v in c)) if c else w
                                for w, c in zip(widths, cols)]
        k = len(self.input_columns())
        if not self.started:  # names are the user's text: never read as markup or emoji
            from rich.text import Text

            con.print(Text("  ".join(n.rjust(w) for n, w in zip(names, widths)),
                           style="bold"), soft_wrap=True)
            self.started = True
        color = con.color_system is not None
        start, end = ("\x1b[32m", "\x1b[0m") if color else ("", "")
        lines = []
        for row in zip(*cols):
            given = "  ".join(v.rjust(w) for v, w in zip(row[:k], widths))
            made = "  ".join(v.rjust(w) for v, w in zip(row[k:], widths[k:]))
            lines.append(f"{given}  {start}{made}{end}" if given else f"{start}{made}{end}")
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()


WRITERS = {"csv": CsvRows, "plain": CsvRows, "json": JsonRows, "rich": RichRows}
