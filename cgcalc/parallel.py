"""numpy work on every core: large steps cut into bands of rows, one per core, and the BLAS
library's own threads set aside while the bands run.

numpy lets go of the interpreter inside each call, so a thread per band keeps the cores busy
at once. A BLAS running threads of its own keeps them spinning for a while after each matrix
product, and bands then fight them for the cores (bench/train.py, 2-64-64-1: bands beside a
two-thread OpenBLAS made an epoch slower, not faster). So bands run only while the BLAS runs on
one thread: inside :func:`one_blas_thread`, which asks numpy's own OpenBLAS for one thread and
restores what it had, or, for elementwise steps only, when the environment says so
(``OPENBLAS_NUM_THREADS=1`` and the like). Matrix products are cut only inside
:func:`one_blas_thread`: the whole tiles they are cut at (:data:`ALIGN`) are OpenBLAS's. Where
the BLAS cannot be asked (another BLAS: MKL, Accelerate on macOS; a build whose threads are
OpenMP's; a system without ``/proc/self/maps``, such as macOS and Windows), nothing changes.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import threading

SPLIT = 1 << 16  # entries (or multiply-adds, for a matrix product) that make a step worth bands
# bands start at a multiple of this many rows: an OpenBLAS kernel takes rows in tiles (4 to 16
# of them) and adds a last partial tile in another order, so a band cut inside a tile would
# change the last bits of a matrix product; cut between tiles, each entry is the same sum,
# where the bands take the whole product's kernel (_cut_as_whole tries it)
ALIGN = 32

_ONE_THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_LOCK = threading.Lock()  # guards the three below
_POOL = None
_ASIDE = 0  # one_blas_thread() blocks in force, in every thread
_BEFORE = 1  # the BLAS's thread count before the first of them
_BLAS: list = []  # [(get, set)] of numpy's OpenBLAS once looked up; [None] if it cannot be asked
_HERE = threading.local()  # .pool: True on a pool thread, whose own work runs whole


def cores() -> int:
    """The cores this process may run on: its affinity, where the system tells it, and no
    more than its control group's CPU quota allows (a container's, say; 1.5 CPUs count as 2)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    if _QUOTA[0] is _UNREAD:
        _QUOTA[0] = quota()
    return n if _QUOTA[0] is None else max(1, min(n, _QUOTA[0]))


_UNREAD = object()
_QUOTA: list = [_UNREAD]  # the CPU quota in whole CPUs (rounded up), None for none; read once


def quota(root="/sys/fs/cgroup", own="/proc/self/cgroup"):
    """The CPU quota of this process's control group and those above it, in CPUs rounded up,
    or None (no quota, no cgroup files: not Linux, or a system that does not say). cgroup v2
    writes ``cpu.max`` ("150000 100000", or "max 100000"), v1 ``cpu.cfs_quota_us`` (-1 for
    none) beside ``cpu.cfs_period_us``."""
    import math

    found = []
    for line in (_small_file(own, 1 << 16) or "").splitlines()[:64]:
        fields = line.split(":", 2)
        if len(fields) != 3:
            continue
        _, controllers, path = fields
        if controllers == "":
            bases, read = [root, os.path.join(root, "unified")], _v2
        elif "cpu" in controllers.split(","):
            bases, read = [os.path.join(root, "cpu"), os.path.join(root, "cpu,cpuacct")], _v1
        else:
            continue
        parts = [p for p in path.split("/") if p and p not in (".", "..")][:32]
        for base in bases:  # the group and each above it, up to the root
            folder, folders = base, [base]
            for part in parts:
                folder = os.path.join(folder, part)
                folders.append(folder)
            found.extend(c for c in map(read, folders) if c is not None)
    return max(1, math.ceil(min(found))) if found else None


_COUNT = re.compile(r"\s*(-?[0-9]{1,18})\s*\Z")  # a count of microseconds, as cgroups write it


def _v2(folder):
    words = (_small_file(os.path.join(folder, "cpu.max")) or "").split()
    if len(words) != 2 or words[0] == "max":
        return None
    return _ratio(words[0], words[1])


