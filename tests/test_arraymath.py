"""arraymath.tanh_from_exp, training's tanh on large steps: within a few units in the last
place of numpy's tanh everywhere, the same signs, zeros, infinities and NaNs, whatever the
array's layout, whatever its neighbours (which numbers are computed apart). How training
chooses it: tests/test_net.py."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cgcalc.arraymath import SERIES_BELOW, tanh_from_exp

ULPS = 10  # the exp form's error is about 0.5 ulp / |tanh x| at worst: 9 here, at SERIES_BELOW
# numpy's own tanh is not the same on every CPU (libm's, where numpy has no vector code, is up
# to 2 ulps from the exact value near 0.03): the bounds leave it that
SLACK = 2


def ulps_from_numpy(x, got):
    want = np.tanh(x)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    finite = ~np.isnan(want)
    assert np.array_equal(np.signbit(got[finite]), np.signbit(want[finite]))  # -0.0 included
    return np.abs(got[finite] - want[finite]) / np.spacing(np.abs(want[finite]))


def hard_points():
    """Every region of the formula and its seams: zeros, subnormals, the series' edge, the exp
    form, the clip at 20 and past it, the largest floats, infinities, NaN."""
    rng = np.random.default_rng(7)
    edge = SERIES_BELOW
    parts = [
        np.array([0.0, 5e-324, 1e-310, 2.2e-308, 1e-300, 1e-20, 1e-9, 20.0, 40.0, 710.0, 1e308,
                  np.finfo(float).max, np.inf, np.nan]),
        np.nextafter(edge, [0.0, np.inf]), np.array([edge]),
        np.geomspace(1e-320, 30.0, 200_001),
        np.linspace(0.0, 1.0, 200_001),
        np.linspace(edge * 0.9, edge * 1.1, 50_001),
        np.linspace(18.0, 22.0, 20_001),
        rng.normal(0.0, 2.0, 200_000),
    ]
    x = np.concatenate(parts)
    return np.concatenate([x, -x])


def test_tanh_from_exp_is_within_a_few_ulps_of_numpy_everywhere():
    x = hard_points()
    with np.errstate(all="raise"):  # no overflow (the clip), no warning a caller would see
        got = tanh_from_exp(x)
    assert ulps_from_numpy(x, got).max() <= ULPS + SLACK
    near_zero = np.abs(x) < SERIES_BELOW  # the series: the last bit, or one off
    assert ulps_from_numpy(x[near_zero], got[near_zero]).max() <= 1 + SLACK


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=40))
def test_tanh_from_exp_on_any_floats(values):
    x = np.array(values)
    with np.errstate(all="raise"):  # whichever kind is computed in place: no warnings
        got = tanh_from_exp(x)
    assert ulps_from_numpy(x, got).max(initial=0) <= ULPS + SLACK


def test_tanh_from_exp_fills_arrays_of_any_layout_and_takes_numbers():
    rng = np.random.default_rng(3)
    a = rng.normal(0.0, 0.1, (40, 14))  # a third of it in the series' range
    for x in (a, a[:, ::2], a.T, a[::3]):
        out = np.full(x.shape, 7.0)
        for into in (out, out.T.copy().T):  # contiguous, and a transposed view
            assert tanh_from_exp(x, out=into) is into
            assert ulps_from_numpy(x, into).max() <= ULPS + SLACK
    for v in (0.3, -0.0, 0.01, 30.0):
        got = tanh_from_exp(v)
        assert np.ndim(got) == 0
        assert ulps_from_numpy(np.array([v]), np.array([got])).max() <= ULPS + SLACK


def test_out_may_be_x_or_overlap_it():
    rng = np.random.default_rng(4)
    for spread in (0.02, 1.0):  # mostly the series, mostly the exp form
        x = rng.normal(0.0, spread, 1000)
        want = tanh_from_exp(x)
        y = x.copy()
        assert tanh_from_exp(y, out=y) is y and np.array_equal(y, want)
        z = np.concatenate([x, [0.5]])
        tanh_from_exp(z[:-1], out=z[1:])  # read one place behind where it writes
        assert np.array_equal(z[1:], want)


def test_whichever_kind_is_fewer_each_number_is_the_same():
    """The fewer kind (below SERIES_BELOW or not) is computed apart: a number's bits do not
    depend on the company it keeps."""
    rng = np.random.default_rng(6)
    below = rng.uniform(-SERIES_BELOW, SERIES_BELOW, 900)
    above = rng.normal(0.0, 2.0, 900)
    above = above[np.abs(above) >= SERIES_BELOW]
    alone = tanh_from_exp(below), tanh_from_exp(above)
    for mix in ([below, above[:10]], [below[:10], above], [below[:400], above[:400]]):
        got = tanh_from_exp(np.concatenate(mix))
        n = mix[0].size
        assert np.array_equal(got[:n], alone[0][:n])
        assert np.array_equal(got[n:], alone[1][:mix[1].size])


def test_bands_of_rows_give_the_whole_arrays_numbers():
    """Elementwise: any cut of the rows (one band per core) gives the same bits, each band
    gathering what it has fewer of (here one band mostly below SERIES_BELOW, one mostly not)."""
    rng = np.random.default_rng(5)
    x = np.vstack([rng.normal(0.0, 0.01, (480, 33)), rng.normal(0.0, 2.0, (521, 33))])
    whole = tanh_from_exp(x)
    out = np.empty_like(x)
    for lo, hi in ((0, 1), (1, 480), (480, 1001)):
        tanh_from_exp(x[lo:hi], out=out[lo:hi])
    assert np.array_equal(whole, out)
