"""`cgcalc export`: the generated modules import only their library, and compute what cgcalc
computes (values, the derived gradients, the start, training) to 1e-9, for numpy always and for
torch and jax where they are installed. And a Function pickles, for worker processes."""

import ast
import inspect
import os
import subprocess
import sys
import importlib.util
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

import cgcalc
from cgcalc import ops
from cgcalc.cli import main
from cgcalc.export.backends import COMMON, PRELUDE
from cgcalc.net import Network, backprop
from cgcalc.net.data import file_data
from cgcalc.net.params import initial_params
from cgcalc.net.train import train
from test_derive import EXPRS, POINTS

ROOT = Path(__file__).resolve().parents[1]
NETS = sorted((ROOT / "examples").glob("*.net"))
# jax starts threads when imported, and a process that forks after that may deadlock (the
# suite forks subprocesses): its cases run in a pytest of their own, test_jax_in_its_own_process
IN_JAX_PROCESS = os.environ.get("CGCALC_TEST_JAX") == "1"
BACKENDS = ["jax"] if IN_JAX_PROCESS else ["numpy", "torch"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def generated(source, backend, tmp_path, name="gen"):
    """Write and import the module cgcalc exported; check it imports only its library."""
    if backend != "numpy":
        pytest.importorskip(backend)
    tree = ast.parse(source)
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom) and n.module}
    assert "cgcalc" not in imported
    assert imported <= {backend, "numpy"}  # numpy: only init_params draws with it
    path = tmp_path / f"{name}_{backend}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def export(source, backend, tmp_path, name="gen"):
    r = run("export", source, "--to", backend)
    assert r.exit_code == 0, r.stderr
    return generated(r.stdout, backend, tmp_path, name)


def test_every_op_is_written_for_every_library():
    for name in ops.OPS:
        if name not in ("const", "var"):
            assert name in COMMON, f"op {name!r} has no template for generated code"
    for backend, prelude in PRELUDE.items():
        defined = set(re.findall(r"^def (\w+)", prelude, re.M))
        used = {m for t in COMMON.values() for m in re.findall(r"(_\w+)\(", t)}
        assert used <= defined | {"_array"}, (backend, used - defined)