def _v1(folder):
    return _ratio(_small_file(os.path.join(folder, "cpu.cfs_quota_us")),
                  _small_file(os.path.join(folder, "cpu.cfs_period_us")))


def _ratio(limit, period):
    """limit/period in CPUs, or None where either is not a count or not above 0 (v1's -1)."""
    a, b = _COUNT.match(limit or ""), _COUNT.match(period or "")
    if a is None or b is None or int(a[1]) <= 0 or int(b[1]) <= 0:
        return None
    return int(a[1]) / int(b[1])


def _small_file(path, most=200):
    """The start (``most`` bytes) of a regular file, as text, or None: missing, unreadable,
    not a regular file (a device, a pipe: opened without waiting, never read), a bad path."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, most).decode("ascii", errors="replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def _on_pool_thread() -> bool:
    """True on one of the pool's threads: there work runs whole (one core's share already),
    and nothing waits for the pool the thread belongs to."""
    return getattr(_HERE, "pool", False)


def bands() -> int:
    """Into how many bands of rows a large elementwise step is cut: the cores while the BLAS
    runs on one thread, else 1 (and 1 on a pool thread)."""
    if _on_pool_thread():
        return 1
    if _ASIDE or any(os.environ.get(name, "").strip() == "1" for name in _ONE_THREAD_ENV):
        return cores()
    return 1


def product_bands() -> int:
    """Into how many bands of rows a large matrix product is cut: the cores inside
    :func:`one_blas_thread` (numpy's OpenBLAS found and set to one thread), else 1."""
    return cores() if _ASIDE and not _on_pool_thread() else 1


@contextlib.contextmanager
def one_blas_thread():
    """numpy's OpenBLAS on one thread inside the block (bands then use the cores instead),
    its thread count restored when the last such block in any thread ends, Ctrl-C included.
    It is the process's setting: other threads' matrix products run on one thread meanwhile.
    Does nothing on one core or where the BLAS cannot be asked."""
    global _ASIDE, _BEFORE
    calls = _openblas() if cores() > 1 else None
    if calls is None:
        yield
        return
    get, set_ = calls
    with _LOCK:
        if _ASIDE == 0:
            before = get()
            set_(1)
            if get() != 1:  # its threads are not its own to set (OpenMP): never ask again
                set_(before)
                _BLAS[0] = None
                calls = None
            else:
                _BEFORE = before
        if calls is not None:
            _ASIDE += 1
    try:
        yield
    finally:
        if calls is not None:
            with _LOCK:
                _ASIDE -= 1
                if _ASIDE == 0:
                    set_(_BEFORE)


def _openblas():
    """(get, set) of the thread count of the OpenBLAS numpy loaded, or None. The library is
    one already mapped into this process, numpy's own file first (never a path from
    elsewhere)."""
    if not _BLAS:
        found = _find_openblas()
        with _LOCK:
            if not _BLAS:
                _BLAS.append(found)
    return _BLAS[0]


_SYMBOLS = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
            ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
            ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
            ("openblas_get_num_threads", "openblas_set_num_threads"))


def _find_openblas():
    import ctypes

    import numpy  # (loads the BLAS this looks for)

    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            fields = [line.split(None, 5) for line in fh]
    except OSError:  # not Linux: bands only where the environment sets one thread
        return None
    mapped = {f[5].strip() for f in fields if len(f) == 6}
    own = os.path.dirname(os.path.abspath(numpy.__file__))  # numpy.libs, numpy/.dylibs: its own
    blas = [p for p in mapped if "blas" in os.path.basename(p).lower()]
    for path in sorted(blas, key=lambda p: (not p.startswith(own), p)):
        try:
            lib = ctypes.CDLL(path)  # already loaded: the same library, no new code
        except OSError:
            continue
        for get_name, set_name in _SYMBOLS:
            get, set_ = getattr(lib, get_name, None), getattr(lib, set_name, None)
            if get is not None and set_ is not None:
                get.restype, get.argtypes = ctypes.c_int, []
                set_.restype, set_.argtypes = None, [ctypes.c_int]
                return (lambda: max(1, int(get()))), (lambda n: set_(int(n)))
    return None


