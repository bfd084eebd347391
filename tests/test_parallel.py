"""Bands of rows on every core, and the BLAS's own threads set aside meanwhile."""

from __future__ import annotations

import numpy as np
import pytest

from cgcalc import parallel
from cgcalc.net import Network
from cgcalc.net.params import initial_params
from cgcalc.net.train import train


@pytest.fixture
def cores(monkeypatch):
    """Run with ``cores`` patched to a given count and a pool made for it."""
    def use(n):
        monkeypatch.setattr(parallel, "cores", lambda: n)
        monkeypatch.setattr(parallel, "_POOL", None)
    yield use
    if parallel._POOL is not None:
        parallel._POOL.shutdown()


def _blas_threads():
    calls = parallel._openblas()
    return None if calls is None else calls[0]()


@pytest.fixture
def openblas():
    """numpy's OpenBLAS, its thread count set to 3 for the test and restored after; skips
    where it cannot be asked (another BLAS, no /proc/self/maps)."""
    calls = parallel._openblas()
    if calls is None:
        pytest.skip("numpy's BLAS here cannot be asked for its threads")
    get, set_ = calls
    before = get()
    set_(3)
    yield get
    set_(before)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_matrix_products_in_bands_are_the_whole_products_bit_for_bit(n, cores, openblas):
    """Every shape a training tape meets: tall and wide, transposed views (the reductions
    A' @ G), a vector on the right (BLAS's gemv), long and short sums; bands cut at whole
    tiles give each entry the very sum of the whole product, where they are cut: a product
    OpenBLAS sums in another order in its bands (a small-matrix kernel for a band, numpy
    2.4.6's (486 x 93) @ (3 x 93)') runs whole. Most large ones are cut. The answer is
    found on numbers of cgcalc's own (zeros would agree in any order) and kept: the bands are
    checked here on the test's numbers, then on new ones."""
    cores(n)
    rng = np.random.default_rng(n)
    large = cut = 0
    with parallel.one_blas_thread():
        for _ in range(150):
            m = int(rng.integers(2 * parallel.ALIGN, 3000))
            k = int(rng.integers(1, 400))
            c = int(rng.choice([1, 2, 3, int(rng.integers(1, 130))]))
            a_t, b_t = rng.random() < 0.5, rng.random() < 0.3  # transposed views, as A' is

            def factors():
                A = rng.normal(size=(m, k))
                B = rng.normal(size=(k, c))
                return (np.ascontiguousarray(A.T).T if a_t else A,
                        np.ascontiguousarray(B.T).T if b_t else B)

            A, B = factors()
            out = np.full((m, c), np.nan)
            worth = parallel.worth_bands((A, B), out, True)
            assert worth <= (m * k * c >= parallel.SPLIT)
            large += m * k * c >= parallel.SPLIT
            cut += worth
            for A, B in ((A, B), factors()):
                if worth or n == 1:  # (one core: one band, the whole product)
                    parallel.in_bands(np.matmul, (A, B), out, matmul=True)
                    whole = A @ B
                    assert np.array_equal(out.view(np.int64), whole.view(np.int64)), (m, k, c)
                # asked again, on other numbers: the same answer, kept
                assert parallel.worth_bands((A, B), out, True) == worth
        assert cut >= large * 0.6, (cut, large)
        # one array and its transpose: numpy's symmetric product (BLAS syrk), never cut
        H = rng.normal(size=(3000, 65))
        for A, B in ((H.T, H), (H[:200], H[:200].T)):
            assert not parallel.worth_bands((A, B), np.empty((len(A), B.shape[1])), True)


def test_a_product_whose_own_numbers_agree_in_any_order_is_not_cut_for_that(cores, openblas):
    """Zero factors (a run from zero weights) add up the same in any order: were they the
    trial of whether a cut gives the whole product's bits, a shape this BLAS sums in another
    order in bands would be cut, and kept cut for other numbers."""
    cores(2)
    m, k, c = 486, 93, 3
    rng = np.random.default_rng(0)
    with parallel.one_blas_thread():
        A, B = rng.normal(size=(m, k)), np.ascontiguousarray(rng.normal(size=(c, k))).T
        cut = m // 2 // parallel.ALIGN * parallel.ALIGN
        if np.array_equal(np.concatenate([A[:cut] @ B, A[cut:] @ B]), A @ B):
            pytest.skip("this BLAS sums the shape the same in bands: nothing to tell apart")
        parallel._CUT_AS_WHOLE.clear()
        zeros = (np.zeros((m, k)), np.ascontiguousarray(np.zeros((c, k))).T)
        assert not parallel.worth_bands(zeros, np.empty((m, c)), True)
        assert not parallel.worth_bands((A, B), np.empty((m, c)), True)