CASES = [
    ("exp(sin(x^2))", {"x": 1.0}),
    ("v = x^2; u = sin(v); f = exp(u)", {"x": 0.7}),
    ("sin(x)*cos(x) + sin(x)", {"x": 0.5}),
    ("sigmoid(w*x + b)", {"w": 0.5, "x": -1.5, "b": 0.25}),
    ("tanh(x) / (1 + x^2) + softplus(x) - relu(x) * abs(x) + step(x) + sign(x)", {"x": 0.8}),
    ("asin(x/2) + acos(x/3) + atan(x) + sinh(x) + cosh(x) + tan(x)", {"x": 0.4}),
    ("log(x, 2) + ln(x) + sqrt(x) + pow(x, y) + x^y - 2^-x", {"x": 1.7, "y": 0.6}),
    ("x*y - y", {"x": 0.3, "y": -0.8}),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("text, env", CASES)
def test_expressions_value_and_grad(text, env, backend, tmp_path):
    f = cgcalc.function(text)
    module = export(text, backend, tmp_path)
    xs = {v: np.array([env[v], env[v] * 0.9 + 0.01]) for v in f.variables}
    want_v, want_g = f.value_and_grad(**xs)
    got_v = np.asarray(module.value(*[xs[v] for v in f.variables]))
    got_g = module.grad(*[xs[v] for v in f.variables])
    assert np.allclose(got_v, want_v, rtol=1e-9, atol=1e-12)
    for v in f.variables:
        assert np.allclose(np.asarray(got_g[v]), want_g[v], rtol=1e-9, atol=1e-12), v


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(EXPRS, POINTS, POINTS, POINTS)
def test_random_expressions_export_to_numpy(tmp_path, text, x, y, z):
    f = cgcalc.function(text)
    if not f.variables:
        return
    env = {k: v for k, v in {"x": x, "y": y, "z": z}.items() if k in f.variables}
    with np.errstate(all="ignore"):
        want_v, want_g = f.value_and_grad(**env)
        if not np.isfinite([want_v, *want_g.values()]).all():
            return
        module = export(text, "numpy", tmp_path)
        got_g = module.grad(*[env[v] for v in f.variables])
    assert np.isclose(module.value(*[env[v] for v in f.variables]), want_v, rtol=1e-9)
    for v in f.variables:
        assert np.isclose(float(got_g[v]), want_g[v], rtol=1e-9, atol=1e-12), (text, v)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("path", NETS, ids=lambda p: p.stem)
def test_networks_start_forward_cost_gradients_and_train(path, backend, tmp_path):
    net = Network(path.read_text(), str(path))
    module = export(path, backend, tmp_path, path.stem)
    data = file_data(net)
    X, Y = data
    start = module.init_params()
    want = initial_params(net)
    for p in net.params:
        assert np.array_equal(np.asarray(start[p]), want[p])  # the same start, drawn the same
    env = net.env(want, data)
    if net.output is not None:
        out = backprop.tape(net, [net.output]).run(env)[0]
        assert np.allclose(np.asarray(module.forward(start, X)), out, rtol=1e-9, atol=1e-12)
    cost = backprop.tape(net, [net.cost]).run(env)[0]
    assert np.isclose(float(module.cost(start, X, Y)), cost, rtol=1e-9)
    grads = dict(zip(net.params, backprop.tape(net, list(backprop.gradients(net).values()))
                     .run(env)))
    got = module.gradients(start, X, Y)
    for p in net.params:
        assert np.allclose(np.asarray(got[p]), grads[p], rtol=1e-9, atol=1e-12), p
    opts = {**net.options, "epochs": 3, "batch": None}
    trained = module.train(start, X, Y, epochs=3, rate=opts["rate"])
    ours = train(net, want, data, opts)
    for p in net.params:
        assert np.allclose(np.asarray(trained[p]), ours.params[p], rtol=1e-9, atol=1e-12)


def test_names_that_python_keeps_for_itself(tmp_path):
    text = "lambda = x^2; xp = lambda*y; params = xp + θ1; params*2"
    module = export(text, "numpy", tmp_path)
    f = cgcalc.function(text)
    assert f.variables == ("x", "y", "θ1")
    got = module.grad(1.5, 2.0, 0.5)
    want = f.grad(x=1.5, y=2.0, θ1=0.5)
    assert all(np.isclose(float(got[v]), want[v]) for v in f.variables)


@pytest.mark.parametrize("name", ["m_", "__m", "m__", "X_", "y_", "params_", "xp_", "_array",
                                  "_safe", "grads_", "init_params_", "t1", "θ1"])
def test_a_param_named_like_what_the_module_writes_itself(name, tmp_path):
    """A param whose name, made an identifier, is one the module uses for its own work (the
    rows m, the data X, a helper) gets another name; the numbers are cgcalc's all the same."""
    text = (ROOT / "examples" / "xor.net").read_text().replace("theta1", name)
    path = tmp_path / "named.net"
    path.write_text(text)
    net = Network(text, str(path))
    module = export(path, "numpy", tmp_path, "named")
    X, Y = data = file_data(net)
    start = initial_params(net)
    env = net.env(start, data)
    assert np.isclose(float(module.cost(start, X, Y)),
                      backprop.tape(net, [net.cost]).run(env)[0], rtol=1e-12)
    want = dict(zip(net.params, backprop.tape(net, list(backprop.gradients(net).values()))
                    .run(env)))
    got = module.gradients(start, X, Y)
    assert set(got) == set(net.params) and name in got
    for p in net.params:
        assert np.allclose(got[p], want[p], rtol=1e-12, atol=1e-15), p


def test_bad_requests_exit_2_and_leave_nothing(tmp_path):
    r = run("export", "x^2", "--to", "fortran")
    assert r.exit_code == 2 and r.stderr.startswith("error:")
    r = run("export", "x + * 2", "-o", tmp_path / "f.py")
    assert r.exit_code == 2 and "1:5" in r.stderr and not (tmp_path / "f.py").exists()
    r = run("export", "x^2", "-o", tmp_path / "missing" / "f.py")
    assert r.exit_code == 2 and r.stderr.startswith("error: cannot write")
    assert not (tmp_path / "missing").exists()
    (tmp_path / "keep.py").write_text("mine\n")
    r = run("export", "sin(", "-o", tmp_path / "keep.py")
    assert r.exit_code == 2 and (tmp_path / "keep.py").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.py"]


def test_a_function_pickles_and_works_in_worker_processes():
    import multiprocessing

    f = cgcalc.function("exp(sin(x*y)) * log(1 + x^2)")
    g = pickle.loads(pickle.dumps(f))
    assert g.variables == f.variables and g.text == f.text
    xs = np.linspace(-1, 1, 8)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        got = pool.map(_grad_x, [(f, x) for x in xs])
    assert np.allclose(got, f.grad(x=xs, y=0.5)["x"], rtol=1e-12)


def _grad_x(args):
    f, x = args
    return f.grad(x=x, y=0.5)["x"]


def test_jax_in_its_own_process():
    pytest.importorskip("jax")
    if IN_JAX_PROCESS:
        return
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        __file__, "-k", "jax"], capture_output=True, text=True, timeout=600,
                       env={**os.environ, "CGCALC_TEST_JAX": "1"},
                       cwd=Path(__file__).resolve().parents[1])
    assert p.returncode == 0 and " passed" in p.stdout, p.stdout[-3000:]


