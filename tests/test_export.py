"""`cgcalc export`: the generated modules import only their library, and compute what cgcalc
computes (values, the derived gradients, the start, training) to 1e-9, for numpy always and for
torch and jax where they are installed. And a Function pickles, for worker processes."""

import ast
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