def test_elementwise_bands_cut_only_what_has_the_output_rows(cores):
    cores(3)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(1000, 70))
    row = rng.normal(size=(1, 70))
    out = np.empty_like(a)
    assert parallel.worth_bands((a, row), out, False)
    parallel.in_bands(np.add, (a, row), out)
    assert np.array_equal(out, a + row)
    parallel.in_bands(np.multiply, (2.5, a), out)
    assert np.array_equal(out, 2.5 * a)
    # a vector beside a matrix could broadcast either way: never cut, the step runs whole
    assert not parallel.worth_bands((a, rng.normal(size=70)), out, False)
    # too few rows for two whole tiles, or too small
    assert not parallel.worth_bands((a[:40],), out[:40], False)
    assert not parallel.worth_bands((a[:100, :2],), out[:100, :2], False)


def test_one_blas_thread_restores_the_count_even_on_ctrl_c(cores, openblas):
    cores(2)
    with pytest.raises(KeyboardInterrupt):
        with parallel.one_blas_thread():
            assert openblas() == 1
            assert parallel.bands() == 2 and parallel.product_bands() == 2
            with parallel.one_blas_thread():  # nested: still one thread inside
                assert openblas() == 1
            assert openblas() == 1 and parallel.product_bands() == 2
            raise KeyboardInterrupt
    assert openblas() == 3
    assert parallel._ASIDE == 0 and parallel.product_bands() == 1


