"""Network files: the article's XOR net derived and trained on its own graph, checked against
textbook backpropagation written out here in numpy, and every class of bad input."""

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cgcalc import ops, parallel
from cgcalc.arraymath import tanh_from_exp
from cgcalc.cli import main
from cgcalc.errors import CgcalcError
from cgcalc.net import Network, backprop
from cgcalc.net.check import check as check_net
from cgcalc.net.data import file_data
from cgcalc.net.derivation import NetDerivation
from cgcalc.net.params import initial_params, load_params
from cgcalc.net.train import train as train_net

ROOT = Path(__file__).resolve().parents[1]
XOR = (ROOT / "examples" / "xor.net").read_text()


def net_of(text, name="t.net"):
    return Network(text, name)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def textbook_backprop(theta1, theta2, X, y):
    """The textbook deltas: delta3 = L3 - y; delta2 = (delta3 theta2') * L2 (1 - L2)."""
    m = X.shape[0]
    L1 = np.hstack([X, np.ones((m, 1))])
    A2 = sigmoid(L1 @ theta1)
    L2 = np.hstack([A2, np.ones((m, 1))])
    L3 = sigmoid(L2 @ theta2)
    delta3 = L3 - y
    delta2 = (delta3 @ theta2[:2].T) * A2 * (1 - A2)
    return L1.T @ delta2 / m, L2.T @ delta3 / m


def train(net, params, epochs, rate):
    return train_net(net, params, file_data(net), {**net.options, "epochs": epochs, "rate": rate})


def cost_of(net, params):
    return float(backprop.tape(net, [net.cost]).run(net.env(params, file_data(net)))[0])