# -- constant parts: the numbers cgcalc gives, never Python's arithmetic ------------------------

# each has a constant part that Python's numbers get wrong (a complex number, ZeroDivisionError,
# an int torch will not take) or that comes to nan or inf; cgcalc gives numpy's numbers
HOSTILE = [
    "x*(0-1)^0.5", "1/0 + x", "x*(2-2)^(0-1)", "log(0-1)*x", "sqrt(0-1) + x", "x*(0-8)^(1/3)",
    "x*log(0)", "x*(1/0)", "x^(0-1)*(1/0)", "exp(x)*(0-1)^(1/2)", "x + (1/0 - 1/0)",
    "x*sigmoid(0-1000)", "x*(1/3)^2000", "x*2^1000", "asin(2)*x", "acos(0-2) + x",
    "x*0^(0-2)", "x^2*(1/0)", "tan(x) + log(0, 2)", "x*(0-1/0)", "x^(1/0)", "(1/0)^x",
    "x*(0-2)^0.5*(1/0)", "x*(2^60 + 1)", "c = 1/0; x*c - c",
    # and where the simplifier took such a part for a number (0*c is 0, c - c is 0, c/c is 1),
    # the gradient was 0 or 1, not nan
    "x*(0/0)", "x*(1/0 - 1/0)", "x*(0*log(0))", "x*(log(0) - log(0))", "x*log(0)/log(0)",
    "x*(0*sqrt(0-1))", "x*(0*(0-1)^0.5)", "x^2*(2*log(0) - log(0))", "x*(x + 1/0)*0",
]
# constant parts past what a float holds: refused, as a number past the floats is
PAST = ["x^(2^1030)", "x*2^1030", "x + 1e308*10", "x*exp(1000)", "x*cosh(0-1000)",
        "sin(x)*(1e308 + 1e308)/2", "x^(2^1030 - 1)", "2^1030/2^1029*x"]


def same(got, want):
    """Equal to 1e-9, nan where nan, inf of the same sign where inf."""
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=1e-9, atol=1e-300,
                               equal_nan=True)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("text", HOSTILE)
def test_constant_parts_give_cgcalcs_numbers(text, backend, tmp_path):
    f = cgcalc.function(text)
    module = export(text, backend, tmp_path)
    xs = np.array([1.0, 2.0, -1.5, 0.0])
    with np.errstate(all="ignore"):
        want_v, want_g = f.value(x=xs), f.grad(x=xs)["x"]
        same(module.value(_as(backend, xs)), want_v)
        same(module.grad(_as(backend, xs))["x"], want_g)
        same(module.value(1.0), want_v[0])  # one Python float in: a number, never an error
        same(module.grad(x=1.0)["x"], want_g[0])


def _as(backend, xs):
    if backend == "torch":
        import torch

        return torch.tensor(xs, dtype=torch.float64)
    return xs