def test_blocks_in_several_threads_restore_the_count_when_the_last_ends(cores, openblas):
    """A enters, B enters, A ends, B ends: one thread until B ends, then the count before A."""
    import threading

    cores(2)
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with parallel.one_blas_thread():
            a_in.set()
            b_in.wait(10)
        a_out.set()

    def b():
        a_in.wait(10)
        with parallel.one_blas_thread():
            b_in.set()
            a_out.wait(10)
            seen["inside"] = (openblas(), parallel.product_bands())

    threads = [threading.Thread(target=f) for f in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert seen["inside"] == (1, 2)
    assert openblas() == 3 and parallel._ASIDE == 0


def test_a_blas_that_does_not_take_the_count_is_left_alone(cores, monkeypatch):
    """A build whose threads are OpenMP's may ignore the call: then no products in bands,
    and the BLAS is not asked again."""
    cores(2)
    count = [4]
    monkeypatch.setattr(parallel, "_BLAS", [(lambda: count[0], lambda n: None)])
    with parallel.one_blas_thread():
        assert parallel.product_bands() == 1
    assert parallel._BLAS == [None]


def test_bands_after_fork(cores):
    """A child forked after bands ran (multiprocessing's default on Linux) gets a pool of its
    own instead of waiting for threads it does not have."""
    import multiprocessing

    cores(2)
    a = np.random.default_rng(0).normal(size=(4000, 40))
    out = np.empty_like(a)
    parallel.in_bands(np.tanh, (a,), out)  # the parent's pool, made
    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:
        pytest.skip("no fork here")
    child = ctx.Process(target=_bands_in_child)
    child.start()
    child.join(60)
    if child.is_alive():
        child.kill()
        pytest.fail("the child waited for the parent's threads")
    assert child.exitcode == 0


def _bands_in_child():
    a = np.random.default_rng(1).normal(size=(4000, 40))
    out = np.empty_like(a)
    parallel.in_bands(np.tanh, (a,), out)
    raise SystemExit(0 if np.array_equal(out, np.tanh(a)) else 1)


def test_where_the_blas_cannot_be_asked_nothing_changes(cores, monkeypatch):
    cores(2)
    for name in parallel._ONE_THREAD_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(parallel, "_BLAS", [None])
    with parallel.one_blas_thread():
        assert parallel.bands() == 1  # bands would fight a BLAS that keeps its threads
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")  # told by the environment:
    assert parallel.bands() == 2  # elementwise steps in bands, products whole (its tiles are
    assert parallel.product_bands() == 1  # OpenBLAS's, and this BLAS may be another)


def test_one_core_never_touches_the_blas(cores, monkeypatch):
    cores(1)
    monkeypatch.setattr(parallel, "_openblas", lambda: pytest.fail("asked the BLAS"))
    with parallel.one_blas_thread():
        assert parallel.bands() == 1


BIG = """input  X[2]
target y[1]
param  W1[3, 40] ~ normal(0, 0.5)
param  W2[41, 1] ~ normal(0, 0.2)
H = tanh([X, 1] @ W1)
P = sigmoid([H, 1] @ W2)
C = cross_entropy(P, y)
output P
minimize C
"""


@pytest.mark.parametrize("rows, batch", [(700, None), (700, 100), (40, None)])
def test_training_sets_the_blas_aside_only_for_full_batches_of_large_arrays(rows, batch, cores,
                                                                           monkeypatch, tmp_path):
    """Full batches of large arrays train in blocks of rows, their lanes on both cores (the
    BLAS on one thread meanwhile, its count restored after, Ctrl-C included); minibatches and
    small arrays keep the BLAS's threads. Either way the params are those of one thread,
    bit for bit."""
    from cgcalc import rowblocks

    cores(2)
    path = tmp_path / "big.net"
    path.write_text(BIG)
    net = Network(BIG, str(path))
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (rows, 2))
    data = (X, (X[:, :1] * X[:, 1:] > 0).astype(float))
    options = {**net.options, "epochs": 30, "rate": 0.5, "batch": batch}
    entered, lanes = [], []
    real, real_run = parallel.one_blas_thread, rowblocks.Blocks.run
    monkeypatch.setattr(parallel, "one_blas_thread", lambda: entered.append(1) or real())
    monkeypatch.setattr(rowblocks.Blocks, "run", lambda self, mem: lanes.append(
        (parallel.bands(), len(self.lanes))) or real_run(self, mem))
    monkeypatch.setattr(parallel, "SPLIT", 256)
    monkeypatch.setattr(rowblocks, "BLOCK_ENTRIES", 4096)  # blocks of 96 rows: 8 of them
    monkeypatch.setattr(rowblocks, "LEAST_ROWS", 0)
    for name in parallel._ONE_THREAD_ENV:
        monkeypatch.delenv(name, raising=False)
    before = _blas_threads()
    start = initial_params(net, 0)
    got = train(net, {k: v.copy() for k, v in start.items()}, data, options)
    large = batch is None and rows > 2 * parallel.ALIGN
    assert len(entered) == large
    if large:  # every epoch after the first, in lanes: on both cores where the BLAS is aside
        assert len(lanes) == 29 and {k for _, k in lanes} == {rowblocks.LANES}
        assert {b for b, _ in lanes} == {1 if before is None else 2}
    else:  # minibatches run whole; 40 rows make one block, which is the whole run
        assert not lanes
    assert _blas_threads() == before
    with monkeypatch.context() as m:  # the same run without bands
        m.setattr(parallel, "bands", lambda: 1)
        m.setattr(parallel, "product_bands", lambda: 1)
        want = train(net, {k: v.copy() for k, v in start.items()}, data, options)
    for p in net.params:
        assert np.array_equal(got.params[p], want.params[p])

    def interrupt(epoch, cost):
        if epoch == 10:
            raise KeyboardInterrupt

    stopped = train(net, {k: v.copy() for k, v in start.items()}, data, options,
                    progress=interrupt)
    assert stopped.interrupted and stopped.epochs == 10
    assert _blas_threads() == before