def test_xor_gradients_equal_textbook_backprop_and_finite_differences():
    net = net_of(XOR)
    params = initial_params(net, 7)
    X, Y = file_data(net)
    want1, want2 = textbook_backprop(params["theta1"], params["theta2"], X, Y)
    got = dict(zip(net.params, backprop.tape(net, list(backprop.gradients(net).values())).run(net.env(params, file_data(net)))))
    assert np.allclose(got["theta1"], want1, rtol=1e-12, atol=1e-15)
    assert np.allclose(got["theta2"], want2, rtol=1e-12, atol=1e-15)
    h = 1e-6
    for p in net.params:
        for idx in np.ndindex(params[p].shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[p][idx] += h
            minus[p][idx] -= h
            numeric = (cost_of(net, plus) - cost_of(net, minus)) / (2 * h)
            assert math.isclose(got[p][idx], numeric, rel_tol=1e-6, abs_tol=1e-9)


def test_textbook_forms_of_the_gradients():
    net = net_of(XOR)
    d = NetDerivation(net, initial_params(net), file_data(net))
    assert d.gradient_text("theta2") == "L2' @ (L3 - y)/m"
    own = d.gradient_text("theta1", own_names_only=True)
    assert own.startswith("L1' @ (") and "cols((L3 - y) @ theta2', 0, 2)" in own
    assert own.count("sigmoid(L1 @ theta1)") == 2 and own.endswith("/m")
    assert d.count("theta1") == 1 and d.count("theta2") == 1
    local = {(d.name(e.out), d.name(e.inp)): d.local(e) for e in d.edges}
    assert local[("L3", "n3")] == "L3*(1 - L3)"  # the article's L3(1 - L3)


def test_hand_written_cost_equals_cross_entropy():
    hand = XOR.replace("C  = cross_entropy(L3, y)", "C  = mean(-y*log(L3) - (1-y)*log(1-L3))")
    a, b = net_of(XOR), net_of(hand)
    for seed in (0, 3, 9):
        params = initial_params(a, seed)
        assert math.isclose(cost_of(a, params), cost_of(b, params), rel_tol=1e-12)
        ga = backprop.tape(a, list(backprop.gradients(a).values())).run(a.env(params, file_data(a)))
        gb = backprop.tape(b, list(backprop.gradients(b).values())).run(b.env(params, file_data(b)))
        for x, y in zip(ga, gb):
            assert np.allclose(x, y, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("file, builtin, by_hand", [
    ("xor.net", "C  = cross_entropy(L3, y)", "C = sum(-y*log(L3) - (1 - y)*log(1 - L3))/m"),
    ("xor.net", "C  = cross_entropy(L3, y)", "C = mean(-y*log(L3) - (1-y)*log(1-L3))"),
    ("line.net", "C = mse(P, y)", "C = sum((P - y)^2)/(2*m)"),
    ("line.net", "C = mse(P, y)", "C = mean((P - y)^2)/2"),
])
def test_hand_written_cost_prints_the_same_gradient(file, builtin, by_hand):
    """Backpropagation's cancellation whichever way the cost is written: the adjoint of sum(...)/m
    meets the next factor as a scalar, and scalars leave linear ops (L2' @ (L3 - y)/m)."""
    path = ROOT / "examples" / file
    text = path.read_text()
    assert builtin in text
    nets = [Network(t, str(path)) for t in (text, text.replace(builtin, by_hand))]
    derivs = [NetDerivation(n, initial_params(n), file_data(n)) for n in nets]
    for p in nets[0].params:
        texts = [d.gradient_text(p, own_names_only=True) for d in derivs]
        assert texts[0] == texts[1]
        assert np.allclose(derivs[0].grad_values[p], derivs[1].grad_values[p], rtol=1e-10)


def test_cross_entropy_stays_finite_when_a_prediction_saturates():
    ce = ops.OPS["cross_entropy"].bind(np)
    p = np.array([[0.0], [1.0], [0.5]])
    y = np.array([[0.0], [1.0], [1.0]])
    with np.errstate(divide="ignore"):  # log(0) is -inf before the clamp, as intended
        assert math.isclose(ce(p, y), math.log(2) / 3, rel_tol=1e-12)
        assert math.isclose(ce(np.array([[0.0]]), np.array([[1.0]])), 100.0)
    # a confident sigmoid: L3 is exactly 1.0 in float64; the gradient is still finite
    net = net_of(XOR)
    params = initial_params(net)
    params["theta2"] = np.array([[50.0], [50.0], [50.0]])
    g = backprop.tape(net, list(backprop.gradients(net).values())).run(net.env(params, file_data(net)))
    assert all(np.isfinite(x).all() for x in g)
    assert np.isfinite(cost_of(net, params))


@pytest.mark.parametrize("seed", [2, 3, 5])
def test_training_learns_xor(seed):
    net = net_of(XOR)
    result = train(net, initial_params(net, seed), 10000, 0.5)
    X, Y = file_data(net)
    P = backprop.predict(net, result.params, X)
    assert result.cost < 0.01
    assert (P.round() == Y).all()
    assert result.history[0] > result.history[-1]


def test_initial_params_follow_one_generator_in_declared_order():
    net = net_of(XOR)
    rng = np.random.default_rng(2)
    want1 = rng.uniform(-1, 1, size=(3, 2))
    want2 = rng.uniform(-1, 1, size=(3, 1))
    got = initial_params(net)  # the file's seed is 2
    assert (got["theta1"] == want1).all() and (got["theta2"] == want2).all()


def test_examples_train():
    line = Network((ROOT / "examples" / "line.net").read_text(), str(ROOT / "examples/line.net"))
    r = train(line, initial_params(line), 5000, 0.05)
    X, Y = file_data(line)
    slope, intercept = np.polyfit(X.ravel(), Y.ravel(), 1)
    assert math.isclose(r.params["a"][0, 0], slope, rel_tol=1e-4)
    assert math.isclose(r.params["b"][0, 0], intercept, rel_tol=1e-4)
    andnet = Network((ROOT / "examples" / "and.net").read_text(), "and.net")
    r = train(andnet, initial_params(andnet), 2000, 1.0)
    X, Y = file_data(andnet)
    assert (backprop.predict(andnet, r.params, X).round() == Y).all()


@pytest.mark.parametrize("name", ["xor", "and", "line"])
def test_check_agrees_on_the_examples(name):
    path = ROOT / "examples" / f"{name}.net"
    net = Network(path.read_text(), str(path))
    for p, idx, rev, fwd, num in check_net(net, initial_params(net, 11), file_data(net))[0]:
        assert math.isclose(rev, fwd, rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(rev, num, rel_tol=1e-5, abs_tol=1e-8)


# -- check beside the bends of relu, abs, sign, step, safe ----------------------------------------
BENDING = sorted(name for name, o in ops.OPS.items() if o.bends_at is not None)
BEND_NET = """
input X[1]
target y[1]
param w[1, 1]
param c[1, 1]
Z = X @ w + c
P = {f}(Z) + X @ w
C = mse(P, y)
output P
minimize C
data {{
  1 -> 0.5
  2 -> -1
}}
"""


def _bend_params(at, offset):
    """w = 0 and c = ``at + offset``: every row's input to the bend is c (both move with w)."""
    return {"w": np.array([[0.0]]), "c": np.array([[at + offset]])}


@pytest.mark.parametrize("op", BENDING)
def test_network_check_steps_short_of_a_bend(op):
    """An input 3e-7 from its bend, nearer than the step (1e-6): the difference is taken on
    its side, and agrees with reverse mode (it was averaged across the bend: relu, 35% off)."""
    net = net_of(BEND_NET.format(f=op))
    at = ops.OPS[op].bends_at
    params = _bend_params(at, 3e-7)
    assert 0 < abs(params["c"][0, 0] - at) < 1e-6  # near, not on
    rows, unchecked = check_net(net, params, file_data(net))
    assert not unchecked
    for p, idx, rev, fwd, num in rows:
        assert math.isclose(rev, num, rel_tol=1e-6, abs_tol=1e-8), (op, p, rev, num)


@pytest.mark.parametrize("op", BENDING)
def test_network_check_on_a_bend_holds_to_forward_mode(op):
    """An input right on its bend, moved by the entry: the slopes on either side differ (or a
    jump leaves them unsure), so no difference can check the convention there; the entry is
    named, and held to forward mode alone (check passes, exit 0)."""
    net = net_of(BEND_NET.format(f=op))
    params = _bend_params(ops.OPS[op].bends_at, 0.0)
    rows, unchecked = check_net(net, params, file_data(net))
    assert set(unchecked) == {("w", (0, 0)), ("c", (0, 0))}, unchecked
    assert all(f"{op}() bends there" in why for why in unchecked.values())
    assert [num for *_, num in rows] == [None, None]
    assert all(math.isclose(rev, fwd, rel_tol=1e-9, abs_tol=1e-12) for _, _, rev, fwd, _ in rows)


FUNCTIONS = [n for n, o in ops.OPS.items() if o.elementwise and o.arity == 1 and o.callable]


@pytest.mark.parametrize("op", FUNCTIONS)
def test_every_function_in_a_network_diffs_trains_and_checks(op, tmp_path):
    """Each function of the table in a network, its input in (0, 1) where all are defined:
    diff, train, check and predict run, each gradient the cost's (a function whose derivative
    is 0, sign or step, left c's gradient as sum_to(0, c): evaluating it was an internal
    error)."""
    path = tmp_path / "f.net"
    path.write_text(BEND_NET.format(f=op))
    params = tmp_path / "p.json"
    params.write_text(json.dumps({"w": [[0.3]], "c": [[0.2]]}))
    for args in (["diff", str(path), "--params", str(params), "--format", "json"],
                 ["train", str(path), "--params", str(params), "--epochs", "3", "--rate", "0.001",
                  "--quiet"],
                 ["check", str(path), "--params", str(params)],
                 ["predict", str(path), "--params", str(params)]):
        r = run(*args)
        assert r.exit_code == 0, (op, args[0], r.output)
    shown = json.loads(run("diff", str(path), "--params", str(params), "--format", "json")
                       .output)["derivatives"]
    net = net_of(BEND_NET.format(f=op))
    rows, unchecked = check_net(net, {"w": np.array([[0.3]]), "c": np.array([[0.2]])},
                                file_data(net))
    assert not unchecked
    for p, idx, rev, fwd, num in rows:
        assert math.isclose(rev, num, rel_tol=1e-6, abs_tol=1e-8), (op, p, rev, num)
        assert math.isclose(shown[p]["value"][0][0], rev, rel_tol=1e-12, abs_tol=1e-15), p


def test_network_check_on_a_bend_where_both_sides_agree():
    """relu(Z)^2 on its bend: both slopes 0, so the difference checks it."""
    net = net_of(BEND_NET.format(f="relu").replace("relu(Z)", "relu(Z)^2"))
    rows, unchecked = check_net(net, _bend_params(0.0, 0.0), file_data(net))
    assert not unchecked
    for p, idx, rev, fwd, num in rows:
        assert math.isclose(rev, num, rel_tol=1e-6, abs_tol=1e-8), (p, rev, num)


def test_network_check_on_a_bend_from_the_command_line(tmp_path):
    """A relu net at zero weights, every hidden input on its bend: check says which entries it
    held to forward mode alone, and why, in every format; the others are checked; exit 0."""
    path = tmp_path / "relu.net"
    path.write_text("""
input X[2]
target y[1]
param W1[3, 4] ~ uniform(-1, 1)
param W2[5, 1] ~ uniform(-1, 1)
H = relu([X, 1] @ W1)
P = sigmoid([H, 1] @ W2)
C = cross_entropy(P, y)
minimize C
data {
  0 0 -> 0
  0 1 -> 1
  1 0 -> 1
  1 1 -> 0
}
""")
    params = tmp_path / "zero.json"
    params.write_text(json.dumps({"W1": [[0.0] * 4] * 3, "W2": [[0.5]] * 5}))
    r = run("check", str(path), "--params", str(params), "--format", "plain")
    assert r.exit_code == 0, r.output
    assert "not checked by finite differences (12 entries, held to forward mode alone)" in r.output
    assert "relu() bends there" in r.output and r.output.endswith("ok\n")
    doc = json.loads(run("check", str(path), "--params", str(params), "--format", "json").output)
    assert doc["ok"] and doc["not_by_differences"]["count"] == 12
    assert {tuple(e["index"]) for e in doc["not_by_differences"]["first"]} == \
        {(i, j) for i in range(3) for j in range(4)}
    assert next(w for w in doc["worst"] if w["param"] == "W2")["numeric"] is not None
    r = run("check", str(path), "--params", str(params), "--format", "rich")
    assert r.exit_code == 0 and "not checked by finite differences" in r.output


# -- cross_entropy's derivative is its value's, however small p or 1 - p --------------------------
CE_NET = """
input X[1]
target y[1]
param w[2, 1]
P = {p}
C = cross_entropy(P, y)
output P
minimize C
data {{
  1 -> {y}
}}
"""


@pytest.mark.parametrize("form, bias", [
    ("sigmoid([X, 1] @ w)", lambda p: math.log(p) - math.log1p(-p)),  # cancels to P - y
    ("0.5*exp([X, 1] @ w)", lambda p: math.log(2 * p)),  # no sigmoid: the rule itself
])
@pytest.mark.parametrize("p", [0.3, 1e-5, 1e-11, 1e-13, 1e-20, 1e-35, 1e-43, 1 - 1e-4])
@pytest.mark.parametrize("y", [0, 1, 0.25])
def test_cross_entropy_gradient_for_every_probability(form, bias, p, y):
    """Reverse mode, forward mode and a difference agree on dC/dw for p from 0.3 down to 1e-43
    (the value's logs are clamped only below e^-100, 3.7e-44) and near 1 (much nearer, 1 - p
    is too coarse in floating point for a difference to follow the cost). The rule
    divided by max(p, 1e-12): below 1e-12 its gradient was p/1e-12 of the cost's, which
    training stepped on, and diff printed beside a formula that gave the right one."""
    net = net_of(CE_NET.format(p=form, y=y))
    params = {"w": np.array([[0.0], [bias(p)]])}
    assert math.isclose(float(backprop.predict(net, params, np.array([[1.0]]))[0, 0]), p,
                        rel_tol=1e-6)
    rows, unchecked = check_net(net, params, file_data(net))
    assert not unchecked
    for _, idx, rev, fwd, num in rows:
        assert math.isclose(rev, fwd, rel_tol=1e-9, abs_tol=1e-12), (idx, rev, fwd)
        assert math.isclose(rev, num, rel_tol=1e-5, abs_tol=1e-8), (idx, rev, num)
    shown = NetDerivation(net, params, file_data(net)).grad_values["w"]
    assert np.allclose(shown, [r[2] for r in rows], rtol=1e-9, atol=1e-12)  # diff's numbers


@pytest.mark.parametrize("expr", ["Q * Q / safe(Q)", "safe(Q) / Q * Q^2", "Q / safe(Q) + Q",
                                  "log(safe(Q)) * Q / safe(Q)", "Q^3 / safe(Q)^2"])
@pytest.mark.parametrize("w", [-0.5, 1e-50, 0.7, 3.0])
def test_a_users_safe_in_a_network_is_never_taken_for_its_input(expr, w):
    """safe(Q) divides like Q only for a probability (a sigmoid's, a softmax's); a user's own
    safe(Q) at Q = -0.5 is e^-100, not Q, and Q*Q/safe(Q) was simplified to Q: reverse mode
    2.25e12 where forward mode and the difference gave -2.1e24, and training stepped on it."""
    net = net_of(f"""
input X[1]
target y[1]
param w[1, 1]
Q = X @ w
P = {expr}
C = mse(P, y)
output P
minimize C
data {{
  1 -> 1
  2 -> 0
}}
""")
    rows, unchecked = check_net(net, {"w": np.array([[w]])}, file_data(net))
    for _, idx, rev, fwd, num in rows:
        assert math.isclose(rev, fwd, rel_tol=1e-9, abs_tol=1e-12), (rev, fwd)
        if num is None:  # 1e-50: the bend at e^-100 is nearer than any step rounding shows
            assert w == 1e-50 and "rounding hides" in unchecked["w", idx], unchecked
        else:
            assert math.isclose(rev, num, rel_tol=1e-5, abs_tol=1e-8), (rev, num)


# -- array ops: vector-Jacobian and Jacobian-vector products against finite differences ----------
def test_array_op_rules_against_finite_differences():
    text = """
input X[2]
target y[1]
param W[3, 2]
param V[2, 1]
param b[1, 2]
H = tanh([X, 1] @ W + b)
Z = sum(H * H) / 10 + mean(H)
P = sigmoid(H @ V)
C = cross_entropy(P, y) + mse(P, y) + Z + sum(transpose(H) @ H) / 100
minimize C
data {
  0.1 0.2 -> 1
  0.5 -0.3 -> 0
  -0.4 0.9 -> 1
}
"""
    net = net_of(text)
    for p, idx, rev, fwd, num in check_net(net, initial_params(net, 4), file_data(net))[0]:
        assert math.isclose(rev, fwd, rel_tol=1e-9, abs_tol=1e-12), (p, idx)
        assert math.isclose(rev, num, rel_tol=1e-5, abs_tol=1e-8), (p, idx, rev, num)


# -- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("edit, words, line", [
    (("L3 = sigmoid(L2 @ theta2)", "L3 = sigmoid(theta2 @ L2)"), "inner sizes 1 and m", 10),
    (("L3 = sigmoid(L2 @ theta2)", "L3 = sigmoid(L2 @ thet2)"), "unknown name 'thet2'", 10),
    (("minimize C", ""), "missing 'minimize", None),
    (("  0 1 -> 1", "  0 1 1 -> 1"), "the row has 3 -> 1 numbers; the network takes 2 -> 1", 18),
    (("train epochs=10000", "train epoch=10000"), "unknown train option 'epoch'", 23),
    (("train epochs=10000 rate=0.5", "train epochs=10000 rate=-1"), "rate must be a number > 0", 23),
    (("L1 = [X, 1]", "L1 = [X, 1"), "expected ',', '-' or ']'", 9),
    (("~ uniform(-1, 1)     # 2 inputs", "~ unifrm(-1, 1)     # 2 inputs"),
     "unknown initialiser", 5),
])
def test_bad_network_files(edit, words, line):
    text = XOR.replace(*edit)
    with pytest.raises(CgcalcError) as info:
        net = Network(text, "bad.net")
        file_data(net)
    e = info.value
    assert words in e.message and e.status == 2
    if line is not None:
        assert e.line == line, e.render()
    assert "bad.net" in e.render()


def test_shape_mismatch_names_both_shapes_and_the_equation():
    text = XOR.replace("L3 = sigmoid(L2 @ theta2)", "L3 = sigmoid(theta2 @ L2)")
    with pytest.raises(CgcalcError) as info:
        Network(text, "bad.net")
    r = info.value.render()
    assert "3x1 @ mx3" in r
    assert "L3 = sigmoid(theta2 @ L2)" in r and "^" in r


def test_data_file_errors(tmp_path):
    text = (ROOT / "examples" / "line.net").read_text()
    (tmp_path / "line.net").write_text(text)
    with pytest.raises(CgcalcError) as info:
        file_data(Network(text, str(tmp_path / "line.net")))
    assert "cannot read data file 'line.csv'" in info.value.message
    (tmp_path / "line.csv").write_text("x,y\n1,2\n3,zz\n")
    with pytest.raises(CgcalcError) as info:
        file_data(Network(text, str(tmp_path / "line.net")))
    assert info.value.line == 3 and "'zz' is not a number" in info.value.message
    (tmp_path / "line.csv").write_text("x,y\n1,2,3\n")
    with pytest.raises(CgcalcError) as info:
        file_data(Network(text, str(tmp_path / "line.net")))
    assert "expected 2 numbers" in info.value.message


def test_params_file_that_does_not_fit(tmp_path):
    net = net_of(XOR)
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"theta1": [[1, 2], [3, 4]], "theta2": [[1], [2], [3]]}))
    with pytest.raises(CgcalcError) as info:
        load_params(net, str(p))
    assert "'theta1' has shape 2x2" in info.value.message and "3x2" in info.value.message


