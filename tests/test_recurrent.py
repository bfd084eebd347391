"""Recurrent networks unrolled through time: gradients equal a hand-written numpy
backpropagation through time and finite differences; the derivation tells BPTT (the
recurrence, the sums over steps, each step's part); the examples learn; bad files exit 2 with
the place."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cgcalc.cli import main
from cgcalc.errors import CgcalcError
from cgcalc.net import Network, backprop
from cgcalc.net.check import check
from cgcalc.net.data import file_data
from cgcalc.net.derivation import NetDerivation
from cgcalc.net.params import initial_params
from cgcalc.net.train import train

ROOT = Path(__file__).resolve().parents[1]
FIRST = ROOT / "examples" / "first.net"
DELAY = ROOT / "examples" / "delay.net"


def load(path):
    return Network(path.read_text(), str(path))


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input,
                              catch_exceptions=False)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def numpy_bptt(p, X, Y, T, per_step):
    """Textbook BPTT for h[t] = tanh(x[t] Wx + h[t-1] Wh + b), P = sigmoid([h, 1] V) at the
    last step (per_step=False) or at every step with the mean of the cross-entropies."""
    m, k = X.shape[0], p["Wh"].shape[0]
    hs = [np.zeros((m, k))]
    for t in range(T):
        hs.append(np.tanh(X[:, t:t + 1] @ p["Wx"] + hs[-1] @ p["Wh"] + p["b"]))
    g = {name: np.zeros_like(v) for name, v in p.items()}
    dh = np.zeros((m, k))
    for t in range(T, 0, -1):
        if per_step or t == T:
            H1 = np.hstack([hs[t], np.ones((m, 1))])
            P = sigmoid(H1 @ p["V"])
            y = Y[:, t - 1:t] if per_step else Y
            dz = (P - y) / m / (T if per_step else 1)  # sigmoid and cross-entropy cancel
            g["V"] += H1.T @ dz
            dh = dh + (dz @ p["V"].T)[:, :k]
        da = dh * (1 - hs[t] ** 2)
        g["Wx"] += X[:, t - 1:t].T @ da
        g["Wh"] += hs[t - 1].T @ da
        g["b"] += da.sum(axis=0, keepdims=True)
        dh = da @ p["Wh"].T
    return g


@pytest.mark.parametrize("path, per_step", [(FIRST, False), (DELAY, True)])
def test_gradients_equal_numpy_bptt(path, per_step):
    net = load(path)
    X, Y = file_data(net)
    for seed in (0, 7):
        params = initial_params(net, seed)
        params["b"] = np.random.default_rng(seed).normal(0, 0.3, params["b"].shape)
        got = dict(zip(net.params, backprop.tape(net, list(backprop.gradients(net).values()))
                       .run(net.env(params, (X, Y)))))
        want = numpy_bptt(params, X, Y, net.steps, per_step)
        for p in net.params:
            assert np.allclose(got[p], want[p], rtol=1e-10, atol=1e-13), p


@pytest.mark.parametrize("path", [FIRST, DELAY])
def test_reverse_forward_and_finite_differences_agree(path):
    net = load(path)
    for _, _, rev, fwd, num in check(net, initial_params(net, 3), file_data(net))[0]:
        assert np.isclose(rev, fwd, rtol=1e-9, atol=1e-12)
        assert np.isclose(rev, num, rtol=1e-5, atol=1e-8)


def test_the_examples_learn():
    for path in (FIRST, DELAY):
        net = load(path)
        data = file_data(net)
        result = train(net, initial_params(net), data, net.options)
        assert result.cost < 0.01, path
        assert (np.round(result.predictions) == data[1]).all(), path


def test_the_derivation_tells_backpropagation_through_time():
    net = load(DELAY)
    d = NetDerivation(net, initial_params(net), file_data(net))
    tt = d.through_time
    recurrence = {label: tt.text(node) for label, node in tt.recurrence}
    assert recurrence["δh[t-1]"] == "δh[t]*(1 - h[t]^2) @ Wh'"
    assert recurrence["δh[t]"] == "cols(δP[t]*P[t]*(1 - P[t]) @ V', 0, 8)"
    assert tt.text(tt.sums["Wh"]) == "h[t-1]' @ (δh[t]*(1 - h[t]^2))"
    assert tt.text(tt.sums["Wx"]) == "x[t]' @ (δh[t]*(1 - h[t]^2))"
    # each step's part adds up to the gradient (every param here is used only in the steps),
    # and the sizes shown are the parts' sizes
    for p, parts in tt.parts.items():
        assert len(parts) == net.steps
        assert np.allclose(sum(parts), d.grad_values[p], rtol=1e-12, atol=1e-15), p
        assert np.allclose(tt.per_step[p], [np.linalg.norm(x) for x in parts], rtol=1e-12)
    assert tt.per_step["Wh"][0] == 0.0  # h[0] is zeros: the first step adds nothing to Wh
    # the paths back through time, counted exactly: 1 + 2 + ... per step
    assert d.count("Wh") == sum(range(1, net.steps + 1)) == d.count("Wx")


def test_diff_json_carries_through_time_and_every_form_works():
    doc = json.loads(run("diff", FIRST, "--format", "json").stdout)
    assert set(doc["through_time"]) == {"Wx", "Wh", "b"}
    assert all(len(v) == 5 for v in doc["through_time"].values())
    bptt = doc["backpropagation_through_time"]
    assert bptt["steps"] == 5 and bptt["sums"]["Wh"] == "h[t-1]' @ (δh[t]*(1 - h[t]^2))"
    assert doc["derivatives"]["V"]["symbolic"] == "[h[5], 1]' @ (P - y)/m"
    for fmt in ("rich", "plain", "csv", "latex", "dot"):
        r = run("diff", FIRST, "--format", fmt)
        assert r.exit_code == 0 and r.stdout, fmt
    rich = run("diff", DELAY, "--format", "rich").stdout
    assert "h[t]" in rich and "δh[t-1] += (δh[t] ⊙ (1 - h[t]^2)) @ Wh'" in rich
    assert "h[3]" not in rich.split("3. Paths")[0]  # one row per time-indexed equation


def test_graph_rolled_and_unrolled():
    rolled = run("graph", DELAY, "--format", "dot").stdout
    assert "↺ t-1" in rolled and "h[3]" not in rolled
    unrolled = run("graph", DELAY, "--format", "dot", "--unroll").stdout
    assert "h[3]" in unrolled and "↺" not in unrolled
    assert run("graph", ROOT / "examples" / "xor.net", "--unroll").exit_code == 2


def test_time_indexed_output_predicts_one_column_per_step(tmp_path):
    saved = tmp_path / "p.json"
    assert run("train", DELAY, "--epochs", "5", "--save", saved, "-q").exit_code == 0
    r = run("predict", DELAY, "--params", saved, "--points", "-", "--format", "csv",
            input="1 0 1 1 0 0 1 0\n")
    header, row = r.stdout.splitlines()
    assert header.split(",")[-8:] == [f"P{t}" for t in range(1, 9)]
    assert len(row.split(",")) == 16


BASE = """steps 3
input  x[t, 1]
target y[1]
param  W[1, 2]
param  U[2, 2]
param  V[2, 1]
h[0] = zeros(2)
h[t] = tanh(x[t] @ W + h[t-1] @ U)
P = h[T] @ V
C = mse(P, y)
minimize C
data {
  1 0 1 -> 1
}
"""


@pytest.mark.parametrize("edit, words, line", [
    (("h[t-1] @ U", "h[t+1] @ U"), "reaches into the future", 8),
    (("h[0] = zeros(2)\n", ""), "h[0] has no value", 7),
    (("P = h[T] @ V", "P = h[t] @ V"), "t has a value only", 9),
    (("steps 3", "steps 0"), "at least one step", 1),
    (("  1 0 1 -> 1", "  1 0 -> 1"), "the row has 2 -> 1 numbers; the network takes 3 -> 1",
     13),
    (("steps 3\n", ""), "needs a 'steps T' line", None),
    (("P = h[T] @ V", "P = h @ V"), "h has a value at each step", 9),
    (("x[t] @ W", "x @ W"), "x has a value at each step", 8),
    (("x[t] @ W", "x[t-3] @ W"), "x[-2]: the data has steps 1 to 3", 8),
    (("h[0] = zeros(2)", "h[1] = zeros(2)"), "only the states before step 1", 7),
    (("C = mse(P, y)", "C = mse(h[t] @ V, y)"), "t has a value only", 10),
    (("param  W[1, 2]", "param  W[t, 2]"), "only an input or target may be a sequence", 4),
    # steps past T, or written with more digits than are counted, say so at their place
    (("P = h[T] @ V", "P = h[4] @ V"), "h[4] is past the last step: h has steps 1 to T = 3", 9),
    (("P = h[T] @ V", "P = h[T+1] @ V"), "h[4] is past the last step", 9),
    (("P = h[T] @ V", "P = h[" + "9" * 20 + "] @ V"),
     "h[...] (a step past T by 18 digits or more) is past the last step", 9),
    (("h[t-1] @ U", "h[t-" + "9" * 20 + "] @ U"),
     "h[...] (a step before 0 by 18 digits or more) has no value", 8),
    (("P = h[T] @ V", "P = h[" + "9" * 18 + "] @ V"),
     "h[...] (a step past T by 18 digits or more) is past the last step", 9),
    (("P = h[T] @ V", "P = h[" + "9" * 17 + "] @ V"), f"h[{'9' * 17}] is past the last step", 9),
    (("P = h[T] @ V", "P = h[" + "0" * 20 + "4] @ V"), "h[4] is past the last step", 9),
    (("x[t] @ W", "x[t-" + "9" * 20 + "] @ W"),
     "x[...] (a step before 0 by 18 digits or more): the data has steps 1 to 3", 8),
])
def test_bad_recurrent_files_exit_2_with_the_place(edit, words, line):
    text = BASE.replace(*edit)
    assert text != BASE
    with pytest.raises(CgcalcError) as info:
        file_data(Network(text, "r.net"))
    e = info.value
    assert words in e.message and e.status == 2, e.render()
    if line is not None:
        assert e.line == line, e.render()
        assert "^" in e.render()


def test_a_step_written_with_leading_zeros_is_the_step_it_names():
    from cgcalc.net.params import initial_params

    zeros = BASE.replace("h[t-1] @ U", "h[t-" + "0" * 25 + "1] @ U").replace(
        "P = h[T] @ V", "P = h[T-" + "0" * 30 + "] @ V")
    nets = [Network(text, "r.net") for text in (BASE, zeros)]
    data = file_data(nets[0])
    costs = [backprop.tape(n, [n.cost]).run(n.env(initial_params(n), data))[0] for n in nets]
    assert costs[0] == costs[1]


def test_the_texts_of_a_nodes_connections_share_what_they_print_in():
    """A mean over T steps is one node with T connections: telling each (its local
    derivative, what flows back through it) looks up its node's names once for all of them,
    not T times each (T = 4,000 took 11 s for the texts, now 5), and says the same."""
    from cgcalc.net import backprop

    steps = 300
    text = (ROOT / "examples" / "delay.net").read_text().replace("steps 8", f"steps {steps}")
    head, _ = text.split("data {")
    row = " ".join(["1", "0"] * (steps // 2))
    net = Network(head + "data {\n  " + row + " -> " + row + "\n}\n", "long.net")
    d = NetDerivation(net, initial_params(net, 0), file_data(net))

    class Counted(dict):
        asked = 0

        def get(self, key, default=None):
            Counted.asked += 1
            return super().get(key, default)

    texts = backprop.EdgeTexts(net.builder, Counted(d.names))
    assert any(len(e.out.args) >= steps for e in d.edges)  # the mean's node
    got = [(texts.local(e), texts.backward(e)) for e in d.edges]
    assert Counted.asked <= 8 * len(d.edges)
    alone = [backprop.EdgeTexts(net.builder, d.names) for _ in d.edges]  # nothing shared
    assert got == [(t.local(e), t.backward(e)) for t, e in zip(alone, d.edges)]


def reaching_back(k, states=None, steps=4):
    """BASE with h[t-k], and the states before step 1 given as ``states`` (step -> value)."""
    given = "".join(f"h[{j}] = zeros(2) + {v}\n" for j, v in (states or {}).items())
    return (BASE.replace("steps 3", f"steps {steps}").replace("h[t-1] @ U", f"h[t-{k}] @ U")
            .replace("h[0] = zeros(2)\n", given)
            .replace("  1 0 1 -> 1", "  " + " ".join("1001"[t % 4] for t in range(steps))
                     + " -> 1\n  " + " ".join("0110"[t % 4] for t in range(steps)) + " -> 0"))


@pytest.mark.parametrize("k", [2, 3])
def test_h_t_minus_k_with_its_states_before_step_1(k, tmp_path):
    """h[t-k] reaches the states h[1-k], ..., h[0], each given by its equation (written
    h[-1] = ..., h[-2] = ...): the cost is numpy's with those states, the gradients agree
    with forward mode and finite differences, and every command runs."""
    states = {j: 0.1 * (j - 1) for j in range(1 - k, 1)}
    net = Network(reaching_back(k, states), "k.net")
    X, Y = file_data(net)
    params = initial_params(net, 4)
    hs = {j: np.full((2, 2), v) for j, v in states.items()}
    for t in range(1, 5):
        hs[t] = np.tanh(X[:, t - 1:t] @ params["W"] + hs[t - k] @ params["U"])
    P = hs[4] @ params["V"]
    want = ((P - Y) ** 2).sum() / 2 / 2
    got = backprop.tape(net, [net.cost]).run(net.env(params, (X, Y)))[0]
    assert np.isclose(got, want, rtol=1e-12)
    for _, _, rev, fwd, num in check(net, params, (X, Y))[0]:
        assert np.isclose(rev, fwd, rtol=1e-9, atol=1e-12)
        assert np.isclose(rev, num, rtol=1e-5, atol=1e-8)
    path = tmp_path / "k.net"
    path.write_text(reaching_back(k, states))
    for args in (["train", "--epochs", "20", "-q"], ["check"], ["diff"], ["graph"]):
        r = run(args[0], path, *args[1:])
        assert r.exit_code == 0, r.stderr
    assert f"δh[t-{k}] += " in run("diff", path, "--format", "rich").stdout


@pytest.mark.parametrize("k, steps, given, missing", [
    (2, 4, {}, [-1, 0]),
    (2, 4, {0: 0}, [-1]),
    (2, 4, {-1: 0}, [0]),
    (3, 4, {}, [-2, -1, 0]),
    (3, 4, {-1: 0}, [-2, 0]),
    (3, 2, {}, [-2, -1]),  # two steps reach two of the three states
    (6, 8, {}, [-5, -4, "...", 0]),
    (6, 8, {-4: 0, -3: 0, -2: 0, -1: 0}, [-5, 0]),
])
def test_a_missing_state_names_the_equations_that_make_the_file_work(k, steps, given,
                                                                      missing, tmp_path):
    """The message names the states h[t-k] reaches that no equation gives, as equations that
    can be written (h[-1] = ... once was a syntax error), above h[t] = ...; written there, with
    the "..." filled in, the file works."""
    text = reaching_back(k, given, steps)
    path = tmp_path / "k.net"
    path.write_text(text)
    r = run("train", path, "-q")
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    first = r.stderr.splitlines()[0]
    named = ", ".join(x if x == "..." else f"h[{x}] = ..." for x in missing)
    many = len(missing) > 1
    assert first.endswith(f": h[{missing[0]}] has no value: add "
                          f"{'equations' if many else 'an equation'} {named} above h[t] = ... "
                          f"(the state{'s' if many else ''} before step 1)"), first
    line = text.splitlines().index("h[t] = tanh(x[t] @ W + h[t-%d] @ U)" % k) + 1
    assert first.startswith(f"error: {path}:{line}:"), first
    states = dict.fromkeys(range(missing[0], missing[-1] + 1) if "..." in missing
                           else missing, 0)
    fixed = reaching_back(k, {**given, **states}, steps)
    path.write_text(fixed)
    r = run("train", path, "-q", "--epochs", "5")
    assert r.exit_code == 0, r.stderr
    net = Network(fixed, "k.net")
    check(net, initial_params(net, 0), file_data(net))


def test_a_state_written_below_the_steps_is_told_to_move_up():
    text = reaching_back(2, {0: 0}).replace("P = h[T] @ V", "h[-1] = zeros(2)\nP = h[T] @ V")
    with pytest.raises(CgcalcError) as info:
        Network(text, "k.net")
    e = info.value
    assert e.status == 2 and e.line == 8 and "^" in e.render()
    assert e.message == ("h[-1] = ... is written below h[t] = ...: equations are built in the "
                         "order of the file, so give the states before step 1 above it")


def test_bad_states_before_step_1_exit_2_with_the_place(tmp_path):
    for state, words in [
        ("h[-1] = zeros(2)\nh[-1] = zeros(2)", "h[-1] is given twice"),
        ("g[-1] = zeros(2)", "g[-1] is a state of no time-indexed equation"),
        ("h[-x] = zeros(2)", "unexpected"),
        ("h[--1] = zeros(2)", "unexpected"),
    ]:
        path = tmp_path / "k.net"
        path.write_text(reaching_back(2, {0: 0}).replace("h[0] =", state + "\nh[0] ="))
        r = run("check", path)
        assert r.exit_code == 2 and words in r.stderr and "^" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr
