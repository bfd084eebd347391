"""Choosing params with --wrt: every example network, every subset of its params, every output
form of `diff` and `graph`, gives exit status 0 and, for the chosen params, exactly the
gradients of the full run (the class of the crash where the derivation built connections for
every param but adjoints only for the chosen ones). And options that do not apply to what is
given are refused, never silently ignored."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cgcalc.cli import main
from cgcalc.net import Network, backprop
from cgcalc.net.data import file_data
from cgcalc.net.params import initial_params

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.net"))


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input,
                              catch_exceptions=False)


def subsets(params):
    for k in range(1, len(params) + 1):
        yield from itertools.combinations(params, k)


def cases():
    for path in EXAMPLES:
        net = Network(path.read_text(), str(path))
        for chosen in subsets(net.params):
            yield pytest.param(path, chosen, id=f"{path.stem}-{'+'.join(chosen)}")


@pytest.mark.parametrize("path, chosen", list(cases()))
def test_every_subset_in_every_form(path, chosen):
    wrt = [a for p in chosen for a in ("--wrt", p)]
    full = json.loads(run("diff", path, "--format", "json").stdout)
    r = run("diff", path, *wrt, "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert list(doc["derivatives"]) == list(chosen)
    for p in chosen:
        assert doc["derivatives"][p] == full["derivatives"][p]
        assert doc["paths"][p]["count"] == full["paths"][p]["count"]
    for fmt in ("rich", "plain", "csv", "latex", "dot"):
        r = run("diff", path, *wrt, "--format", fmt)
        assert r.exit_code == 0 and r.stdout, (fmt, r.stderr)
    for fmt in ("tree", "dot", "mermaid"):
        r = run("graph", path, "--wrt", chosen[0], "--format", fmt)
        assert r.exit_code == 0 and r.stdout, (fmt, r.stderr)


def test_plain_values_of_a_subset_are_the_full_runs():
    path = ROOT / "examples" / "xor.net"
    full = run("diff", path, "--format", "plain").stdout.splitlines()
    part = run("diff", path, "--wrt", "theta2", "--format", "plain").stdout.splitlines()
    assert part == [line for line in full if line.startswith("dC/dtheta2 ")]


@pytest.mark.parametrize("cost", ["mse(w, v)", "cross_entropy(sigmoid(w), sigmoid(v))",
                                  "mse(w, v) + sum(X @ w)"])
def test_costs_of_params_alone(cost):
    """Costs whose arguments are params (no batch): the shape helpers of the builder make their
    nodes without calling back into themselves."""
    text = f"input X[1]\ntarget y[1]\nparam w[1, 1]\nparam v[1, 1]\nC = {cost}\nminimize C\n" \
           "data {\n 1 -> 0\n 2 -> 1\n}\n"
    net = Network(text, "p.net")
    data = file_data(net)
    params = initial_params(net, 3)
    grads = dict(zip(net.params, backprop.tape(net, list(backprop.gradients(net).values()))
                     .run(net.env(params, data))))
    cost_tape = backprop.tape(net, [net.cost])
    h = 1e-6
    for p in net.params:
        plus = {k: v.copy() for k, v in params.items()}
        minus = {k: v.copy() for k, v in params.items()}
        plus[p][0, 0] += h
        minus[p][0, 0] -= h
        numeric = (float(cost_tape.run(net.env(plus, data))[0]) -
                   float(cost_tape.run(net.env(minus, data))[0])) / (2 * h)
        assert np.isclose(np.asarray(grads[p]).ravel()[0], numeric, rtol=1e-6, atol=1e-8)


def test_space_separated_data_file_without_a_header(tmp_path):
    """The first row of a data file is data unless it is a row of names."""
    (tmp_path / "rows.txt").write_text("1 2\n2 4\n3 6.5\n")
    text = ("input x[1]\ntarget y[1]\nparam a[1, 1]\nP = x @ a\nC = mse(P, y)\nminimize C\n"
            'data "rows.txt"\n')
    (tmp_path / "f.net").write_text(text)
    X, Y = file_data(Network(text, str(tmp_path / "f.net")))
    assert X.ravel().tolist() == [1, 2, 3] and Y.ravel().tolist() == [2, 4, 6.5]
    (tmp_path / "rows.txt").write_text("x y\n1 2\n")
    X, Y = file_data(Network(text, str(tmp_path / "f.net")))
    assert X.ravel().tolist() == [1] and Y.ravel().tolist() == [2]


@pytest.mark.parametrize("args, option", [
    (["diff", "examples/xor.net", "--order", "2"], "--order"),
    (["diff", "examples/xor.net", "--mode", "forward"], "--mode"),
    (["diff", "examples/xor.net", "--at", "x=1"], "--at"),
    (["diff", "x^2", "--params", "p.json"], "--params"),
    (["check", "x^2", "--at", "x=1", "--params", "p.json"], "--params"),
    (["check", "examples/xor.net", "--at", "x=1"], "--at"),
    (["graph", "examples/xor.net", "--at", "x=1"], "--at"),
    (["graph", "x^2", "--params", "p.json"], "--params"),
    (["diff", "x^2", "--points", "-", "--mode", "forward"], "--mode"),
])
def test_options_that_do_not_apply_are_refused(args, option, monkeypatch):
    monkeypatch.chdir(ROOT)
    r = run(*args, input="x\n1\n")
    assert r.exit_code == 2 and r.stderr.startswith(f"error: {option} ")
    assert "Traceback" not in r.stderr