# -- the commands ------------------------------------------------------------------------------------
def run(*args, input=None, env=None):
    return CliRunner().invoke(main, list(args), input=input, env=env, catch_exceptions=False)


def test_train_json_save_and_predict_round_trip(tmp_path):
    xor = str(ROOT / "examples" / "xor.net")
    saved = tmp_path / "xor.json"
    r = run("train", xor, "--format", "json", "--save", str(saved), "--quiet")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert set(doc) >= {"cost", "epochs", "params", "predictions", "history"}
    assert doc["epochs"] == 10000 and doc["cost"] < 0.01
    assert json.loads(saved.read_text()) == doc["params"]
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".cgcalc-")]
    r = run("predict", xor, "--params", str(saved), "--format", "csv")
    preds = [float(line.split(",")[-1]) for line in r.stdout.splitlines()[1:]]
    assert np.allclose(preds, np.array(doc["predictions"]).ravel(), rtol=1e-12)
    r = run("predict", xor, "--params", str(saved), "--points", "-", "--format", "csv",
            input="0 1\n1 1\n")
    assert [round(float(x.split(",")[-1])) for x in r.stdout.splitlines()[1:]] == [1, 0]
    r = run("train", xor, "--params", str(saved), "--epochs", "0", "--format", "json")
    assert math.isclose(json.loads(r.stdout)["cost"], doc["cost"], rel_tol=1e-12)