@pytest.mark.parametrize("text", PAST)
def test_a_constant_part_past_the_floats_is_refused(text, tmp_path):
    out = tmp_path / "f.py"
    r = run("export", text, "-o", out)
    assert r.exit_code == 1, r.stdout
    assert r.stderr.startswith("error: cannot export") and "past what a float holds" in r.stderr
    assert list(tmp_path.iterdir()) == []  # nothing half-written


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("factor", ["(0-1)^0.5", "(1/0)", "log(0)", "2^1000", "(1/3)^2000"])
def test_a_networks_constant_parts(factor, backend, tmp_path):
    text = (ROOT / "examples" / "line.net").read_text().replace(
        "P = x @ a + b", f"P = x @ a + b * {factor}").replace('"line.csv"', '"data.csv"')
    (tmp_path / "data.csv").write_text((ROOT / "examples" / "line.csv").read_text())
    path = tmp_path / "c.net"
    path.write_text(text)
    net = Network(text, str(path))
    module = export(path, backend, tmp_path, "c")
    X, Y = data = file_data(net)
    start = {p: np.full(net.decls[p].dims, 0.5) for p in net.params}
    env = net.env(start, data)
    given = {p: _as(backend, v) for p, v in start.items()}
    with np.errstate(all="ignore"):
        same(module.forward(given, X), backprop.tape(net, [net.output]).run(env)[0])
        if factor == "(1/0)":  # cgcalc's gradient tape divides Python floats there (raises)
            return
        got = module.gradients(given, X, Y)
        want = backprop.tape(net, list(backprop.gradients(net).values())).run(env)
        for p, w in zip(net.params, want):
            same(got[p], w)


def test_a_networks_constant_part_past_the_floats_is_refused(tmp_path):
    text = (ROOT / "examples" / "line.net").read_text().replace(
        "P = x @ a + b", "P = x @ a + b * exp(1000)")
    (tmp_path / "c.net").write_text(text)
    r = run("export", tmp_path / "c.net", "-o", tmp_path / "c.py")
    assert r.exit_code == 1 and "the constant exp(1000) is past" in r.stderr
    assert not (tmp_path / "c.py").exists()


def _constants():
    from hypothesis import strategies as st

    atoms = st.sampled_from(["0", "1", "2", "0.5", "3", "1e308", "1e-308"])
    return st.recursive(atoms, lambda c: st.one_of(
        st.tuples(st.sampled_from(["log", "sqrt", "exp", "asin", "tan", "-"]), c).map(
            lambda t: f"{t[0]}({t[1]})"),
        st.tuples(c, st.sampled_from(["+", "-", "*", "/"]), c).map(
            lambda t: f"({t[0]}){t[1]}({t[2]})"),
        st.tuples(c, atoms).map(lambda t: f"({t[0]})^{t[1]}")), max_leaves=6)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(_constants())
def test_any_constant_part_gives_cgcalcs_value_or_is_refused(tmp_path, constant):
    text = f"x*({constant}) + x"
    r = run("export", text)
    if r.exit_code == 1:
        assert "past what a float holds" in r.stderr
        return
    assert r.exit_code == 0, r.stderr
    module = generated(r.stdout, "numpy", tmp_path)
    xs = np.array([1.0, -2.0, 0.0])
    with np.errstate(all="ignore"):
        same(module.value(xs), cgcalc.function(text).value(x=xs))


# -- names: a variable is the parameter of its own name ------------------------------------------

# every name the module once kept for itself (but rows and step, which are functions), and
# the names of its own helpers
OWN = sorted({"xp", "jax", "numpy", "X", "y", "params", "grads", "rng", "seed", "epochs", "rate",
              "value", "grad", "forward", "cost", "gradients", "train", "init_params",
              "opt", "m_hat", "v_hat", "order", "start", "batch", "state", "t", "k",
              "g", "shape", "out", "float", "int", "range", "len", "dict", "zip", "_array",
              "_shaped", "_shape", "_sigmoid", "_relu", "_softplus", "_step", "_by_name",
              "named", "xp_2", "t1", "n1", "f", "match", "_", "y_", "__m"})


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", OWN)
def test_a_variable_keeps_its_name_as_a_keyword(name, backend, tmp_path):
    text = f"sigmoid(x)*{name} + relu({name})^2 + softplus(x*{name}) + step({name})"
    f = cgcalc.function(text)
    assert set(f.variables) == {"x", name}
    module = export(text, backend, tmp_path)
    env = {"x": 0.5, name: 1.5}
    same(module.value(**env), f.value(**env))
    got, want = module.grad(**env), f.grad(**env)
    assert set(got) == set(want)
    for v in want:
        same(got[v], want[v])


