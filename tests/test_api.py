"""The Python API: cgcalc.function(text) with .variables, .value(), .grad()."""

import math

import numpy as np
import pytest

import cgcalc
from conftest import fd


def test_contract_example():
    f = cgcalc.function("exp(sin(x*y)) * log(1 + x^2)")
    assert f.variables == ("x", "y")
    v = f.value(x=1.0, y=2.0)
    assert isinstance(v, float)
    assert math.isclose(v, math.exp(math.sin(2)) * math.log(2), rel_tol=1e-12)
    g = f.grad(x=1.0, y=2.0)
    assert set(g) == {"x", "y"}
    for var in ("x", "y"):
        h = fd(lambda t: f.value(**{"x": 1.0, "y": 2.0, var: t}), {"x": 1.0, "y": 2.0}[var])
        assert math.isclose(g[var], h, rel_tol=1e-8)


def test_arrays_in_same_shape_out():
    f = cgcalc.function("exp(sin(x*y)) * log(1 + x^2) + tanh(y) / (1 + x^2)")
    xs = np.linspace(-2, 2, 12).reshape(3, 4)
    ys = np.linspace(0.5, 1.5, 12).reshape(3, 4)
    v = f.value(x=xs, y=ys)
    assert v.shape == (3, 4)
    g = f.grad(x=xs, y=ys)
    assert g["x"].shape == g["y"].shape == (3, 4)
    for i, j in [(0, 0), (1, 2), (2, 3)]:
        x, y = xs[i, j], ys[i, j]
        assert math.isclose(v[i, j], f.value(x=x, y=y), rel_tol=1e-12)
        assert math.isclose(g["x"][i, j], fd(lambda t: f.value(x=t, y=y), x), rel_tol=1e-7)


def test_broadcasting_and_constants():
    f = cgcalc.function("x^2 + y")
    g = f.grad(x=np.array([1.0, 2.0, 3.0]), y=5.0)
    assert list(g["x"]) == [2.0, 4.0, 6.0] and list(g["y"]) == [1.0, 1.0, 1.0]


def test_domain_outside_gives_nan_not_an_exception():
    f = cgcalc.function("log(x)")
    v = f.value(x=np.array([1.0, -1.0]))
    assert v[0] == 0.0 and math.isnan(v[1])


def test_missing_variable_is_an_error():
    f = cgcalc.function("x*y")
    with pytest.raises(cgcalc.CgcalcError):
        f.value(x=1.0)


@pytest.mark.parametrize("text", ["exp(sin(x*y)) * log(1 + x^2) + tanh(y) / (1 + x^2)",
                                  "sqrt(x) + y^-1 - x/y", "x", "3", "sin(x)*sin(x) + y"])
@pytest.mark.parametrize("n, block", [(10_000, 1_000), (10_001, 1_000), (999, 1_000),
                                      (5_000, 2_500)])
def test_blocks_and_threads_give_the_whole_arrays_numbers_bit_for_bit(text, n, block):
    rng = np.random.default_rng(n)
    x, y = rng.uniform(-3, 3, n), rng.uniform(-3, 3, n)
    x[::97] = np.nan  # rows outside the domain stay where they are
    tape = cgcalc.function(text).tape()
    inputs = [x, y][:len(tape.variables)]
    whole = tape.run(inputs)
    for threads in (1, 2, 3):
        parts = tape.run(inputs, block=block, threads=threads)
        for a, b in zip(whole, parts):
            assert np.array_equal(np.broadcast_to(a, (n,)), np.broadcast_to(b, (n,)),
                                  equal_nan=True)
