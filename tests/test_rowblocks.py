"""Training's tapes a block of rows at a time (cgcalc/rowblocks.py): the numbers of the whole tape
(to rounding: the sums over rows add blocks' shares), the same bits on any number of cores,
and whole runs where blocks do not suit."""

from __future__ import annotations

import numpy as np
import pytest

from pathlib import Path

from cgcalc import parallel, rowblocks
from cgcalc.net import Network, backprop
from cgcalc.net.data import file_data
from cgcalc.net.params import initial_params
from cgcalc.net.train import train

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

ACTIVATIONS = ["tanh", "sigmoid", "relu", "softplus", "abs"]


def random_net(seed):
    """A network drawn at random: 1 to 3 hidden layers of 1 to 70 units, each with a bias
    column or a bias row, some fed two layers joined or some of a layer's columns, a
    cross_entropy, mse or softmax cost."""
    rng = np.random.default_rng(seed)
    n_in = int(rng.integers(1, 4))
    cost = ["ce", "mse", "softmax"][seed % 3]
    k = 1 if cost == "ce" else int(rng.integers(2, 5))
    lines = [f"input X[{n_in}]", f"target y[{k}]"]
    prev, width, last, last_width = "X", n_in, None, 0
    for i in range(int(rng.integers(1, 4))):
        w = int(rng.integers(1, 71))
        act = ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))]
        into, into_width = prev, width
        if last is not None and rng.random() < 0.4:  # the two layers before, joined
            into, into_width = f"[{prev}, {last}]", width + last_width
        elif width > 1 and rng.random() < 0.3:  # some columns of the layer before
            into, into_width = f"cols({prev}, 1, {width})", width - 1
        if rng.random() < 0.5:
            lines.append(f"param W{i}[{into_width + 1}, {w}] ~ normal(0, 0.5)")
            inside = into[1:-1] if into.startswith("[") else into
            lines.append(f"H{i} = {act}([{inside}, 1] @ W{i})")
        else:
            lines.append(f"param W{i}[{into_width}, {w}] ~ normal(0, 0.5)")
            lines.append(f"param b{i}[1, {w}] ~ normal(0, 0.5)")
            lines.append(f"H{i} = {act}({into} @ W{i} + b{i})")
        last, last_width, prev, width = prev, width, f"H{i}", w
    lines.append(f"param V[{width + 1}, {k}] ~ normal(0, 0.5)")
    lines.append(f"Z = [{prev}, 1] @ V")
    lines += {"ce": ["P = sigmoid(Z)", "C = cross_entropy(P, y)"],
              "mse": ["P = Z", "C = mse(P, y)"],
              "softmax": ["P = softmax(Z)", "C = softmax_cross_entropy(Z, y)"]}[cost]
    lines += ["output P", "minimize C"]
    return Network("\n".join(lines) + "\n", f"random{seed}.net"), cost


def data_for(net, cost, rows, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (rows, net.width(net.inputs)))
    k = net.width(net.targets)
    if cost == "ce":
        Y = (X[:, :1] * X[:, -1:] > 0).astype(float)
    elif cost == "softmax":
        Y = np.eye(k)[rng.integers(k, size=rows)]
    else:
        Y = rng.normal(size=(rows, k))
    return X, Y


