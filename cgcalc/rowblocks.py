"""Training's tape run a block of rows at a time.

A full batch's steps each pass over arrays of m rows: at 10,000 rows and 64 columns each is
5 MB, and the steps of one epoch hold more of them than the processor's caches do, so run
whole, every step reads its inputs back from memory (bench/train.py prints the tape run whole
beside it). Most of a network's steps, though, make each row of their output from the same
rows of their inputs (an elementwise step, ``[H, 1]``, ``A @ W``: the table's ``rows`` in
cgcalc/ops.py), and the rest sum over the rows (``A' @ G``, the gradients of the weights). So the rows are cut into blocks
of about a thousand, and each block goes through every row step while its numbers are still
in the cache, into a few small arrays used again and again; what sums over the rows sums each
block's share into the total.

The blocks are grouped into a fixed number of lanes (:data:`LANES`), the cores each taking a
lane at a time: a lane adds its blocks' shares one after another, and the lanes' totals are
added in their order once all have ended. Where the rows are cut depends on the shapes alone,
never on the cores, so training gives the same numbers, bit for bit, on one core or many.

What needs every row (a cost's mean over them) runs after the blocks, on the rows it reads
kept whole. A tape with a row step that needs every row first (one after a mean over the rows;
rows made from columns, as the gradient through ``H'`` is) runs whole, in bands of rows
(cgcalc/evaluate.py).
"""

from __future__ import annotations

import math
import threading

from . import parallel

BLOCK_ENTRIES = 1 << 16  # numbers in the widest of a block's arrays: 512 KB, in a core's cache
# (rows of more than 256 numbers make larger blocks: LEAST_ROWS)
# rows a block has at least, however wide its rows: with fewer, each block's matrix products
# read the weights for too little work (`bench/train.py --units 1024 --rows 8192`: an epoch in
# blocks of 256 rows 747 ms, the tape whole 745 ms; in blocks of 63 rows, 875 ms)
LEAST_ROWS = 256
LANES = 4  # blocks are grouped into this many lanes, whatever the cores (see above)
# when a slot's value is ready: before the blocks; in each block (its rows); after the blocks
# (a sum over the rows, which the blocks add up, and what reads one)
_PRE, _BLOCK, _POST = 0, 1, 2


