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


# -- one point: the backward pass on floats (no derivative graph, no tape) -----------------------

def _on_the_tape(f, point, wrt=None):
    """What the tape gives at ``point``: arrays of one, so the float path is not taken."""
    arrays = {k: np.array([v]) for k, v in point.items()}
    value, grads = f.value_and_grad(wrt=wrt, **arrays)
    return float(np.ravel(value)[0]), {k: float(v[0]) for k, v in grads.items()}


def _same(a, b):
    """The same number, bit for bit (nan is nan)."""
    return a == b and math.copysign(1, a) == math.copysign(1, b) or (
        math.isnan(a) and math.isnan(b))


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_derive import EXPRS, POINTS  # noqa: E402


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRS, st.floats(-25, 25), st.floats(-25, 25), st.floats(-25, 25))
def test_one_point_on_floats_gives_the_tapes_numbers(text, x, y, z):
    f = cgcalc.function(text)
    point = {k: v for k, v in {"x": x, "y": y, "z": z}.items() if k in f.variables}
    value, grads = f.value_and_grad(**point)
    assert isinstance(value, float) and all(isinstance(g, float) for g in grads.values())
    tape_value, tape_grads = _on_the_tape(f, point)
    assert _same(value, tape_value)
    assert grads.keys() == tape_grads.keys()
    for k in grads:
        assert _same(grads[k], tape_grads[k]), (text, k, grads[k], tape_grads[k])


UNARY_OPS = ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp", "log",
             "ln", "sqrt", "abs", "sign", "step", "sigmoid", "relu", "softplus"]


@pytest.mark.parametrize("op", UNARY_OPS)
@pytest.mark.parametrize("x", [-2.5, -0.4, 0.0, 0.3, 0.9, 3.0, 12.7, 19.0, 800.0])
def test_every_function_at_one_point_is_the_tapes_inside_and_outside_its_domain(op, x):
    """Bit for bit: near where tanh flattens out (x*y = 19), 1 - tanh^2 is all rounding, and
    Python's math.tanh differs from numpy's in the last bit (2.2e-16 against 0)."""
    f = cgcalc.function(f"{op}(x*y) + x^y + pow(y, x) + log(y, 2) + y/x")
    point = {"x": x, "y": 1.5}
    value, grads = f.value_and_grad(**point)
    tape_value, tape_grads = _on_the_tape(f, point)
    assert _same(value, tape_value)
    for k in grads:
        assert _same(grads[k], tape_grads[k]), (op, x, k, grads[k], tape_grads[k])


@pytest.mark.parametrize("kind", [int, float, np.float64, np.array, bool])
def test_one_point_in_any_spelling_gives_floats(kind):
    f = cgcalc.function("x*x + 3*x")
    point = kind(1) if kind is not np.array else np.array(1.0)
    g = f.grad(x=point)
    assert type(g["x"]) is float and g["x"] == 5.0
    assert type(f.value(x=point)) is float and f.value(x=point) == 4.0
    assert f.grad(wrt="x", x=point) == {"x": 5.0}


def test_one_point_errors_are_the_same():
    f = cgcalc.function("x*y")
    for bad in ({"x": 1.0}, {"x": 1.0, "y": 2.0, "z": 3.0}, {"x": 10**400, "y": 1.0},
                {"x": "1", "y": 1.0}, {"x": 1j, "y": 1.0}):
        with pytest.raises(cgcalc.CgcalcError):
            f.grad(**bad)


def _step_inputs(step):
    return step[2].__reduce__()[1]  # the slots its itemgetter reads


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRS)
def test_a_tape_computes_only_what_is_used(text):
    """Every step's result is read by a later step or is an output: a - b, stored as
    a + (-1)*b and run as subtract(a, b), computes no (-1)*b."""
    tape = cgcalc.function(text).tape()
    steps = tape.static_steps + tape.steps
    read = {s for step in steps for s in _step_inputs(step)} | set(tape.outputs)
    assert all(step[1] in read for step in steps)


def test_a_difference_runs_as_one_subtraction():
    tape = cgcalc.function("x - y").tape()
    assert [step[0] for step in tape.steps] == [np.subtract]


@pytest.mark.parametrize("text", ["x", "x + 0*y", "3 + 0*x", "y", "x*y", "exp(x)",
                                  "exp(x) + exp(y)"])