def close(got, want):
    """Equal but for rounding: within 1e-12 of the largest entry (a block's share of a sum
    is added in another order than the whole product's)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    assert np.all(np.isfinite(got) == np.isfinite(want))
    scale = max(1.0, float(np.max(np.abs(want[np.isfinite(want)]), initial=0.0)))
    off = np.abs(np.where(np.isfinite(want), got - want, 0))
    assert np.max(off, initial=0.0) <= 1e-12 * scale


def runs(tape, net, data, seeds, check_plan=True):
    """The tape's outputs for params of each seed, run whole and in blocks (the first run with
    buffers is whole, and sizes the blocks)."""
    envs = [net.env(initial_params(net, s), data) for s in seeds]
    template = tape.prepare(envs[0])
    buffers: dict = {}
    whole, blocked = [], []
    for env in envs:
        whole.append([np.array(a) for a in tape.run_prepared(template, env)])
        blocked.append([np.array(a) for a in tape.run_prepared(template, env, buffers)])
    return whole, blocked, buffers.get("blocks")


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 32 rows (the least), so a few hundred rows make many blocks and every lane;
    a pool of threads of the test's own (as many as the most cores it asks for)."""
    monkeypatch.setattr(rowblocks, "BLOCK_ENTRIES", 1)
    monkeypatch.setattr(rowblocks, "LEAST_ROWS", parallel.ALIGN)
    monkeypatch.setattr(parallel, "cores", lambda: 2)
    monkeypatch.setattr(parallel, "_POOL", parallel._Pool(4))
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")  # lanes on both cores, whatever the BLAS
    yield
    if parallel._POOL is not None:
        parallel._POOL.shutdown()


