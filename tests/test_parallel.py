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


@pytest.mark.parametrize("n", [2, 3, 4])
def test_matrix_products_in_bands_are_the_whole_products_bit_for_bit(n, cores):
    """Every shape a training tape meets: tall and wide, transposed views (the reductions
    A' @ G), a vector on the right (BLAS's gemv), long and short sums; bands cut at whole
    tiles give each entry the very sum of the whole product."""
    cores(n)
    rng = np.random.default_rng(n)
    with parallel.one_blas_thread():
        for _ in range(150):
            m = int(rng.integers(2 * parallel.ALIGN, 3000))
            k = int(rng.integers(1, 400))
            c = int(rng.choice([1, 2, 3, int(rng.integers(1, 130))]))
            A = rng.normal(size=(m, k))
            if rng.random() < 0.5:  # a transposed view, as A' is in the backward pass
                A = np.ascontiguousarray(A.T).T
            B = rng.normal(size=(k, c))
            if rng.random() < 0.3:
                B = np.ascontiguousarray(B.T).T
            whole = A @ B
            out = np.full_like(whole, np.nan)
            assert parallel.worth_bands((A, B), out, True) == (m * k * c >= parallel.SPLIT)
            parallel.in_bands(np.matmul, (A, B), out, matmul=True)
            assert np.array_equal(out, whole), (m, k, c)


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


def test_one_blas_thread_restores_the_count_even_on_ctrl_c(cores):
    cores(2)
    before = _blas_threads()
    if before is None:
        pytest.skip("numpy's BLAS here cannot be asked for its threads")
    with pytest.raises(KeyboardInterrupt):
        with parallel.one_blas_thread():
            assert _blas_threads() == 1
            assert parallel.bands() == 2
            with parallel.one_blas_thread():  # nested: still one thread inside
                assert _blas_threads() == 1
            assert _blas_threads() == 1 and parallel.bands() == 2
            raise KeyboardInterrupt
    assert _blas_threads() == before
    assert parallel._SINGLE == 0


def test_where_the_blas_cannot_be_asked_nothing_changes(cores, monkeypatch):
    cores(2)
    for name in parallel._ONE_THREAD_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(parallel, "_BLAS", [None])
    with parallel.one_blas_thread():
        assert parallel.bands() == 1  # bands would fight a BLAS that keeps its threads
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")  # told by the environment
    assert parallel.bands() == 2


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


@pytest.mark.parametrize("batch", [None, 100])
def test_training_sets_the_blas_aside_only_for_full_batches_of_large_arrays(batch, cores,
                                                                           monkeypatch, tmp_path):
    """Full batches of large arrays train in bands (the BLAS on one thread meanwhile, its
    count restored after, Ctrl-C included); minibatches keep the BLAS's threads. Either way
    the params are those of one thread without bands, bit for bit."""
    cores(2)
    path = tmp_path / "big.net"
    path.write_text(BIG)
    net = Network(BIG, str(path))
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (700, 2))
    data = (X, (X[:, :1] * X[:, 1:] > 0).astype(float))
    options = {**net.options, "epochs": 30, "rate": 0.5, "batch": batch}
    entered = []
    real = parallel.one_blas_thread

    def spy():
        entered.append(1)
        return real()

    monkeypatch.setattr(parallel, "one_blas_thread", spy)
    monkeypatch.setattr(parallel, "SPLIT", 256)
    before = _blas_threads()
    start = initial_params(net, 0)
    got = train(net, {k: v.copy() for k, v in start.items()}, data, options)
    assert len(entered) == (batch is None)
    assert (parallel._POOL is not None) == (batch is None), "bands expected for full batches"
    assert _blas_threads() == before
    with monkeypatch.context() as m:  # the same run without bands
        m.setattr(parallel, "bands", lambda: 1)
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