@pytest.mark.parametrize("side", [10, 200])  # one slice of the tape, and several
def test_results_never_share_the_callers_arrays(text, side):
    """f = x gives back x's values: a new array, so writing into one leaves the other alone."""
    f = cgcalc.function(text)
    x, y = np.linspace(0, 1, side * side).reshape(side, side), np.full((side, side), 2.0)
    given = {"x": x, "y": y}
    value, grads = f.value_and_grad(**{k: v for k, v in given.items() if k in f.variables})
    for out in (value, *grads.values()):
        assert out.shape == (side, side)
        assert not any(np.may_share_memory(out, a) for a in (x, y))
        assert all(not np.may_share_memory(out, other) for other in (value, *grads.values())
                   if other is not out)


@pytest.mark.parametrize("call", ["value", "grad", "value_and_grad"])
@pytest.mark.parametrize("x_shape, y_shape", [((10**7,), (10**7, 1)), ((10**7, 1), (10**7,)),
                                              ((10**7, 1, 1), (1, 10**7, 1))])
def test_values_that_broadcast_past_any_memory_raise_cgcalc_error(call, x_shape, y_shape):
    """10^14 points (800 TB a result, past any address space, whatever the system's overcommit
    says): numpy's MemoryError came out raw; every bad call raises CgcalcError, naming the
    shape the values broadcast to."""
    f = cgcalc.function("x*y + sin(x)")
    x = np.broadcast_to(np.ones(1), x_shape)  # views: the arguments cost nothing
    y = np.broadcast_to(np.ones(1), y_shape)
    with pytest.raises(cgcalc.CgcalcError, match=r"broadcast together have shape .*"
                                                  r"100,000,000,000,000 points"):
        getattr(f, call)(x=x, y=y)


@pytest.mark.parametrize("name", ["self", "args", "kw", "names", "tape", "f"])
def test_a_variable_may_have_the_name_of_a_parameter_of_the_methods(name):
    """value, grad and value_and_grad take every variable by name, ``self`` too (it was the
    method's own first parameter: TypeError, "multiple values for argument 'self'")."""
    f = cgcalc.function(f"sin({name}) * q")
    point = {name: 0.5, "q": 2.0}
    assert math.isclose(f.value(**point), 2 * math.sin(0.5))
    assert f.grad(**point) == pytest.approx({name: 2 * math.cos(0.5), "q": math.sin(0.5)})
    value, grad = f.value_and_grad(**point)
    assert math.isclose(value, 2 * math.sin(0.5)) and grad[name] == pytest.approx(2 * math.cos(0.5))


# -- the tapes a Function keeps: bounded, whatever wrt is asked for -------------------------------

def _kept(f):
    """(tapes kept, their slots, the most slots the bound allows with the last tape kept)."""
    from cgcalc import api

    tapes = f._tapes
    slots = sum(t.n_slots for t in tapes.values())
    order = f.graph.order
    budget = max(api.SLOTS_KEPT * (len(order) + sum(len(n.args) for n in order)),
                 api.SLOTS_FLOOR)
    last = f._last[1].n_slots if f._last else 0
    return len(tapes), slots, max(budget, last)


def _wrts(names, rng, count):
    """``count`` wrt arguments: each name alone, then pairs, reversed pairs and larger sets,
    all variables, none (the value's tape): the sequences a caller might ask in."""
    out = [n for n in names]
    while len(out) < count:
        k = int(rng.integers(0, 4))
        pick = [names[i] for i in rng.choice(len(names), size=k, replace=False)]
        out.append(pick if k != 1 else pick[0])
    out += [None, ()]
    return out