def test_diff_net_json_carries_the_textbook_forms():
    r = run("diff", str(ROOT / "examples" / "xor.net"), "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["derivatives"]["theta2"]["symbolic"] == "L2' @ (L3 - y)/m"
    assert np.array(doc["derivatives"]["theta1"]["value"]).shape == (3, 2)
    assert doc["paths"]["theta1"]["count"] == 1
    assert any(e["output"] == "L3" and e["local"] == "L3*(1 - L3)" for e in doc["edges"])


def test_diff_net_json_keeps_cgcalc_syntax_for_array_ops():
    doc = json.loads(run("diff", str(ROOT / "examples" / "xor.net"), "--format", "json").stdout)
    grad = doc["derivatives"]["theta1"]["symbolic"]
    assert grad == ("L1' @ (cols((L3 - y) @ theta2', 0, 2)*sigmoid(L1 @ theta1)"
                    "*(1 - sigmoid(L1 @ theta1)))/m")
    net = net_of(f"{XOR}\ngrad = {grad}\n")  # an equation in the file's names, as written
    params = initial_params(net)
    env = net.env(params, file_data(net))
    got = backprop.tape(net, [net.graph.bound["grad"]]).run(env)[0]
    want = backprop.tape(net, [backprop.gradients(net)["theta1"]]).run(env)[0]
    assert np.allclose(got, want, rtol=1e-12)


def test_diff_net_latex_and_rich_read_as_the_article():
    """The article's notation: δ for the adjoints, ⊙ (\\odot) for elementwise products, the bias
    column dropped as A[:, 0:2], the clamp of cross_entropy as max(p, ε)."""
    latex = run("diff", str(ROOT / "examples" / "xor.net"), "--format", "latex").stdout
    assert "\\text{" not in latex and latex.isascii()  # δ, ⊙, ε spelled as LaTeX macros
    assert "\\delta_{n_{1}} &\\mathrel{+}= n_{2} \\odot \\delta_{n_{2}} \\odot " \
        "\\left(1 - n_{2}\\right)" in latex
    assert "\\delta_{n_{2}} &\\mathrel{+}= \\left[\\delta_{L_{2}}\\right]_{:,\\,0:2}" in latex
    assert "\\max\\left(L_{3}, \\varepsilon\\right)" in latex
    rich = run("diff", str(ROOT / "examples" / "xor.net"), "--format", "rich",
               env={"NO_COLOR": "1", "COLUMNS": "160"}).stdout
    assert "δn2 += δL2[:, 0:2]" in rich
    assert "δL3 += δC ⊙ (L3 - y)/(m ⊙ max(L3, ε) ⊙ max(1 - L3, ε))" in rich
    assert "L1' @ (((L3 - y) @ theta2')[:, 0:2] ⊙ n2 ⊙ (1 - n2))/m" in rich


def test_diff_net_csv_has_one_row_per_param_entry():
    r = run("diff", str(ROOT / "examples" / "xor.net"), "--format", "csv")
    rows = r.stdout.splitlines()
    assert rows[0] == "param,entry,value,dC/dparam" and len(rows) == 1 + 6 + 3
    net = net_of(XOR)
    want = backprop.tape(net, [backprop.gradients(net)["theta2"]]).run(net.env(initial_params(net), file_data(net)))[0]
    assert float(rows[-1].split(",")[-1]) == want[2, 0]


def test_diff_net_on_rows_given_with_points():
    r = run("diff", str(ROOT / "examples" / "xor.net"), "--points", "-", "--format", "json",
            input="0 0 -> 0\n1 1 -> 0\n")
    doc = json.loads(r.stdout)
    net = net_of(XOR)
    params = initial_params(net)
    X, y = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[0.0], [0.0]])
    want1, want2 = textbook_backprop(params["theta1"], params["theta2"], X, y)
    assert np.allclose(doc["derivatives"]["theta2"]["value"], want2, rtol=1e-12)
    assert np.allclose(doc["derivatives"]["theta1"]["value"], want1, rtol=1e-12)
    r = run("diff", str(ROOT / "examples" / "xor.net"), "--points", "-", input="0,1\n")
    assert r.exit_code == 2 and "expected 3 numbers in a row (X1, X2, y), got 2" in r.stderr


