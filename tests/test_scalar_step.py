"""A small network's training step written out as straight-line float code
(cgcalc/net/scalar_step.py) against the tape, the reference: the same gradients to 1e-12
relative, on nets that use every op it writes out, at params drawn at random; where a value
leaves a function's domain it hands the step back to the tape; training gives the same params
either way."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cgcalc.net import Network, backprop
from cgcalc.net import scalar_step
from cgcalc.net.data import file_data
from cgcalc.net.params import initial_params
from cgcalc.net.train import train

ROOT = Path(__file__).resolve().parents[1]

ROWS = """
data {
  0 0 -> %s
  0 1 -> %s
  1 0 -> %s
  2 1 -> %s
}
"""

NETS = {
    "xor": (ROOT / "examples" / "xor.net").read_text(),
    # mse, softplus, tanh, a bias row broadcast over the rows (like / sum_to on the way back)
    "regression": """
input  X[2]
target y[1]
param  W[2, 3] ~ uniform(-1, 1)
param  b[1, 3] ~ uniform(-1, 1)
param  V[3, 1] ~ uniform(-1, 1)
H = softplus(X @ W + b) + tanh(X @ W) * b
P = H @ V
C = mse(P, y)
output P
minimize C
""" + ROWS % ("0.5", "-1", "2", "0"),
    # sum, mean, transpose, softplus, exp, cos, sqrt, log, division, powers, sigmoid
    "functions": """