@pytest.mark.parametrize("text", [
    " + ".join(f"sin(x{i})" for i in range(150)),  # each derivative needs one term
    " * ".join(f"(x{i} + q)" for i in range(60)),  # each needs all of the graph
    "exp(sin(a*b)) * log(1 + c^2) + tanh(d) / (1 + a^2)",  # small: the count bounds it
], ids=["150 sines", "60 factors", "small"])
def test_the_tapes_kept_stay_bounded_whatever_wrt_is_asked_for(text):
    """Each distinct wrt compiled a tape that was kept for the Function's life: 800 variables
    one at a time kept 801 tapes, 30 MB -> 694 MB. Now the most recently used few are kept,
    at most TAPES_KEPT and together at most SLOTS_KEPT slots a node of the graph."""
    from cgcalc import api

    f = cgcalc.function(text)
    point = {v: np.linspace(0.1, 0.9, 3) for v in f.variables}
    rng = np.random.default_rng(len(text))
    whole = f.grad(**point)
    for wrt in _wrts(list(f.variables), rng, 3 * len(f.variables)):
        value, grads = f.value_and_grad(wrt=wrt, **point)
        count, slots, most = _kept(f)
        assert count <= api.TAPES_KEPT and slots <= most, (wrt, count, slots, most)
        # the numbers are those of the whole gradient, tapes dropped or not
        assert set(grads) == set(f._names(wrt))
        for v in grads:
            assert np.array_equal(grads[v], whole[v]), (wrt, v)
    again = {v: f.grad(wrt=v, **point)[v] for v in reversed(f.variables)}
    for v in f.variables:
        assert np.array_equal(whole[v], again[v])


def test_memory_stays_that_of_a_few_tapes_however_many_wrt_are_asked_for():
    """tracemalloc: past the first few, a tape for each of 90 more variables leaves nothing
    more allocated (the code before kept each: 6.3 MB for these 90, growing without end).
    Counted: what cgcalc's modules allocated and still hold, but api.py's calls into numpy
    (numpy's own tables grow there now and then, whoever calls)."""
    import gc
    import os
    import tracemalloc

    from cgcalc import api

    ours = [tracemalloc.Filter(True, os.path.join(os.path.dirname(api.__file__), "*")),
            tracemalloc.Filter(False, api.__file__)]

    def held():
        gc.collect()
        return sum(s.size for s in
                   tracemalloc.take_snapshot().filter_traces(ours).statistics("filename"))

    f = cgcalc.function(" + ".join(f"sin(x{i})" for i in range(120)))
    point = {v: np.full(3, 0.5) for v in f.variables}
    f.grad(**point)  # the adjoints' nodes, made once in the graph's builder, all of them
    tracemalloc.start(1)
    try:
        start = held()
        f.grad(wrt="x0", **point)
        one = held() - start  # one more tape
        for v in f.variables[1:30]:
            f.grad(wrt=v, **point)
        few = held()
        for v in f.variables[30:]:
            f.grad(wrt=v, **point)
        more = held() - few
    finally:
        tracemalloc.stop()
    assert one > 50_000  # (a tape of 360 slots)
    assert more < one, (one, more)


def _count_compiles(monkeypatch):
    from cgcalc import derive

    made = []
    real = derive.compile_outputs
    monkeypatch.setattr(derive, "compile_outputs", lambda *a: made.append(1) or real(*a))
    return made


@pytest.mark.parametrize("calls", [
    ["x"] * 20,  # the same wrt again and again
    [None] * 20,  # all variables (the default)
    ["value", None] * 10,  # value and gradient in turn
    ["x", ["y", "z"], None, "value"] * 5,  # a few in turn
])
def test_a_wrt_asked_again_takes_the_tape_kept(calls, monkeypatch):
    f = cgcalc.function("exp(sin(x*y)) * log(1 + z^2) + tanh(y) / (1 + x^2)")
    point = {v: np.linspace(0.1, 0.9, 5) for v in f.variables}
    made = _count_compiles(monkeypatch)
    tapes = {}
    for wrt in calls:
        if wrt == "value":
            f.value(**point)
        else:
            f.grad(wrt=wrt, **point)
        key = f._names(() if wrt == "value" else wrt)
        tapes.setdefault(key, f.tape(key))
        assert f.tape(key) is tapes[key]  # the very tape, not one made again
    assert len(made) == len(tapes)


BINARY = ["{a}^{b}", "{a}/{b}", "log({a}, {b})", "pow({a}, {b})", "{a}*{b}", "{a} - {b}"]


@pytest.mark.parametrize("op", UNARY_OPS + BINARY)
def test_value_and_gradient_in_turn_keep_both_tapes_whatever_the_ops(op, monkeypatch):
    """The bound on slots is a multiple of the graph's nodes and edges; the tapes of the value,
    of all variables' gradient and of one variable's derivative fit in it together, whatever
    the op's connection derivative adds per edge (acos's, -1/sqrt(1 - x^2), the most)."""
    from cgcalc import api

    monkeypatch.setattr(api, "SLOTS_FLOOR", 1)  # the graph's own bound, not a small one's
    if "{a}" in op:
        text = "x"
        for _ in range(60):
            text = op.format(a=f"({text})", b="(y + 0.5)")
    else:
        text = f"{op}(" * 120 + "x*y" + ")" * 120
    f = cgcalc.function(text)
    assert f.variables == ("x", "y")
    point = {v: np.linspace(0.1, 0.2, 4) for v in f.variables}
    made = _count_compiles(monkeypatch)
    for _ in range(3):
        f.value(**point)
        f.grad(**point)
        f.grad(wrt="y", **point)
    assert len(made) == 3