def test_every_op_that_fills_a_given_array_fills_it_row_by_row(cores):
    """Bands cut the ops whose value takes out= (writes_into): each must be row by row."""
    from cgcalc import ops

    cores(3)
    fills = sorted(name for name, o in ops.OPS.items() if o.writes_into)
    assert fills == ["join"], "a new op that fills a given array: check it here, row by row"
    join = ops.OPS["join"].bind(np)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(1000, 50)), rng.normal(size=(1000, 30))
    args = (a, 1.0, b)
    out = np.full((1000, 81), np.nan)
    assert parallel.worth_bands(args, out, False)
    parallel.in_bands(join, args, out)
    assert np.array_equal(out, join(*args))


def test_steps_run_together_only_when_their_bands_have_what_they_read(cores):
    """Training's steps run in bands together while each reads, whole, nothing the others
    write: a later step cut like them may read an earlier one's rows (its own band wrote
    them); one that needs the whole of an earlier output waits for the run to end."""
    from cgcalc import evaluate

    cores(2)
    rng = np.random.default_rng(0)
    m = 500
    X, W = rng.normal(size=(m, 8)), rng.normal(size=(8, 40))
    Z, H, J = np.empty((m, 40)), np.empty((m, 40)), np.empty((m, 41))
    join = evaluate.ops.OPS["join"].bind(np)
    run = [(np.matmul, (X, W), Z, True, None)]
    assert evaluate._joins(run, (Z,), H, False, np, parallel)  # tanh(Z): its own rows
    run.append((np.tanh, (Z,), H, False, None))
    assert evaluate._joins(run, (H, 1.0), J, False, np, parallel)  # [H, 1]
    run.append((join, (H, 1.0), J, False, None))
    row = rng.normal(size=(1, 40))
    assert evaluate._joins(run, (H, row), np.empty((m, 40)), False, np, parallel)
    # the whole of Z (or a view of it) as a matrix product's right factor: not until Z is done
    assert not evaluate._joins(run, (rng.normal(size=(m, m)), Z), np.empty((m, 40)), True, np,
                               parallel)
    assert not evaluate._joins(run, (rng.normal(size=(m, 40)), Z[:40].T), np.empty((m, 40)),
                               True, np, parallel)
    assert not evaluate._joins(run, (H[:100],), np.empty((100, 40)), False, np, parallel)
    evaluate._run(run, {}, {})
    assert not run
    assert np.array_equal(J, np.hstack([np.tanh(X @ W), np.ones((m, 1))]))


@pytest.mark.parametrize("ender", ["reads whole", "not in bands"])
def test_a_run_that_falls_back_hands_its_new_numbers_to_the_step_after_it(ender, cores,
                                                                           monkeypatch):
    """When the bands of a run fail (a ValueError), its steps are made again one by one; the
    step that ended the run reads those, not the run's unfilled buffers."""
    from operator import itemgetter

    from cgcalc import evaluate

    cores(2)
    monkeypatch.setattr(parallel, "SPLIT", 64)
    m = 256
    A = np.random.default_rng(0).normal(size=(m, m))
    last = (np.matmul, 3, itemgetter(1, 2), False, ()) if ender == "reads whole" else \
        (np.add, 3, itemgetter(1, 2), False, ())  # S = K @ T, or K + T with no bands
    steps = [(np.tanh, 1, itemgetter(0), True, ()),  # K = tanh(A)
             (np.tanh, 2, itemgetter(1), True, ()),  # T = tanh(K): the same run
             last]
    buffers = {i: np.full((m, m), np.nan) for i in (1, 2, 3)}  # last run's arrays, unfilled
    if ender == "not in bands":
        monkeypatch.setattr(parallel, "worth_bands",
                            lambda args, out, mm, fn=None: out is not buffers[3])
    real, calls = parallel.run_in_bands, []

    def fails_once(run):
        calls.append(len(run))
        if len(calls) == 1:
            raise ValueError("a band failed")
        return real(run)

    monkeypatch.setattr(parallel, "run_in_bands", fails_once)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    with parallel.one_blas_thread():
        mem = [A, None, None, None]
        evaluate._execute_into(steps, mem, buffers, np)
    K = np.tanh(A)
    want = K @ np.tanh(K) if ender == "reads whole" else K + np.tanh(K)
    assert calls[0] == 2
    assert np.array_equal(mem[1], K) and np.array_equal(mem[3], want)


# -- share: blocks of points over the cores ------------------------------------------------------

@pytest.mark.parametrize("n_cores, threads, items", [(2, None, 61), (3, 2, 5), (2, 5, 3),
                                                     (4, None, 0), (1, None, 7)])
def test_share_runs_every_item_once(n_cores, threads, items, cores):
    import threading

    cores(n_cores)
    done, lock, who = [], threading.Lock(), set()

    def fn(i):
        with lock:
            done.append(i)
            who.add(threading.current_thread().name)
    parallel.share(fn, range(items), threads)
    assert sorted(done) == list(range(items))
    assert len(who) <= max(1, min(threads or n_cores, n_cores))


@pytest.mark.parametrize("fault", [ValueError, KeyboardInterrupt])
def test_share_stops_every_thread_before_a_fault_is_raised(fault, cores):
    """A fault in any thread (Ctrl-C comes to this one) stops the others taking items; it is
    raised once none is running, so nothing still writes into the caller's arrays."""
    import threading
    import time

    cores(3)
    running, started, lock = [0], [], threading.Lock()
    main = threading.current_thread()

    def fn(i):
        with lock:
            running[0] += 1
            started.append(i)
        try:
            time.sleep(0.002)
            if i == 5 and (fault is ValueError or threading.current_thread() is main):
                raise fault
            if fault is KeyboardInterrupt and i >= 5 and threading.current_thread() is main:
                raise fault
        finally:
            with lock:
                running[0] -= 1
    with pytest.raises(fault):
        parallel.share(fn, range(1000), 3)
    assert running[0] == 0
    assert len(started) < 1000  # the others stopped taking items


def test_inside_share_nothing_waits_for_the_pool(cores, monkeypatch):
    """Anything a pool thread runs runs whole on that thread, and work the caller of share()
    runs takes back the bands no pool thread has started: a band waiting for the pool, whose
    threads wait for it, would never end. OPENBLAS_NUM_THREADS=1 turns bands on elsewhere."""
    import concurrent.futures

    import cgcalc

    import threading
    import time

    cores(2)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert parallel.bands() == 2
    seen = []

    def note(i):
        seen.append((threading.current_thread().name, parallel.bands()))
        time.sleep(0.001)  # so that the pool's thread takes some
    parallel.share(note, range(40))
    on_pool = [b for name, b in seen if name.startswith("cgcalc")]
    assert on_pool and set(on_pool) == {1} and parallel.bands() == 2
    got = []
    parallel._pool().submit(lambda: got.append(parallel.bands())).wait()
    assert got == [1]
    # bands asked for inside shared work (each item on whichever thread takes it), and blocks
    # of points big enough for bands: both end, with the whole arrays' numbers. A deadlock
    # shows as the timeout (the pool's stuck thread then keeps the run from exiting)
    a = np.random.default_rng(1).uniform(-2, 2, (2_000, 70))
    outs = [np.empty_like(a) for _ in range(6)]
    guard = concurrent.futures.ThreadPoolExecutor(1)
    try:
        guard.submit(parallel.share, lambda i: parallel.in_bands(np.add, (a, a), outs[i]),
                     range(6)).result(timeout=60)
        f = cgcalc.function("exp(sin(x*y)) * log(1 + x^2)")
        rng = np.random.default_rng(1)
        x, y = rng.uniform(-2, 2, 300_000), rng.uniform(-2, 2, 300_000)
        tape = f.tape()
        parts = guard.submit(tape.run, [x, y], block=parallel.SPLIT * 2).result(timeout=60)
    finally:
        guard.shutdown(wait=False)
    assert all(np.array_equal(o, a + a) for o in outs)
    for whole, part in zip(tape.run([x, y]), parts):
        assert np.array_equal(whole, part)


@pytest.mark.parametrize("n_cores, threads", [(2, None), (3, None), (3, 2), (4, 3)])
def test_share_runs_on_that_many_threads_at_once(n_cores, threads, cores):
    """k threads at once: each of the first k items waits until k have started."""
    import threading

    cores(n_cores)
    k = threads or n_cores
    meet = threading.Barrier(k, timeout=30)
    parallel.share(lambda i: meet.wait() if i < k else None, range(3 * k), threads)


