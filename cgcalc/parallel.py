"""numpy work on every core: large steps cut into bands of rows, one per core, and the BLAS
library's own threads set aside while the bands run.

numpy lets go of the interpreter inside each call, so a thread per band keeps the cores busy
at once. A BLAS running threads of its own keeps them spinning for a while after each matrix
product, and bands then fight them for the cores (bench/train.py, 2-64-64-1: bands beside a
two-thread OpenBLAS made an epoch slower, not faster). So bands run only while the BLAS runs on
one thread: when the environment says so (``OPENBLAS_NUM_THREADS=1`` and the like), or inside
:func:`one_blas_thread`, which asks numpy's own OpenBLAS for one thread and restores what it
had. Where the BLAS cannot be asked (another BLAS, a build without the call), nothing changes.
"""

from __future__ import annotations

import contextlib
import os

SPLIT = 1 << 16  # entries (or multiply-adds, for a matrix product) that make a step worth bands
# bands start at a multiple of this many rows: a BLAS kernel takes rows in tiles (4 to 16 of
# them) and adds a last partial tile in another order, so a band cut inside a tile would change
# the last bits of a matrix product; cut between tiles, each entry is the same sum
ALIGN = 32

_ONE_THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_POOL = None
_SINGLE = 0  # depth of one_blas_thread() blocks in force
_BLAS: list = []  # [(get, set)] of numpy's OpenBLAS once looked up; [None] if it has none


def cores() -> int:
    """The cores this process may run on (its affinity, where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def bands() -> int:
    """Into how many bands of rows a large step is cut: the cores while the BLAS runs on one
    thread, else 1."""
    if _SINGLE or any(os.environ.get(name, "").strip() == "1" for name in _ONE_THREAD_ENV):
        return cores()
    return 1


@contextlib.contextmanager
def one_blas_thread():
    """numpy's OpenBLAS on one thread inside the block (bands then use the cores instead),
    its thread count restored after, Ctrl-C included. It is the process's setting: other
    threads' matrix products run on one thread meanwhile. Does nothing on one core or where
    the BLAS cannot be asked."""
    global _SINGLE
    calls = _openblas() if cores() > 1 else None
    if calls is None:
        yield
        return
    get, set_ = calls
    before = get()
    set_(1)
    _SINGLE += 1
    try:
        yield
    finally:
        _SINGLE -= 1
        set_(before)


def _openblas():
    """(get, set) of the thread count of the OpenBLAS numpy loaded, or None. The library is
    the one already mapped into this process (numpy's own file, never a path from elsewhere)."""
    if not _BLAS:
        _BLAS.append(_find_openblas())
    return _BLAS[0]


_SYMBOLS = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
            ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
            ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
            ("openblas_get_num_threads", "openblas_set_num_threads"))


def _find_openblas():
    import ctypes

    import numpy  # noqa: F401  (loads the BLAS this looks for)

    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            fields = [line.split(None, 5) for line in fh]
    except OSError:  # not Linux: bands only where the environment sets one thread
        return None
    mapped = {f[5].strip() for f in fields if len(f) == 6}
    for path in sorted(p for p in mapped if "openblas" in os.path.basename(p).lower()):
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


def worth_bands(args, out, matmul) -> bool:
    """Whether a step into ``out`` from ``args`` is large enough to cut into bands of rows,
    and cut the way :func:`in_bands` cuts (inputs with the output's rows and dimensions are
    cut, numbers are not; a vector beside a matrix could be either, so it is run whole)."""
    if out.ndim < 1 or out.shape[0] < 2 * ALIGN:
        return False
    if matmul:
        return (out.ndim == 2 and getattr(args[0], "ndim", 0) == 2 and
                out.size * args[0].shape[1] >= SPLIT)
    return out.size >= SPLIT and all(getattr(a, "ndim", 0) in (0, out.ndim) for a in args)


def in_bands(fn, args, out, matmul=False):
    """``fn(*args, out=out)`` computed in bands of rows, one per core (the caller and the
    pool's threads); ``fn`` is a ufunc or an op's value that fills ``out`` row by row (its
    ``writes_into``). An input with the output's rows is cut into the same bands and any other
    (a row that broadcasts, a number) goes whole to each: row by row, the numbers are the same,
    bit for bit. A matrix product cuts its left factor's rows only, at whole tiles
    (:data:`ALIGN`): each entry is the same BLAS sum as in the whole product (checked on
    thousands of random shapes, tests/test_parallel.py)."""
    import numpy as np

    m = out.shape[0]
    k = max(1, min(cores(), m // ALIGN))
    cuts = [0] + [m * j // k // ALIGN * ALIGN for j in range(1, k)] + [m]
    if matmul:
        cut = [True] + [False] * (len(args) - 1)
    else:
        cut = [getattr(a, "ndim", 0) == out.ndim and a.shape[0] == m for a in args]

    def band(lo, hi):
        with np.errstate(all="ignore"):  # numpy's error state is each thread's own
            fn(*[a[lo:hi] if c else a for a, c in zip(args, cut)], out=out[lo:hi])

    futures = [_pool().submit(band, cuts[j], cuts[j + 1]) for j in range(1, k)]
    try:
        band(cuts[0], cuts[1])
    finally:
        for f in futures:
            f.result()
    return out


def _pool():
    """The threads that share a large step with the caller."""
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max(1, cores() - 1), thread_name_prefix="cgcalc-rows")
    return _POOL