def test_threads_calling_one_function_at_once_get_its_numbers():
    """Eight threads ask one Function for more distinct wrt than it keeps tapes, at once:
    compiling (which adds nodes to the graph's builder) and dropping tapes go one thread at
    a time, and every result is the one a lone caller gets."""
    import threading

    from cgcalc import api

    f = cgcalc.function(" + ".join(f"sin(x{i}) * x{(i + 1) % 24}" for i in range(24)))
    point = {v: np.linspace(-1, 1, 50) + k for k, v in enumerate(f.variables)}
    lone = cgcalc.function(f.text).grad(**point)
    wrts = [[f.variables[i], f.variables[(i * 7) % 24]] for i in range(24)] * 4
    failed, start = [], threading.Barrier(8)

    def work(k):
        try:
            start.wait(10)
            for wrt in wrts[k::8]:
                grads = f.grad(wrt=wrt, **point)
                for v in wrt:
                    if not np.array_equal(grads[v], lone[v]):
                        failed.append((wrt, v))
        except Exception as exc:  # noqa: BLE001 (reported below)
            failed.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failed and not any(t.is_alive() for t in threads)
    assert len(f._tapes) <= api.TAPES_KEPT


def test_a_function_pickles_as_its_text_whatever_tapes_it_keeps():
    import pickle

    f = cgcalc.function("exp(sin(x*y)) * log(1 + x^2)")
    point = {"x": np.linspace(0, 1, 7), "y": np.linspace(1, 2, 7)}
    for wrt in ("x", "y", None, ["y", "x"]):
        f.grad(wrt=wrt, **point)
    data = pickle.dumps(f)
    assert len(data) < len(f.text) + 200  # no tape, no graph, no lock
    g = pickle.loads(data)
    assert not g._tapes
    for k, v in f.grad(**point).items():
        assert np.array_equal(g.grad(**point)[k], v)


def _compile_in_child(f, point):
    f.grad(wrt="y", **point)


def test_a_child_forked_while_a_tape_is_compiled_compiles_its_own():
    """The lock a thread holds while it compiles would be held for ever in a child forked
    then (the thread is not there): the child gets a lock of its own."""
    import multiprocessing

    f = cgcalc.function("x*y + sin(x)")
    point = {"x": np.ones(4), "y": np.ones(4)}
    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:
        pytest.skip("no fork here")
    with f._lock:  # as a thread compiling holds it
        child = ctx.Process(target=_compile_in_child, args=(f, point))
        child.start()
        child.join(60)
    if child.is_alive():
        child.kill()
        pytest.fail("the child waited for a lock no thread of its own holds")
    assert child.exitcode == 0


# -- every value given either works as numbers or raises CgcalcError naming the argument ----------

class _FailingArray:
    """An array-like whose conversion fails, with an error of its own."""

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("the device is gone")


class _NoRepr:
    def __repr__(self):
        raise RuntimeError("no repr")


def _nested(depth):
    v = 1.0
    for _ in range(depth):
        v = [v]
    return v


def _holding_itself():
    v = []
    v.append(v)
    return v