def test_a_share_does_not_wait_behind_another_threads_work(cores):
    """Two threads share work on the one pool: the one with little to do ends when its items
    have, not after the other's (the pool thread it asked for, busy elsewhere, is let go)."""
    import threading
    import time

    cores(2)
    started = threading.Event()

    def slow(i):
        started.set()
        time.sleep(0.01)
    other = threading.Thread(target=parallel.share, args=(slow, range(300)))
    other.start()
    try:
        started.wait(30)
        t = time.perf_counter()
        parallel.share(lambda i: None, range(2))
        quick = time.perf_counter() - t
    finally:
        other.join()
    assert quick < 0.75  # the other's 300 items take 1.5 s at least


def test_ctrl_c_while_waiting_waits_on_for_the_threads():
    """Ctrl-C that comes while the caller waits for a thread is kept, and the wait goes on
    until the thread has ended (it may still be writing into the caller's arrays)."""
    class Thread:
        fault = None

        def __init__(self):
            self.calls = 0

        def wait(self):
            self.calls += 1
            if self.calls == 1:
                raise KeyboardInterrupt  # the signal, while the thread still runs

        def cancel(self):
            return False  # started

    running, finished = Thread(), Thread()
    finished.calls = 1
    failed = parallel._wait([running, finished], None)
    assert isinstance(failed, KeyboardInterrupt)
    assert running.calls == 2 and finished.calls == 2


# -- cores: a container's CPU quota --------------------------------------------------------------

def _tree(tmp_path, own, files):
    (tmp_path / "self").write_text(own)
    for rel, text in files.items():
        p = tmp_path / "fs" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return str(tmp_path / "fs"), str(tmp_path / "self")