@pytest.mark.parametrize("seed", range(15))
@pytest.mark.parametrize("rows", [1, 45, 700])
def test_blocks_give_the_whole_tapes_numbers(seed, rows, small_blocks):
    net, cost = random_net(seed)
    data = data_for(net, cost, rows, seed)
    (full, grads, _), _ = backprop.train_tapes(net)
    for tape in (full, grads):
        whole, blocked, plan = runs(tape, net, data, [seed, seed + 100, seed + 200])
        if rows <= parallel.ALIGN:
            assert plan is False  # one block is the whole run
            continue
        assert plan, "the tape did not run in blocks"
        assert len(plan.lanes) == min(rowblocks.LANES, -(-rows // parallel.ALIGN))
        for w, b in zip(whole[1:], blocked[1:]):
            for x, y in zip(b, w):
                close(x, y)


@pytest.mark.parametrize("cores", [1, 2, 3, 5])
def test_blocks_give_the_same_bits_on_any_number_of_cores(cores, small_blocks, monkeypatch):
    """Lanes are the shapes' alone: on 1, 2, 3 or 5 cores the very same bits."""
    net, cost = random_net(4)
    data = data_for(net, cost, 1000)
    (full, _, _), _ = backprop.train_tapes(net)
    monkeypatch.setattr(parallel, "cores", lambda: 1)
    _, one, _ = runs(full, net, data, [0, 1, 2])
    monkeypatch.setattr(parallel, "cores", lambda: cores)
    _, many, plan = runs(full, net, data, [0, 1, 2])
    assert plan and len(plan.lanes) == rowblocks.LANES
    for a, b in zip(one, many):
        for x, y in zip(a, b):
            assert np.array_equal(x.view(np.int64), y.view(np.int64))


def test_training_in_blocks_gives_the_same_params_on_any_number_of_cores(monkeypatch):
    """Whole trainings on 1 and 2 cores (the BLAS on one thread on each, as on a machine of one
    core; set aside by training on 2): the same bits; and, on a smooth network, close to the
    whole tape's training (where a relu's bend is near, a last bit can change which side a
    number falls on, and training carries that on)."""
    blas = parallel._openblas()
    if blas is None:
        pytest.skip("numpy's BLAS here cannot be asked for its threads")
    net = big_net()
    data = data_for(net, "ce", 3000)
    options = {**net.options, "epochs": 12, "rate": 0.5}
    start = initial_params(net, 0)

    def trained():
        return train(net, {k: v.copy() for k, v in start.items()}, data, options).params

    monkeypatch.setattr(parallel, "_POOL", None)
    monkeypatch.setattr(parallel, "cores", lambda: 2)
    two = trained()
    monkeypatch.setattr(parallel, "cores", lambda: 1)
    before = blas[0]()
    blas[1](1)
    try:
        one = trained()
        monkeypatch.setattr(rowblocks, "plan", lambda *a: None)
        whole = trained()
    finally:
        blas[1](before)
    for p in net.params:
        assert np.array_equal(one[p], two[p])
        close(one[p], whole[p])
    if parallel._POOL is not None:
        parallel._POOL.shutdown()


JOINED_THEN_ELEMENTWISE = """input X[2]
target y[1]
param B[2, 4] ~ normal(0, 1)
param A[3, 5] ~ normal(0, 1)
param V[10, 1] ~ normal(0, 1)
H = tanh([X, 1] @ A)
J = tanh([H, X @ B])
Q = [J, 1] @ V
C = mse(Q, y)
minimize C
"""

A_TRANSPOSE_OF_ROWS = JOINED_THEN_ELEMENTWISE.replace("C = mse(Q, y)",
                                                      "C = mse(Q, y) + sum(H' * 2) / 1000")

COLUMNS_READ_BY_THE_COST = """input X[2]
target y[1]
param A[2, 3] ~ normal(0, 1)
param b[1, 3] ~ normal(0, 1)
param B[2, 3] ~ normal(0, 1)
Z = tanh(X @ A + b)
Q = cols(Z, 1, 2)
U = tanh(X @ B) * 2
T = cols(U, 1, 2)
C = mse(Q, y) + mse(T * Q, y)
minimize C
"""

ONLY_SUMS_OF_THE_DATA = """input X[2]
target y[1]
param b[1, 1] ~ normal(0, 0.5)
C = -mean(y * b) + sum(b * b)
minimize C
"""

A_SLICE_ALSO_WANTED_WHOLE = """input X[1]
target y[1]
param W[1, 40] ~ normal(0, 0.5)
param U[20, 40] ~ normal(0, 0.3)
param V[40, 1] ~ normal(0, 0.3)
Z = tanh(X @ W) * 2
A = cols(Z, 0, 20)
C = mse(tanh(A @ U) @ V, y) + mean(A)
minimize C
"""

ROW_STEP_AFTER_A_MEAN = """input X[2]
target y[1]
param A[3, 5] ~ normal(0, 1)
param V[6, 1] ~ normal(0, 1)
H = tanh([X, 1] @ A)
K = H - mean(H)
Q = [K, 1] @ V
C = mse(Q, y)
minimize C
"""


@pytest.mark.parametrize("text, blocked", [(JOINED_THEN_ELEMENTWISE, (True, True)),
                                           (COLUMNS_READ_BY_THE_COST, (True, True)),
                                           (A_SLICE_ALSO_WANTED_WHOLE, (True, True)),
                                           (ONLY_SUMS_OF_THE_DATA, (True, False)),
                                           (ROW_STEP_AFTER_A_MEAN, (False, False)),
                                           (A_TRANSPOSE_OF_ROWS, (False, False))])
def test_views_of_buffers_and_steps_blocks_cannot_take(text, blocked, small_blocks):
    """A gradient through ``tanh([H, X @ B])`` reads columns of the tanh's gradient (a
    view of a block's buffer: the buffer is not given to a later step while the view is
    used; nor while a view of one, ``cols(Z, 1, 2)``, is read by the cost, its rows kept
    whole; nor ``cols(Z, 0, 20)`` read by a mean and by later block steps). A row step after a
    mean over every row, or the gradient through ``H'`` (rows made from columns), cannot run
    in blocks, and a tape whose blocks would only sum the data's rows has none: the tape runs
    whole, and is right."""
    net = Network(text, "t.net")
    data = data_for(net, "mse", 300)
    (full, grads, _), _ = backprop.train_tapes(net)
    for tape, blocks in zip((full, grads), blocked):  # (the cost's tape and the gradients')
        whole, got, plan = runs(tape, net, data, [0, 1, 2])
        assert bool(plan) == blocks
        for w, b in zip(whole, got):
            for x, y in zip(b, w):
                close(x, y)


def test_a_recurrent_network_unrolled_runs_in_blocks(small_blocks):
    path = EXAMPLES / "delay.net"
    net = Network(path.read_text(), str(path))
    data = file_data(net)
    (full, grads, _), _ = backprop.train_tapes(net)
    for tape in (full, grads):
        whole, got, plan = runs(tape, net, data, [0, 1])
        assert plan and len(plan.lanes) == 2  # 64 sequences: two blocks of 32
        for w, b in zip(whole, got):
            for x, y in zip(b, w):
                close(x, y)


def test_blocks_keep_a_few_small_arrays(monkeypatch):
    """10,000 rows of a 2-64-64-1 network: blocks of under 1,024 rows, a lane's arrays used
    again by later steps (a handful, not one per step), nothing of m rows kept but what is
    wanted whole."""
    net = big_net()
    data = data_for(net, "ce", 10_000)
    (full, grads, _), _ = backprop.train_tapes(net)
    _, _, plan = runs(grads, net, data, [0, 1])
    assert max(hi - lo for lane in plan.lanes for lo, hi in lane) <= 1024
    assert len(plan.buffer_shapes) <= 8 < len(plan.steps)
    assert not plan.whole  # the gradients alone: no array of every row
    _, _, plan = runs(full, net, data, [0, 1])
    assert [np.shape(a) for a in plan.whole.values()] == [(10_000, 1)]  # P, for the cost


class _Tape:
    """A tape of numpy steps written out by hand (what rowblocks.plan reads of a Tape), each
    slot freed after its last use unless it is an output, as the Tape frees them."""

    def __init__(self, n_slots, steps, rows, outputs):
        from operator import itemgetter

        self.n_slots, self.row_slots, self.outputs = n_slots, frozenset(rows), outputs
        self.steps, self.step_args, self.step_rules = [], {}, {}
        last = {a: out for fn, out, args in steps for a in args}
        for fn, out, args in steps:
            free = tuple({a for a in args if last[a] == out and a not in outputs})
            self.steps.append((fn, out, itemgetter(*args), len(args) == 1, free))
            self.step_args[out], self.step_rules[out] = args, "local"


@pytest.mark.parametrize("outputs", [[5], [3, 5]])
def test_a_buffer_goes_to_a_later_step_only_once_no_view_of_it_is_used(outputs, small_blocks):
    """Slot 3 is a view of slot 2's buffer, read after slot 2's last use: slot 4, of the same
    shape, must not be written into that buffer meanwhile (nor when slot 3 is also wanted
    whole, its rows copied into a whole array)."""
    X = np.arange(400.0).reshape(100, 4)

    def flipped(x):
        return x[:, ::-1]

    tape = _Tape(6, [(np.add, 2, (0, 1)), (flipped, 3, (2,)), (np.multiply, 4, (0, 1)),
                     (np.add, 5, (3, 4))], rows={0, 2, 3, 4, 5}, outputs=outputs)
    mem = [X, 2.0, None, None, None, None]
    mem[2] = X + 2.0
    mem[3] = flipped(mem[2])
    mem[4] = X * 2.0
    mem[5] = mem[3] + mem[4]
    plan = rowblocks.plan(tape, mem, np)
    assert len(plan.lanes) == rowblocks.LANES
    got = plan.run([X, 2.0, None, None, None, None])
    assert np.array_equal(got[-1], (X + 2.0)[:, ::-1] + X * 2.0)
    if len(outputs) == 2:
        assert np.array_equal(got[0], (X + 2.0)[:, ::-1])


@pytest.mark.parametrize("fault", [ValueError, TypeError])
def test_a_block_step_that_fails_leaves_the_tape_running_whole(fault, small_blocks,
                                                               monkeypatch):
    """A step that will not fill a block's array (raises ValueError or TypeError) makes that
    run, and every later one, a whole run: the same numbers, no error."""
    net, cost = random_net(1)
    data = data_for(net, cost, 300)
    (full, _, _), _ = backprop.train_tapes(net)
    env = net.env(initial_params(net, 0), data)
    template = full.prepare(env)
    want = [np.array(a) for a in full.run_prepared(template, env)]
    buffers: dict = {}
    full.run_prepared(template, env, buffers)
    assert buffers["blocks"]
    calls = []

    def failing(self, k, mem):
        calls.append(k)
        raise fault("a block's array will not do")

    monkeypatch.setattr(rowblocks.Blocks, "_lane", failing)
    for _ in range(2):
        got = full.run_prepared(template, env, buffers)
        for a, b in zip(got, want):
            assert np.array_equal(a, b)
    assert buffers["blocks"] is False and calls  # tried once, then whole
    assert len(calls) <= rowblocks.LANES


BIG_FILE = """input X[2]
target y[1]
param W1[3, 64] ~ normal(0, 0.5)
param W2[65, 64] ~ normal(0, 0.2)
param W3[65, 1] ~ normal(0, 0.2)
H1 = tanh([X, 1] @ W1)
H2 = tanh([H1, 1] @ W2)
P = sigmoid([H2, 1] @ W3)
C = cross_entropy(P, y)
output P
minimize C
data "points.csv"
train epochs=100000000 rate=0.5 seed=0
"""


def big_net(units=64):
    """BIG_FILE's network with ``units`` in each hidden layer, no data file."""
    text = BIG_FILE.replace('data "points.csv"\n', "")
    return Network(text.replace("64", str(units)).replace("65", str(units + 1)), "big.net")


@pytest.mark.parametrize("delay", [1.0, 1.6, 2.3])
def test_ctrl_c_while_blocks_run_on_both_cores_saves_the_params_reached(delay, tmp_path):
    import json
    import signal
    import subprocess
    import sys
    import time

    X = np.random.default_rng(0).uniform(-1, 1, (4000, 2))
    np.savetxt(tmp_path / "points.csv", np.hstack([X, X[:, :1] * X[:, 1:] > 0]),
               delimiter=",")
    (tmp_path / "big.net").write_text(BIG_FILE)
    save = tmp_path / "p.json"
    p = subprocess.Popen([sys.executable, "-m", "cgcalc", "train", "big.net", "-q",
                          "--save", str(save)], cwd=tmp_path, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    time.sleep(delay)
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        pytest.fail("SIGINT was lost: training went on")
    err = err.decode()
    assert p.returncode == 130, err[-1500:]
    assert "Traceback" not in err and "internal error" not in err
    doc = json.loads(save.read_text(), parse_constant=lambda c: pytest.fail(c))
    assert np.array(doc["W2"]).shape == (65, 64) and np.all(np.isfinite(doc["W2"]))
    assert sorted(q.name for q in tmp_path.iterdir()) == ["big.net", "p.json", "points.csv"]


@pytest.mark.parametrize("width", [64, 200, 600])
def test_blocks_are_as_many_rows_as_fit_the_cache_and_never_fewer_than_least_rows(width):
    """Blocks of BLOCK_ENTRIES numbers in their widest array, but never fewer than LEAST_ROWS
    rows (a layer of 600 units: 109 rows would fit; each block's products would read the
    weights for too little work). The numbers are the whole tape's either way."""
    net = big_net(width)
    data = data_for(net, "ce", 3000)
    (_, grads, _), _ = backprop.train_tapes(net)
    whole, got, plan = runs(grads, net, data, [0, 1])
    rows = [hi - lo for lane in plan.lanes for lo, hi in lane]
    fit = rowblocks.BLOCK_ENTRIES // (width + 1)
    assert min(rows) >= min(max(rowblocks.LEAST_ROWS, fit), 3000) * 0.75  # (as many a lane)
    assert max(rows) <= max(rowblocks.LEAST_ROWS, fit)
    for w, b in zip(whole, got):
        for x, y in zip(b, w):
            close(x, y)