def test_all_those_names_at_once(tmp_path):
    names = [n for n in OWN if n != "x"]
    text = " + ".join(f"{k + 1}*sin({n})*{n}" for k, n in enumerate(names)) + " + x"
    f = cgcalc.function(text)
    module = export(text, "numpy", tmp_path)
    env = {n: 0.1 * k for k, n in enumerate(f.variables)}
    assert list(inspect.signature(module.grad).parameters) == list(f.variables)
    same(module.value(**env), f.value(**env))
    got, want = module.grad(**env), f.grad(**env)
    for v in f.variables:
        same(got[v], want[v])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_name_python_cannot_take_is_still_a_keyword(backend, tmp_path):
    """lambda is a keyword; x² and ﬁ are read by Python as x2 and fi, which are variables too."""
    text = "lambda*x² + x2*ﬁ + fi^2 + match"
    f = cgcalc.function(text)
    module = export(text, backend, tmp_path)
    env = {"lambda": 0.5, "x²": 1.5, "x2": -2.0, "ﬁ": 0.25, "fi": 3.0, "match": 1.0}
    assert set(f.variables) == set(env)
    want_v, want_g = f.value(**env), f.grad(**env)
    same(module.value(**env), want_v)
    got = module.grad(**env)
    assert set(got) == set(want_g)
    for v in want_g:
        same(got[v], want_g[v])
    same(module.value(*[env[v] for v in f.variables]), want_v)  # by position
    params = list(inspect.signature(module.grad).parameters)
    stand_ins = {"lambda": "lambda_", "x2": "x2", "fi": "fi", "match": "match"}
    assert all(p in params for p in stand_ins.values())
    assert "lambda_" in module.grad.__doc__ and "x²" in module.grad.__doc__
    same(module.value(lambda_=0.5, **{k: v for k, v in env.items() if k != "lambda"}),
         want_v)
    with pytest.raises(TypeError, match="lambda"):
        module.grad(**{k: v for k, v in env.items() if k != "lambda"})
    with pytest.raises(TypeError, match="twice"):
        module.grad(lambda_=0.5, **env)
    with pytest.raises(TypeError, match="unexpected"):
        module.grad(z=1.0, **env)


@pytest.mark.parametrize("width", [500, 2000])
def test_names_are_given_once_per_variable(width, tmp_path, monkeypatch):
    """The variables of a sum of ``width`` of them are named a bounded number of times each:
    the module's parameters were named once per variable over all of them (10,001 variables:
    10^8 namings, minutes), not once."""
    from cgcalc import codegen

    calls = []
    real = codegen.Namer.name
    monkeypatch.setattr(codegen.Namer, "name",
                        lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    (tmp_path / "w.txt").write_text(" + ".join(f"x{i}" for i in range(width)) + "\n")
    r = CliRunner().invoke(main, ["export", str(tmp_path / "w.txt"), "--to", "numpy"])
    assert r.exit_code == 0, r.output[-600:]
    assert f"x{width - 1}" in r.output
    assert len(calls) <= 12 * width, len(calls)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("body", ["sign(Z) + X @ w", "X @ w + (Z - Z)", "X @ w + 0*relu(Z)",
                                  "step(Z)*X + X @ w", "X @ w + sum(sign(Z))"])
def test_a_gradient_that_is_zero_exports(body, backend, tmp_path):
    """A broadcast param whose gradient simplifies to 0 (the derivative of sign or step, a
    part that cancels) is sum_to(0, c): the exported module's gradients ran it on a number
    and failed (IndexError), as cgcalc's own tape once did."""
    text = f"""
input X[1]
target y[1]
param w[1, 1] ~ uniform(-1, 1)
param c[1, 1] ~ uniform(-1, 1)
Z = X @ w + c
P = {body}
C = mse(P, y)
output P
minimize C
data {{
  1 -> 0.5
  2 -> -1
}}
"""
    path = tmp_path / "z.net"
    path.write_text(text)
    net = Network(text, str(path))
    module = export(path, backend, tmp_path, "z")
    X, Y = data = file_data(net)
    start = initial_params(net)
    got = module.gradients({p: _as(backend, v) for p, v in start.items()}, X, Y)
    want = backprop.tape(net, list(backprop.gradients(net).values())).run(net.env(start, data))
    for p, w in zip(net.params, want):
        assert np.allclose(np.asarray(got[p]), w, rtol=1e-9, atol=1e-12), (body, p)
        assert np.shape(got[p]) in ((), (1, 1))