def fills(fn, np) -> bool:
    """Whether a step's function takes ``out=`` and fills it row by row: a ufunc, or an op's
    value marked ``writes_into``."""
    return fn.__class__ is np.ufunc or getattr(fn, "writes_into", False)


def how_cut(fn, np):
    """How a step may be cut by rows: "rows" (elementwise, a join: its inputs' rows), as a
    matrix product ("product": its left factor's rows), or not at all (None)."""
    return getattr(fn, "bands", "product" if fn is np.matmul else "rows")


def for_whole(fn, size):
    """The function a step of ``size`` entries runs, chosen once by the whole step's size (its
    ``for_size``) where the step runs cut: each part then computes what the whole would."""
    return fn.for_size(size) if hasattr(fn, "for_size") else fn


def worth_bands(args, out, matmul, fn=None) -> bool:
    """Whether a step into ``out`` from ``args`` is large enough to cut into bands of rows,
    and cut the way :func:`in_bands` cuts (inputs with the output's rows and dimensions are
    cut, numbers are not; a vector beside a matrix could be either, so it is run whole). A
    matrix product ``fn`` (numpy's, by default) is cut only where its bands are known to give
    the whole product's bits (:func:`_cut_as_whole`)."""
    if out.ndim < 1 or out.shape[0] < 2 * ALIGN:
        return False
    if matmul:  # A' @ A (one array twice) is numpy's symmetric product, which bands would not be
        import numpy as np

        if not (out.ndim == 2 and getattr(args[0], "ndim", 0) == 2 and
                out.size * args[0].shape[1] >= SPLIT and
                not np.may_share_memory(args[0], args[1])):
            return False
        return _cut_as_whole(fn or np.matmul, args, out, np)
    return out.size >= SPLIT and all(getattr(a, "ndim", 0) in (0, out.ndim) for a in args)


def in_bands(fn, args, out, matmul=False):
    """``fn(*args, out=out)`` computed in bands of rows, one per core (the caller and the pool's
    threads); ``fn`` is a ufunc or an op's value that fills ``out`` row by row (its
    ``writes_into``); one that chooses by the whole step's size (its ``for_size(n)`` gives
    the function for n entries) chooses once, by ``out``'s. An input with the output's rows
    is cut into the same bands and any other (a row that broadcasts, a number) goes whole to
    each: row by row, the numbers are the same, bit for bit. A matrix product cuts its left
    factor's rows only, at whole tiles (:data:`ALIGN`): each entry is the same OpenBLAS sum
    as in the whole product, where :func:`worth_bands` found the bands to take the whole
    product's kernel (checked on hundreds of random shapes, tests/test_parallel.py)."""
    run_in_bands([(fn, args, out, matmul)])
    return out


def run_in_bands(steps):
    """Several such steps, ``(fn, args, out, matmul)``, whose outputs have the same rows: each
    band runs them all, one after another, on its rows, so the cores meet once for all of
    them. A step may read, cut, what an earlier one wrote (the same band wrote those rows);
    what it reads whole must not be written by any of them."""
    import numpy as np

    cuts = _cuts(steps[0][2].shape[0])
    k = len(cuts) - 1
    # a function that chooses by the whole step's size (its for_size) chooses here, once: the
    # bands then compute what the whole step would
    plan = [(for_whole(fn, out.size), args, out, _cut(args, out, matmul))
            for fn, args, out, matmul in steps]

    def band(lo, hi):
        with np.errstate(all="ignore"):  # numpy's error state is each thread's own
            for fn, args, out, cut in plan:
                fn(*[a[lo:hi] if c else a for a, c in zip(args, cut)], out=out[lo:hi])

    jobs, failed = [], None
    try:
        for j in range(1, k):
            jobs.append((_pool().submit(band, cuts[j], cuts[j + 1]), cuts[j], cuts[j + 1]))
        band(cuts[0], cuts[1])
        for entry in list(jobs):  # a band no thread has taken yet (the pool busy): here
            if entry[0].cancel():
                jobs.remove(entry)  # taken back: nothing to wait for
                band(entry[1], entry[2])
    except BaseException as e:  # noqa: B036 (raised below, once every band has ended)
        failed = e
    finally:  # every band ended, whatever happened in one, before anything reads their arrays
        failed = _wait([job for job, _, _ in jobs], failed)
    if failed is not None:
        raise failed