@pytest.mark.parametrize("own, files, want", [
    ("0::/\n", {"cpu.max": "150000 100000\n"}, 2),  # a container: its group is the root
    ("0::/\n", {"cpu.max": "max 100000\n"}, None),
    ("0::/a/b\n", {"a/b/cpu.max": "max 100000\n", "a/cpu.max": "50000 100000\n",
                   "cpu.max": "max 100000"}, 1),  # the group above it limits it
    ("0::/docker/x\n", {"cpu.max": "300000 100000\n"}, 3),  # its own path not mounted here
    ("4:memory:/m\n1:cpu,cpuacct:/g\n0::/\n",
     {"cpu,cpuacct/g/cpu.cfs_quota_us": "250000\n", "cpu,cpuacct/g/cpu.cfs_period_us": "100000\n"},
     3),  # cgroup v1
    ("1:cpu:/\n", {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ("0::/\n", {"cpu.max": "lots 0\n"}, None),  # what cannot be read is no quota
    ("0::/\n", {"cpu.max": "100000 0\n"}, None),
    ("0::/\n", {}, None),
    ("garbage\n", {"cpu.max": "100000 100000\n"}, None),
])
def test_the_quota_of_a_control_group(own, files, want, tmp_path):
    root, self_file = _tree(tmp_path, own, files)
    assert parallel.quota(root, self_file) == want


def test_no_cgroup_file_is_no_quota(tmp_path):
    assert parallel.quota(str(tmp_path), str(tmp_path / "missing")) is None


@pytest.mark.parametrize("quota, want", [(None, 2), (1, 1), (2, 2), (8, 2)])
def test_cores_are_the_affinity_within_the_quota(quota, want, monkeypatch):
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(parallel, "_QUOTA", [quota])
    assert parallel.cores() == want


def test_hostile_cgroup_files_are_no_quota_and_never_hang(tmp_path):
    """What cannot be a kernel's cgroup file gives None at once: a pipe or a device where a
    file should be (never opened for a wait, never read without bound), a NUL in a path, a
    very deep path, a huge file of lines, numbers of other forms."""
    import os
    import time

    fs = tmp_path / "fs"
    fs.mkdir()
    own = tmp_path / "self"
    os.mkfifo(fs / "cpu.max")
    own.write_text("0::/\n")
    cases = [(str(fs), str(own))]
    cases.append((str(fs), "/dev/zero"))  # own: endless
    os.symlink("/dev/zero", tmp_path / "zero")
    cases.append((str(fs), str(tmp_path / "zero")))
    nul = tmp_path / "nul"
    nul.write_text("0::/a\0b\n")
    cases.append((str(tmp_path), str(nul)))
    deep = tmp_path / "deep"
    deep.write_text("0::/" + "a/" * 100_000 + "\n")
    cases.append((str(tmp_path), str(deep)))
    many = tmp_path / "many"
    many.write_text("0::/\n" * 200_000)
    cases.append((str(tmp_path), str(many)))
    for text in ("-150000 100000", "0 100000", "150_000 100000", "1e5 100000", "٣ 1"):
        folder = tmp_path / f"v{len(cases)}"
        folder.mkdir()
        (folder / "cpu.max").write_text(text + "\n")
        cases.append((str(folder), str(own)))
    start = time.perf_counter()
    for root, own_file in cases:
        assert parallel.quota(root, own_file) is None, (root, own_file)
    assert time.perf_counter() - start < 5


def test_a_band_the_busy_pool_has_not_taken_runs_on_the_caller(cores):
    """The pool's thread busy elsewhere: the caller takes its band back and runs it itself,
    without waiting for the other work."""
    import threading
    import time

    cores(2)
    release = threading.Event()
    busy = parallel._pool().submit(release.wait, 30)
    try:
        a = np.random.default_rng(2).uniform(-2, 2, (4_000, 40))
        out = np.empty_like(a)
        t = time.perf_counter()
        parallel.in_bands(np.add, (a, a), out)
        took = time.perf_counter() - t
        assert np.array_equal(out, a + a)
        assert took < 5  # not the 30 s the pool's thread is held for
    finally:
        release.set()
        busy.wait()


# -- the tape's own products: kept columns, and weight gradients in two halves --------------------


def _random_factor(rng, rows, cols):
    A = rng.normal(size=(rows, cols))
    return np.ascontiguousarray(A.T).T if rng.random() < 0.4 else A  # a transposed view, too


@pytest.mark.parametrize("n", [1, 2, 3])
def test_kept_columns_of_a_product_are_those_of_the_whole_product(n, cores):
    """cols(A @ B, i, j), which a gradient sent back through a join [H, 1] is, runs as
    A @ B[:, i:j]: the same entries up to rounding (an inner size of 1, a broadcast multiply:
    the very same bits, a zero's sign included), and in bands the same bits as whole."""
    from cgcalc.evaluate import _ProductCols

    cores(n)
    rng = np.random.default_rng(n)
    with parallel.one_blas_thread():
        for _ in range(120):
            m = int(rng.integers(1, 2500))
            k = int(rng.choice([1, 1, 2, int(rng.integers(1, 200))]))
            c = int(rng.integers(1, 100))
            i = int(rng.integers(0, c))
            j = int(rng.integers(i + 1, c + 1))
            A, B = _random_factor(rng, m, k), _random_factor(rng, k, c)
            A[rng.random(A.shape) < 0.2] = 0.0  # zeros, of either sign, in the products
            B[rng.random(B.shape) < 0.2] = -0.0
            step = _ProductCols(np, i, j)
            got = step(A, B)
            want = (A @ B)[:, i:j]
            assert got.shape == want.shape and got.flags.c_contiguous
            if k == 1:  # the very bits, a zero's sign included
                assert np.array_equal(got.view(np.int64), want.view(np.int64))
            else:
                bound = np.abs(A) @ np.abs(B)[:, i:j]
                assert np.all(np.abs(got - want) <= 1e-14 * bound), (m, k, c, i, j)
            out = np.full_like(got, np.nan)
            if parallel.worth_bands((A, B), out, True, step):
                parallel.in_bands(step, (A, B), out, matmul=True)
                assert np.array_equal(out.view(np.int64), got.view(np.int64)), (m, k, c, i, j)


def test_weight_gradients_are_the_same_bits_on_any_number_of_cores(cores, openblas, monkeypatch):
    """A' @ G runs as two halves of the rows added: the cut follows the shapes alone, so one,
    two or three cores give the same numbers, and those are A' @ G's up to rounding. (The
    BLAS is held on one thread throughout: its own thread count changes the last bits of any
    product, halved or not.)"""
    from cgcalc.evaluate import _TransposedProduct

    parallel._openblas()[1](1)
    halved, real = [], parallel.share
    monkeypatch.setattr(parallel, "share", lambda fn, items, threads=None: halved.append(1) or
                        real(fn, items, threads))
    rng = np.random.default_rng(7)
    step = _TransposedProduct(np)
    for _ in range(60):
        m = int(rng.choice([1, 5, 63, 64, 65, 127, int(rng.integers(1, 40000))]))
        p, q = int(rng.integers(1, 120)), int(rng.integers(1, 120))
        A = _random_factor(rng, m, p)
        G = A if rng.random() < 0.1 else _random_factor(rng, m, q)  # A' @ A: symmetric
        results = []
        for n in (1, 2, 3):
            cores(n)
            results.append(step(A, G))
            with parallel.one_blas_thread():
                out = np.full(results[0].shape, np.nan)
                assert step(A, G, out=out) is out
                results.append(out)
        for r in results[1:]:
            assert np.array_equal(r, results[0]), (m, p, q)
        bound = np.abs(A).T @ np.abs(G)
        assert np.all(np.abs(results[0] - A.T @ G) <= 1e-13 * bound), (m, p, q)
    assert len(halved) >= 10  # many of the shapes were cut in halves (each in 6 ways)


def test_the_halves_of_a_weight_gradient_keep_the_callers_error_state(cores, monkeypatch):
    """numpy's error state is each thread's own: the half on a pool thread runs in the
    caller's, so training's overflow (seen in the cost) never warns from there."""
    import warnings

    from cgcalc.evaluate import _TransposedProduct

    cores(2)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    A = np.full((4000, 40), 1e300)
    with parallel.one_blas_thread(), np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        r = _TransposedProduct(np)(A, A)
    assert np.isinf(r).all()
    with parallel.one_blas_thread(), np.errstate(over="raise"), pytest.raises(FloatingPointError):
        _TransposedProduct(np)(A, A)


def test_weight_gradients_are_never_cut_into_bands_of_rows(cores, monkeypatch):
    """A' @ G's rows are not its inputs' rows: training never hands it to bands (each band
    would fail, and the step fall back without its buffer, every other epoch)."""
    from cgcalc import evaluate
    from cgcalc.net import backprop

    cores(2)
    monkeypatch.setattr(parallel, "SPLIT", 64)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")  # elementwise bands even without OpenBLAS
    text = """input  X[2]
target y[1]
param  W1[3, 80] ~ normal(0, 0.5)
param  W2[81, 64] ~ normal(0, 0.2)
param  W3[65, 1] ~ normal(0, 0.2)
H1 = tanh([X, 1] @ W1)
H2 = tanh([H1, 1] @ W2)
P = sigmoid([H2, 1] @ W3)
C = cross_entropy(P, y)
output P
minimize C
"""
    from cgcalc import rowblocks

    monkeypatch.setattr(rowblocks, "plan", lambda *a: None)  # (the tapes blocks do not suit)
    net = Network(text, "big.net")  # W2's gradient [H1, 1]' @ d2: 81 rows, 5,184 entries
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (300, 2))
    env = net.env(initial_params(net, 0), (X, (X[:, :1] > 0).astype(float)))
    (full, _, _), _ = backprop.train_tapes(net)
    template = full.prepare(env)
    banded, real = [], parallel.run_in_bands
    monkeypatch.setattr(parallel, "run_in_bands",
                        lambda steps: banded.extend(s[0] for s in steps) or real(steps))
    fell_back = []
    real_run = evaluate._run

    def run(run_, mem, buffers):
        before = len(buffers)
        real_run(run_, mem, buffers)
        fell_back.append(len(buffers) < before)

    monkeypatch.setattr(evaluate, "_run", run)
    with parallel.one_blas_thread():
        buffers: dict = {}
        want = full.run_prepared(template, env)
        for _ in range(3):
            got = full.run_prepared(template, env, buffers)
            for a, b in zip(want, got):
                assert np.array_equal(a, b)
    assert banded and not any(isinstance(fn, evaluate._TransposedProduct) for fn in banded)
    assert fell_back and not any(fell_back)
