"""A network's data rows: the file's own (a ``data { ... }`` block or ``data "rows.csv"``) or
rows given on the command line, all read by the one row reader (cgcalc/rows/) into the
inputs table X (m rows) and the targets table Y."""

from __future__ import annotations

import io
import os
from math import prod

from ..errors import CgcalcError
from ..files import open_input
from ..inputs import read_once_too
from ..limits import check_entries
from ..rows import RowReader, read_all
from .model import BATCH, Network
from .targets import checked


def file_data(net: Network):
    """(X, Y) from the network file's own data rows."""
    spec = net.spec
    if spec.data_block is not None:
        tok = spec.data_block
        # the block as the file has it: its first line padded to the brace's column, so that
        # columns and line numbers are the file's
        text = " " * tok.column + tok.value[1:-1]
        stream = io.BytesIO(text.encode("utf-8"))
        return rows_data(net, stream, net.filename, first_line=tok.line)
    if spec.data_file is not None:
        tok = spec.data_file
        rel = tok.value.strip('"')
        base = os.path.dirname(os.path.abspath(net.filename)) if net.filename else "."
        path = os.path.join(base, rel)
        place = dict(source=net.source, filename=net.filename, line=tok.line,
                     column=tok.column, width=len(tok.value))
        try:
            read_once_too(f"data {tok.value}", path)  # standard input, a pipe: read once
        except CgcalcError as exc:
            raise CgcalcError(exc.message, hint=exc.hint, **place) from None
        try:
            stream = open_input(path)
        except CgcalcError as exc:
            raise CgcalcError(f"cannot read data file {rel!r}: {exc.message}",
                              **place) from None
        with stream:
            return rows_data(net, stream, path)
    raise CgcalcError("the network has no data rows: add data { ... } or data \"rows.csv\"",
                      source=net.source, filename=net.filename)


def rows_data(net: Network, stream, name, first_line=1, named_in_order=False):
    """(X, Y) from rows of inputs then targets, as a data block has them; with
    ``named_in_order`` (rows of the command line), a header row names the columns in order."""
    n_in, n_out = net.width(net.inputs), net.width(net.targets)
    names = net.column_names(net.inputs) + net.column_names(net.targets)
    reader = RowReader(stream, name, names, data=True, split=(n_in, n_out),
                       first_line=first_line, named_in_order=named_in_order)
    table = read_all(checked(net, reader), "the data table")  # targets a cost can take
    if not len(table):
        raise CgcalcError("no data rows", filename=name)
    check_sizes(net, len(table))
    return table[:, :n_in], table[:, n_in:]


def input_rows(net: Network, stream, name):
    """A reader of rows of inputs (what ``predict`` reads), a header row optional: the inputs'
    column names in order. A row may be written as the file's data rows are, its targets
    after ``->``: they are left out."""
    names = net.column_names(net.inputs)
    split = (len(names), len(net.column_names(net.targets)))
    return RowReader(stream, name, names, data=True, split=split, drop_targets=True,
                     named_in_order=True)


def check_sizes(net: Network, m: int):
    """Refuse a batch of ``m`` rows if some node's value would exceed the entries limit."""
    b = net.builder
    where = net.graph.where
    for n in net.graph.order:
        shape = b.shape_of(n)
        if BATCH in shape:
            count = prod(m if d == BATCH else d for d in shape if isinstance(d, int) or
                         d == BATCH)
            if count > m:
                line, col, width = where.get(n, (None, None, 1))
                check_entries(count, f"with {m:,} rows of data, the node "
                                     f"{net.graph.name(n) or n.op!r}",
                              source=net.source, filename=net.filename, line=line,
                              column=col, width=width)