_CUT_AS_WHOLE: dict = {}  # (the product, its factors' shapes and strides, the cuts) -> whether
_KEPT_CUTS = 4096  # answers kept at most (then forgotten, and found again as needed)


def _cut_as_whole(fn, args, out, np) -> bool:
    """Whether the product ``fn(*args)`` cut into this process's bands (:func:`_cuts`) gives the
    very bits of the whole product. OpenBLAS takes its kernel by the shapes and the layout of
    the factors, and some (small-matrix kernels, below sizes that differ by version and by
    transposition: numpy 2.4.6 sums (486 x 93) @ (3 x 93)' in another order than a band of 224
    rows of it) sum in another order. So it is tried once for each shape, layout and cut, on
    random numbers laid out as the factors are (the step's own may add up exactly in any
    order: zero weights), and kept: training runs the same products every epoch."""
    a, b = args
    cuts = _cuts(out.shape[0])
    key = (getattr(fn, "cut_key", fn), a.shape, a.strides, b.shape, b.strides, tuple(cuts))
    known = _CUT_AS_WHOLE.get(key)
    if known is None:
        rng = np.random.default_rng(0)
        a, b = _laid_out_as(a, rng, np), _laid_out_as(b, rng, np)
        known = a is not None and b is not None
        if known:
            whole = fn(a, b)
            parts = np.concatenate([fn(a[lo:hi], b) for lo, hi in zip(cuts, cuts[1:])])
            known = whole.shape == parts.shape and \
                np.array_equal(whole.view(np.int64), parts.view(np.int64))
        if len(_CUT_AS_WHOLE) >= _KEPT_CUTS:
            _CUT_AS_WHOLE.clear()
        _CUT_AS_WHOLE[key] = known
    return known