input  X[2]
target y[2]
param  W[2, 2] ~ uniform(0.5, 1)
Z = X @ W
P = softplus(Z) / (1 + exp(-Z*Z)) + Z / (2 + cos(Z))
D = mean(log(1 + sigmoid(Z))^3) + mean(rowsum(Z)) * mean(W)
C = mean((P - y)^2) + sum(W' @ W) / 10 + mean(sqrt(1 + Z*Z)) + D
output P
minimize C
""" + ROWS % ("1 0", "0 1", "1 1", "0.5 2"),
    # a recurrent net: zeros, the state through three steps, the last state's prediction
    "recurrent": """
steps 3
input  x[t, 1]
target y[1]
param  Wx[1, 2] ~ uniform(-1, 1)
param  Wh[2, 2] ~ uniform(-1, 1)
param  b[1, 2]  ~ uniform(-1, 1)
param  V[3, 1]  ~ uniform(-1, 1)
h[0] = zeros(2)
h[t] = tanh(x[t] @ Wx + h[t-1] @ Wh + b)
P = sigmoid([h[T], 1] @ V)
C = cross_entropy(P, y)
output P
minimize C
data {
  0 1 0 -> 1
  1 1 0 -> 0
  0 0 1 -> 1
  1 0 1 -> 0
}
""",
}


def setup(text, seed, filename="t.net"):
    net = Network(text, filename)
    params = initial_params(net, rng=np.random.default_rng(seed))
    env = net.env(params, file_data(net))
    (_, grads_tape, _), nodes = backprop.train_tapes(net)
    return net, nodes, env, grads_tape


def same(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = 1 + float(np.max(np.abs(a), initial=0))
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-12, atol=1e-12 * scale)


@pytest.mark.parametrize("name", NETS)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_written_out_step_gives_the_tapes_gradients(name, seed):
    net, nodes, env, tape = setup(NETS[name], seed)
    step = scalar_step.compile_step(net, nodes, env, calls=10**9)
    assert step is not None, f"{name}: not written out"
    got, want = step.run(env), tape.run(env)
    assert all(same(w, g) for w, g in zip(want, got))


def test_a_fault_hands_the_step_back_to_the_tape():
    """sqrt of a negative number: math raises where numpy says nan; the step says None."""
    text = NETS["functions"].replace("sqrt(1 + Z*Z)", "sqrt(Z - 0.6)")
    net, nodes, env, tape = setup(text, 0)
    step = scalar_step.compile_step(net, nodes, env, calls=10**9)
    assert step is not None
    assert step.run(env) is None
    assert any(np.isnan(g).any() for g in tape.run(env))


def _train_counting(net, params, options, monkeypatch):
    """Train, counting the epochs the written-out code ran (one step, or many in one call)."""
    epochs = []
    real_run, real_descend = scalar_step.ScalarStep.run, scalar_step.ScalarStep.descend

    def run(self, env):
        epochs.append(1)
        return real_run(self, env)

    def descend(self, env, n, rate):
        done = real_descend(self, env, n, rate)
        epochs.append(n if done else 0)
        return done

    monkeypatch.setattr(scalar_step.ScalarStep, "run", run)
    monkeypatch.setattr(scalar_step.ScalarStep, "descend", descend)
    result = train(net, {k: v.copy() for k, v in params.items()}, file_data(net), options)
    monkeypatch.undo()
    return result, sum(epochs)


def _taped(net, params, options, monkeypatch):
    monkeypatch.setattr("cgcalc.net.train.compile_step", lambda *a, **k: None)
    result = train(net, {k: v.copy() for k, v in params.items()}, file_data(net), options)
    monkeypatch.undo()
    return result


@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
@pytest.mark.parametrize("name", ["xor", "regression", "recurrent"])
def test_training_reaches_the_same_params_either_way(name, optimizer, monkeypatch):
    """Plain descent runs its unwatched epochs many to a call, params kept in floats from
    epoch to epoch; momentum steps one epoch at a time: the params are the tape's either way."""
    net = Network(NETS[name], "t.net")
    params = initial_params(net, rng=np.random.default_rng(5))
    options = {**net.options, "epochs": 1000, "rate": 0.3, "optimizer": optimizer,
               "beta": 0.9}  # most epochs are not watched
    written, epochs = _train_counting(net, params, options, monkeypatch)
    assert epochs > 700  # the written-out code did the training (1 epoch in 5 is watched)
    taped = _taped(net, params, options, monkeypatch)
    for k in net.params:
        assert same(taped.params[k], written.params[k])
    assert same(taped.cost, written.cost)
    assert written.history == pytest.approx(taped.history, rel=1e-12)


def test_a_fault_in_a_run_of_epochs_changes_nothing():
    """sqrt of a negative number: math raises where numpy says nan; the run says False and
    leaves the params as they were."""
    text = NETS["functions"].replace("sqrt(1 + Z*Z)", "sqrt(Z - 0.6)")
    net, nodes, env, tape = setup(text, 0)
    step = scalar_step.compile_step(net, nodes, env, calls=10**9, descend=True)
    assert step.descends  # it runs epochs, and this one meets the fault
    before = [np.copy(v) for v in env]
    assert step.descend(env, 5, 0.1) is False
    assert all(np.array_equal(a, b) for a, b in zip(before, env))


def test_epochs_a_run_declines_go_one_at_a_time(monkeypatch):
    """Every other run of epochs declined (as on a fault): those epochs step one at a time,
    and the params are the tape's all the same."""
    net = Network(NETS["regression"], "t.net")
    params = initial_params(net, rng=np.random.default_rng(1))
    options = {**net.options, "epochs": 400, "rate": 0.05}
    real, calls = scalar_step.ScalarStep.descend, []

    def descend(self, env, n, rate):
        calls.append(n)
        return len(calls) % 2 == 0 and real(self, env, n, rate)

    monkeypatch.setattr(scalar_step.ScalarStep, "descend", descend)
    written = train(net, {k: v.copy() for k, v in params.items()}, file_data(net), options)
    monkeypatch.undo()
    assert len(calls) > 20
    taped = _taped(net, params, options, monkeypatch)
    for k in net.params:
        assert same(taped.params[k], written.params[k])


def test_ctrl_c_in_a_run_of_epochs_keeps_the_params_of_the_epochs_done(monkeypatch):
    net = Network(NETS["xor"], "t.net")
    params = initial_params(net, rng=np.random.default_rng(3))
    options = {**net.options, "epochs": 1000, "rate": 0.3}  # watched: 1, 5, 10, ...
    real, runs = scalar_step.ScalarStep.descend, []

    def descend(self, env, n, rate):
        if len(runs) == 3:
            raise KeyboardInterrupt
        runs.append(n)
        return real(self, env, n, rate)

    monkeypatch.setattr(scalar_step.ScalarStep, "descend", descend)
    stopped = train(net, {k: v.copy() for k, v in params.items()}, file_data(net), options)
    monkeypatch.undo()
    assert stopped.interrupted and stopped.epochs == 15
    taped = _taped(net, params, {**options, "epochs": stopped.epochs}, monkeypatch)
    for k in net.params:
        assert same(taped.params[k], stopped.params[k])


@pytest.mark.parametrize("name", NETS)
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_every_array_op_written_out_matches_the_tape(name, seed):
    """The gradients use few array ops; the costs and equations use the rest (sum, mean, mse,
    cross_entropy, rowsum, ...): the same comparison on those nodes."""
    net, _, env, _ = setup(NETS[name], seed)
    outputs = [net.cost, *net.graph.bound.values()]
    ops_used = {n.op for n in backprop.topological(outputs)}
    step = scalar_step.compile_step(net, outputs, env, calls=10**9)
    assert step is not None, f"{name}: not written out ({sorted(ops_used)})"
    want = backprop.tape(net, outputs).run(env)
    assert all(same(w, g) for w, g in zip(want, step.run(env)))


def test_the_array_ops_written_out_are_all_tested():
    used = set()
    for text in NETS.values():
        net = Network(text, "t.net")
        outputs = [net.cost, *net.graph.bound.values(), *backprop.gradients(net).values()]
        used |= {n.op for n in backprop.topological(outputs)}
    assert set(scalar_step.ARRAY_OPS) - used <= {"size", "rows"}  # folded away: below


def test_size_and_rows_of_a_param():
    net, _, env, _ = setup(NETS["regression"], 1)
    b, W = net.builder, net.var_nodes["W"]
    outputs = [b.node("size", W), b.node("rows", W), b.node("mul", b.node("size", W), W)]
    step = scalar_step.compile_step(net, outputs, env, calls=10**9)
    want = backprop.tape(net, outputs).run(env)
    assert [float(np.asarray(w).ravel()[0]) for w in want[:2]] == [6.0, 2.0]
    assert all(same(w, g) for w, g in zip(want, step.run(env)))


def test_empty_arrays_are_written_out_as_numpy_has_them():
    """A zero-width slice: its matrix product is a sum of no terms, numpy's 0."""
    empty = "cols(L2, 1, 1) @ cols(theta2', 0, 0)'"
    text = NETS["xor"].replace("L3 = sigmoid(L2 @ theta2)",
                               f"L3 = sigmoid(L2 @ theta2) + {empty}")
    assert empty in text
    net, nodes, env, tape = setup(text, 3)
    step = scalar_step.compile_step(net, nodes, env, calls=10**9)
    assert step is not None
    assert all(same(w, g) for w, g in zip(tape.run(env), step.run(env)))


@pytest.mark.parametrize("jump", ["step(X @ W)", "sign(X @ W)", "abs(X @ W)", "relu(X @ W)"])
def test_ops_that_jump_stay_on_the_tape(jump):
    """At a jump a last-bit difference changes the gradient: those graphs keep the tape."""
    text = f"""
input  X[2]
target y[1]
param  W[2, 1] ~ uniform(-1, 1)
P = {jump} + X @ W
C = mse(P, y)
output P
minimize C
""" + ROWS % ("0", "1", "1", "0")
    net, nodes, env, _ = setup(text, 0)
    assert scalar_step.compile_step(net, nodes, env, calls=10**9) is None


def test_large_arrays_and_long_steps_stay_on_the_tape():
    text = NETS["xor"].replace("train epochs=10000", "train epochs=1")
    net, nodes, env, _ = setup(text, 0)
    assert scalar_step.compile_step(net, nodes, env, calls=1) is None  # too long for 1 call
    spirals = ROOT / "examples" / "spirals.net"
    net, nodes, env, _ = setup(spirals.read_text(), 0, str(spirals))  # hundreds of rows
    assert scalar_step.compile_step(net, nodes, env, calls=10**9) is None


def test_after_a_fault_the_epochs_to_the_next_watched_one_go_one_at_a_time(monkeypatch):
    """A run of epochs that meets a fault is not tried again before the next watched epoch
    (else each epoch of the stretch would redo the run up to the fault: quadratic)."""
    net = Network(NETS["xor"], "t.net")
    params = initial_params(net, rng=np.random.default_rng(2))
    options = {**net.options, "epochs": 4000, "rate": 0.3}  # 200 stretches of 19 epochs
    calls = []
    monkeypatch.setattr(scalar_step.ScalarStep, "descend",
                        lambda self, env, n, rate: calls.append(n) or False)
    declined = train(net, {k: v.copy() for k, v in params.items()}, file_data(net), options)
    monkeypatch.undo()
    assert 0 < len(calls) <= 200
    taped = _taped(net, params, options, monkeypatch)
    for k in net.params:
        assert same(taped.params[k], declined.params[k])


def test_a_call_runs_a_bounded_number_of_epochs(monkeypatch):
    """So Ctrl-C loses a fraction of a second at most, however many epochs lie between two
    watched ones: here one epoch a call, and the same params."""
    monkeypatch.setattr(scalar_step, "PER_DESCENT", 1)
    net = Network(NETS["xor"], "t.net")
    params = initial_params(net, rng=np.random.default_rng(4))
    options = {**net.options, "epochs": 2000, "rate": 0.3}
    written, epochs = _train_counting(net, params, options, monkeypatch)
    assert epochs > 1500
    sizes = []
    real = scalar_step.ScalarStep.descend
    monkeypatch.setattr(scalar_step, "PER_DESCENT", 1)
    monkeypatch.setattr(scalar_step.ScalarStep, "descend",
                        lambda self, env, n, rate: sizes.append(n) or real(self, env, n, rate))
    train(net, {k: v.copy() for k, v in params.items()}, file_data(net), options)
    monkeypatch.undo()
    assert sizes and set(sizes) == {1}
    taped = _taped(net, params, options, monkeypatch)
    for k in net.params:
        assert same(taped.params[k], written.params[k])


def test_only_plain_descent_writes_out_runs_of_epochs():
    net, nodes, env, _ = setup(NETS["xor"], 0)
    assert scalar_step.compile_step(net, nodes, env, calls=10**9, descend=True).descends
    step = scalar_step.compile_step(net, nodes, env, calls=10**9)  # momentum, adam
    assert not step.descends and step.descend(env, 5, 0.1) is False


SHARED = {  # a product, and a transpose, that several steps written as one compute inside
    "two pieces": """
input  X[2]
target y[1]
param  W1[3, 2] ~ uniform(-1, 1)
param  V1[3, 2] ~ uniform(-1, 1)
param  W2[5, 1] ~ uniform(-1, 1)
H = sigmoid([X, 1] @ W1)
K = tanh([X, 1] @ V1)
P = sigmoid([H, K, 1] @ W2)
C = cross_entropy(P, y)
output P
minimize C
""" + ROWS % ("0", "1", "1", "0"),
    "two heads": """
input  X[2]
target y[1]
param  W1[3, 2] ~ uniform(-1, 1)
param  W2[3, 1] ~ uniform(-1, 1)
param  W3[3, 1] ~ uniform(-1, 1)
H = sigmoid([X, 1] @ W1)
P = sigmoid([H, 1] @ W2)
Q = [H, 1] @ W3
C = cross_entropy(P, y) + mean(cols(Q * Q, 0, 1))
output P
minimize C
""" + ROWS % ("0", "1", "1", "0"),
}


@pytest.mark.parametrize("name", [*NETS, *SHARED, "and", "delay", "first", "line", "spirals"])
def test_steps_the_tape_writes_as_one_still_count_as_the_calls_they_stand_for(name, monkeypatch):
    """Whether a small net trains on float code weighs it against the tape's numpy calls; a
    tape step that stands for several nodes (A' @ G with its transpose, the columns of a
    product) counts as what it stands for, so the choice is the one made before such steps
    were written as one (a net of XOR's shape on 16 rows ran on the tape, 2.8x slower)."""
    from cgcalc import evaluate

    text = NETS.get(name) or SHARED.get(name) or (ROOT / "examples" / f"{name}.net").read_text()
    path = ROOT / "examples" / f"{name}.net"

    def tape():
        net = Network(text, str(path))
        return backprop.train_tapes(net)[0][1]

    fused = tape()
    monkeypatch.setattr(evaluate, "_SPECIAL", {"add", "mul", "pow"})  # each node a step
    assert fused.calls == len(tape().steps)


def test_a_small_net_of_a_few_more_rows_still_trains_on_float_code(monkeypatch):
    """XOR's 2-2-1 shape on 16 rows: float code, as before the tape wrote steps as one."""
    import cgcalc.net.train as training

    rows = "\n".join(f"  {a} {b} -> {a ^ b}" for a in (0, 1) for b in (0, 1) for _ in range(4))
    text = NETS["xor"].split("data")[0] + "data {\n" + rows + "\n}\n"
    net = Network(text, "t.net")
    made, real = [], training.compile_step
    monkeypatch.setattr(training, "compile_step", lambda *a, **k: made.append(real(*a, **k))
                        or made[-1])
    start = initial_params(net, 0)
    train(net, start, file_data(net), {**net.options, "epochs": 400})
    assert len(made) == 1 and made[0] is not None
