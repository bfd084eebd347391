"""Classifiers (softmax, log_softmax, softmax_cross_entropy) against numpy and finite
differences, the textbook (softmax(Z) - Y)/m, the spirals example, the class column; and the
training options: minibatches, momentum, Adam, flags over the train line."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cgcalc import ops
from cgcalc.cli import main
from cgcalc.net import Network, backprop
from cgcalc.net.check import check
from cgcalc.net.data import file_data
from cgcalc.net.derivation import NetDerivation
from cgcalc.net.params import initial_params
from cgcalc.net.train import train

ROOT = Path(__file__).resolve().parents[1]
SPIRALS = ROOT / "examples" / "spirals.net"


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input,
                              catch_exceptions=False)


def numpy_log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_values_are_numpys_and_stable(scale):
    z = np.random.default_rng(1).normal(size=(5, 4)) * scale  # 1e3: exp overflows unshifted
    y = np.eye(4)[[0, 3, 1, 1, 2]]
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        s = ops.OPS["softmax"].bind(np)(z)
        ls = ops.OPS["log_softmax"].bind(np)(z)
        ce = ops.OPS["softmax_cross_entropy"].bind(np)(z, y)
    assert np.allclose(ls, numpy_log_softmax(z)) and np.allclose(s, np.exp(ls))
    assert np.allclose(s.sum(axis=1), 1.0)
    assert np.isclose(ce, -(y * numpy_log_softmax(z)).sum() / 5)


NET = """input X[2]
target Y[3]
param W[3, 3]
param U[3, 3]
Z = [X, 1] @ W
S = softmax(Z) @ U
C = softmax_cross_entropy(Z, Y) + sum(log_softmax(S) * log_softmax(Z)) / 10 + mean(rowsum(S))
minimize C
data {
  0.5 1 -> 1 0 0
  -1 0.2 -> 0 1 0
  0.3 -0.7 -> 0 0 1
  2 1 -> 0 1 0
}
"""


def test_gradients_against_forward_mode_and_finite_differences():
    net = Network(NET, "s.net")
    for _, _, rev, fwd, num in check(net, initial_params(net, 5), file_data(net))[0]:
        assert np.isclose(rev, fwd, rtol=1e-9, atol=1e-12)
        assert np.isclose(rev, num, rtol=1e-5, atol=1e-8)


def test_the_textbook_form_of_the_gradient():
    """softmax and the cross-entropy cancel into (softmax(Z) - Y)/m, the multi-class twin of
    (L3 - y)/m; with the output P = softmax(Z) named, it reads (P - Y)/m."""
    text = NET.replace("S = softmax(Z) @ U\n", "").replace(
        " + sum(log_softmax(S) * log_softmax(Z)) / 10 + mean(rowsum(S))", "").replace(
        "param U[3, 3]\n", "")
    net = Network(text, "s.net")
    d = NetDerivation(net, initial_params(net), file_data(net))
    assert d.gradient_text("W", own_names_only=True) == "[X, 1]' @ (softmax(Z) - Y)/m"
    net = Network(text.replace("minimize C", "P = softmax(Z)\noutput P\nminimize C"), "s.net")
    d = NetDerivation(net, initial_params(net), file_data(net))
    assert d.gradient_text("W", own_names_only=True) == "[X, 1]' @ (P - Y)/m"


def test_spirals_train_to_95_percent_and_predict_adds_the_class(tmp_path):
    saved = tmp_path / "p.json"
    r = run("train", SPIRALS, "--format", "json", "--save", saved, "-q")
    doc = json.loads(r.stdout)
    assert doc["accuracy"] >= 0.95
    r = run("predict", SPIRALS, "--params", saved, "--format", "csv")
    rows = [line.split(",") for line in r.stdout.splitlines()]
    assert rows[0][-4:] == ["P1", "P2", "P3", "class"]
    probs = np.array([[float(v) for v in row[-4:-1]] for row in rows[1:]])
    classes = [int(row[-1]) for row in rows[1:]]
    assert classes == probs.argmax(axis=1).tolist()
    assert np.allclose(probs.sum(axis=1), 1.0)


# -- training options ---------------------------------------------------------------------------
LINE = ROOT / "examples" / "line.net"


def setup_line():
    net = Network(LINE.read_text(), str(LINE))
    return net, file_data(net), initial_params(net, 0)


def test_adam_and_momentum_take_the_textbook_steps():
    net, data, start = setup_line()
    grads = dict(zip(net.params, backprop.tape(net, list(backprop.gradients(net).values()))
                     .run(net.env(start, data))))
    g = {p: np.array(grads[p]) for p in net.params}
    opts = {**net.options, "epochs": 1, "rate": 0.1}
    sgd = train(net, start, data, {**opts, "optimizer": "sgd"})
    mom = train(net, start, data, {**opts, "optimizer": "momentum"})
    adam = train(net, start, data, {**opts, "optimizer": "adam"})
    for p in net.params:
        assert np.allclose(sgd.params[p], start[p] - 0.1 * g[p], rtol=1e-12)
        assert np.allclose(mom.params[p], start[p] - 0.1 * g[p], rtol=1e-12)  # v = g at first
        m_hat, v_hat = g[p], g[p] ** 2  # bias-corrected first moments are the gradient
        assert np.allclose(adam.params[p], start[p] - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8))
    two = train(net, start, data, {**opts, "epochs": 2, "optimizer": "momentum"})
    after = {p: start[p] - 0.1 * g[p] for p in net.params}
    g2 = dict(zip(net.params, backprop.tape(net, list(backprop.gradients(net).values()))
                  .run(net.env(after, data))))
    for p in net.params:  # v = 0.9 g1 + g2
        assert np.allclose(two.params[p], after[p] - 0.1 * (0.9 * g[p] + np.array(g2[p])))


def test_minibatches_are_shuffled_by_the_runs_generator_and_converge():
    net, data, start = setup_line()
    opts = {**net.options, "epochs": 1000, "rate": 0.01, "batch": 3, "optimizer": "adam"}
    a = train(net, start, data, opts, rng=np.random.default_rng(5))
    b = train(net, start, data, opts, rng=np.random.default_rng(5))
    c = train(net, start, data, opts, rng=np.random.default_rng(6))
    assert all(np.array_equal(a.params[p], b.params[p]) for p in net.params)
    assert not all(np.array_equal(a.params[p], c.params[p]) for p in net.params)
    full = train(net, start, data, {**net.options, "epochs": 5000, "rate": 0.05})
    assert a.cost < 2 * full.cost  # minibatch Adam gets as near the least squares
    everything = train(net, start, data, {**opts, "epochs": 3, "batch": len(data[0])})
    whole = train(net, start, data, {**opts, "epochs": 3, "batch": None})
    assert all(np.allclose(everything.params[p], whole.params[p]) for p in net.params)


def test_flags_override_the_train_line_and_bad_values_exit_2():
    r = run("train", LINE, "--optimizer", "adam", "--rate", "0.05", "--epochs", "500",
            "--batch", "4", "--format", "json", "-q")
    assert r.exit_code == 0 and json.loads(r.stdout)["epochs"] == 500
    for flag, value in [("--optimizer", "nope"), ("--batch", "0"), ("--beta", "1"),
                        ("--beta2", "-0.1"), ("--eps", "0"), ("--rate", "nan"),
                        ("--seed", "-1"), ("--epochs", "-3")]:
        r = run("train", LINE, flag, value, "-q")
        assert r.exit_code == 2 and r.stderr.startswith("error:"), (flag, r.stderr)
    text = LINE.read_text().replace("train ", "train optimizer=adm ")
    path = ROOT / "tests" / "_bad_option.net"
    try:
        path.write_text(text)
        (ROOT / "tests" / "line.csv").write_text((ROOT / "examples" / "line.csv").read_text())
        r = run("train", path, "-q")
    finally:
        path.unlink()
        (ROOT / "tests" / "line.csv").unlink()
    assert r.exit_code == 2 and "optimizer is one of sgd, momentum, adam" in r.stderr
    assert ":" in r.stderr.split()[1] and "^" in r.stderr


ONE = """input  X[2]
target Y[1]
param  W[3, 1] ~ uniform(-1, 1)
Z = [X, 1] @ W
P = softmax(Z)
C = softmax_cross_entropy(Z, Y)
output P
minimize C
data {
  0 1 -> 1
  1 0 -> 1
}
"""


@pytest.mark.parametrize("edit, op, line", [
    (("", ""), "softmax_cross_entropy", 6),  # the cost, whose graph is walked first
    (("C = softmax_cross_entropy(Z, Y)", "C = mse(Z, Y)"), "softmax", 5),  # the output
    (("C = softmax_cross_entropy(Z, Y)", "C = mse(Z, Y) + mean(log_softmax(Z))"),
     "log_softmax", 6),
])
@pytest.mark.parametrize("command", ["train", "check", "diff", "predict"])
def test_one_class_is_no_classifier(edit, op, line, command, tmp_path):
    """A softmax of one column is 1 on every row: the cost 0 and "accuracy 1.0" whatever
    the params. Refused at the call, before any data is read."""
    path = tmp_path / "one.net"
    path.write_text(ONE.replace(*edit))
    args = [command, path] + (["--params", tmp_path / "none.json"] if command == "predict"
                              else [])
    r = run(*args)
    assert r.exit_code == 2 and r.stdout == "" and "Traceback" not in r.stderr
    first, source, caret = r.stderr.splitlines()[:3]
    text = ONE.replace(*edit).splitlines()[line - 1]
    column = text.index(op + "(") + 1
    assert first.startswith(f"error: {path}:{line}:{column}: {op} over one column: a "
                            f"classifier needs at least 2 classes"), r.stderr
    assert source.endswith(f"| {text}") and caret.strip() == "^" * len(op)


def test_soft_labels_summing_to_1_train_and_others_are_refused(tmp_path):
    """Soft labels (probabilities, not one-hot) are targets softmax_cross_entropy takes: the
    gradient (softmax(Z) - Y)/m holds for any row summing to 1, and training reaches them.
    A row that does not sum to 1 would train to nonsense (the spirals with a row -1, 2, 0
    reported a cost of -4.68e9 and accuracy 1.0): refused, in the data file, at its row."""
    text = NET.replace("S = softmax(Z) @ U\n", "").replace(
        " + sum(log_softmax(S) * log_softmax(Z)) / 10 + mean(rowsum(S))", "").replace(
        "param U[3, 3]\n", "")
    text = (text.split("data {")[0] + "P = softmax(Z)\noutput P\n"
            "data {\n  0.5 1 -> 0.2 0.3 0.5\n}\n")
    net = Network(text, "s.net")
    result = train(net, initial_params(net, 0), file_data(net),
                   {**net.options, "epochs": 3000, "rate": 0.5})
    assert np.allclose(np.asarray(result.predictions)[0], [0.2, 0.3, 0.5], atol=0.02)
    data = (ROOT / "examples" / "spirals.csv").read_text().splitlines()
    (tmp_path / "spirals.net").write_text(SPIRALS.read_text())
    k = 150
    x1, x2 = data[k].split(",")[:2]
    data[k] = f"{x1},{x2},-1,2,0"
    (tmp_path / "spirals.csv").write_text("\n".join(data) + "\n")
    r = run("train", tmp_path / "spirals.net", "--quiet")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith(f"error: {tmp_path / 'spirals.csv'}:{k + 1}:"
                               f"{len(x1) + len(x2) + 3}: Y1 = -1 is not between 0 and 1: "
                               f"softmax_cross_entropy takes"), r.stderr


SCE = """input  X[2]
target Y[2]
param  W[3, 2] ~ uniform(-1, 1)
Z = [X, 1] @ W
C = softmax_cross_entropy(Z, TARGETS)
minimize C
data {
  0 1 -> 1 0
  1 0 -> 0 1
}
"""


@pytest.mark.parametrize("targets", ["2*Y", "0.5*Y + 0.25", "Y * Y", "softmax(Y)", "X"])
def test_softmax_cross_entropy_of_targets_made_by_an_expression_is_refused(targets, tmp_path):
    """Its derivative (softmax(Z) - Y)/m holds only where each row of Y sums to 1, which is
    checked for declared rows as they are read; of 2*Y it was wrong (-0.19 for +0.61) and
    trained on. An expression is refused at the call, with the cost written out as a hint;
    declared rows, and a slice of whole columns of them, are taken."""
    path = tmp_path / "t.net"
    path.write_text(SCE.replace("TARGETS", targets))
    r = run("diff", str(path), "--format", "plain")
    if targets == "X":  # an input's rows are declared rows: checked as they are read
        assert r.exit_code == 0, r.output
        return
    assert r.exit_code == 2 and r.stderr.startswith(f"error: {path}:5:5: "), r.stderr
    assert "log_softmax" in r.stderr
    path.write_text(SCE.replace("TARGETS", "cols(Y, 0, 2)"))
    assert run("diff", str(path), "--format", "plain").exit_code == 0