def plan(tape, mem, np):
    """The tape's steps as :class:`Blocks`, sized by ``mem`` (the slots of a whole run), or
    None where they cannot run a block of rows at a time."""
    rows = tape.row_slots
    where = [_PRE] * tape.n_slots
    pre, inside, post, sums = [], [], [], set()
    wanted = set(tape.outputs)  # slots wanted whole after the blocks
    for step in tape.steps:
        fn, out, get, single, free = step
        args = tape.step_args[out]
        rule = tape.step_rules[out]
        rin = [a in rows for a in args]
        after = any(where[a] == _POST for a in args)
        if out in rows:
            if after or rule not in ("local", "sums"):
                return None  # a row step that needs every row first
            if parallel.how_cut(fn, np) == "product":
                if not rin[0] or rin[1]:
                    return None  # (a product is local in its left factor's rows only)
            where[out] = _BLOCK
            inside.append(step)
        elif not any(rin):
            where[out] = _POST if after else _PRE
            (post if after else pre).append(step)
        elif rule == "shape":
            pre.append(_on_shapes(step, args, rin, mem, np))  # rows(H), size(H): the shape
        elif rule == "sums" and not after:
            where[out] = _POST
            sums.add(out)
            inside.append(step)
        else:  # (a cost's mean over the rows, say) after the blocks, on their rows whole
            where[out] = _POST
            post.append(step)
            wanted.update(a for a, r in zip(args, rin) if r)
    if not inside:
        return None
    shapes = [np.shape(mem[s]) for s in rows if where[s] == _BLOCK]
    if not shapes:
        return None  # nothing made row by row: sums of the data's rows alone
    m = max((shape[0] for shape in shapes if shape), default=0)  # (others broadcast: 1 row)
    if any(np.shape(mem[s])[:1] != (m,) for s in wanted if where[s] == _BLOCK):
        return None  # (a row step's output wanted whole that is not one row per row)
    widest = max(1, max(math.prod(shape[1:]) for shape in shapes))
    n = -(-m // max(1, LEAST_ROWS, BLOCK_ENTRIES // widest))
    if n < 2:
        return None  # one block is the whole run
    if n > LANES:  # as many blocks in each lane (the cores' shares even)
        n = -(-n // LANES) * LANES
    starts = [m * j // n for j in range(n + 1)]
    return Blocks(tape, mem, np, starts, pre, inside, post, sums, wanted)


def _on_shapes(step, args, rin, mem, np):
    """A step that reads only its inputs' shapes, run before the blocks on arrays of those
    shapes that hold no numbers (the inputs with rows are not computed yet)."""
    fn, out, get, single, free = step
    shapes = [np.shape(mem[a]) for a in args]

    def on_shapes(*values):
        return fn(*[np.broadcast_to(0.0, s) if r else v
                    for v, s, r in zip(values, shapes, rin)])

    return (on_shapes, out, get, single, free)


class Blocks:
    """The plan: steps before the blocks (``pre``: they read no rows), the steps each block
    runs (``inside``: row steps, and each block's share of a sum over the rows), and steps
    after (``post``: what reads a sum, or needs every row). Built once per tape and shapes;
    :meth:`run` runs an epoch."""

    def __init__(self, tape, mem, np, starts, pre, inside, post, sums, wanted):
        self.np, m, n = np, starts[-1], len(starts) - 1
        self.pre, self.post, self.outputs = pre, post, tape.outputs
        rows = tape.row_slots
        lanes = min(LANES, n)
        self.lanes = [[(starts[j], starts[j + 1]) for j in range(n * k // lanes,
                                                                 n * (k + 1) // lanes)]
                      for k in range(lanes)]
        self.most = max(hi - lo for lane in self.lanes for lo, hi in lane)
        # the slots a block cuts from arrays already whole: data, and what depends on it alone
        made = {step[1] for step in inside}
        self.cut = [s for s in rows if s not in made and np.ndim(mem[s]) and
                    np.shape(mem[s])[0] == m]
        self.whole = {}  # a row step's output wanted whole after: whole arrays, rows filled in
        # each block's steps: (function, slot, inputs, single, how, fills): how is "sum",
        # "whole" (into self.whole's rows), a buffer's number (into the lane's buffer of that
        # number) or None (a new array, or a view of its inputs). A buffer goes to a later
        # step once no slot that may point into it (its own, views of it) is used again: the
        # tape's ``free`` says where a slot is used for the last time (a slot with a buffer
        # is read by block steps alone: what later steps read is wanted whole).
        self.steps, shapes, free_bufs = [], [], []
        holds: dict = {}  # slot -> the buffers its array may point into
        holders: dict = {}  # buffer -> how many slots still to be used point into it
        for fn, out, get, single, free in inside:
            args = tape.step_args[out]
            fn = parallel.for_whole(getattr(fn, "in_blocks", fn), np.size(mem[out]))
            shape = np.shape(mem[out])
            fills = parallel.fills(fn, np)
            if out in sums:
                how = "sum"
            elif out in wanted:
                how = "whole"
                self.whole[out] = np.empty(shape)
            elif fills and shape and shape[0] == m and \
                    getattr(mem[out], "dtype", None) == np.float64:
                block_shape = (self.most,) + shape[1:]
                how = next((k for k in free_bufs if shapes[k] == block_shape), None)
                if how is None:
                    how = len(shapes)
                    shapes.append(block_shape)
                else:
                    free_bufs.remove(how)
                holds[out] = {how}
            else:
                how = None
                holds[out] = set().union(*(holds.get(a, ()) for a in args))
            for k in holds.get(out, ()):
                holders[k] = holders.get(k, 0) + 1
            self.steps.append((fn, out, get, single, how, fills))
            for a in free:  # uses over: the buffers no slot to be used points into are free
                for k in holds.pop(a, ()):
                    holders[k] -= 1
                    if holders[k] == 0:
                        free_bufs.append(k)
        self.buffer_shapes = shapes
        self.sums = sorted(sums)
        self.sum_shapes = {s: np.shape(mem[s]) for s in self.sums}
        self.lane_sums = [None] * len(self.lanes)  # each lane's own sums (added in order)
        self.totals = {s: np.empty(shape) for s, shape in self.sum_shapes.items()}
        self._thread = threading.local()  # .arrays: a thread's block buffers and shares

    def run(self, mem):
        """One run into ``mem`` (the tape's slots, the static ones filled in); the outputs."""
        np = self.np
        for fn, out, get, single, free in self.pre:
            mem[out] = fn(get(mem)) if single else fn(*get(mem))
        lanes = self.lanes
        totals = [None] * len(lanes)

        def lane(k):
            totals[k] = self._lane(k, mem)

        parallel.share(lane, range(len(lanes)), min(parallel.bands(), len(lanes)))
        for s in self.sums:  # the lanes' totals, added in their order (two lanes at least)
            r = mem[s] = np.add(totals[0][s], totals[1][s], out=self.totals[s])
            for t in totals[2:]:
                np.add(r, t[s], out=r)
        for out, buf in self.whole.items():
            mem[out] = buf
        for fn, out, get, single, free in self.post:
            mem[out] = fn(get(mem)) if single else fn(*get(mem))
        return [mem[o] for o in self.outputs]

    def _lane(self, k, mem):
        """The blocks of lane ``k``, one after another; the lane's sums of rows."""
        np = self.np
        sums = self.lane_sums[k]
        if sums is None:
            sums = self.lane_sums[k] = {s: np.empty(x) for s, x in self.sum_shapes.items()}
        mine = getattr(self._thread, "arrays", None)
        if mine is None:  # the thread's own (it runs a lane at a time): buffers, and a share
            mine = self._thread.arrays = ([np.empty(s) for s in self.buffer_shapes],
                                          {s: np.empty(x) for s, x in self.sum_shapes.items()})
        bufs, shares = mine
        total: dict = {}
        whole = self.whole
        with np.errstate(all="ignore"):  # numpy's error state is each thread's own
            for lo, hi in self.lanes[k]:
                r = hi - lo
                b = mem.copy()
                for s in self.cut:
                    b[s] = mem[s][lo:hi]
                for fn, out, get, single, how, fills in self.steps:
                    args = (get(b),) if single else get(b)
                    if how is None:
                        b[out] = fn(*args)
                    elif how == "sum":  # the block's share, added to the lane's
                        had = total.get(out)
                        if not fills:
                            part = np.array(fn(*args))  # (its own: added to in place)
                            total[out] = part if had is None else np.add(had, part, out=had)
                        elif had is None:
                            total[out] = fn(*args, out=sums[out])
                        else:
                            np.add(had, fn(*args, out=shares[out]), out=had)
                    elif how == "whole":  # (its rows of the whole array: never a buffer's)
                        w = b[out] = whole[out][lo:hi]
                        if fills:
                            fn(*args, out=w)
                        else:
                            w[...] = fn(*args)
                    else:
                        b[out] = fn(*args, out=bufs[how][:r])
        return total
