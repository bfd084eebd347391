"""What a cost asks of the targets it is given. ``cross_entropy(P, y)`` takes y from 0 to 1;
``softmax_cross_entropy(Z, Y)`` takes each row of Y as a probability distribution (entries
from 0 to 1 that sum to 1: one-hot, or soft labels), its derivative ``(softmax(Z) - Y)/m``
holds only then. ``mse`` takes any finite number. Outside these, training runs and reports
nonsense (a cost of -50, "accuracy 1.0"), so such a row is refused as it is read, wherever a
network's rows are read (the file's own, inline or in a data file, and ``--points``), with its
line and a caret under the value, before any training.

Which columns a cost takes as targets is read off the graph: the second argument of each
cross-entropy that is a declared target or input, or one step of a sequence (``y[t]``).
"""

from __future__ import annotations

from ..errors import CgcalcError, source_lines
from ..rows.formats import cell_column
from .model import declared_rows

BETWEEN_0_AND_1 = ("cross_entropy", "softmax_cross_entropy")
DISTRIBUTION = "softmax_cross_entropy"
SUM_TOLERANCE = 1e-6  # a distribution may miss 1 by this much per entry: rounding, as written


class Rule:
    """The columns of a row that one cost call takes as targets (names, in row order), and
    where the call is written."""

    __slots__ = ("op", "columns", "line")

    def __init__(self, op, columns, line):
        self.op, self.columns, self.line = op, columns, line


def rules(net) -> list[Rule]:
    """The rules of ``net``'s cost calls, one per call (a recurrent cost has one a step)."""
    columns = {net.var_nodes[v]: net.column_names([v]) for v in net.inputs + net.targets}
    out, seen = [], set()
    for node in net.graph.order:
        if node.op not in BETWEEN_0_AND_1:
            continue
        names = _columns(node.args[1], columns)
        if names and (node.op, tuple(names)) not in seen:
            seen.add((node.op, tuple(names)))
            out.append(Rule(node.op, names, net.graph.where.get(node, (None,))[0]))
    return out


def _columns(node, columns):
    """The data columns ``node`` is: a declared row, or a slice of one (``y[t]``)."""
    found = declared_rows(node, columns)
    return None if found is None else columns[found[0]][found[1]]


def checked(net, reader):
    """``reader``, its chunks checked against the network's rules before they are handed on
    (``reader`` itself when no cost asks anything of its targets)."""
    found = rules(net)
    return Checked(net, reader, found) if found else reader


class Checked:
    """The chunks of a :class:`cgcalc.rows.RowReader` of data rows, each checked."""

    def __init__(self, net, reader, found):
        self.net, self.reader, self.rules = net, reader, found
        self.name, self.names = reader.name, reader.names
        self.place = {c: k for k, c in enumerate(reader.names)}  # a column -> its field

    def __iter__(self):
        import numpy as np

        ranged = list(dict.fromkeys(c for r in self.rules for c in r.columns))  # each once
        groups = [r for r in self.rules if r.op == DISTRIBUTION]
        for chunk in self.reader:
            values = chunk.columns
            if len(chunk):
                table = np.column_stack([values[c] for c in ranged])
                bad = ((table < 0) | (table > 1)).any(axis=1)
                sums = [np.sum([values[c] for c in r.columns], axis=0) for r in groups]
                for r, total in zip(groups, sums):
                    bad |= abs(total - 1) > SUM_TOLERANCE * len(r.columns)
                if bad.any():
                    raise self._refuse(chunk, int(bad.argmax()), zip(groups, sums))
            yield chunk

    def _refuse(self, chunk, i, sums):
        """The error for row ``i`` of ``chunk``: its first value out of [0, 1], else the first
        distribution whose sum (in ``sums``, a rule's sums for the chunk) is not 1."""
        for r in self.rules:
            for c in r.columns:
                if not 0 <= chunk.columns[c][i] <= 1:  # named as written: 1.000001, not 1
                    written = chunk.fields[i][self.place[c]].strip()
                    return self._error(chunk, i, r, [c], f"{c} = {written} is not between 0 "
                                                         f"and 1")
        r, total = next((r, float(s[i])) for r, s in sums
                        if abs(s[i] - 1) > SUM_TOLERANCE * len(r.columns))
        return self._error(chunk, i, r, r.columns, f"{r.columns[0]} to {r.columns[-1]} sum to "
                                                   f"{total:.10g}, not 1")

    def _error(self, chunk, i, rule, cells, what):
        line = chunk.lines[i]
        text = chunk.texts[i] if chunk.texts is not None else " ".join(chunk.fields[i])
        start = cell_column(self.reader, text, self.place[cells[0]])
        last = self.place[cells[-1]]
        end = cell_column(self.reader, text, last) + len(chunk.fields[i][last].strip())
        net = self.net
        call = source_lines(net.source)[rule.line - 1].split("#")[0].strip() if rule.line \
            else rule.op
        if rule.op == DISTRIBUTION:
            need = (f"{rule.op} takes each row of targets as probabilities: from 0 to 1, "
                    f"summing to 1")
            hint = "one-hot rows: 1 for the row's class, 0 for the others"
        else:
            need = f"{rule.op} takes targets from 0 to 1"
            hint = "for targets of any size, minimize mse(P, y)"
        where = (net.filename if not rule.line else f"line {rule.line}"
                 if self.name == net.filename else f"{net.filename}:{rule.line}")
        return CgcalcError(f"{what}: {need} ({where}: {call})", source=text.split("\n")[0],
                           line=1, column=start, width=max(1, end - start), filename=self.name,
                           hint=hint).at_line(line)