def _cases():
    from decimal import Decimal
    from fractions import Fraction

    refused = {  # id -> (x, what the message says)
        "33 dimensions": (np.zeros((1,) * 33), r"x: an array of 33 dimensions"),
        "64 dimensions": (np.zeros((1,) * 64), r"x: an array of 64 dimensions"),
        "lists 40 deep": (_nested(40), r"x: an array of 40 dimensions"),
        "lists 100 deep": (_nested(100), r"x: lists nested more than 64 deep"),
        "a list holding itself": (_holding_itself(), r"x: lists nested more than 64 deep"),
        "list of arrays of 33 dimensions": ([np.zeros((1,) * 33)] * 2,
                                            r"x: an array of 34 dimensions"),
        "object array, a string": (np.array([1.0, "a"], dtype=object), r"x: .*not a number"),
        "object array, None": (np.array([1.0, None], dtype=object), r"x: .*not a number"),
        "object array, a list": (np.array([1.0, [2]], dtype=object), r"x: .*not a number"),
        "object array, complex": (np.array([1.0, np.complex64(1)], dtype=object),
                                  r"x: complex numbers"),
        "object array, a time span": (np.array([np.timedelta64(1, "s")], dtype=object),
                                      r"x: .*not a number"),
        "structured": (np.zeros(3, dtype=[("a", float), ("b", float)]), r"x: .*not a number"),
        "one-field record": (np.zeros(3, dtype=[("a", float)]), r"x: .*not a number"),
        "complex array": (np.array([1 + 2j]), r"x: complex numbers"),
        "complex": (1 + 0j, r"x: complex numbers"),
        "numpy complex64": (np.complex64(1), r"x: complex numbers"),
        "str": ("2", r"x: '2' is not a number"),
        "bytes": (b"2", r"x: b'2' is not a number"),
        "str array": (np.array(["1", "2"]), r"x: .*not a number"),
        "bytes array": (np.array([b"1"]), r"x: .*not a number"),
        "list of str": (["1", "2"], r"x: .*not a number"),
        "ragged": ([[1, 2], [3]], r"x: the lists are ragged"),
        "ragged deeper": ([[1, [2, 3]]], r"x: the lists are ragged"),
        "ragged arrays": ([np.ones(2), np.ones(3)], r"x: the lists are ragged"),
        "dates": (np.array(["2020-01-01"], dtype="datetime64[D]"), r"x: .*not a number"),
        "time spans": (np.array([1], dtype="timedelta64[s]"), r"x: .*not a number"),
        "Decimal": (Decimal("1.5"), r"x: .*not a number"),
        "None": (None, r"x: None is not a number"),
        "a set": ({1.0}, r"x: .*not a number"),
        "a dict": ({"a": 1.0}, r"x: .*not a number"),
        "an object without a repr": (_NoRepr(), r"x: .*not a number"),
        "conversion fails": (_FailingArray(), r"x: .* cannot be read as an array of numbers "
                                              r"\(RuntimeError: the device is gone\)"),
        "int past floats": (10**400, r"x: a number too large for a float"),
        "int of 5000 digits": (10**5000, r"x: a number too large for a float .* <int>"),
        "list with an int past floats": ([1, 10**400], r"x: a number too large for a float"),
        "long double past floats": (np.array([np.longdouble(10) ** 400]),
                                    r"x: a number too large for a float"),
        "past the entry limit": (np.broadcast_to(np.ones(1), (1001,)),
                                 r"x: an array of 1,001 entries, more than the limit of 1,000"),
        "broadcast past the entry limit": (np.ones((40, 1)), r"broadcast together have shape "
                                           r"\(40, 40\) \(1,600 points\), more than the limit"),
        "shapes that do not broadcast": (np.ones(3), r"do not broadcast together: x \(3,\), "
                                         r"y \(40,\)"),
        "bytes": (b"abc", r"x: b'abc' is bytes, not a number"),
        "bytearray": (bytearray(b"abc"), r"x: bytearray\(b'abc'\) is bytes, not a number"),
        "memoryview of bytes": (memoryview(b"ab"), r"x: .* is bytes, not a number"),
        "masked array": (np.ma.masked_array([1.0, 2.0], mask=[0, 1]),
                         r"x: a masked array \(its mask would be lost\)"),
    }
    y_for = {"broadcast past the entry limit": np.ones(40),
             "shapes that do not broadcast": np.ones(40)}
    nd32 = np.arange(2.0).reshape((2,) + (1,) * 31)
    worked = {  # id -> x (as the numbers it stands for, compared with np.asarray(x, float))
        "0-d array": np.array(1.5),
        "numpy float": np.float64(1.5),
        "numpy int": np.int8(-3),
        "numpy bool": np.bool_(True),
        "float16": np.float16(0.5),
        "empty": np.array([]),
        "empty matrix": np.zeros((0, 3)),
        "empty list": [],
        "32 dimensions": nd32,
        "lists 32 deep": _nested(32),
        "bools": np.array([True, False]),
        "float32": np.ones(3, np.float32) / 3,
        "uint64 max": np.array([2**64 - 1], dtype=np.uint64),
        "long double": np.array([np.longdouble(1) / 3]),
        "object array of numbers": np.array([1, 2.5, np.float32(3), True], dtype=object),
        "an int past int64": [2**70, 1],
        "Fraction": Fraction(1, 3),
        "tuple": (1.0, 2.0),
        "range": range(4),
        "memoryview": memoryview(np.arange(3.0)),
        "Fortran order": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        "strided": np.arange(24.0).reshape(4, 6)[::2, ::3],
        "read-only view": np.broadcast_to(np.arange(3.0), (2, 3)),
        "big-endian": np.arange(3.0).astype(">f8"),
        "nan and inf": np.array([np.nan, np.inf, -np.inf]),
        "at the entry limit": np.broadcast_to(np.ones(1), (1000,)),
    }
    for k, (x, msg) in refused.items():
        yield pytest.param(x, y_for.get(k, 2.0), msg, id=k)
    for k, x in worked.items():
        yield pytest.param(x, 2.0, None, id=k)