def test_check_command_and_expression_check():
    r = run("check", str(ROOT / "examples" / "xor.net"), "--format", "plain")
    assert r.exit_code == 0 and r.stdout.strip().endswith("ok")
    r = run("check", "exp(sin(x*y))", "--at", "x=1,y=2", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["ok"] is True


def test_check_out_of_tolerance_exits_1():
    r = run("check", str(ROOT / "examples" / "xor.net"), "--tolerance", "1e-30",
            "--format", "plain")
    assert r.exit_code == 1
    assert r.stdout.strip().endswith("out of tolerance") and r.stderr.startswith("error:")


def test_divergence_exits_1_naming_the_epoch():
    r = run("train", str(ROOT / "examples" / "line.net"), "--rate", "5", "--quiet")
    assert r.exit_code == 1
    assert "diverged" in r.stderr and "epoch" in r.stderr and "Traceback" not in r.stderr


def test_bad_params_file_exit_2(tmp_path):
    p = tmp_path / "p.json"
    p.write_text("{not json")
    r = run("predict", str(ROOT / "examples" / "xor.net"), "--params", str(p))
    assert r.exit_code == 2 and r.stderr.startswith("error:")


def test_ctrl_c_saves_the_params_reached(tmp_path):
    saved = tmp_path / "p.json"
    proc = subprocess.Popen([sys.executable, "-m", "cgcalc", "train",
                             str(ROOT / "examples" / "xor.net"), "--epochs", "100000000",
                             "--save", str(saved), "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    import time
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err and b"interrupted at epoch" in err
    doc = json.loads(out)
    assert doc["interrupted"] is True and 0 < doc["epochs"] < 100000000
    assert json.loads(saved.read_text()) == doc["params"]


def test_predict_compiles_one_tape_for_all_its_chunks_of_rows(tmp_path, monkeypatch):
    """Rows arrive in chunks (small first, for a pipeline's first answers): one tape serves
    them all, and the numbers are the one-shot prediction's."""
    import io

    from cgcalc import commands
    from cgcalc.evaluate import Tape

    net = net_of(XOR, str(ROOT / "examples" / "xor.net"))
    params = initial_params(net, 3)
    (tmp_path / "p.json").write_text(json.dumps({k: v.tolist() for k, v in params.items()}))
    rows = np.random.default_rng(0).uniform(0, 1, (3000, 2))
    (tmp_path / "x.csv").write_text("X1,X2\n" + "".join(f"{a!r},{b!r}\n" for a, b in rows.tolist()))
    made = []
    real = Tape.__init__
    monkeypatch.setattr(Tape, "__init__",
                        lambda self, *a, **k: made.append(1) or real(self, *a, **k))
    out = io.StringIO()
    commands.predict_net(net, str(tmp_path / "p.json"), str(tmp_path / "x.csv"), "csv", out)
    got = np.array([float(line.split(",")[-1]) for line in out.getvalue().splitlines()[1:]])
    assert len(made) == 1
    want = backprop.predict(net, params, rows).ravel()
    assert np.allclose(got, want, rtol=1e-15, atol=0)


@pytest.mark.parametrize("cores", [1, 2, 3, 4])
@pytest.mark.parametrize("rows", [1, 1637, 3001])
def test_large_steps_shared_by_the_cores_give_the_same_numbers_bit_for_bit(cores, rows,
                                                                           monkeypatch):
    """Where blocks of rows do not suit a training tape (cgcalc/rowblocks.py), its large steps run
    in bands of rows on every core, the BLAS on one thread meanwhile: the gradients are those
    of one thread, bit for bit (uneven bands, a row b that broadcasts, a number, a join,
    matrix products cut by their left factor's rows)."""
    from cgcalc import rowblocks

    monkeypatch.setattr(rowblocks, "plan", lambda *a: None)
    text = """input  X[2]
target y[1]
param  W1[3, 48] ~ normal(0, 0.5)
param  b[1, 48] ~ normal(0, 0.5)
param  W2[49, 1] ~ normal(0, 0.2)
H = tanh([X, 1] @ W1 + b) * (2 - sigmoid(b))
P = sigmoid([H, 1] @ W2)
C = cross_entropy(P, y)
output P
minimize C
"""
    net = net_of(text)
    rng = np.random.default_rng(rows)
    X = rng.uniform(-2, 2, (rows, 2))
    data = (X, (X[:, :1] * X[:, 1:] > 0).astype(float))
    envs = [net.env(initial_params(net, seed), data) for seed in range(3)]
    (full, _, _), _ = backprop.train_tapes(net)
    template = full.prepare(envs[0])
    monkeypatch.setattr(parallel, "cores", lambda: cores)
    monkeypatch.setattr(parallel, "_POOL", None)
    monkeypatch.setattr(parallel, "SPLIT", 64)  # every step with 64 entries or more
    # elementwise bands also where the BLAS cannot be asked: the environment says one thread
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    banded = []
    real = parallel.run_in_bands
    monkeypatch.setattr(parallel, "run_in_bands",
                        lambda steps: banded.extend(s[0] for s in steps) or real(steps))
    with parallel.one_blas_thread():
        alone = [full.run_prepared(template, env) for env in envs]  # no bands, no buffers
        assert parallel.bands() == cores
        buffers: dict = {}
        for env, want in zip(envs, alone):  # the first run makes the buffers; the others reuse
            shared = full.run_prepared(template, env, buffers)
            for a, b in zip(want, shared):
                assert np.array_equal(a, b)
    assert rows == 1 or buffers, "no step was written into a buffer"
    names = {getattr(fn, "__name__", None) or fn.func.__name__ for fn in banded}
    if cores > 1 and rows > 1:
        assert {"training_tanh", "join_value"} <= names, names
        products = parallel._openblas() is not None  # cut only beside a one-thread OpenBLAS
        assert ("matmul" in names) == products, names
    else:
        assert not banded
    if parallel._POOL is not None:
        parallel._POOL.shutdown()


def test_many_params_each_cost_their_own_paths_and_gradient_text(monkeypatch):
    """A network of P params (h_i = sigmoid(X @ w_i), joined and summed): listing each param's
    paths walks up from it (what it finds), with no pass over the whole graph per param, and
    each gradient prints in the file's names without a pass over every node's name per param
    (4,000 params took 20 s, not 2.5 s, in plain)."""
    from cgcalc import walk

    p = 300
    lines = ["input X[1]", "target y[1]"]
    lines += [f"param w{i}[1, 1] ~ uniform(0.5, 0.5)" for i in range(p)]
    lines += [f"h{i} = sigmoid(X @ w{i})" for i in range(p)]
    lines += ["S = rowsum([" + ", ".join(f"h{i}" for i in range(p)) + "])", "C = mse(S, y)",
              "minimize C", "data {", "  0.5 -> 0.2", "}"]
    net = Network("\n".join(lines) + "\n", "wide.net")
    d = NetDerivation(net, initial_params(net, 0), file_data(net))
    scanned = []
    real_depending = walk.depending
    monkeypatch.setattr(walk, "depending",
                        lambda order, sources: scanned.append(len(order)) or
                        real_depending(order, sources))
    paths = {w: d.paths(w) for w in net.params}
    assert sum(scanned) <= len(net.graph.order)  # not a pass over the graph per param
    assert all(len(paths[w]) == 1 == d.count(w) for w in net.params)
    assert paths["w7"][0][0][0] is net.cost and paths["w7"][0][0][-1] is net.var_nodes["w7"]
    texts = [d.gradient_text(w, own_names_only=True) for w in net.params]
    assert all(t.endswith(f"*(1 - h{i}))/m") for i, t in enumerate(texts))


def residual_net(layers):
    """A network of ``layers`` residual tanh layers: 2^layers paths from the cost to W0."""
    lines = ["input X[2]", "target y[1]", "param W0[2, 3] ~ normal(0, 0.5)"]
    lines += [f"param W{i}[3, 3] ~ normal(0, 0.5)" for i in range(1, layers)]
    lines += ["param V[3, 1] ~ normal(0, 0.5)", "h1 = tanh(X @ W0)"]
    lines += [f"h{i + 1} = tanh(h{i} @ W{i} + h{i})" for i in range(1, layers)]
    lines += [f"P = sigmoid(h{layers} @ V)", "C = cross_entropy(P, y)", "minimize C",
              "data {", "  0.5, 1 -> 1", "  -0.3, 0.2 -> 0", "}"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("layers", [3, 12, 70])
def test_every_param_of_a_deep_network_gets_its_paths_listed_or_is_told_why(layers, tmp_path):
    """Each param lists min(--max-paths, its number of paths), the same whenever it is asked;
    where the paths listed for all params together reach their bound (70 residual layers:
    paths of ~140 nodes, 2^70 of them), the later params list fewer, and the terminal view
    says so beside the count; but each has a share of its own, so every param lists a path
    at least, and those near the cost, whose paths are short, are listed whole."""
    text = residual_net(layers)
    net = Network(text, "deep.net")
    d = NetDerivation(net, initial_params(net, 0), file_data(net))
    first = {w: d.paths(w) for w in net.params}
    for w in reversed(net.params):  # asked again, in the other order: the same listing
        assert d.paths(w) == first[w]
    cut = [w for w in net.params if d.cut(w)]
    assert bool(cut) == (layers == 70)
    assert not d.cut(net.params[0])  # the first asked is listed whole
    assert all(first[w] for w in net.params)  # every param, a path at least
    assert not any(d.cut(w) for w in net.params[-3:])  # near the cost: whole
    if cut:
        path = tmp_path / "deep.net"
        path.write_text(text)
        r = CliRunner().invoke(main, ["diff", str(path), "--format", "rich"])
        assert r.exit_code == 0, r.output
        shown = " ".join(r.output.split())
        assert f"down to {cut[0]}: {d.count(cut[0]):,}, {len(first[cut[0]]):,} listed" in shown


# -- training's tanh (cgcalc/net/backprop.py: training_tanh) ---------------------------------

def test_trainings_tanh_goes_by_the_whole_steps_size_in_bands_too(monkeypatch):
    """Below FROM_EXP_AT numbers a step's tanh is numpy's, from it tanh_from_exp (where that
    pays: see the test after this one); cut into bands of rows (each smaller than the whole)
    it computes what the whole step would."""
    monkeypatch.setattr(backprop, "_FROM_EXP_PAYS", True)
    rng = np.random.default_rng(8)
    monkeypatch.setattr(parallel, "cores", lambda: 3)
    monkeypatch.setattr(parallel, "_POOL", None)
    for rows in (backprop.FROM_EXP_AT // 64 - 1, backprop.FROM_EXP_AT // 64):
        x = rng.normal(0.0, 0.5, (rows, 64))
        want = (np.tanh if x.size < backprop.FROM_EXP_AT else tanh_from_exp)(x)
        assert np.array_equal(backprop.training_tanh(x), want)
        out = np.empty_like(x)
        parallel.in_bands(backprop.training_tanh, (x,), out)
        assert np.array_equal(out, want)
    if parallel._POOL is not None:
        parallel._POOL.shutdown()
    assert not np.array_equal(tanh_from_exp(x), np.tanh(x))  # the two tell apart here


@pytest.mark.parametrize("avx512", [True, False])
def test_trainings_tanh_is_numpys_where_numpys_is_vectorised(avx512, monkeypatch):
    """Where numpy has its AVX-512 tanh (2 ns a number) tanh_from_exp is 2-4x slower: training
    takes numpy's at every size there, and tanh_from_exp on large steps only elsewhere. The
    choice is numpy's CPU features', never a timing: a machine always takes the same one."""
    monkeypatch.setattr(backprop, "_FROM_EXP_PAYS", None)
    module = "numpy._core._multiarray_umath"
    features = {**__import__(module, fromlist=["x"]).__cpu_features__, "AVX512_SKX": avx512}
    monkeypatch.setattr(f"{module}.__cpu_features__", features)
    assert backprop.from_exp_pays() is (not avx512)
    big = np.linspace(-3, 3, backprop.FROM_EXP_AT).reshape(-1, 64)
    want = np.tanh(big) if avx512 else tanh_from_exp(big)
    assert np.array_equal(backprop.training_tanh(big), want)


TANH_NET = """input  X[2]
target y[1]
param  W1[3, 8] ~ normal(0, 0.5)
param  W2[9, 1] ~ normal(0, 0.5)
H = tanh([X, 1] @ W1)
P = sigmoid([H, 1] @ W2)
C = cross_entropy(P, y)
output P
minimize C
"""


def test_only_trainings_tapes_use_it(tmp_path, monkeypatch):
    """Training's tapes take training's tanh; predicting, checking and showing a network keep
    numpy's tanh (the numbers of ``--points``)."""
    net = Network(TANH_NET, str(tmp_path / "t.net"))
    (full, grads, cost), _ = backprop.train_tapes(net)
    fns = {fn for tape in (full, grads, cost) for fn, *_ in tape.steps + tape.static_steps}
    assert backprop.training_tanh in fns and np.tanh not in fns

    def refused(*args, **kw):
        raise AssertionError("training's tanh outside training")

    monkeypatch.setitem(backprop.TRAINING, "tanh", refused)
    X = np.random.default_rng(1).normal(0.0, 1.0, (50, 2))
    params = initial_params(net, 0)
    env = net.env(params, (X, np.zeros((50, 1))))
    want = backprop.tape(net, [net.output]).run(env)[0]
    assert np.array_equal(backprop.predict(net, params, X), want)
    data = (X[:5], np.zeros((5, 1)))
    assert NetDerivation(net, params, data).grad_values  # diff's numbers
    assert check_net(net, params, data)[0]


@pytest.mark.parametrize("rows", [7, backprop.FROM_EXP_AT // 8])  # numpy's tanh; tanh_from_exp
def test_training_gradients_match_numpys_tanh_closely(rows, tmp_path):
    """One step's gradients from training's tape agree with a tape on numpy's tanh to 1e-12
    (8 hidden units: the tanh step has backprop.FROM_EXP_AT numbers in the second case)."""
    net = Network(TANH_NET, str(tmp_path / "t.net"))
    rng = np.random.default_rng(rows)
    X = rng.uniform(-2, 2, (rows, 2))
    env = net.env(initial_params(net, 1), (X, (X[:, :1] > X[:, 1:]).astype(float)))
    (full, _, _), grads = backprop.train_tapes(net)
    exact = backprop.tape(net, [net.cost, *grads])
    # both take numpy's tanh: the same bits
    same = rows * 8 < backprop.FROM_EXP_AT or not backprop.from_exp_pays()
    for a, b in zip(full.run(env), exact.run(env)):
        assert np.array_equal(a, b) if same else np.allclose(a, b, rtol=1e-12, atol=1e-15)


# -- targets a cost cannot take: each cost kind, its rows inline or in a file, every command --

COSTS = {  # (network without its data, a good row, a row the cost cannot take, the bad cells)
    "cross_entropy": ("""input  X[2]
target y[1]
param  W[3, 1] ~ uniform(-1, 1)
P = sigmoid([X, 1] @ W)
C = cross_entropy(P, y)
output P
minimize C
""", "0 1 -> 1", "1 1 -> 5", "5"),
    "softmax_cross_entropy": ("""input  X[2]
target Y[3]
param  W[3, 3] ~ uniform(-1, 1)
Z = [X, 1] @ W
P = softmax(Z)
C = softmax_cross_entropy(Z, Y)
output P
minimize C
""", "0 1 -> 0 1 0", "1 1 -> 0.5 0.5 0.5", "0.5 0.5 0.5"),
    "recurrent cross_entropy": ("""steps 3
input  x[t, 1]
target y[t, 1]
param  Wx[1, 2] ~ uniform(-1, 1)
param  Wh[2, 2] ~ uniform(-1, 1)
param  V[3, 1]  ~ uniform(-1, 1)
h[0] = zeros(2)
h[t] = tanh(x[t] @ Wx + h[t-1] @ Wh)
P[t] = sigmoid([h[t], 1] @ V)
C = mean_t(cross_entropy(P[t], y[t]))
output P
minimize C
""", "0 1 1 -> 0 0 1", "1 0 1 -> 0 1 -1", "-1"),
}


def refused_at(r, path, line, row, cells):
    """``r`` exited 2 with ``error: path:line:column:``, the row, and a caret under ``cells``
    (the first bad one, or a distribution's cells, first to last), never a traceback."""
    assert r.exit_code == 2 and r.stdout == "", r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    column = row.index(cells) + 1
    first, source, caret = r.stderr.splitlines()[:3]
    assert first.startswith(f"error: {path}:{line}:{column}: "), r.stderr
    gutter, text = source.split("| ", 1)
    assert text == row
    assert caret == " " * (len(gutter) + 2 + column - 1) + "^" * len(cells), r.stderr


def net_with_rows(tmp_path, kind, where, rows):
    """The network of ``kind`` with ``rows`` inline or in a data file: (its path, the path
    and line number the last row has)."""
    text, *_ = COSTS[kind]
    path = tmp_path / "n.net"
    if where == "inline":
        text += "data {\n" + "".join(f"  {r}\n" for r in rows) + "}\n"
        path.write_text(text)
        return path, path, len(text.splitlines()) - 1
    data = tmp_path / "rows.txt"
    data.write_text("# a comment line, then the rows\n" + "".join(f"{r}\n" for r in rows))
    path.write_text(text + 'data "rows.txt"\n')
    return path, data, len(rows) + 1


@pytest.mark.parametrize("kind", COSTS)
@pytest.mark.parametrize("where", ["inline", "file"])
@pytest.mark.parametrize("command", ["train", "check", "diff", "predict", "graph"])
def test_a_target_the_cost_cannot_take_exits_2_naming_its_row(kind, where, command, tmp_path):
    _, good, bad, cells = COSTS[kind]
    # in a file, past the first chunks read (the row quoted is the one refused)
    rows = [good] * (1 if where == "inline" else 400) + [bad, good]
    path, data, line = net_with_rows(tmp_path, kind, where, rows)
    line -= 1  # the bad row is the one before the last
    args = [command, str(path)]
    if command == "predict":
        from cgcalc.net.params import save_params

        net = Network(path.read_text(), str(path))
        save_params(initial_params(net, 0), tmp_path / "p.json")
        args += ["--params", str(tmp_path / "p.json")]
    if command == "graph":
        args += ["--format", "dot"]
    text = f"  {bad}" if where == "inline" else bad
    refused_at(run(*args), data, line, text, cells)


@pytest.mark.parametrize("kind", COSTS)
@pytest.mark.parametrize("points", ["file", "-"])
def test_rows_given_with_points_are_held_to_the_cost_too(kind, points, tmp_path):
    _, good, bad, cells = COSTS[kind]
    path, _, _ = net_with_rows(tmp_path, kind, "inline", [good])
    rows = "".join(f"{r}\n" for r in [good] * 300 + [bad])
    if points == "-":
        r = run("diff", str(path), "--points", "-", input=rows)
    else:
        (tmp_path / "points.txt").write_text(rows)
        r = run("diff", str(path), "--points", str(tmp_path / "points.txt"))
    name = "<stdin>" if points == "-" else tmp_path / "points.txt"
    refused_at(r, name, 301, bad, cells)


def test_each_cost_takes_the_targets_it_can_and_refuses_the_others():
    """cross_entropy: 0 to 1; softmax_cross_entropy: rows of probabilities, summing to 1
    within rounding; mse: any finite number."""
    takes = {
        "cross_entropy": (["0 0 -> 0", "0 1 -> 1", "1 0 -> 0.25"],
                          ["0 0 -> 5", "0 0 -> -0.5", "0 0 -> 1.000001", "0 0 -> -1e-300"]),
        "softmax_cross_entropy": (
            ["0 0 -> 1 0 0", "0 0 -> 0.2 0.3 0.5", "0 0 -> 0.333333 0.333333 0.333334",
             "0 0 -> 0.3333333 0.3333333 0.3333333"],
            ["0 0 -> 0.5 0.5 0.5", "0 0 -> -1 2 0", "0 0 -> 0 0 0", "0 0 -> 0.4 0.4 0.1",
             "0 0 -> 1 1 0"]),
        "recurrent cross_entropy": (["1 0 1 -> 0 1 1", "1 0 1 -> 0.5 0 1"],
                                    ["1 0 1 -> 2 0 0", "1 0 1 -> 0 0 -3"]),
        "mse": (["0 0 -> 5", "0 0 -> -3", "0 0 -> 1e300", "0 0 -> 0.5"], []),
    }
    for kind, (good, bad) in takes.items():
        text = (COSTS.get(kind) or COSTS["cross_entropy"])[0]
        if kind == "mse":
            text = text.replace("cross_entropy(P, y)", "mse(P, y)")
        for row in good:
            X, Y = file_data(Network(text + "data {\n  " + row + "\n}\n", "t.net"))
            assert Y.shape[0] == 1, (kind, row)
        for row in bad:
            with pytest.raises(CgcalcError) as info:
                file_data(Network(text + "data {\n  " + row + "\n}\n", "t.net"))
            e = info.value
            assert e.status == 2 and e.line == len(text.splitlines()) + 2, (kind, row)
            assert kind.split()[-1] in e.message and "^" in e.render(), e.render()


def test_the_message_names_the_cost_and_what_it_takes(tmp_path):
    path, _, _ = net_with_rows(tmp_path, "cross_entropy", "file", ["0 0 -> 0", "1 1 -> 5"])
    r = run("train", str(path), "--quiet")
    assert (f"y = 5 is not between 0 and 1: cross_entropy takes targets from 0 to 1 "
            f"({path}:5: C = cross_entropy(P, y))") in r.stderr.splitlines()[0]
    assert "hint: for targets of any size, minimize mse(P, y)" in r.stderr
    path, _, _ = net_with_rows(tmp_path, "softmax_cross_entropy", "inline",
                               ["0 0 -> 0.5 0.5 0.5"])
    first = run("check", str(path)).stderr.splitlines()[0]
    assert first.endswith("Y1 to Y3 sum to 1.5, not 1: softmax_cross_entropy takes each row "
                          "of targets as probabilities: from 0 to 1, summing to 1 (line 6: "
                          "C = softmax_cross_entropy(Z, Y))"), first


@pytest.mark.parametrize("option, value", [("--order", "2"), ("--mode", "forward"),
                                           ("--at", "x=1")])
def test_expression_options_refused_for_a_network_say_why(option, value):
    """Each refusal gives its own reason: only --at's is that a network's params come from
    --params (--order and --mode said so too)."""
    r = run("diff", str(ROOT / "examples" / "xor.net"), option, value)
    assert r.exit_code == 2
    assert r.output.startswith(f"error: {option} does not apply to a network file")
    assert ("--params" in r.output.splitlines()[0]) == (option == "--at"), r.output


@pytest.mark.parametrize("rows", ["0 0 -> 0\n1 1 -> 0\n", "0 0\n1 1\n", "X1 X2\n0 0 -> 1\n1 1\n"])
def test_predict_reads_rows_as_the_data_block_writes_them(rows, tmp_path):
    """predict takes a row of inputs, or a data row with its targets after '->' (checked as
    numbers, then left out: the same predictions); a row whose counts are not the network's,
    or whose target is no number, is refused with its place."""
    params = tmp_path / "p.json"
    assert run("train", str(ROOT / "examples" / "xor.net"), "--epochs", "50", "--quiet",
               "--save", str(params)).exit_code == 0
    r = run("predict", str(ROOT / "examples" / "xor.net"), "--params", str(params),
            "--points", "-", "--format", "csv", input=rows)
    assert r.exit_code == 0, r.output
    want = run("predict", str(ROOT / "examples" / "xor.net"), "--params", str(params),
               "--points", "-", "--format", "csv", input="0 0\n1 1\n").output
    assert r.output == want
    for bad, column in (("0 0 -> 1 1\n", 1), ("0 -> 1\n", 1), ("0 0 1\n", 1),
                        ("0 0 -> zzz\n", 8), ("0 0 -> 1e999\n", 8), ("0 0 -> nan\n", 8)):
        r = run("predict", str(ROOT / "examples" / "xor.net"), "--params", str(params),
                "--points", "-", input=bad)
        assert r.exit_code == 2 and r.output.startswith(f"error: <stdin>:1:{column}:"), r.output


SIGMOID_CE = """
input X[1]
target y[1]
param w[1, 1]
P = sigmoid(X @ w)
C = cross_entropy(P, y)
output P
minimize C
data {
  1 -> 0
  -1 -> 1
}
"""


@pytest.mark.parametrize("w", [3.0, 20.0, 25.0, 30.0, 37.0, 40.0, 200.0, -40.0])
def test_a_probability_that_rounds_to_1(w, tmp_path):
    """sigmoid(40) rounds to 1: the gradient is (P - y) all the same, and diff's number is the
    printed formula's (it was the raw adjoints', (P - y)/(P(1 - P)) * P(1 - P) = 0); forward
    mode agrees with reverse; the cost, clamped there, cannot check it: check says so, exit 0
    (it said out of tolerance)."""
    net = net_of(SIGMOID_CE)
    params = {"w": np.array([[w]])}
    X, Y = data = file_data(net)
    P = 1 / (1 + np.exp(-X * w))
    want = float(np.mean((P - Y) * X))
    d = NetDerivation(net, params, data)
    assert math.isclose(float(d.grad_values["w"][0, 0]), want, rel_tol=1e-12, abs_tol=1e-300)
    rows, unchecked = check_net(net, params, data)
    (_, _, rev, fwd, num), = rows
    assert math.isclose(rev, want, rel_tol=1e-12) and math.isclose(fwd, want, rel_tol=1e-12)
    if w < 10:  # (at -40 the clamped log is multiplied by a target's 0: the cost follows)
        assert not unchecked and math.isclose(num, want, rel_tol=1e-6, abs_tol=1e-12)
    elif num is None:  # from 20 on 1 - P keeps 9 digits or fewer: its log is a staircase
        assert "1 - P keeps few digits" in unchecked["w", (0, 0)]
    else:
        assert math.isclose(num, want, rel_tol=1e-6)
    path = tmp_path / "s.net"
    path.write_text(SIGMOID_CE)
    (tmp_path / "p.json").write_text(json.dumps({"w": [[w]]}))
    r = run("check", str(path), "--params", str(tmp_path / "p.json"))
    verdict = "ok\n" if num is not None else \
        "ok by forward mode alone: no entry could be checked by finite differences\n"
    assert r.exit_code == 0 and r.output.endswith(verdict), r.output


def test_an_entry_whose_change_rounding_hides_is_not_checked():
    """b beside w = 1e20: (w + b)^2 changes by less than rounding keeps for any step of b
    the difference can take: check names it (it said out of tolerance: numeric 0)."""
    net = net_of("""
input X[1]
target y[1]
param w[1, 1]
param b[1, 1]
P = X @ w + b
C = mse(P, y)
minimize C
data {
  1 -> 0
}
""")
    rows, unchecked = check_net(net, {"w": np.array([[1e20]]), "b": np.array([[0.5]])},
                                file_data(net))
    assert set(unchecked) == {("b", (0, 0))} and "rounding" in unchecked["b", (0, 0)]
    (_, _, rev, _, num), = [r for r in rows if r[0] == "w"]
    assert math.isclose(rev, num, rel_tol=1e-6)


def test_no_excuse_hides_a_gradient_that_is_not_p_minus_y(tmp_path):
    """cross_entropy of a softmax whose probability rounds to 1: its gradient divides by what
    is left of 1 - P (e^-100), -1.1e26 in reverse and forward mode alike. The excuse check
    makes for a sigmoid's probability (its gradient is P - y, however P rounds) must not
    cover it: check fails, exit 1 (it said ok, and train stepped by 1e25)."""
    path = tmp_path / "h.net"
    path.write_text("""
input X[1]
input S[1]
target Y[2]
param w[1, 1]
Z = [S, X @ w]
P = softmax(Z)
C = cross_entropy(P, Y)
minimize C
data {
  1 40 -> 0 1
}
""")
    (tmp_path / "w.json").write_text(json.dumps({"w": [[0.0]]}))
    r = run("check", str(path), "--params", str(tmp_path / "w.json"), "--format", "json")
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    assert not doc["ok"] and "not_by_differences" not in doc, doc


ZERO_NET = """input  X[2]
target y[1]
param  w[3, 1] ~ normal(0, 0.5)
A = LAYER
C = cross_entropy(A, y)
output A
minimize C
data {
  0 0 -> 0
  0 1 -> 0
  1 0 -> 0
  1 1 -> 1
}
"""


@pytest.mark.parametrize("layer", ["sigmoid(0*([X, 1] @ w))", "sigmoid([X, 1] @ w * 0)",
                                   "sigmoid([X, 1] @ w - [X, 1] @ w)",
                                   "sigmoid([X, 1] @ w) * 0 + 0.5",
                                   "sigmoid(([X, 1] @ w) / ([X, 1] @ w) - 1)"])
@pytest.mark.parametrize("command", [["diff", "--format", "plain"], ["check"],
                                     ["train", "--epochs", "3", "-q", "--format", "json"],
                                     ["graph", "--format", "dot"]])
def test_an_array_that_simplifies_to_a_number_keeps_its_shape(layer, command, tmp_path):
    """0*(X @ w), A - A: the simplifier's number stood where an array was, and the matrix
    product or join it fed failed (an internal error in diff, check, train, graph). It is
    zeros (or the number repeated) of the array's shape: the derivative is zeros(3, 1)."""
    path = tmp_path / "z.net"
    path.write_text(ZERO_NET.replace("LAYER", layer))
    r = CliRunner().invoke(main, [command[0], str(path), *command[1:]])
    assert r.exit_code == 0, r.output
    if command[0] == "diff":
        assert "dC/dw = zeros(3, 1)" in r.output or "[[0.0], [0.0], [0.0]]" in r.output, r.output


@pytest.mark.parametrize("output, shape", [("w", "3x1"), ("C", "scalar"), ("Q", "scalar"),
                                           ("Xt", "2xm"), ("S", "2xm")])
@pytest.mark.parametrize("command", ["train", "predict", "diff"])
def test_an_output_without_a_row_per_data_row_is_refused_at_its_line(output, shape, command,
                                                                      tmp_path):
    """Predictions are a row per data row: an output of another shape (a param, the cost, a
    transpose) was an internal error in train's table and in predict."""
    text = ZERO_NET.replace("LAYER", "sigmoid([X, 1] @ w)").replace(
        "output A", f"Q = sum(X)\nXt = X'\nS = softmax(X')\noutput {output}")
    path = tmp_path / "o.net"
    path.write_text(text)
    (tmp_path / "p.json").write_text('{"w": [[0.5], [0.5], [0.5]]}')
    args = {"train": ["--epochs", "2", "-q", "--format", "plain"],
            "predict": ["--params", str(tmp_path / "p.json"), "--points", "-"],
            "diff": ["--format", "plain"]}[command]
    r = CliRunner().invoke(main, [command, str(path), *args], input="0 1\n")
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith(f"error: {path}:9:8: the output {output!r} must have a row per "
                               f"data row (m x k), not {shape}"), r.stderr


@pytest.mark.parametrize("fmt", ["plain", "rich", "json"])
def test_check_says_when_no_entry_was_checked_by_finite_differences(fmt):
    """Every entry excused from differences (a saturated sigmoid): "ok" said nothing was
    compared with the cost itself; it says forward mode alone agreed (JSON: by_differences)."""
    import io

    from cgcalc.render.check import check_render

    rows = [("W", (0, 0), 0.5, 0.5, None), ("W", (0, 1), -1.0, -1.0, None)]
    out = io.StringIO()
    assert check_render(rows, fmt, out, 1e-9, 1e-6, {("W", (0, 0)): "why"}) is True
    if fmt == "json":
        doc = json.loads(out.getvalue())
        assert doc["ok"] is True and doc["by_differences"] == 0
    else:
        assert "ok by forward mode alone: no entry could be checked by finite differences" in \
            out.getvalue()
    out = io.StringIO()
    check_render([("W", (0, 0), 0.5, 0.5, 0.5)], fmt, out, 1e-9, 1e-6)
    assert "forward mode alone" not in out.getvalue()