def _laid_out_as(x, rng, np):
    """Random float64 numbers with ``x``'s shape and strides (a transposed view, columns of a
    wider array), or None for a layout not copied here (negative or odd strides)."""
    if x.dtype != np.float64 or any(s < 0 or s % 8 for s in x.strides):
        return None
    span = 1 + sum((n - 1) * (s // 8) for n, s in zip(x.shape, x.strides)) if x.size else 1
    return np.lib.stride_tricks.as_strided(rng.standard_normal(span), x.shape, x.strides)


def _cuts(m):
    """Where the bands of ``m`` rows start, and where the last ends: one a core, at whole tiles
    (:data:`ALIGN`); one band on a pool thread (its own work is one core's share already)."""
    k = 1 if _on_pool_thread() else max(1, min(cores(), m // ALIGN))
    return [0] + [m * j // k // ALIGN * ALIGN for j in range(1, k)] + [m]


def share(fn, items, threads=None):
    """``fn(item)`` for every item, on at most ``threads`` threads at once (by default, and at
    most, the cores): this one and the pool's, each taking the next item until none is left.
    Returns once every thread has stopped; a fault in one (Ctrl-C in this one included) stops
    the others taking items, and is raised once they have. On a pool thread it runs every
    item on that thread."""
    items = iter(items)
    lock, stop = threading.Lock(), []

    def work():
        while not stop:
            with lock:
                item = next(items, _DONE)
            if item is _DONE:
                return
            try:
                fn(item)
            except BaseException:
                stop.append(True)
                raise

    # what no pool thread has taken when this thread is done is taken back (_wait), so
    # nothing waits for a thread that is busy elsewhere, and nothing nested can hang
    k = 1 if _on_pool_thread() else max(1, min(threads or cores(), cores()))
    jobs, failed = [], None
    try:
        for _ in range(k - 1):
            jobs.append(_pool().submit(work))
        work()
    except BaseException as e:  # noqa: B036 (raised below, once every thread has stopped)
        failed = e
    finally:  # no item is left, or none is to be taken
        failed = _wait(jobs, failed, stop)
    if failed is not None:
        raise failed


_DONE = object()


def _wait(jobs, failed, stop=None):
    """Say ``stop`` (a list: made non-empty), cancel the jobs no thread has started, and wait
    until the others have ended. A Ctrl-C meanwhile, wherever it comes, is kept and the wait
    goes on, each step being one that may be taken again: a thread still running may write
    into the caller's arrays. Returns ``failed`` or else the first fault, or None."""
    pending = list(jobs)
    while pending or (stop is not None and not stop):
        try:
            if stop is not None and not stop:
                stop.append(True)
            if pending:
                # a job cancelled just before a Ctrl-C says False here: then the wait is for
                # a pool thread to take it from the queue and find it cancelled
                if not pending[-1].cancel():
                    pending[-1].wait()
                pending.pop()
        except BaseException as e:  # noqa: B036 (Ctrl-C: the caller raises it)
            failed = failed or e
    for job in jobs:
        failed = failed or job.fault
    return failed


def whole_inputs(args, out, matmul):
    """The inputs :func:`run_in_bands` hands whole to each band (not cut by rows)."""
    return [a for a, cut in zip(args, _cut(args, out, matmul)) if not cut]


def _cut(args, out, matmul):
    """Which inputs are cut into the output's bands of rows: a matrix product's left factor;
    elementwise, each input with the output's rows and dimensions."""
    if matmul:
        return [True] + [False] * (len(args) - 1)
    return [getattr(a, "ndim", 0) == out.ndim and a.shape[0] == out.shape[0] for a in args]


def _pool():
    """The threads that share a large step with the caller."""
    global _POOL
    with _LOCK:
        if _POOL is None:
            _POOL = _Pool(max(1, cores() - 1))
        return _POOL


class _Pool:
    """Threads that run the jobs handed to them, in order. Between the caller and them there
    is only C code (a queue.SimpleQueue and the locks of :class:`_Job`): Ctrl-C, which Python
    raises in the main thread between any two steps of Python code, cannot leave a lock held
    or a count half changed, as it can inside concurrent.futures' Python locking (a pool
    shared by every call must survive Ctrl-C after Ctrl-C). Its threads are daemons: a
    process leaving does not wait for them."""

    def __init__(self, n):
        import queue

        self.jobs = queue.SimpleQueue()
        self.threads = [threading.Thread(target=self._serve, name=f"cgcalc_{i}", daemon=True)
                        for i in range(n)]
        for t in self.threads:
            t.start()

    def _serve(self):
        _HERE.pool = True  # a pool thread's own work runs whole (bands() is 1)
        while True:
            job = self.jobs.get()
            if job is None:
                return
            job.run()

    def submit(self, fn, *args):
        job = _Job(fn, args)
        self.jobs.put(job)
        return job

    def shutdown(self):
        """The threads end once the jobs handed to them have (for tests that make pools)."""
        for _ in self.threads:
            self.jobs.put(None)


class _Job:
    """One call for a pool thread: run once by whoever claims it first (a thread, or
    :meth:`cancel`, which then says it will never run); :meth:`wait` returns when it has
    ended, its fault (or None) in :attr:`fault`."""

    __slots__ = ("fn", "args", "claim", "ended", "finished", "fault")

    def __init__(self, fn, args):
        import _thread

        self.fn, self.args, self.fault, self.finished = fn, args, None, False
        self.claim, self.ended = _thread.allocate_lock(), _thread.allocate_lock()
        self.ended.acquire()  # released when the job has run (or was found cancelled)

    def run(self):
        if self.claim.acquire(False):
            try:
                self.fn(*self.args)
            except BaseException as e:  # noqa: B036 (the waiting caller raises it)
                self.fault = e
        self.finished = True
        self.ended.release()

    def cancel(self) -> bool:
        """True if no thread had started it: then none ever will."""
        return self.claim.acquire(False)

    def wait(self):
        """Until the job has ended (Ctrl-C meanwhile raises here; wait again after: whenever
        it came, ``finished`` says whether the job has ended, so no wait is left hanging)."""
        while not self.finished:
            self.ended.acquire(timeout=1.0)


def _after_fork():
    """In a forked child the pool's threads are gone (and the lock may be held by one of the
    parent's threads): a new pool and lock when next needed. Blocks in force stay counted,
    since the child runs their ends too."""
    global _POOL, _LOCK
    _POOL, _LOCK = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