@pytest.mark.parametrize("call", ["value", "grad", "value_and_grad"])
@pytest.mark.parametrize("x, y, refused", list(_cases()))
def test_every_value_works_as_numbers_or_raises_cgcalc_error(x, y, refused, call, monkeypatch):
    """Values numpy refuses deep inside (more than 32 dimensions: a RuntimeError; an
    array-like that fails) came out raw; each is CgcalcError naming the argument and what is
    wrong, or works as the numbers it holds (0-d, empty, objects that are numbers)."""
    monkeypatch.setenv("CGCALC_MAX_ENTRIES", "1000")
    f = cgcalc.function("x*y")
    method = getattr(f, call)
    if refused is not None:
        with pytest.raises(cgcalc.CgcalcError, match=refused):
            method(x=x, y=y)
        with pytest.raises(cgcalc.CgcalcError, match=refused):
            method(x, y)  # in order too
        return
    xs = np.asarray(x, dtype=float) if not isinstance(x, memoryview) else np.arange(3.0)
    got = method(x=x, y=y)
    value, grads = (got, None) if call == "value" else \
        (None, got) if call == "grad" else got
    if value is not None:
        assert np.array_equal(np.asarray(value), 2.0 * xs, equal_nan=True)
        assert type(value) is float if xs.ndim == 0 else value.shape == xs.shape
    if grads is not None:
        assert np.array_equal(grads["x"], np.full(xs.shape, 2.0))
        assert np.array_equal(grads["y"], xs, equal_nan=True)


@pytest.mark.parametrize("wrt", [b"x", bytearray(b"x"), 3, 1.5])
def test_wrt_that_is_no_name_nor_list_of_names_says_so(wrt):
    """b"x" was read byte by byte: '120 is not a variable'."""
    f = cgcalc.function("x*y")
    with pytest.raises(cgcalc.CgcalcError, match="wrt is a variable's name or a list of names"):
        f.grad(x=1.0, y=2.0, wrt=wrt)


@pytest.mark.parametrize("text", ["x\ud800", "\udfff + x", "a = x\nb = a \udc80\nb",
                                  "2 * (x \udcff)"])
def test_an_error_with_a_lone_surrogate_in_the_program_can_be_printed(text):
    """A lone surrogate (a Python string's own, or a byte that was not UTF-8) in the source
    line is shown as '?': the message encodes as UTF-8, so print() works, and the caret stays
    under its character."""
    with pytest.raises(cgcalc.CgcalcError) as info:
        cgcalc.function(text).grad(x=1.0)
    message = str(info.value)
    message.encode("utf-8")  # no UnicodeEncodeError
    assert "?" in message.splitlines()[1]


def test_wrt_as_numpy_strings_gives_str_keys_and_a_variable_named_wrt_goes_by_position():
    g = cgcalc.function("x*y")
    for wrt in (np.array(["x"]), np.str_("x"), [np.str_("x")]):
        r = g.grad(x=1.0, y=2.0, wrt=wrt)
        assert r == {"x": 2.0} and all(type(k) is str for k in r)
    f = cgcalc.function("wrt*2 + y")
    assert f.grad(3.0, 1.0) == {"wrt": 2.0, "y": 1.0}
    with pytest.raises(cgcalc.CgcalcError, match="given by position"):
        f.grad(wrt=3.0, y=1.0)
